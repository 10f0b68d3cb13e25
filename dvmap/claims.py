"""The paper's claims judged on the kit's outputs (specs/claims.yaml, docs/claims.md).

A claim names a number of a kit output (a selector: a JSON key, or a CSV row and column, or the
difference of two such numbers) and the paper's value; its kind says how the two are compared.
The selectors are checked against the outputs' formats (OUTPUTS) and the specs when the DAG is
built, so a claim naming an output, column or row value the kit does not have stops the run
before any job. Verdicts: reproduced, contradicted, inconclusive (the CI covers both outcomes),
not run (the run lacks the output, the model or the data, and the reason says which)."""
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

VERDICTS = ("reproduced", "contradicted", "inconclusive", "not run")
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
        "keys": ["corpus_samples", "benchmark_samples", "datasets/{dataset}/samples", "datasets/{dataset}/profiles"]},
    "results/audit/filtering.json": {
        "keys": ["respondents", "profiles", "respondents_sharing_a_profile", "pairs", "pairs_kept",
                 "pairs_removed_share", "answers", "answers_in_kept_pairs", "answers_removed_share",
                 "entropy_mean_shared_profiles"]},
    "results/analysis/fig1a_entropy_by_country_question.csv": {
        "columns": ["country", "q_id", "role", "n", "k", "entropy", "entropy_ci_low", "entropy_ci_high", "unit",
                    "entropy_normalized", "entropy_normalized_ci_low", "entropy_normalized_ci_high", "selected",
                    "selection_rule"],
        "values": {"country": "countries", "q_id": "questions", "selected": (True, False), "unit": ("bits", "nats")},
        "n": "n"},
    "results/analysis/fig1b_question_entropy_summary.csv": {
        "columns": ["country", "n_respondents", "n_questions", "n_above", "share_above_threshold",
                    "share_above_threshold_ci_low", "share_above_threshold_ci_high", "threshold", "unit",
                    "min_respondents", "n_questions_in_file", "weighted"],
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
        "values": {**_MODELS, "level": ("category", "question")}, "n": "n_points"},
    "results/analysis/fig8_value_flip.csv": {
        "columns": ["model", "kind", "perturbation", "category", "n_pairs", "n_both_parsed", "rate", "rate_ci_low",
                    "rate_ci_high", "rate_seed_sd", "n_seeds", "note"],
        "values": {**_MODELS, "perturbation": "perturbations"}, "n": "n_pairs"},
    "results/analysis/fig8_value_flip_by_question.csv": {
        "columns": ["model", "kind", "perturbation", "q_id", "n_pairs", "n_both_parsed", "rate", "rate_ci_low",
                    "rate_ci_high", "rate_seed_sd", "n_seeds"],
        "values": {**_MODELS, "perturbation": "perturbations", "q_id": "questions"}, "n": "n_pairs"},
    "results/analysis/fig9_country_gain.csv": {
        "columns": [*_GAIN, "country", "distance_nearest", "distance_mean"],
        "values": {**_MODELS, "country": "countries"}, "n": "n"},
    "results/analysis/fig9_country_gain_distance.csv": {
        "columns": _CORRELATION, "values": {**_MODELS, "distance": ("nearest", "mean")}, "n": "n_points"},
    "results/analysis/table12_question_gain.csv": {
        "columns": [*_GAIN, "q_id", "distance_average", "distance_nearest"],
        "values": {**_MODELS, "q_id": "questions"}, "n": "n"},
    "results/analysis/table12_gain_distance.csv": {
        "columns": _CORRELATION, "values": {**_MODELS, "distance": ("average", "nearest")}, "n": "n_points"},
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
def leaves(selector: Mapping) -> Iterator[Mapping]:
    """The plain selectors (output + key or column) inside a selector."""
    if "difference" in selector:
        for part in selector["difference"]:
            yield from leaves(part)
    else:
        yield selector


def claim_selectors(claim: Mapping) -> list[Mapping]:
    return list(claim["items"]) if claim["kind"] == "ordering" else [claim["kit"]]


def claim_outputs(claim: Mapping) -> list[str]:
    """The outputs a claim reads, in order, each once."""
    return list(dict.fromkeys(leaf["output"] for s in claim_selectors(claim) for leaf in leaves(s)))


def spec_universes(specs: Mapping) -> dict[str, Any]:
    """What selector values may name, from the specs: models, general-utility pairs, questions,
    countries, attributes, datasets, ablation tables and their rows, robustness datasets."""
    from dvmap.analyses.robustness import ROBUSTNESS_DATASETS
    from dvmap.data.splits import DATASETS

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


def _check_selector(selector: Mapping, universes: Mapping[str, set], needs_ci: bool, file, where: str) -> None:
    if "difference" in selector:
        for i, part in enumerate(selector["difference"]):
            _check_selector(part, universes, needs_ci, file, f"{where}/difference/{i}")
        return
    fmt = output_format(selector["output"], universes)
    if fmt is None:
        raise SpecError(file, f"{where}/output", f"'{selector['output']}' is not an output of the kit a claim can read "
                                                 f"(known: {', '.join(OUTPUTS)})")
    if "key" in selector:
        parts = selector["key"].split("/")
        ok = any(len(p.split("/")) == len(parts) and all(
            q == k or (q == "{dataset}" and k in universes["datasets"]) for q, k in zip(p.split("/"), parts))
            for p in fmt["keys"])
        if not ok:
            raise SpecError(file, f"{where}/key", f"{selector['output']} has no key '{selector['key']}' "
                                                  f"(keys: {', '.join(fmt['keys'])})")
        if needs_ci:
            raise SpecError(file, where, f"{selector['output']}: '{selector['key']}' has no CI; this kind of claim "
                                         "needs one (an exact count or share is kind: exact)")
        return
    columns = fmt["columns"]
    for column in [selector["column"], *selector.get("where", {})]:
        if column not in columns:
            raise SpecError(file, f"{where}/column" if column == selector["column"] else f"{where}/where/{column}",
                            f"{selector['output']} has no column '{column}' (columns: {', '.join(columns)})")
    for column, value in selector.get("where", {}).items():
        allowed = fmt.get("values", {}).get(column)
        known = universes[allowed] if isinstance(allowed, str) else set(allowed or ())
        if allowed is not None and value not in known:
            raise SpecError(file, f"{where}/where/{column}", f"unknown {column} '{value}' in {selector['output']} "
                                                             f"(known: {', '.join(sorted(map(str, known)))})")
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
        if claim["kind"] == "ordering" and len(claim["paper"]) != len(claim["items"]):
            raise SpecError(file, f"{where}/paper", f"{len(claim['paper'])} values for {len(claim['items'])} items")
        needs_ci = claim["kind"] != "exact"
        if claim["kind"] == "ordering":
            for j, item in enumerate(claim["items"]):
                _check_selector(item, universes, needs_ci, file, f"{where}/items/{j}")
        else:
            _check_selector(claim["kit"], universes, needs_ci, file, f"{where}/kit")
        cell = claim.get("cell")
        if cell is not None:
            _check_cell(cell, universes["table_rows"], file, f"{where}/cell")
    for name, stand_in in spec.get("stand_ins", {}).items():
        for value, what in ((name, "key"), (stand_in, "value")):
            if value not in universes["models"] | universes["pairs"]:
                raise SpecError(file, f"stand_ins/{name}", f"{what} '{value}' is not a model of the models spec")


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
    """A number of the kit with its 95% CI (None: none) and the samples (or points) behind it."""
    value: float
    low: float | None = None
    high: float | None = None
    n: float | None = None

    @property
    def has_ci(self) -> bool:
        return self.low is not None and self.high is not None and not (math.isnan(self.low) or math.isnan(self.high))


class NotRun(Exception):  # noqa: N818 (a verdict, not an error)
    """The run lacks what a claim needs (the reason says what)."""


def difference(a: Value, b: Value) -> Value:
    """A - B with the conservative CI [low_A - high_B, high_A - low_B]: under a normal approximation it
    covers at least 95% whatever the correlation of A and B (the half-widths add, as the standard
    deviation of a difference is at most the sum of the two)."""
    if not (a.has_ci and b.has_ci):
        return Value(a.value - b.value, None, None, _min_n(a.n, b.n))
    return Value(a.value - b.value, a.low - b.high, a.high - b.low, _min_n(a.n, b.n))


def _min_n(*ns: float | None) -> float | None:
    known = [n for n in ns if n is not None and not (isinstance(n, float) and math.isnan(n))]
    return min(known) if known else None


def _matches(frame: pd.DataFrame, where: Mapping[str, Any]) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for column, value in where.items():
        mask &= frame[column].astype(str) == str(value)
    return mask


def select(selector: Mapping, read: Callable[[str], Any], stand_ins: Mapping[str, str] | None = None,
           used: list[str] | None = None) -> Value:
    """The kit's number a selector names. `read(path)` gives a DataFrame (CSV) or a dict (JSON).
    A row the run lacks (a model it does not evaluate) is looked for under the stand-ins of the
    values; a stand-in used is appended to `used` ("stand-in for paper-model"). Raises NotRun when
    the output lacks the row, DVMapError when the selector picks several rows or a column is absent."""
    if "difference" in selector:
        a, b = (select(part, read, stand_ins, used) for part in selector["difference"])
        return difference(a, b)
    output = selector["output"]
    data = read(output)
    if "key" in selector:
        node = data
        for part in selector["key"].split("/"):
            if not isinstance(node, Mapping) or part not in node:
                raise NotRun(f"{output} has no '{selector['key']}'")
            node = node[part]
        return Value(float(node))
    fmt = output_format(output) or {}
    where = dict(selector.get("where", {}))
    for column in [selector["column"], *where]:
        if column not in data.columns:
            raise DVMapError(f"{output}: no column '{column}' (a claim selects it; columns: {', '.join(data.columns)})")
    rows = data[_matches(data, where)]
    if rows.empty and stand_ins:
        swapped = {c: stand_ins.get(str(v), v) for c, v in where.items()}
        if swapped != where:
            rows = data[_matches(data, swapped)]
            if not rows.empty and used is not None:
                used.extend(f"{swapped[c]} for {where[c]}" for c in where if swapped[c] != where[c])
    if rows.empty:
        described = ", ".join(f"{c} = {v}" for c, v in where.items())
        raise NotRun(f"{output} has no row with {described}: the run lacks it")
    if len(rows) > 1:
        raise DVMapError(f"{output}: {len(rows)} rows match {where}; a claim's selector must pick one row")
    row = rows.iloc[0]
    factor = 1.0
    if "convert" in selector:
        units = CONVERSIONS[selector["convert"]]
        unit = row["unit"] if "unit" in data.columns else None
        if unit not in units:
            raise DVMapError(f"{output}: convert {selector['convert']} needs a `unit` column of {', '.join(units)}, "
                             f"the row has {unit!r}")
        factor = units[unit]
    ci = ci_columns(fmt, selector["column"]) if fmt else None
    low, high = (float(row[ci[0]]) * factor, float(row[ci[1]]) * factor) if ci and ci[0] in data else (None, None)
    n_column = fmt.get("n")
    n = float(row[n_column]) if n_column and n_column in data.columns and pd.notna(row[n_column]) else None
    return Value(float(row[selector["column"]]) * factor, low, high, n)


# ---- verdicts ------------------------------------------------------------------------------------------------
def band_verdict(value: Value, low: float, high: float) -> tuple[str, str]:
    """A value against a band [low, high]: reproduced when its CI lies inside the band, contradicted
    when the CI lies wholly outside it, inconclusive when the CI straddles a bound."""
    if not value.has_ci:
        return "inconclusive", "the kit's value has no CI"
    if low - EPS <= value.low and value.high <= high + EPS:
        return "reproduced", f"CI inside [{low:g}, {high:g}]"
    if value.high < low - EPS or value.low > high + EPS:
        return "contradicted", f"CI outside [{low:g}, {high:g}]"
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
    """Several parts of one claim: contradicted if any part is, reproduced if all are, else inconclusive."""
    if "contradicted" in verdicts:
        return "contradicted"
    return "reproduced" if all(v == "reproduced" for v in verdicts) else "inconclusive"


def judge(claim: Mapping, values: Sequence[Value]) -> tuple[str, str]:
    """The verdict of one claim on the kit's values (one, or one per item of an ordering) and why."""
    if any(v.value is None or math.isnan(v.value) for v in values):
        return "inconclusive", "the kit's value is undefined (NaN)"
    kind, value = claim["kind"], values[0]
    if kind == "exact":
        tolerance = claim.get("tolerance", 0)
        off = abs(value.value - claim["paper"])
        ok = off <= tolerance + EPS
        return ("reproduced" if ok else "contradicted"), f"differs by {off:g} (tolerance {tolerance:g})"
    if kind == "value":
        low, high = claim.get("range") or (claim["paper"] - claim["tolerance"], claim["paper"] + claim["tolerance"])
        return band_verdict(value, low, high)
    if kind == "direction":
        return sign_verdict(value, claim["expect"])
    if kind == "correlation":
        expect = "negative" if claim["paper"] < 0 else "positive"
        sign, sign_why = sign_verdict(value, expect)
        size, size_why = band_verdict(value, claim["paper"] - claim["tolerance"], claim["paper"] + claim["tolerance"])
        return combine([sign, size]), f"sign: {sign} ({sign_why}); size: {size} ({size_why})"
    if kind == "ordering":
        steps = [sign_verdict(difference(a, b), "positive") for a, b in zip(values, values[1:])]
        return combine([v for v, _ in steps]), "; ".join(f"{i + 1} > {i + 2}: {v} ({why})"
                                                          for i, (v, why) in enumerate(steps))
    raise ValueError(f"unknown kind of claim '{kind}'")


# ---- the table of verdicts -----------------------------------------------------------------------------------
COLUMNS = ["id", "where", "claim", "kind", "paper", "kit", "ci_low", "ci_high", "n", "verdict", "reason", "judged_on",
           "output"]


def _paper_text(claim: Mapping) -> str:
    paper = claim.get("paper")
    if claim["kind"] == "ordering":
        return " > ".join(f"{p:g}" for p in paper)
    parts = [] if paper is None else [f"{paper:g}"]
    if "range" in claim:
        parts.append(f"in [{claim['range'][0]:g}, {claim['range'][1]:g}]")
    elif claim.get("tolerance"):
        parts.append(f"+- {claim['tolerance']:g}")
    if claim["kind"] == "direction":
        parts.append("(> 0)" if claim["expect"] == "positive" else "(< 0)")
    return " ".join(parts)


def _selector_text(selector: Mapping) -> str:
    if "difference" in selector:
        return " minus ".join(f"({_selector_text(s)})" for s in selector["difference"])
    if "key" in selector:
        return f"{selector['output']}: {selector['key']}"
    where = ", ".join(f"{c}={v}" for c, v in selector.get("where", {}).items())
    return f"{selector['output']}: {selector['column']}" + (f" [{where}]" if where else "")


def judge_claims(claims: Sequence[Mapping], read: Callable[[str], Any], stand_ins: Mapping[str, str] | None = None,
                 not_run: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per claim: the paper's value, the kit's value with its CI and n, the verdict and why.
    `not_run`: claim id -> why the run cannot judge it (decided before reading anything)."""
    not_run = not_run or {}
    rows = []
    for claim in claims:
        row = {"id": claim["id"], "where": claim["where"], "claim": claim["claim"], "kind": claim["kind"],
               "paper": _paper_text(claim), "kit": None, "ci_low": None, "ci_high": None, "n": None,
               "judged_on": "", "output": "; ".join(_selector_text(s) for s in claim_selectors(claim))}
        used: list[str] = []
        try:
            if claim["id"] in not_run:
                raise NotRun(not_run[claim["id"]])
            try:
                values = [select(s, read, stand_ins, used) for s in claim_selectors(claim)]
            except DVMapError:  # a pending claim's column may not exist yet
                if claim.get("pending"):
                    raise NotRun(f"pending: {claim['pending']}") from None
                raise
        except NotRun as reason:
            rows.append({**row, "verdict": "not run", "reason": str(reason)})
            continue
        verdict, why = judge(claim, values)
        if claim["kind"] == "ordering":
            row["kit"] = " > ".join(f"{v.value:.4g}" for v in values)
            row["n"] = _min_n(*(v.n for v in values))
        else:
            v = values[0]
            row.update({"kit": round(v.value, 6), "ci_low": None if v.low is None else round(v.low, 6),
                        "ci_high": None if v.high is None else round(v.high, 6), "n": v.n})
        rows.append({**row, "verdict": verdict, "reason": why, "judged_on": "; ".join(dict.fromkeys(used))})
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["n"] = frame["n"].astype("Int64")
    return frame


def verdict_counts(table: pd.DataFrame) -> dict[str, int]:
    return {v: int((table["verdict"] == v).sum()) for v in VERDICTS}


def claims_markdown(table: pd.DataFrame) -> str:
    """results/claims.md: the verdict counts, then one line per claim."""
    counts = verdict_counts(table)
    lines = ["# The paper's claims judged on this run", "",
             ", ".join(f"{n} {v}" for v, n in counts.items()) + f" (of {len(table)}). Verdict rules: docs/claims.md.",
             "", "| claim | where | paper | kit [95% CI] | n | verdict | why |", "|---|---|---|---|---|---|---|"]

    def cell(text) -> str:
        return "" if text is None or (isinstance(text, float) and math.isnan(text)) else str(text).replace("|", "/")

    for row in table.itertuples():
        kit = f"{row.kit:.6g}" if isinstance(row.kit, float) and not math.isnan(row.kit) else cell(row.kit)
        if pd.notna(row.ci_low) and pd.notna(row.ci_high):
            kit += f" [{row.ci_low:.4g}, {row.ci_high:.4g}]"
        if row.judged_on:
            kit += f" (on {row.judged_on})"
        n = "" if pd.isna(row.n) else str(row.n)
        lines.append(f"| {cell(row.claim)} | {cell(row.where)} | {cell(row.paper)} | {kit} | {n} | **{row.verdict}** | "
                     f"{cell(row.reason)} |")
    return "\n".join(lines) + "\n"


def read_output(path: str) -> Any:
    """A kit output as a claim reads it: a JSON file as a dict, a CSV as a DataFrame."""
    if path.endswith(".json"):
        return json.loads(Path(path).read_text(encoding="utf-8"))
    return pd.read_csv(path)


# ---- the headline printed when a run ends (Snakefile onsuccess) ------------------------------------------------
def headline(root: str | Path = ".", table: str = "results/table2.csv", claims: str = "results/claims.csv",
             report: str = "results/report.html") -> list[str]:
    """Lines for the end of a run from the files that exist (none are required): the main table's
    rows (model, accuracy with CI, n), the claims' verdict counts and where the details are."""
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
        if "verdict" in frame.columns:
            counts = verdict_counts(frame)
            lines.append(f"The paper's claims ({len(frame)}): " + ", ".join(f"{n} {v}" for v, n in counts.items()))
            markdown = Path(claims).with_suffix(".md")
            lines.append(f"  details: {markdown}" + ("" if (root / markdown).is_file() else " (not built)"))
    if lines:
        built = (root / report).is_file()
        lines.append(f"Report: {report}" + ("" if built else f" (make it: snakemake --report {report})"))
    return lines
