"""Map raw WVS codes to the labels of the corpus: attribute labels, bins, answer options.

WVS missing codes are negative (-1 don't know ... -5 missing); a system-missing value (NaN)
is treated the same way.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from dvmap.errors import SurveyFileError


def bin_index(values: pd.Series, bins: Sequence[Mapping]) -> np.ndarray:
    """Index of the bin (lower inclusive, upper exclusive) holding each value; -1 where none does."""
    x = values.to_numpy(dtype=float)
    out = np.full(len(x), -1, dtype=np.int64)
    for i, b in enumerate(bins):
        lower, upper = b.get("lower", -math.inf), b.get("upper", math.inf)
        out[(x >= lower) & (x < upper)] = i
    return out


def is_missing(values: pd.Series) -> np.ndarray:
    """True for WVS missing codes (negative) and system-missing values."""
    x = values.to_numpy(dtype=float)
    return np.isnan(x) | (x < 0)


def as_numbers(values: pd.Series, column: str, file: str) -> pd.Series:
    """The column as numbers: a numeric column as it is, text as floats. Text that is no number (a
    labelled export, `Male` among codes) is an error showing the offending values themselves."""
    if pd.api.types.is_numeric_dtype(values):
        return values
    numbers = pd.to_numeric(values, errors="coerce")
    text = values[numbers.isna() & values.notna()]
    if len(text):
        examples = list(dict.fromkeys(text.astype(str)))[:5]
        raise SurveyFileError(file, f"column {column}: expected numeric WVS codes, found text {examples} "
                                    f"({len(text)} of {len(values)} values)")
    return numbers.astype(float)


def _codes_as_int(values: pd.Series, column: str, file: str) -> np.ndarray:
    x = values.to_numpy(dtype=float)
    valid = ~np.isnan(x)
    if not np.all(x[valid] == np.round(x[valid])):
        bad = sorted(set(x[valid][x[valid] != np.round(x[valid])]))[:5]
        raise SurveyFileError(file, f"column {column}: non-integer codes {bad}")
    return np.where(valid, x, -9).astype(np.int64)


def attribute_labels(values: pd.Series, spec: Mapping, not_answered: str, file: str,
                     file_value_labels: Mapping[int, str] | None = None) -> pd.Series:
    """Labels of one attribute: negative codes -> `not_answered`, else via the spec's bins or labels.

    Codes the spec does not label fall back to the file's own value labels (.sav/.dta metadata);
    a code with no label anywhere is an error naming the column and the codes.
    """
    column = spec["wvs_var"]
    values = as_numbers(values, column, file)
    missing = is_missing(values)
    if "bins" in spec:
        idx = bin_index(values, spec["bins"])
        outside = ~missing & (idx < 0)
        if outside.any():
            bad = sorted(set(values.to_numpy()[outside].tolist()))[:10]
            raise SurveyFileError(file, f"column {column}: values {bad} fall in no bin of attribute '{spec['name']}'")
        names = np.array([b["label"] for b in spec["bins"]] + [not_answered], dtype=object)
        return pd.Series(names[np.where(missing, -1, idx)], index=values.index, name=spec["name"])
    codes = _codes_as_int(values, column, file)
    lookup = {int(k): v for k, v in (file_value_labels or {}).items() if int(k) >= 0}
    lookup.update({int(k): v for k, v in spec["labels"].items()})
    present = np.unique(codes[~missing])
    unknown = [int(c) for c in present if int(c) not in lookup]
    if unknown:
        raise SurveyFileError(file, f"column {column}: codes {unknown[:10]} have no label for attribute "
                                    f"'{spec['name']}' (add them to the attribute's labels)")
    mapped = pd.Series(codes, index=values.index).map(lookup)
    return mapped.where(~missing, not_answered).rename(spec["name"]).astype(object)


def answer_options(values: pd.Series, question: Mapping, file: str) -> pd.Series:
    """Option label per respondent for one question; None for missing answers.

    A non-negative code that maps to no option is an error naming the column and codes.
    """
    column = question["wvs_var"]
    values = as_numbers(values, column, file)
    missing = is_missing(values)
    if "bins" in question:
        idx = bin_index(values, question["bins"])
        unmapped = ~missing & (idx < 0)
        options = np.array([b["option"] for b in question["bins"]] + [None], dtype=object)
        result = options[np.where(missing | unmapped, -1, idx)]
    else:
        codes = _codes_as_int(values, column, file)
        lookup = {int(k): v for k, v in question["codes"].items()}
        result = pd.Series(codes).map(lookup).to_numpy(dtype=object)
        unmapped = ~missing & pd.isna(result)
    if unmapped.any():
        bad = sorted(set(values.to_numpy()[unmapped].tolist()))[:10]
        raise SurveyFileError(file, f"column {column}: codes {bad} map to no option of question {question['id']}")
    result = np.where(missing, None, result)
    return pd.Series(result, index=values.index, name=question["id"], dtype=object)


# A question's wording and grouping: they enter at the datasets, not at coding or filtering.
WORDING_KEYS = ("text", "category", "concept", "neighbour")


def coding_spec(question: Mapping) -> dict:
    """What decides how a question's answers are read, coded, filtered and pooled (not its wording),
    so editing the wording reruns the workflow from the datasets on only."""
    return {k: v for k, v in question.items() if k not in WORDING_KEYS}
