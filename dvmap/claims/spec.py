"""The claims spec: the kit's outputs a claim may read (their formats), a claim's selectors, and the
checks of specs/claims.yaml against those formats and the other specs, run before any job."""
from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from dvmap.analyses.attribute_importance import AGREEMENT_COLUMNS
from dvmap.analyses.attribute_importance import COLUMNS as IMPORTANCE_COLUMNS
from dvmap.analyses.data_stats import HETEROGENEITY_COLUMNS, QUESTION_SUMMARY_COLUMNS
from dvmap.analyses.group_gain import CORRELATION_COLUMNS, DISTANCES, gain_columns
from dvmap.analyses.model_stats import ENTROPY_ACCURACY_COLUMNS, VALUE_FLIP_BY_QUESTION_COLUMNS, VALUE_FLIP_COLUMNS
from dvmap.data.splits import DATASETS, ROBUSTNESS_DATASETS
from dvmap.errors import SpecError
from dvmap.evaluate.general_utility import TABLE11_COLUMNS
from dvmap.evaluate.tables import EXPERIMENT_COLUMNS, PAIRED_COLUMNS, PER_GROUP_COLUMNS, SCALE_COLUMNS, SCORE_COLUMNS

# ---- the kit's outputs a claim may read -------------------------------------------------------------
# Per output (a path pattern): its columns (CSV) or key paths (JSON), the columns whose values name
# something of the specs (checked against them: `universe` names a set from spec_universes, a tuple
# lists the values), the column counting the samples behind a number (n), and CI columns that do not
# follow the `{column}_ci_low`/`{column}_ci_high` pattern. The columns of a table are its writer's
# own list, which the writer checks its frame against before writing (dvmap.contracts.written_columns).
_MODELS = {"model": "models", "model_a": "models", "model_b": "models"}


def _gain_formats(gains: str, correlations: str, group: str, universe: str) -> dict[str, dict]:
    """Figure 9's or Table 12's two outputs: the gain per group with its distances, and r per distance
    (the distances as dvmap.analyses.group_gain names them)."""
    return {f"results/analysis/{gains}.csv": {
                "columns": gain_columns(group),
                "values": {**_MODELS, group: universe}, "n": "n"},
            f"results/analysis/{correlations}.csv": {
                "columns": CORRELATION_COLUMNS, "values": {**_MODELS, "distance": DISTANCES[group]}, "n": "n_points",
                "points": "n_points"}}


OUTPUTS: dict[str, dict] = {
    "results/audit/counts.json": {
        "keys": ["corpus_samples", "benchmark_samples", "datasets/{dataset}/samples", "datasets/{dataset}/profiles",
                 "datasets/{dataset}/countries", "datasets/{dataset}/questions"],
        # counts from a random draw of profiles, with their interval (`{key}_draw_low`, `{key}_draw_high`)
        "intervals": ["corpus_samples", "benchmark_samples", "datasets/{dataset}/samples"]},
    "results/audit/release_prompts.json": {"keys": ["share_identical", "identical", "prompts_given"]},
    "results/audit/leakage.json": {
        "keys": ["profile_overlap/cross_demographic__train", "profile_overlap/cross_demographic__dev",
                 "profile_overlap/cross_demographic__test"]},
    "results/audit/filtering.json": {
        "keys": ["respondents", "profiles", "respondents_sharing_a_profile", "pairs", "pairs_kept",
                 "pairs_removed_share", "answers", "answers_in_kept_pairs", "answers_removed_share",
                 "entropy_mean_shared_profiles", "corpus/respondents", "corpus/respondents_sharing_a_profile",
                 "corpus/answers", "corpus/answers_removed_share"]},
    "results/analysis/fig1a_entropy_by_country_question.csv": {
        "columns": HETEROGENEITY_COLUMNS,
        "values": {"country": "countries", "q_id": "questions", "selected": (True, False), "unit": ("bits", "nats")},
        "n": "n"},
    "results/analysis/fig1b_question_entropy_summary.csv": {
        "columns": QUESTION_SUMMARY_COLUMNS,
        "values": {"country": "countries", "unit": ("bits", "nats")}, "n": "n_questions"},
    "results/analysis/fig1c_attribute_importance.csv": {
        "columns": IMPORTANCE_COLUMNS,
        "values": {"q_id": "questions", "attribute": "attributes", "method": ("mdi", "permutation")}, "n": "n_test"},
    "results/analysis/fig1c_rank_agreement.csv": {
        "columns": AGREEMENT_COLUMNS,
        "n": "n_attributes"},
    "results/table2.csv": {"columns": SCORE_COLUMNS, "values": _MODELS, "n": "n"},
    "results/tables/{dataset}.csv": {"columns": SCORE_COLUMNS, "values": _MODELS, "n": "n"},
    "results/tables/{dataset}_per_group.csv": {  # accuracy per country (or question) with CIs and ranks (Figure 3)
        "columns": [c.format(group="country") for c in PER_GROUP_COLUMNS] + ["q_id"],  # q_id for cross_value
        "values": {**_MODELS, "kind": ("language model", "reference predictor"), "country": "countries",
                   "q_id": "questions"}, "n": "n"},
    "results/tables/{dataset}_paired_tests.csv": {
        "columns": PAIRED_COLUMNS,
        "values": {**_MODELS, "dataset": "datasets"}, "n": "n"},
    "results/tables/scale_{dataset}.csv": {
        "columns": SCALE_COLUMNS,
        "values": {**_MODELS, "dataset": "datasets", "role": ("base", "dvmap")}, "n": "n"},
    "results/{table}.csv": {  # the ablation tables of the experiments spec
        "columns": EXPERIMENT_COLUMNS,
        "values": {**_MODELS, "row": "rows", "dataset": "datasets"}, "n": "n",
        "ci": {"acc_diff_vs_baseline": ("acc_diff_ci_low", "acc_diff_ci_high")}},
    "results/analysis/fig5_entropy_accuracy.csv": {
        "columns": ENTROPY_ACCURACY_COLUMNS,
        "values": {**_MODELS, "level": ("category", "question")}, "n": "n_points", "points": "n_points"},
    "results/analysis/fig8_value_flip.csv": {
        "columns": VALUE_FLIP_COLUMNS,
        "values": {**_MODELS, "perturbation": "perturbations"}, "n": "n_pairs",
        "ci": {"n_pairs": ("n_pairs_draw_low", "n_pairs_draw_high")}},
    "results/analysis/fig8_value_flip_by_question.csv": {
        "columns": VALUE_FLIP_BY_QUESTION_COLUMNS,
        "values": {**_MODELS, "perturbation": "perturbations", "q_id": "questions"}, "n": "n_pairs"},
    **_gain_formats("fig9_country_gain", "fig9_country_gain_distance", "country", "countries"),
    **_gain_formats("table12_question_gain", "table12_gain_distance", "q_id", "questions"),
    "results/table11.csv": {
        "columns": TABLE11_COLUMNS,
        "values": {"pair": "pairs"}, "n": "n", "ci": {"diff": ("diff_ci_low", "diff_ci_high")}},
}


def _pattern_regex(pattern: str) -> re.Pattern:
    parts = re.split(r"\{(\w+)\}", pattern)
    regex = "".join(re.escape(p) if i % 2 == 0 else rf"(?P<{p}>[^/]+)" for i, p in enumerate(parts))
    return re.compile(f"^{regex}$")


def output_format(path: str, universes: Mapping[str, Any] | None = None) -> dict | None:
    """The format of a kit output (an OUTPUTS entry), or None. A {dataset} must be a dataset, and with
    universes a {table} an ablation table of the experiments spec; the most specific pattern wins."""
    def specificity(pattern: str) -> tuple[int, int]:
        return pattern.count("{"), -len(re.sub(r"\{\w+\}", "", pattern))

    for pattern in sorted(OUTPUTS, key=specificity):
        match = _pattern_regex(pattern).match(path)
        if match is None:
            continue
        known = {"dataset": set(DATASETS), "table": None if universes is None else universes["tables"]}
        if any(known[k] is not None and v not in known[k] for k, v in match.groupdict().items()):
            continue
        return {"pattern": pattern, **OUTPUTS[pattern]}
    return None


def ci_columns(fmt: Mapping, column: str) -> tuple[str, str] | None:
    """The CI columns of a column of an output format, or None when it has no CI."""
    if column in fmt.get("ci", {}):
        return fmt["ci"][column]
    low, high = f"{column}_ci_low", f"{column}_ci_high"
    return (low, high) if low in fmt.get("columns", ()) and high in fmt.get("columns", ()) else None


# ---- the spec ---------------------------------------------------------------------------------------------
COMBINATIONS = ("difference", "mean")  # selectors made of selectors


def leaves(selector: Mapping) -> Iterator[Mapping]:
    """The plain selectors (output + key or column) inside a selector."""
    for combination in COMBINATIONS:
        if combination in selector:
            for part in selector[combination]:
                yield from leaves(part)
            return
    yield selector


def claim_selectors(claim: Mapping) -> list[Mapping]:
    """The numbers a claim compares: an ordering's items, a direction's `each`, or its one `kit`."""
    if claim["kind"] == "ordering":
        return list(claim["items"])
    return list(claim["each"]) if "each" in claim else [claim["kit"]]


def claim_outputs(claim: Mapping) -> list[str]:
    """The outputs a claim reads, in order, each once."""
    return list(dict.fromkeys(leaf["output"] for s in claim_selectors(claim) for leaf in leaves(s)))


def spec_universes(specs: Mapping) -> dict[str, Any]:
    """What selector values may name, from the specs: models, general-utility pairs, questions,
    countries, attributes, datasets, ablation tables and their rows, robustness datasets."""
    models = specs["models"]
    tables = specs["experiments"]["tables"]
    return {
        "models": {*models["eval_models"], *models["reference_predictors"]},
        "pairs": {*models["models"], *specs["general_utility"]["pairs"]},
        "questions": {q["id"] for q in specs["questions"]["questions"]},
        "countries": {c["iso3"] for c in specs["countries"]["countries"]},
        "attributes": {a["name"] for a in specs["attributes"]["attributes"]},
        "datasets": set(DATASETS),
        "perturbations": set(ROBUSTNESS_DATASETS),
        "tables": set(tables),
        "rows": {r for t in tables.values() for r in t["rows"]},
        "table_rows": {t: list(spec["rows"]) for t, spec in tables.items()},
    }


def _check_selector(selector: Mapping, universes: Mapping[str, set], needs_ci: bool, file, where: str,
                    several: bool = True) -> None:
    """A selector against the outputs' formats and the specs. `several`: it may name several rows
    (`every`), as a claim's own selectors may; the parts of a difference, a mean or an ordering may not."""
    for combination in COMBINATIONS:
        if combination in selector:
            for i, part in enumerate(selector[combination]):
                _check_selector(part, universes, needs_ci, file, f"{where}/{combination}/{i}", several=False)
            return
    if "every" in selector and not several:
        raise SpecError(
            file, f"{where}/every", "`every` names several rows: it belongs to a claim's own selector (kit or each), "
                                    "not to a part of a difference, a mean or an ordering")
    fmt = output_format(selector["output"], universes)
    if fmt is None:
        raise SpecError(file, f"{where}/output", f"'{selector['output']}' is not an output of the kit a claim can read "
                                                 f"(known: {', '.join(OUTPUTS)})")
    if "key" in selector:
        parts = selector["key"].split("/")

        def matches(pattern: str) -> bool:
            return len(pattern.split("/")) == len(parts) and all(
                q == k or (q == "{dataset}" and k in universes["datasets"]) for q, k in zip(pattern.split("/"), parts))

        if not any(matches(p) for p in fmt["keys"]):
            raise SpecError(file, f"{where}/key", f"{selector['output']} has no key '{selector['key']}' "
                                                  f"(keys: {', '.join(fmt['keys'])})")
        if needs_ci and not any(matches(p) for p in fmt.get("intervals", ())):
            raise SpecError(file, where, f"{selector['output']}: '{selector['key']}' has no CI or draw interval; "
                                         "this kind of claim needs one (a design count or a share is kind: exact)")
        return
    columns = fmt["columns"]
    named = [("column", selector["column"]), *((f"where/{c}", c) for c in selector.get("where", {})),
             *((f"except/{c}", c) for c in selector.get("except", {})),
             *((k, selector[k]) for k in ("argmax", "every") if k in selector)]
    for place, column in named:
        if column not in columns:
            raise SpecError(file, f"{where}/{place}", f"{selector['output']} has no column '{column}' "
                                                      f"(columns: {', '.join(columns)})")
    for field in ("where", "except"):
        for column, value in selector.get(field, {}).items():
            allowed = fmt.get("values", {}).get(column)
            known = universes[allowed] if isinstance(allowed, str) else set(allowed or ())
            if allowed == "countries" and re.fullmatch(r"[A-Z]{3}", str(value)):
                continue  # a paper country a smaller run leaves out (the test preset's five): not run, no row
            if allowed is not None and value not in known:
                raise SpecError(file, f"{where}/{field}/{column}", f"unknown {column} '{value}' in "
                                                                   f"{selector['output']} (known: "
                                                                   f"{', '.join(sorted(map(str, known)))})")
    if needs_ci and ci_columns(fmt, selector["column"]) is None:
        raise SpecError(file, f"{where}/column", f"{selector['output']}: column '{selector['column']}' has no CI; "
                                                 "this kind of claim needs one")


def check_claims(spec: Mapping, universes: Mapping[str, set], file) -> None:
    """Cross-field checks of the claims spec: unique ids, kinds' fields, every selector against the
    outputs' formats and the specs (universes), stand-ins and table cells naming what exists."""
    seen: set = set()
    for i, claim in enumerate(spec["claims"]):
        where = f"claims/{i}"
        if claim["id"] in seen:
            raise SpecError(file, f"{where}/id", f"duplicate id '{claim['id']}'")
        seen.add(claim["id"])
        if "range" in claim and claim["range"][0] > claim["range"][1]:
            raise SpecError(file, f"{where}/range", f"low {claim['range'][0]} > high {claim['range'][1]}")
        for key in ("paper", "tolerance", "range"):
            numbers = claim.get(key)
            numbers = numbers if isinstance(numbers, list) else [] if numbers is None else [numbers]
            if not all(isinstance(x, (int, float)) and math.isfinite(x) for x in numbers):
                raise SpecError(file, f"{where}/{key}", f"{claim.get(key)!r} is not a finite number: a claim is "
                                                        "judged against the paper's finite values only")
        if claim["kind"] == "ordering":
            _check_order(claim, file, where)
        needs_ci = claim["kind"] not in ("exact", "point") and not claim.get("pending")  # pending: no CI yet
        field = "items" if claim["kind"] == "ordering" else "each" if "each" in claim else "kit"
        for j, selector in enumerate(claim_selectors(claim)):
            _check_selector(selector, universes, needs_ci, file, f"{where}/{field}" + (f"/{j}" if field != "kit" else ""),
                            several=claim["kind"] != "ordering")
        cell = claim.get("cell")
        if cell is not None:
            _check_cell(cell, universes["table_rows"], file, f"{where}/cell")
    for i, name in enumerate(spec.get("paper_models", [])):
        if name not in universes["models"] | universes["pairs"]:
            raise SpecError(file, f"paper_models/{i}", f"'{name}' is not a model of the models spec")
    for name, stand_in in spec.get("stand_ins", {}).items():
        for value, what in ((name, "key"), (stand_in, "value")):
            if value not in universes["models"] | universes["pairs"]:
                raise SpecError(file, f"stand_ins/{name}", f"{what} '{value}' is not a model of the models spec")


def _check_order(claim: Mapping, file, where: str) -> None:
    """An ordering's paper values, when given, are one per item and strictly in the stated order."""
    paper, order = claim.get("paper"), claim.get("order", "decreasing")
    if paper is None:
        return
    if len(paper) != len(claim["items"]):
        raise SpecError(file, f"{where}/paper", f"{len(paper)} values for {len(claim['items'])} items")
    steps = [a - b for a, b in zip(paper, paper[1:])]
    if not all(step > 0 if order == "decreasing" else step < 0 for step in steps):
        raise SpecError(file, f"{where}/paper", f"{paper} is not {order}: list the items in the paper's order "
                                                f"(order: {order})")


def _check_cell(cell: Mapping, table_rows: Mapping[str, Sequence[str]], file, where: str) -> None:
    if cell["table"] not in table_rows:
        raise SpecError(file, f"{where}/table", f"no table '{cell['table']}' in the experiments spec "
                                                f"(tables: {', '.join(table_rows)})")
    rows = table_rows[cell["table"]]
    for key in ("row", "vs"):
        if key in cell and cell[key] not in rows:
            raise SpecError(file, f"{where}/{key}", f"no row '{cell[key]}' in {cell['table']} (rows: {', '.join(rows)})")


CELL_KEYS = ("dataset", "acc", "acc_diff", "wd", "wd_diff", "lc", "vs", "note")


def paper_cells(spec: Mapping) -> dict[str, dict[str, dict]]:
    """The paper's numbers per ablation table and row (table -> row -> {number: value, vs, dataset,
    note}), from the claims that carry a `cell`: the ablation tables show them beside the kit's."""
    cells: dict[str, dict[str, dict]] = {}
    for claim in spec["claims"]:
        cell = claim.get("cell")
        if cell is None:
            continue
        entry = cells.setdefault(cell["table"], {}).setdefault(cell["row"], {})
        entry[cell["number"]] = claim["paper"]
        for key in ("vs", "dataset", "note"):
            if key in cell:
                entry[key] = cell[key]
    return {t: {r: {k: e[k] for k in CELL_KEYS if k in e} for r, e in rows.items()} for t, rows in cells.items()}


