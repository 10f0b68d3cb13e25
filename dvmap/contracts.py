"""Data contracts: one declared schema per file that crosses a stage boundary, checked where the
file is read, whatever its format (.sav, .dta, .csv, parquet).

The schemas are pandera DataFrameSchemas built from the specs (docs/bad-input.md says why pandera):
column presence and type, ranges and plausible ranges, finiteness, uniqueness, nulls. `check`
runs a schema lazily (every column is checked) and turns the first failure into one named error:
the file, the column, what the contract wants, how many rows break it and the first of them (rows
counted from 1, after the header), with their values. Nothing here knows about Snakemake.

* survey_schema: the survey file's columns after reading (B_COUNTRY, W_WEIGHT, D_INTERVIEW, the
  attributes' codes with each binned attribute's declared plausible range, the questions' codes);
  check_survey adds the cross-row rules (a configured question answered by no one).
* release_schema / check_release: a released split (columns, types, one answer per profile and
  question).
* PREDICTIONS / check_scores: what a table reads (predictions' columns and statuses, scores' n).
"""
from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from dvmap.errors import DVMapError, SurveyFileError

log = logging.getLogger("dvmap")
FIRST_ROWS = 5


class ContractError(SurveyFileError):
    """A file breaks its contract: names the file, the column and the first offending rows."""

    def __init__(self, file: str, column: str, message: str, rows: Sequence[int] = ()):
        self.column, self.rows = column, list(rows)
        super().__init__(file, f"column {column}: {message}")


# ---- vectorised checks (a Series in, a boolean Series out: no per-element Python) -------------------------------
def _numbers(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce") if not pd.api.types.is_numeric_dtype(s) else s.astype(float)


def _is_number(s: pd.Series) -> pd.Series:
    return _numbers(s).notna() | s.isna()


def _is_whole(s: pd.Series) -> pd.Series:
    x = _numbers(s)
    return x.isna() | (np.isfinite(x) & (x == np.round(x)))


def _is_finite(s: pd.Series) -> pd.Series:
    x = _numbers(s)
    return x.isna() | np.isfinite(x)


def _not_blank(s: pd.Series) -> pd.Series:
    return s.notna() & (s.astype(str).str.strip() != "")


def _code_check(kind: str, error: str) -> pa.Check:
    return pa.Check({"number": _is_number, "whole": _is_whole, "finite": _is_finite}[kind], error=error,
                    ignore_na=False)


def _in_range(lower: float, upper: float):
    """Values within [lower, upper], and WVS missing codes (negative) and blanks."""
    def inside(s: pd.Series) -> pd.Series:
        x = _numbers(s)
        return x.isna() | (x < 0) | ((x >= lower) & (x <= upper))
    return inside


# ---- running a schema ------------------------------------------------------------------------------------------
def check(frame: pd.DataFrame, schema: pa.DataFrameSchema, file: str) -> None:
    """Validate `frame`; the first failing column (in the schema's order) becomes a ContractError."""
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as errors:
        cases = errors.failure_cases
        order = {c: i for i, c in enumerate(schema.columns)}
        cases = cases.assign(_o=cases["column"].map(order).fillna(len(order))).sort_values("_o", kind="stable")
        first = cases.iloc[0]
        column, what = str(first["column"]), str(first["check"])
        if column in ("None", "nan") or first["schema_context"] == "DataFrameSchema":
            raise ContractError(file, str(first["failure_case"]), f"{what}") from None
        same = cases[(cases["column"] == first["column"]) & (cases["check"] == first["check"])]
        index = [int(i) for i in same["index"].dropna()]
        rows = [i + 1 for i in sorted(set(index))]
        values = list(dict.fromkeys(_shown(v) for v in same["failure_case"]))[:FIRST_ROWS]
        named = schema.columns[column].description if column in schema.columns else None
        message = {"not_nullable": f"blank values where the contract wants {named or 'a value'} in every row",
                   "field_uniqueness": f"duplicate {named or 'values'} (each must be unique)"}.get(what, what)
        where = f"{len(rows)} rows, first rows {rows[:FIRST_ROWS]}" if rows else f"{len(same)} values"
        raise ContractError(file, column, f"{message} ({where}: {', '.join(values)})", rows) from None


def _shown(value) -> str:
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    return repr(value)


# ---- the survey file ---------------------------------------------------------------------------------------------
COUNTRY_VAR, WEIGHT_VAR, INTERVIEW_VAR = "B_COUNTRY", "W_WEIGHT", "D_INTERVIEW"
# WVS-7 design weights lie within (0, 10]; a weight this large overflows the weighted sums to inf.
WEIGHT_MAX = 1e6


def _plausible(attr: Mapping) -> Mapping | None:
    return attr.get("plausible")


def survey_schema(variables: Mapping) -> pa.DataFrameSchema:
    """The contract of a survey file's needed columns, named by their spec variables. `variables` is
    the slice read_survey gets: attributes (wvs_var, plausible), questions (wvs_var, id), filter."""
    codes = "codes that are not numeric WVS codes"
    columns = {
        COUNTRY_VAR: pa.Column(checks=[_code_check("whole", "country codes that are not whole numbers"),
                                       pa.Check(lambda s: _numbers(s) >= 0, error="negative country codes")],
                               nullable=False),
        WEIGHT_VAR: pa.Column(checks=[_code_check("number", "weights that are not numbers"),
                                      _code_check("finite", "infinite weights (inf)"),
                                      pa.Check(lambda s: _numbers(s) >= 0,
                                               error="missing or negative weights (weights must be >= 0)"),
                                      pa.Check(lambda s: _numbers(s) <= WEIGHT_MAX,
                                               error=f"implausible weights (over {WEIGHT_MAX:g}; WVS-7 weights lie "
                                                     f"within (0, 10])")],
                              nullable=False, required=variables["filter"]["use_weight"]),
        INTERVIEW_VAR: pa.Column(checks=[pa.Check(_not_blank, error="blank interview ids"),
                                         pa.Check(_interview_ids_ok,
                                                  error="interview ids that are neither whole numbers nor text")],
                                 nullable=False, unique=True, required=False, description="interview ids"),
    }
    for attr in variables["attributes"]["attributes"]:
        checks = [_code_check("number", codes), _code_check("finite", "infinite codes")]
        if not (attr.get("binned") or "bins" in attr):
            checks.append(_code_check("whole", "codes that are not whole numbers"))
        bounds = _plausible(attr)
        if bounds and bounds["out_of_range"] == "error":
            checks.append(pa.Check(_in_range(bounds["min"], bounds["max"]),
                                   error=f"values outside the plausible range [{bounds['min']}, {bounds['max']}] of "
                                         f"{attr.get('name', attr['wvs_var'])} (declared in the attributes spec; "
                                         f"negative codes are missing values)", ignore_na=False))
        columns[attr["wvs_var"]] = pa.Column(checks=checks, nullable=True)
    for q in variables["questions"]["questions"]:
        columns.setdefault(q["wvs_var"], pa.Column(checks=[_code_check("number", codes),
                                                           _code_check("finite", "infinite codes")], nullable=True))
    return pa.DataFrameSchema(columns, strict=False)


def _interview_ids_ok(s: pd.Series) -> pd.Series:
    """Numeric ids must be whole numbers; text ids are taken as they are."""
    if pd.api.types.is_numeric_dtype(s):
        return _is_whole(s)
    x = pd.to_numeric(s, errors="coerce")
    return x.isna() | (np.isfinite(x) & (x == np.round(x)))


def check_survey(raw: pd.DataFrame, variables: Mapping, file: str) -> None:
    """The survey contract on the needed columns of the whole file (every country): the schema, then
    the rules across rows: every configured question answered by someone, and for each binned
    attribute whose plausible range says `out_of_range: warn`, a warning with the counts."""
    check(raw, survey_schema(variables), file)
    for attr in variables["attributes"]["attributes"]:
        bounds = _plausible(attr)
        if bounds and bounds.get("out_of_range") == "warn":
            x = _numbers(raw[attr["wvs_var"]])
            outside = (x >= 0) & ((x < bounds["min"]) | (x > bounds["max"]))
            if outside.any():
                log.warning("%s: column %s: %d of %d values outside the plausible range [%s, %s] (first rows %s)",
                            file, attr["wvs_var"], int(outside.sum()), len(x), bounds["min"], bounds["max"],
                            (np.flatnonzero(outside.to_numpy())[:FIRST_ROWS] + 1).tolist())
    for q in variables["questions"]["questions"]:
        x = _numbers(raw[q["wvs_var"]])
        if not (x >= 0).any():
            raise ContractError(file, q["wvs_var"], f"no respondent of the file answers question "
                                                    f"{q.get('id', q['wvs_var'])} (all {len(x)} values are blank or "
                                                    f"missing codes): it would silently leave the corpus")


# ---- the released corpus ---------------------------------------------------------------------------------------------
def release_schema(attribute_names: Sequence[str]) -> pa.DataFrameSchema:
    text = [pa.Check(_not_blank, error="blank text", ignore_na=False)]
    columns = {c: pa.Column(checks=text, nullable=False) for c in ["Q_id", "Country", "Options", "answer",
                                                                  *attribute_names]}
    columns["frequency"] = pa.Column(checks=[_code_check("number", "frequencies that are not numbers"),
                                             _code_check("finite", "infinite frequencies")], nullable=True)
    return pa.DataFrameSchema(columns, strict=False)


def check_release(release: pd.DataFrame, profile_ids: pd.Series, attribute_names: Sequence[str], file: str) -> None:
    """A released split's contract: the schema, and one answer per (profile, question). Rows that
    repeat a profile's question with the same answer are the release's repeats (numbered sample ids);
    two different answers to one profile's question are an error naming the rows."""
    check(release.reset_index(drop=True), release_schema(attribute_names), file)
    key = profile_ids.astype(str).to_numpy() + "-" + release["Q_id"].astype(str).to_numpy()
    frame = pd.DataFrame({"key": key, "answer": release["answer"].astype(str).to_numpy()})
    answers = frame.groupby("key")["answer"].nunique()
    conflicting = answers[answers > 1]
    if len(conflicting):
        first = conflicting.index[0]
        rows = (np.flatnonzero(frame["key"].to_numpy() == first)).tolist()
        shown = "; ".join(f"row {i}: {frame['answer'][i]!r}" for i in rows[:FIRST_ROWS])
        raise ContractError(file, "answer", f"{len(conflicting)} (profile, question) pairs have more than one "
                                            f"answer (one answer per profile and question); first: {first}: {shown}",
                            rows)


# ---- what a table reads ---------------------------------------------------------------------------------------------
PREDICTION_STATUSES = ("ok", "parse_error", "api_error")
PREDICTIONS = pa.DataFrameSchema({
    "sample_id": pa.Column(nullable=False, unique=True, checks=[pa.Check(_not_blank, error="blank sample ids")]),
    "status": pa.Column(nullable=False, checks=[pa.Check.isin(PREDICTION_STATUSES)]),
}, strict=False)


def check_predictions(predictions: pd.DataFrame, file: str) -> None:
    """Predictions as a score reads them: unique sample ids, known statuses, at least one row."""
    if not len(predictions):
        raise ContractError(file, "sample_id", "0 predictions: a score of 0 samples would be NaN")
    check(predictions, PREDICTIONS, file)


def check_scores(scores: Sequence[Mapping], where: str) -> None:
    """Scores a table reads: each over at least one sample, with finite metrics."""
    for s in scores:
        n = s.get("n")
        if not n:
            raise DVMapError(f"{where}: scores of {s.get('model', '?')} on {s.get('dataset', '?')} "
                             f"({s.get('template', '?')}): n = {n} samples: a table built from 0 samples would be "
                             f"empty or NaN (the dataset has no sample; see the data stage's logs)")
        bad = [k for k in ("acc",) if k in s and not math.isfinite(float(s[k]))]
        if bad:
            raise DVMapError(f"{where}: scores of {s.get('model', '?')} on {s.get('dataset', '?')}: {bad[0]} is "
                             f"{s[bad[0]]} over n = {n} samples")


# ---- what a writer promises --------------------------------------------------------------------------------------
def written_columns(frame: pd.DataFrame, columns: Sequence[str], file: str, ordered: bool = True) -> pd.DataFrame:
    """`frame` as its writer declares it, before it is written: exactly `columns` (the list the
    claims registry reads too), in that order, or in the frame's own with ordered=False. A frame
    without rows or columns gets the declared header."""
    if frame.empty and not len(frame.columns):
        return pd.DataFrame(columns=list(columns))
    missing = [c for c in columns if c not in frame.columns]
    unexpected = [str(c) for c in frame.columns if c not in columns]
    if missing or unexpected:
        raise ContractError(file, ", ".join(missing or unexpected),
                            f"the writer's declared columns {'lack' if missing else 'do not name'} it")
    return frame[list(columns)] if ordered else frame
