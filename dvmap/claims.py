"""The paper's claims judged on the kit's outputs (specs/claims.yaml, docs/claims.md).

A claim names a number of a kit output (a selector: a JSON key, or a CSV row and column; the
difference or mean of such numbers, or one's absolute value) and the paper's value; its kind says
how the two are compared. The selectors are checked against the outputs' formats (OUTPUTS) and the
specs when the DAG is built, so a claim naming an output, column or row value the kit does not
have stops the run before any job. Verdicts: reproduced, contradicted, inconclusive (the CI covers
both outcomes), undecidable (the paper's band is narrower than the kit's CI can be at this n), not
run (the run lacks the output, the model or the data: the reason says which), error (the output
is not what its format promises: the reason names it). Each verdict names its evidence: the survey
it was judged on and the models (the paper's, or stand-ins); only a verdict on the paper's data and
models speaks for or against the paper.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from dvmap.errors import DVMapError, SpecError
from dvmap.redact import escape_report_text
from dvmap.stats import fisher_z_ci

VERDICTS = ("reproduced", "contradicted", "inconclusive", "undecidable", "not run", "error")
JUDGED = ("reproduced", "contradicted", "inconclusive", "undecidable")  # a verdict on the evidence
EPS = 1e-9  # float rounding at a band's bound (paper - tolerance): the kit's outputs have 4-6 decimals
# `convert: to_nats`: an entropy in the unit its row names (column `unit`, the analyses' entropy_unit)
# as nats: bits times ln 2, nats as they are.
CONVERSIONS = {"to_nats": {"bits": math.log(2), "nats": 1.0}}

# ---- the kit's outputs a claim may read -------------------------------------------------------------
# Per output (a path pattern): its columns (CSV) or key paths (JSON), the columns whose values name
# something of the specs (checked against them: `universe` names a set from spec_universes, a tuple
# lists the values), the column counting the samples behind a number (n), and CI columns that do not
# follow the `{column}_ci_low`/`{column}_ci_high` pattern. The columns are those the writers make
# (tests/test_claims.py compares them with the writers' own lists).
_SCORE = ["model", "kind", "n", "n_seeds", *(f"{m}{s}" for m in ("acc", "lc", "wd", "jsd", "lc_parsed")
                                              for s in ("", "_ci_low", "_ci_high", "_seed_sd")),
          "acc_lenient", "n_parsed", "parse_failure_rate", "api_error_rate", "parse_failure_rate_max"]
_GAIN = ["model_a", "model_b", "kind", "n", "acc_a", "acc_b", "gain", "gain_ci_low", "gain_ci_high", "gain_seed_sd",
         "n_seeds"]
_CORRELATION = ["model_a", "model_b", "kind", "distance", "n_points", "n_samples", "r", "r_ci_low", "r_ci_high",
                "r_seed_sd", "n_seeds", "p_value", "note"]
_MODELS = {"model": "models", "model_a": "models", "model_b": "models"}

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
        "columns": ["country", "q_id", "role", "n", "k", "entropy", "entropy_ci_low", "entropy_ci_high", "unit",
                    "entropy_normalized", "entropy_normalized_ci_low", "entropy_normalized_ci_high", "selected",
                    "selection_rule"],
        "values": {"country": "countries", "q_id": "questions", "selected": (True, False), "unit": ("bits", "nats")},
        "n": "n"},
    "results/analysis/fig1b_question_entropy_summary.csv": {
        "columns": ["country", "n_respondents", "n_questions", "n_above", "share_above_threshold",
                    "share_above_threshold_ci_low", "share_above_threshold_ci_high", "threshold", "unit",
                    "threshold_stated", "threshold_unit", "min_respondents", "n_questions_in_file", "weighted"],
        "values": {"country": "countries", "unit": ("bits", "nats")}, "n": "n_questions"},
    "results/analysis/fig1c_attribute_importance.csv": {
        "columns": ["q_id", "method", "attribute", "importance", "importance_std", "importance_ci_low",
                    "importance_ci_high", "n_available", "n_train", "n_test", "n_classes", "scoring", "baseline_score",
                    "baseline_ci_low", "baseline_ci_high", "majority_score", "attribute_rank", "question_rank"],
        "values": {"q_id": "questions", "attribute": "attributes", "method": ("mdi", "permutation")}, "n": "n_test"},
    "results/analysis/fig1c_rank_agreement.csv": {
        "columns": ["q_id", "n_attributes", "spearman_rho", "spearman_p", "kendall_tau", "kendall_p", "top_mdi",
                    "top_permutation"],
        "n": "n_attributes"},
    "results/table2.csv": {"columns": _SCORE, "values": _MODELS, "n": "n"},
    "results/tables/{dataset}.csv": {"columns": _SCORE, "values": _MODELS, "n": "n"},
    "results/tables/{dataset}_per_group.csv": {  # accuracy per country (or question) with CIs and ranks (Figure 3)
        "columns": ["model", "kind", "country", "q_id", "n", "n_seeds", "acc", "acc_ci_low", "acc_ci_high",
                    "acc_vs_rest", "acc_vs_rest_ci_low", "acc_vs_rest_ci_high", "rank", "rank_ci_low", "rank_ci_high",
                    "n_ranked"],  # country, or q_id for cross_value
        "values": {**_MODELS, "kind": ("language model", "reference predictor"), "country": "countries",
                   "q_id": "questions"}, "n": "n"},
    "results/tables/{dataset}_paired_tests.csv": {
        "columns": ["dataset", "model_a", "model_b", "n", "n_pairs", "acc_diff", "acc_diff_ci_low", "acc_diff_ci_high",
                    "only_a_correct", "only_b_correct", "mcnemar_p_max"],
        "values": {**_MODELS, "dataset": "datasets"}, "n": "n"},
    "results/tables/scale_{dataset}.csv": {
        "columns": ["dataset", "size", "role", "model", "n", "n_seeds",
                    *(f"{m}{s}" for m in ("acc", "lc", "wd") for s in ("", "_seed_sd", "_ci_low", "_ci_high"))],
        "values": {**_MODELS, "dataset": "datasets", "role": ("base", "dvmap")}, "n": "n"},
    "results/{table}.csv": {  # the ablation tables of the experiments spec
        "columns": ["table", "dataset", "row", "variant", "overrides", "is_baseline", *_SCORE,
                    "acc_diff_vs_baseline", "acc_diff_ci_low", "acc_diff_ci_high", "mcnemar_p_max",
                    "wd_diff_vs_baseline", "acc_diff_vs_paper_vs"],
        "values": {**_MODELS, "row": "rows", "dataset": "datasets"}, "n": "n",
        "ci": {"acc_diff_vs_baseline": ("acc_diff_ci_low", "acc_diff_ci_high")}},
    "results/analysis/fig5_entropy_accuracy.csv": {
        "columns": ["model", "kind", "level", "n_points", "n_samples", "r", "r_ci_low", "r_ci_high", "r_seed_sd",
                    "n_seeds", "note"],
        "values": {**_MODELS, "level": ("category", "question")}, "n": "n_points", "points": "n_points"},
    "results/analysis/fig8_value_flip.csv": {
        "columns": ["model", "kind", "perturbation", "category", "n_pairs", "n_both_parsed", "rate", "rate_ci_low",
                    "rate_ci_high", "rate_seed_sd", "n_seeds", "n_pairs_draw_low", "n_pairs_draw_high", "note"],
        "values": {**_MODELS, "perturbation": "perturbations"}, "n": "n_pairs",
        "ci": {"n_pairs": ("n_pairs_draw_low", "n_pairs_draw_high")}},
    "results/analysis/fig8_value_flip_by_question.csv": {
        "columns": ["model", "kind", "perturbation", "q_id", "n_pairs", "n_both_parsed", "rate", "rate_ci_low",
                    "rate_ci_high", "rate_seed_sd", "n_seeds"],
        "values": {**_MODELS, "perturbation": "perturbations", "q_id": "questions"}, "n": "n_pairs"},
    "results/analysis/fig9_country_gain.csv": {
        "columns": [*_GAIN, "country", "distance_nearest", "distance_mean"],
        "values": {**_MODELS, "country": "countries"}, "n": "n"},
    "results/analysis/fig9_country_gain_distance.csv": {
        "columns": _CORRELATION, "values": {**_MODELS, "distance": ("nearest", "mean")}, "n": "n_points",
        "points": "n_points"},
    "results/analysis/table12_question_gain.csv": {
        "columns": [*_GAIN, "q_id", "distance_average", "distance_nearest"],
        "values": {**_MODELS, "q_id": "questions"}, "n": "n"},
    "results/analysis/table12_gain_distance.csv": {
        "columns": _CORRELATION, "values": {**_MODELS, "distance": ("average", "nearest")}, "n": "n_points",
        "points": "n_points"},
    "results/table11.csv": {
        "columns": ["pair", "task", "metric", "filter", "n", "num_fewshot", "higher_is_better", "base", "base_stderr",
                    "dvmap", "dvmap_stderr", "n_seeds", "dvmap_seed_sd", "diff", "diff_ci_low", "diff_ci_high",
                    "within_tolerance", "tolerance"],
        "values": {"pair": "pairs"}, "n": "n", "ci": {"diff": ("diff_ci_low", "diff_ci_high")}},
}


def _pattern_regex(pattern: str) -> re.Pattern:
    parts = re.split(r"\{(\w+)\}", pattern)
    regex = "".join(re.escape(p) if i % 2 == 0 else rf"(?P<{p}>[^/]+)" for i, p in enumerate(parts))
    return re.compile(f"^{regex}$")


def output_format(path: str, universes: Mapping[str, Any] | None = None) -> dict | None:
    """The format of a kit output (an OUTPUTS entry), or None. A {dataset} must be a dataset, and with
    universes a {table} an ablation table of the experiments spec; the most specific pattern wins."""
    from dvmap.data.splits import DATASETS

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
    from dvmap.data.splits import DATASETS, ROBUSTNESS_DATASETS

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


# ---- selecting the kit's numbers --------------------------------------------------------------------------
@dataclass(frozen=True)
class Value:
    """A number of the kit with its 95% CI (or a count's draw interval; None: none), the samples (or
    points) behind it and where it was read (the selector with the rows it resolved to)."""
    value: float
    low: float | None = None
    high: float | None = None
    n: float | None = None
    source: str = ""
    models: tuple[str, ...] = ()
    points: float | None = None  # a correlation's number of points (groups), when the output names it

    @property
    def has_ci(self) -> bool:
        return self.low is not None and self.high is not None and not (math.isnan(self.low) or math.isnan(self.high))


class NotRun(Exception):  # noqa: N818 (a verdict, not an error)
    """The run lacks what a claim needs (the reason says what)."""


class SelectionError(DVMapError):
    """A selector that cannot give one number (missing key or column, null, several rows): the claim's
    verdict is `error`, naming the output."""


class OutputError(DVMapError):
    """A number that breaks its own format (outside its CI, an inverted CI, n = 0): verdict `error`."""


def difference(a: Value, b: Value) -> Value:
    """A - B with the conservative CI [low_A - high_B, high_A - low_B]: under a normal approximation it
    covers at least 95% whatever the correlation of A and B (the half-widths add, as the standard
    deviation of a difference is at most the sum of the two)."""
    source, models = f"({a.source}) minus ({b.source})", (*a.models, *b.models)
    if not (a.has_ci and b.has_ci):
        return Value(a.value - b.value, None, None, _min_n(a.n, b.n), source, models)
    return Value(a.value - b.value, a.low - b.high, a.high - b.low, _min_n(a.n, b.n), source, models)


def mean_of(values: Sequence[Value]) -> Value:
    """The mean of several numbers with the mean of their bounds: the CI of a mean of perfectly
    correlated estimates, which covers at least 95% whatever their correlation (conservative)."""
    source = "mean of " + "; ".join(f"({v.source})" for v in values)
    models = tuple(m for v in values for m in v.models)
    mean = sum(v.value for v in values) / len(values)
    if not all(v.has_ci for v in values):
        return Value(mean, None, None, _min_n(*(v.n for v in values)), source, models)
    return Value(mean, sum(v.low for v in values) / len(values), sum(v.high for v in values) / len(values),
                 _min_n(*(v.n for v in values)), source, models)


def absolute(value: Value) -> Value:
    """|A| with its CI folded at 0 (a CI covering 0 becomes [0, max(|low|, |high|)])."""
    source = f"|{value.source}|"
    if not value.has_ci:
        return Value(abs(value.value), None, None, value.n, source, value.models)
    low, high = value.low, value.high
    folded = (low, high) if low >= 0 else (-high, -low) if high <= 0 else (0.0, max(-low, high))
    return Value(abs(value.value), *folded, value.n, source, value.models)


def _min_n(*ns: float | None) -> float | None:
    known = [n for n in ns if n is not None and not (isinstance(n, float) and math.isnan(n))]
    return min(known) if known else None


def _matches(frame: pd.DataFrame, where: Mapping[str, Any]) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for column, value in where.items():
        mask &= frame[column].astype(str) == str(value)
    return mask


MODEL_COLUMNS = ("model", "model_a", "model_b", "pair")  # a row's models: what a claim on it speaks about


def _number(raw: Any, what: str) -> float:
    """A JSON or CSV cell as a float; null, text or a missing cell is a SelectionError naming it."""
    if raw is None or isinstance(raw, (bool, Mapping, list)):
        raise SelectionError(f"{what} is {json.dumps(raw) if not isinstance(raw, Mapping) else 'an object'}, "
                             "not a number")
    try:
        return float(raw)
    except (TypeError, ValueError):
        raise SelectionError(f"{what} is {raw!r}, not a number") from None


def _select_key(selector: Mapping, data: Any) -> Value:
    output, key = selector["output"], selector["key"]
    if not isinstance(data, Mapping):
        raise SelectionError(f"{output} is not a JSON object")
    parent, node = None, data
    for part in key.split("/"):
        if not isinstance(node, Mapping) or part not in node:
            raise NotRun(f"{output} has no '{key}'")
        parent, node = node, node[part]
    value = _number(node, f"{output}: {key}")
    last = key.split("/")[-1]
    low, high = (parent.get(f"{last}_draw_low"), parent.get(f"{last}_draw_high")) if parent else (None, None)
    interval = (None, None) if low is None or high is None else (_number(low, f"{output}: {key}_draw_low"),
                                                                   _number(high, f"{output}: {key}_draw_high"))
    return Value(value, *interval, None, f"{output}: {key}")


def select(selector: Mapping, read: Callable[[str], Any], stand_ins: Mapping[str, str] | None = None,
           used: list[str] | None = None) -> Value:
    """The kit's number a selector names. `read(path)` gives a DataFrame (CSV) or a dict (JSON).
    A row the run lacks (a model it does not evaluate) is looked for under the stand-ins of the
    values; a stand-in used is appended to `used` ("stand-in for paper-model"). Raises NotRun when
    the output lacks the row or key, SelectionError when the selector cannot give one number
    (several rows, a column absent, a null or non-numeric cell)."""
    for combination, combine_values in (("difference", lambda vs: difference(*vs)), ("mean", mean_of)):
        if combination in selector:
            return combine_values([select(part, read, stand_ins, used) for part in selector[combination]])
    value = _select_leaf(selector, read, stand_ins, used)
    return absolute(value) if selector.get("abs") else value


def _select_leaf(selector: Mapping, read: Callable[[str], Any], stand_ins: Mapping[str, str] | None,
                 used: list[str] | None) -> Value:
    output = selector["output"]
    data = read(output)
    if "key" in selector:
        return _select_key(selector, data)
    rows, described = _rows(selector, data, stand_ins, used)
    if len(rows) > 1:
        raise SelectionError(f"{output}: {len(rows)} rows match {described or 'the selector'}; a claim's "
                             "selector must pick one row")
    return _row_value(selector, data, rows.iloc[0], described)


def select_each(selector: Mapping, read: Callable[[str], Any], stand_ins: Mapping[str, str] | None = None,
                used: list[str] | None = None) -> list[Value]:
    """The numbers a claim's selector names: one, or with `every: column` one per row that `where`
    picks (less the rows `except` names), one row per value of that column."""
    if "every" not in selector:
        return [select(selector, read, stand_ins, used)]
    data = read(selector["output"])
    rows, described = _rows(selector, data, stand_ins, used)
    column = selector["every"]
    repeated = rows[column].astype(str).duplicated()
    if repeated.any():
        raise SelectionError(f"{selector['output']}: several rows with {described}, {column} = "
                             f"{rows.loc[repeated, column].iloc[0]}; `every: {column}` takes one row per {column}")
    return [_row_value(selector, data, row, f"{described}, {column} = {row[column]}".lstrip(", "))
            for _, row in rows.iterrows()]


def _swap(where: Mapping[str, Any], stand_ins: Mapping[str, str] | None) -> dict:
    return {c: (stand_ins or {}).get(str(v), v) for c, v in where.items()}


def _rows(selector: Mapping, data: Any, stand_ins: Mapping[str, str] | None,
          used: list[str] | None) -> tuple[pd.DataFrame, str]:
    """The rows a CSV selector picks (`where`, with stand-ins for values the run lacks; less the rows
    `except` names; the `argmax` row among them) and their description."""
    output = selector["output"]
    if not isinstance(data, pd.DataFrame):
        raise SelectionError(f"{output} is not a table")
    where, excluded = dict(selector.get("where", {})), dict(selector.get("except", {}))
    for column in [selector["column"], *where, *excluded, *(selector[k] for k in ("argmax", "every") if k in selector)]:
        if column not in data.columns:
            raise SelectionError(f"{output}: no column '{column}' (a claim selects it; columns: "
                                 f"{', '.join(map(str, data.columns))})")
    rows = data[_matches(data, where)]
    if rows.empty and stand_ins:
        swapped = _swap(where, stand_ins)
        if swapped != where:
            rows = data[_matches(data, swapped)]
            if not rows.empty and used is not None:
                used.extend(f"{swapped[c]} for {where[c]}" for c in where if swapped[c] != where[c])
            where = swapped
    if excluded:  # a row the run lacks is looked for under its stand-in, as `where` is
        if not _matches(data, excluded).any():
            excluded = _swap(excluded, stand_ins)
        rows = rows[~_matches(rows, excluded)]
    described = ", ".join([*(f"{c} = {v}" for c, v in where.items()), *(f"{c} != {v}" for c, v in excluded.items())])
    if rows.empty:
        raise NotRun(f"{output} has no row with {described}: the run lacks it")
    if "argmax" in selector:  # the row with the largest value of a column among those matching
        order = pd.to_numeric(rows[selector["argmax"]], errors="coerce")
        if order.isna().all():
            raise SelectionError(f"{output}: column '{selector['argmax']}' has no number in the rows with {described}")
        rows = rows.loc[[order.idxmax()]]
        described += f", the largest {selector['argmax']}"
    return rows, described


def _row_value(selector: Mapping, data: pd.DataFrame, row: pd.Series, described: str) -> Value:
    """The selector's column of one row, with its CI, n and models, in the unit `convert` asks for."""
    output = selector["output"]
    fmt = output_format(output) or {}
    factor = 1.0
    if "convert" in selector:
        units = CONVERSIONS[selector["convert"]]
        unit = row["unit"] if "unit" in data.columns else None
        if unit not in units:
            raise SelectionError(f"{output}: convert {selector['convert']} needs a `unit` column of "
                                 f"{', '.join(units)}, the row has {unit!r}")
        factor = units[unit]
    where_text = f"{output}: {selector['column']}" + (f" [{described}]" if described else "")
    value = _number(row[selector["column"]], where_text)
    ci = ci_columns(fmt, selector["column"]) if fmt else None
    low = high = None
    if ci and ci[0] in data.columns and ci[1] in data.columns and pd.notna(row[ci[0]]) and pd.notna(row[ci[1]]):
        low, high = _number(row[ci[0]], f"{output}: {ci[0]}") * factor, _number(row[ci[1]], f"{output}: {ci[1]}") * factor
    n_column, points_column = fmt.get("n"), fmt.get("points")
    n = float(row[n_column]) if n_column and n_column in data.columns and pd.notna(row[n_column]) else None
    points = float(row[points_column]) if points_column and pd.notna(row.get(points_column)) else None
    models = tuple(str(row[c]) for c in MODEL_COLUMNS if c in data.columns and pd.notna(row[c]))
    return Value(value * factor, low, high, n, where_text, models, points)


def check_value(value: Value) -> None:
    """A number that breaks its own format is an OutputError naming where it was read: an inverted CI,
    a value outside its CI (beyond float rounding), n = 0."""
    if value.n is not None and value.n <= 0:
        raise OutputError(f"{value.source}: n = {value.n:g}; a number from no samples cannot be judged")
    if value.has_ci and not math.isnan(value.value):
        if value.low > value.high + EPS:
            raise OutputError(f"{value.source}: inverted CI [{value.low:g}, {value.high:g}]")
        slack = EPS + 1e-6 * max(1.0, abs(value.value))  # outputs are rounded to 4-6 decimals
        if not value.low - slack <= value.value <= value.high + slack:
            raise OutputError(f"{value.source}: the value {value.value:g} lies outside its CI "
                              f"[{value.low:g}, {value.high:g}]")


# ---- verdicts ------------------------------------------------------------------------------------------------
def band_verdict(value: Value, low: float, high: float) -> tuple[str, str]:
    """A value against a band [low, high]: reproduced when its CI lies inside the band, contradicted
    when the CI lies wholly outside it; when it straddles a bound, undecidable if the CI is wider
    than the band (no CI at this n could lie inside it: the reason gives the n that could), else
    inconclusive."""
    if not value.has_ci:
        return "inconclusive", "the kit's value has no CI"
    if low - EPS <= value.low and value.high <= high + EPS:
        return "reproduced", f"CI inside [{low:g}, {high:g}]"
    if value.high < low - EPS or value.low > high + EPS:
        return "contradicted", f"CI outside [{low:g}, {high:g}]"
    width, band = value.high - value.low, high - low
    if width > band + EPS:
        needed = (f"; a CI that narrow needs n >= {math.ceil(value.n * (width / band) ** 2 - 1e-6):,}"
                  if value.n and band > 0 else "")
        n_text = f" at n = {value.n:,.0f}" if value.n else ""
        return "undecidable", (f"undecidable{n_text}: the CI (width {width:.3g}) is wider than the band "
                               f"[{low:g}, {high:g}] (width {band:.3g}){needed}")
    return "inconclusive", f"CI straddles [{low:g}, {high:g}]"


def sign_verdict(value: Value, expect: str) -> tuple[str, str]:
    """A difference (or r) against the paper's side of 0: reproduced when its CI excludes 0 on that
    side, contradicted when it excludes 0 on the other side, inconclusive when it covers (or touches) 0."""
    if not value.has_ci:
        return "inconclusive", "the kit's value has no CI"
    above, below = value.low > 0, value.high < 0
    if (expect == "positive" and above) or (expect == "negative" and below):
        return "reproduced", f"CI {'above' if above else 'below'} 0"
    if above or below:
        return "contradicted", f"CI {'above' if above else 'below'} 0, the paper's is {expect}"
    return "inconclusive", "CI covers 0"


def combine(verdicts: Sequence[str]) -> str:
    """Several parts of one claim: contradicted if any part is, reproduced if all are, undecidable if
    a part cannot be decided at this n, else inconclusive."""
    if "contradicted" in verdicts:
        return "contradicted"
    if all(v == "reproduced" for v in verdicts):
        return "reproduced"
    return "undecidable" if "undecidable" in verdicts else "inconclusive"


def paper_band(claim: Mapping) -> tuple[float, float]:
    return tuple(claim["range"]) if "range" in claim else (claim["paper"] - claim["tolerance"],
                                                          claim["paper"] + claim["tolerance"])


def _with_points(value: Value) -> Value:
    """A correlation's CI widened to cover Fisher's z interval over its points: the bootstrap inside
    fixed groups leaves out that the groups (5 categories, 7 questions) are themselves few."""
    if value.points is None or not value.has_ci:
        return value
    low, high = fisher_z_ci(value.value, int(value.points))
    return Value(value.value, min(value.low, low), max(value.high, high), value.n, value.source, value.models,
                 value.points)


def _parts(parts: Sequence[tuple[str, str, str]]) -> tuple[str, str]:
    """(name, verdict, why) parts combined into one verdict and its reason."""
    return combine([v for _, v, _ in parts]), "; ".join(f"{name}: {v} ({why})" for name, v, why in parts)


def judge(claim: Mapping, values: Sequence[Value], sign_only: bool = False) -> tuple[str, str]:
    """The verdict of one claim on the kit's values and why. `sign_only` (values from stand-ins for
    the paper's models): a comparison is judged on its sign alone, not its size."""
    if any(v.value is None or math.isnan(v.value) for v in values):
        return "inconclusive", "the kit's value is undefined (NaN)"
    kind, value = claim["kind"], values[0]
    expect = claim.get("expect")
    if sign_only and expect and kind in ("value", "point"):  # a direction's own rule below skips its size
        verdict, why = sign_verdict(value, expect) if kind != "point" else _point_sign(value, expect)
        return verdict, f"on stand-ins the sign alone: {why}"
    if kind == "exact":
        tolerance = claim.get("tolerance", 0)
        off = abs(value.value - claim["paper"])
        ok = off <= tolerance + EPS
        return ("reproduced" if ok else "contradicted"), f"differs by {off:g} (tolerance {tolerance:g})"
    if kind == "count":
        if not value.has_ci:
            return "inconclusive", "the count has no draw interval"
        inside = value.low - EPS <= claim["paper"] <= value.high + EPS
        return ("reproduced" if inside else "contradicted"), (
            f"the paper's {claim['paper']:g} is {'inside' if inside else 'outside'} the draw's interval "
            f"[{value.low:.1f}, {value.high:.1f}] around the kit's {value.value:g}")
    if kind == "value":
        return band_verdict(value, *paper_band(claim))
    if kind == "point":
        low, high = paper_band(claim)
        inside = low - EPS <= value.value <= high + EPS
        return ("reproduced" if inside else "contradicted"), (
            f"the point value {value.value:g} is {'inside' if inside else 'outside'} [{low:g}, {high:g}] "
            "(the paper compares point values; the CI is shown beside it)")
    if kind == "direction":
        parts = [(_label(v, i), *sign_verdict(v, expect)) for i, v in enumerate(values)] if len(values) > 1 else [
            ("sign", *sign_verdict(value, expect))]
        if "paper" in claim and not sign_only:
            parts += [(f"size {_label(v, i)}" if len(values) > 1 else "size", *band_verdict(v, *paper_band(claim)))
                      for i, v in enumerate(values)]
        verdict, why = _parts(parts) if len(parts) > 1 else parts[0][1:]
        return verdict, f"on stand-ins the sign alone: {why}" if sign_only else why
    if kind == "rank":  # in the top `paper` (a rank is no size: stand-ins are judged the same way)
        parts = [(_label(v, i), *rank_verdict(v, claim["paper"])) for i, v in enumerate(values)]
        return _parts(parts) if len(parts) > 1 else parts[0][1:]
    if kind == "correlation":
        value = _with_points(value)
        parts = [("sign", *sign_verdict(value, "negative" if claim["paper"] < 0 else "positive"))]
        if not sign_only:
            parts.append(("size", *band_verdict(value, *paper_band(claim))))
        return _parts(parts)
    if kind == "ordering":  # every pair, not only neighbours: A > B > C with A < C is contradicted
        expect = "positive" if claim.get("order", "decreasing") == "decreasing" else "negative"
        sign = ">" if expect == "positive" else "<"
        return _parts([(f"{i + 1} {sign} {j + 1}", *sign_verdict(difference(values[i], values[j]), expect))
                       for i in range(len(values)) for j in range(i + 1, len(values))])
    raise ValueError(f"unknown kind of claim '{kind}'")


def rank_verdict(value: Value, top: float) -> tuple[str, str]:
    """A rank (1 the best) against the paper's top k: reproduced when its whole 95% interval lies in
    1..k, contradicted when the interval lies below the top k, inconclusive when it straddles k."""
    if not value.has_ci:
        return "inconclusive", f"rank {value.value:g} has no interval"
    shown = f"rank {value.value:g} [{value.low:g}, {value.high:g}]"
    if value.high <= top + EPS:
        return "reproduced", f"{shown} within the top {top:g}"
    if value.low > top + EPS:
        return "contradicted", f"{shown} below the top {top:g}"
    return "inconclusive", f"{shown} straddles the top {top:g}"


def _label(value: Value, i: int) -> str:
    """A part's name in a reason: the row it was read from ([...] of its source), or its number."""
    found = re.search(r"\[(.*)\]$", value.source)
    return found.group(1) if found else f"{i + 1}"


def _point_sign(value: Value, expect: str) -> tuple[str, str]:
    ok = value.value > 0 if expect == "positive" else value.value < 0
    return ("reproduced" if ok else "contradicted"), f"the point value {value.value:g} is {expect}" if ok else (
        f"the point value {value.value:g} is not {expect}")


# ---- the table of verdicts -----------------------------------------------------------------------------------
COLUMNS = ["id", "where", "claim", "kind", "paper", "kit", "ci_low", "ci_high", "n", "verdict", "reason", "evidence",
           "survey", "models", "judged_on", "same_as", "output"]
EVIDENCE = ("paper", "stand-in")  # on the paper's data and models | on a stand-in (synthetic survey or models)


def _paper_text(claim: Mapping) -> str:
    paper = claim.get("paper")
    if claim["kind"] == "ordering":
        sign = " > " if claim.get("order", "decreasing") == "decreasing" else " < "
        return sign.join(f"{p:g}" for p in paper) if paper else f"items {claim.get('order', 'decreasing')}"
    if claim["kind"] == "rank":
        return f"top {paper:g}"
    parts = [] if paper is None else [f"{paper:g}"]
    if "range" in claim:
        parts.append(f"in [{claim['range'][0]:g}, {claim['range'][1]:g}]")
    elif claim.get("tolerance"):
        parts.append(f"+- {claim['tolerance']:g}")
    if claim.get("expect"):
        parts.append("(> 0)" if claim["expect"] == "positive" else "(< 0)")
    return " ".join(parts)


def _selector_text(selector: Mapping) -> str:
    for combination in COMBINATIONS:
        if combination in selector:
            joined = " minus " if combination == "difference" else ", "
            text = joined.join(f"({_selector_text(s)})" for s in selector[combination])
            return text if combination == "difference" else f"mean of {text}"
    if "key" in selector:
        return f"{selector['output']}: {selector['key']}"
    where = ", ".join(f"{c}={v}" for c, v in selector.get("where", {}).items())
    text = f"{selector['output']}: {selector['column']}" + (f" [{where}]" if where else "")
    text += f", the row of largest {selector['argmax']}" if "argmax" in selector else ""
    text += "".join(f", {c} != {v}" for c, v in selector.get("except", {}).items())
    text += f", every {selector['every']}" if "every" in selector else ""
    return f"|{text}|" if selector.get("abs") else text


def judge_claims(claims: Sequence[Mapping], read: Callable[[str], Any], stand_ins: Mapping[str, str] | None = None,
                 not_run: Mapping[str, str] | None = None, evidence: Mapping[str, Any] | None = None,
                 paper_models: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per claim: the paper's value, the kit's value with its CI and n, the verdict and why,
    and its evidence. `not_run`: claim id -> why the run cannot judge it (decided before reading
    anything). `evidence`: {survey: what the run's data is, paper_data: whether it is the paper's (a
    WVS-7 file or the release) rather than the synthetic survey}. A claim counts for or against the
    paper (evidence `paper`) only on the paper's data with no stand-in model: a row the stand-ins
    replaced, or a row of a model outside `paper_models` (the demo's Table 3 on tiny models) unless
    the claim is `about: data`; a stand-in's comparison is judged on its sign alone. Never raises
    for one claim: a selector or an output that fails gives that claim the verdict `error`."""
    not_run = not_run or {}
    evidence = evidence or {"survey": "", "paper_data": False}
    rows: list[dict] = []
    first_with: dict[tuple, str] = {}
    for claim in claims:
        row = {"id": claim["id"], "where": claim["where"], "claim": claim["claim"], "kind": claim["kind"],
               "paper": _paper_text(claim), "kit": None, "ci_low": None, "ci_high": None, "n": None,
               "survey": evidence["survey"], "models": "", "judged_on": "", "same_as": "",
               "output": "; ".join(_selector_text(s) for s in claim_selectors(claim))}
        used: list[str] = []
        try:
            if claim["id"] in not_run:
                raise NotRun(not_run[claim["id"]])
            if claim.get("pending"):  # no output answers it yet
                raise NotRun(f"pending: {claim['pending']}")
            values = [v for s in claim_selectors(claim) for v in select_each(s, read, stand_ins, used)]
            for value in values:
                check_value(value)
        except NotRun as reason:
            rows.append({**row, "verdict": "not run", "reason": str(reason), "evidence": ""})
            continue
        except (DVMapError, OSError, ValueError, KeyError) as error:  # this claim's error, not the table's
            rows.append({**row, "verdict": "error", "reason": f"{type(error).__name__}: {error}", "evidence": ""})
            continue
        models = sorted({m for v in values for m in v.models})
        if paper_models is not None and claim.get("about") != "data":
            used += [f"{m} (not a paper model)" for m in models if m not in paper_models and
                     not any(u.startswith(f"{m} for ") for u in used)]
        stand_in = bool(used)
        verdict, why = judge(claim, values, sign_only=stand_in)
        row["models"] = ", ".join(models)
        row["evidence"] = "paper" if evidence["paper_data"] and not stand_in else "stand-in"
        if claim["kind"] == "ordering" or len(values) > 1:
            row["kit"] = (" > " if claim.get("order", "decreasing") == "decreasing" else " < ").join(
                f"{v.value:.4g}" for v in values) if claim["kind"] == "ordering" else "; ".join(
                f"{v.value:.4g}" for v in values)
            row["n"] = _min_n(*(v.n for v in values))
        else:
            v = values[0]
            row.update({"kit": round(v.value, 6), "ci_low": None if v.low is None else round(v.low, 6),
                        "ci_high": None if v.high is None else round(v.high, 6), "n": v.n})
        # one kit number judged for several paper claims (two sizes on one stand-in) counts once
        key = (claim["kind"], tuple(v.source for v in values))
        row["same_as"] = first_with.get(key, "")
        first_with.setdefault(key, claim["id"])
        rows.append({**row, "verdict": verdict, "reason": why, "judged_on": "; ".join(dict.fromkeys(used))})
    frame = pd.DataFrame(rows, columns=COLUMNS)
    n = pd.to_numeric(frame["n"])
    if n.dropna().mod(1).eq(0).all():  # counts of samples, pairs or points: integers
        frame["n"] = n.astype("Int64")
    return frame


def evidence_counts(table: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Verdicts on the evidence, per kind of evidence (paper, stand-in), each kit number once (rows
    that repeat an earlier claim's number, `same_as`, are left out); `not run` and `error` apart."""
    frame = table.fillna({"same_as": "", "evidence": ""})
    distinct = frame[frame["same_as"] == ""]
    out = {e: {v: int(((distinct["evidence"] == e) & (distinct["verdict"] == v)).sum()) for v in JUDGED}
           for e in EVIDENCE}
    out["other"] = {v: int((frame["verdict"] == v).sum()) for v in ("not run", "error")}
    return out


def summary_line(table: pd.DataFrame) -> str:
    """'on the paper's data and models: ...; on stand-ins: ...; not run: k; errors: e'."""
    counts = evidence_counts(table)

    def part(e: str) -> str:
        return ", ".join(f"{n} {v}" for v, n in counts[e].items())

    repeated = int((table["same_as"].fillna("") != "").sum())
    line = (f"on the paper's data and models: {part('paper')}; on stand-ins (a synthetic survey or stand-in "
            f"models, which speak for the kit, not the paper): {part('stand-in')}; not run: "
            f"{counts['other']['not run']}; errors: {counts['other']['error']}")
    return line + (f" ({repeated} claims repeat another's number and are counted once)" if repeated else "")


def claims_markdown(table: pd.DataFrame) -> str:
    """results/claims.md: the verdict counts by evidence, then one line per claim."""
    lines = ["# The paper's claims judged on this run", "",
             f"{len(table)} claims: {summary_line(table)}. Verdict rules: docs/claims.md.", "",
             "| claim | where | paper | kit [95% CI] | n | verdict | evidence | why |", "|---|---|---|---|---|---|---|---|"]

    def cell(text) -> str:
        return "" if text is None or (isinstance(text, float) and math.isnan(text)) else str(text).replace("|", "/")

    for row in table.itertuples():
        kit = f"{row.kit:.6g}" if isinstance(row.kit, float) and not math.isnan(row.kit) else cell(row.kit)
        if pd.notna(row.ci_low) and pd.notna(row.ci_high):
            kit += f" [{row.ci_low:.4g}, {row.ci_high:.4g}]"
        if row.judged_on:
            kit += f" (on {row.judged_on})"
        n = "" if pd.isna(row.n) else str(row.n)
        evidence = cell(row.evidence) + (f", {cell(row.survey)}" if cell(row.evidence) else "")
        if cell(row.same_as):
            evidence += f"; the number of {row.same_as}"
        lines.append(f"| {cell(row.claim)} | {cell(row.where)} | {cell(row.paper)} | {kit} | {n} | **{row.verdict}** | "
                     f"{evidence} | {cell(row.reason)} |")
    return "\n".join(lines) + "\n"


def report_copy(table: pd.DataFrame) -> pd.DataFrame:
    """The table as the HTML report shows it (a csv-table, parsed as reStructuredText): every text
    cell escaped (dvmap.redact.escape_report_text), so a claim text holding a directive or HTML from
    the spec shows as text."""
    shown = table.copy()
    for column in shown.columns:
        shown[column] = shown[column].map(lambda text: escape_report_text(text) if isinstance(text, str) else text)
    return shown


def read_output(path: str) -> Any:
    """A kit output as a claim reads it: a JSON file as a dict, a CSV as a DataFrame."""
    if path.endswith(".json"):
        return json.loads(Path(path).read_text(encoding="utf-8"))
    return pd.read_csv(path)


# ---- the headline printed when a run ends (Snakefile onsuccess) ------------------------------------------------
def headline(root: str | Path = ".", table: str = "results/table2.csv", claims: str = "results/claims.csv",
             report: str = "results/report.html") -> list[str]:
    """Lines for the end of a run from the files that exist (none are required): the main table's
    rows (model, accuracy with CI, n), the claims' verdicts by evidence and where the details are."""
    root = Path(root)
    lines = []
    if (root / table).is_file():
        frame = pd.read_csv(root / table)
        if {"model", "acc", "acc_ci_low", "acc_ci_high", "n"} <= set(frame.columns) and not frame.empty:
            lines.append(f"{table} (cross-demographic accuracy, 95% CI):")
            width = max(len(str(m)) for m in frame["model"])
            lines += [f"  {str(r.model):<{width}}  {100 * r.acc:5.1f}% [{100 * r.acc_ci_low:5.1f}, "
                      f"{100 * r.acc_ci_high:5.1f}]  n = {r.n}" for r in frame.itertuples()]
    if (root / claims).is_file():
        frame = pd.read_csv(root / claims)
        if {"verdict", "evidence", "same_as"} <= set(frame.columns):
            survey = next((s for s in frame.get("survey", pd.Series(dtype=str)).dropna() if s), "")
            lines.append(f"The paper's claims ({len(frame)}" + (f", judged on {survey}" if survey else "") + "):")
            lines.append(f"  {summary_line(frame)}")
            markdown = Path(claims).with_suffix(".md")
            lines.append(f"  details: {markdown}" + ("" if (root / markdown).is_file() else " (not built)"))
    if lines:
        built = (root / report).is_file()
        lines.append(f"Report: {report}" + ("" if built else f" (make it: snakemake --report {report})"))
    return lines
