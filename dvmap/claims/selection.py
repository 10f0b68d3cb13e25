"""Selecting the kit's numbers a claim names: one number with its CI, n and models per selector (or
one per row with `every`), with stand-ins for the paper's models a run lacks; combinations
(difference, mean, absolute value) and the sanity checks of a number against its own format."""
from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from dvmap.claims.spec import ci_columns, output_format
from dvmap.errors import DVMapError

EPS = 1e-9  # float rounding at a band's bound (paper - tolerance): the kit's outputs have 4-6 decimals
# `convert: to_nats`: an entropy in the unit its row names (column `unit`, the analyses' entropy_unit)
# as nats: bits times ln 2, nats as they are.
CONVERSIONS = {"to_nats": {"bits": math.log(2), "nats": 1.0}}


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
        return Value(a.value - b.value, None, None, min_n(a.n, b.n), source, models)
    return Value(a.value - b.value, a.low - b.high, a.high - b.low, min_n(a.n, b.n), source, models)


def mean_of(values: Sequence[Value]) -> Value:
    """The mean of several numbers with the mean of their bounds: the CI of a mean of perfectly
    correlated estimates, which covers at least 95% whatever their correlation (conservative)."""
    source = "mean of " + "; ".join(f"({v.source})" for v in values)
    models = tuple(m for v in values for m in v.models)
    mean = sum(v.value for v in values) / len(values)
    if not all(v.has_ci for v in values):
        return Value(mean, None, None, min_n(*(v.n for v in values)), source, models)
    return Value(mean, sum(v.low for v in values) / len(values), sum(v.high for v in values) / len(values),
                 min_n(*(v.n for v in values)), source, models)


def absolute(value: Value) -> Value:
    """|A| with its CI folded at 0 (a CI covering 0 becomes [0, max(|low|, |high|)])."""
    source = f"|{value.source}|"
    if not value.has_ci:
        return Value(abs(value.value), None, None, value.n, source, value.models)
    low, high = value.low, value.high
    folded = (low, high) if low >= 0 else (-high, -low) if high <= 0 else (0.0, max(-low, high))
    return Value(abs(value.value), *folded, value.n, source, value.models)


def min_n(*ns: float | None) -> float | None:
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


def read_output(path: str) -> Any:
    """A kit output as a claim reads it: a JSON file as a dict, a CSV as a DataFrame."""
    if path.endswith(".json"):
        return json.loads(Path(path).read_text(encoding="utf-8"))
    return pd.read_csv(path)

