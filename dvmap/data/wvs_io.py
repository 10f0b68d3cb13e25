"""Read a WVS-7 survey file (.sav/.dta through pyreadstat, .csv through pandas) into respondents.

Only the needed columns are read. Column names match case-insensitively (Stata files of some
WVS releases use lower case).
"""
from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat

from dvmap.data import coding
from dvmap.errors import SurveyFileError

COUNTRY_VAR = "B_COUNTRY"
WEIGHT_VAR = "W_WEIGHT"
INTERVIEW_VAR = "D_INTERVIEW"
READERS = {".sav": pyreadstat.read_sav, ".zsav": pyreadstat.read_sav, ".dta": pyreadstat.read_dta}
FORMATS = sorted([*READERS, ".csv"])
# The full WVS-7 file (~500 MB as .sav) reads about 1.6x faster in two row chunks on two cores.
PARALLEL_READ_PROCESSES = 2
PARALLEL_READ_MIN_BYTES = 64 * 2**20


def required_columns(specs: Mapping) -> list[str]:
    attrs = [a["wvs_var"] for a in specs["attributes"]["attributes"] if not a.get("from_countries")]
    questions = [q["wvs_var"] for q in specs["questions"]["questions"]]
    return [COUNTRY_VAR, *attrs, *questions]


def _csv_separator(path: Path) -> str:
    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        header = fh.readline()
    try:
        return csv.Sniffer().sniff(header, delimiters=",;\t").delimiter
    except csv.Error:
        return ","


# A .csv that pandas cannot read: empty, not UTF-8 text (a binary file named .csv), malformed rows.
CSV_ERRORS = (UnicodeDecodeError, pd.errors.EmptyDataError, pd.errors.ParserError, OSError)
CSV_EXPECTED = "UTF-8 text with a header row, separated by commas, semicolons or tabs"


def _unreadable_csv(path: Path, exc: Exception) -> SurveyFileError:
    """The kit's error for a .csv pandas cannot read, with what was expected."""
    if isinstance(exc, pd.errors.EmptyDataError):
        return SurveyFileError(path, f"cannot be read as .csv: the file is empty (expected {CSV_EXPECTED})")
    try:
        with open(path, "rb") as fh:
            spss = fh.read(4) in (b"$FL2", b"$FL3")
    except OSError:
        spss = False
    hint = " (it starts like an SPSS file: name it .sav)" if spss else ""
    return SurveyFileError(path, f"cannot be read as .csv, expected {CSV_EXPECTED}{hint}: {type(exc).__name__}: {exc}")


def _file_columns(path: Path) -> tuple[list[str], dict]:
    """Column names and value labels of the file, without reading its data."""
    suffix = path.suffix.lower()
    if suffix in READERS:
        try:
            _, meta = READERS[suffix](str(path), metadataonly=True)
        except Exception as exc:  # pyreadstat raises its own ReadstatError / PyreadstatError
            raise SurveyFileError(path, f"cannot be read as {suffix}: {exc}") from None
        return list(meta.column_names), dict(meta.variable_value_labels)
    try:
        header = pd.read_csv(path, nrows=0, sep=_csv_separator(path))
    except CSV_ERRORS as exc:
        raise _unreadable_csv(path, exc) from None
    return list(header.columns), {}


def _header_rows(reader, path: Path) -> str:
    """The number of rows a .sav/.dta header announces, for an error message."""
    try:
        return str(reader(str(path), metadataonly=True)[1].number_rows)
    except (pyreadstat.ReadstatError, pyreadstat.PyreadstatError, OSError):
        return "unknown number of"


def _read_stat_file(path: Path, columns: list[str]) -> pd.DataFrame:
    """Read columns of a .sav/.dta; a large file is read in row chunks by several processes."""
    reader = READERS[path.suffix.lower()]
    processes = min(PARALLEL_READ_PROCESSES, os.cpu_count() or 1)
    try:
        if processes > 1 and path.stat().st_size > PARALLEL_READ_MIN_BYTES:
            return pyreadstat.read_file_multiprocessing(reader, str(path), num_processes=processes, usecols=columns,
                                                        apply_value_formats=False)[0]
        return reader(str(path), usecols=columns, apply_value_formats=False)[0]
    except (pyreadstat.ReadstatError, pyreadstat.PyreadstatError, OSError) as exc:  # the header was readable
        raise SurveyFileError(path, f"cannot be read as {path.suffix.lower()}: {exc} (expected the "
                                    f"{_header_rows(reader, path)} rows its header announces: the file is probably "
                                    f"truncated or damaged, download it again)") from None


def check_survey_file(path: str | Path, specs: Mapping) -> tuple[list[str], dict]:
    """Check format, existence and required columns from the file's header alone.

    Returns the file's column names and value labels. Cheap: run before any job starts.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise SurveyFileError(path, f"unsupported format '{suffix}' (use one of {', '.join(FORMATS)})")
    if not path.is_file():
        raise SurveyFileError(path, "file not found")
    columns, value_labels = _file_columns(path)
    by_lower = {c.lower() for c in columns}
    missing = [c for c in required_columns(specs) if c.lower() not in by_lower]
    if missing:
        raise SurveyFileError(path, f"missing required columns {missing}")
    if specs["filter"]["use_weight"] and WEIGHT_VAR.lower() not in by_lower:
        raise SurveyFileError(path, f"the filter spec sets use_weight but the file has no {WEIGHT_VAR} column")
    return columns, value_labels


def read_survey_columns(path: str | Path, specs: Mapping) -> tuple[pd.DataFrame, dict]:
    """The needed columns of a survey file (renamed to their spec names) and the file's value labels."""
    path = Path(path)
    suffix = path.suffix.lower()
    columns, value_labels = check_survey_file(path, specs)
    by_lower = {c.lower(): c for c in columns}
    needed = required_columns(specs)
    optional = [c for c in (WEIGHT_VAR, INTERVIEW_VAR) if c.lower() in by_lower]
    wanted = {by_lower[c.lower()]: c for c in [*needed, *optional]}
    if suffix in READERS:
        df = _read_stat_file(path, list(wanted))
    else:
        try:
            df = pd.read_csv(path, usecols=list(wanted), sep=_csv_separator(path))
        except CSV_ERRORS as exc:
            raise _unreadable_csv(path, exc) from None
        for col in df.columns:
            if col != by_lower.get(INTERVIEW_VAR.lower()) and not pd.api.types.is_numeric_dtype(df[col]):
                df[col] = coding.as_numbers(df[col], col, str(path))  # names the text values that are no codes
    labels = {wanted[k]: {int(c): str(v) for c, v in lab.items()} for k, lab in value_labels.items() if k in wanted}
    return df.rename(columns=wanted), labels


def survey_codes(raw: pd.DataFrame, file: str) -> pd.DataFrame:
    """Every respondent of the file, whatever the country: respondent_id, country code (B_COUNTRY),
    weight and the raw codes of the needed variables. Independent of the study's countries, so
    adding a country never re-reads the file."""
    if INTERVIEW_VAR in raw:
        ids = raw[INTERVIEW_VAR].astype("int64").astype(str)
        dup = ids[ids.duplicated()]
        if len(dup):
            raise SurveyFileError(file, f"column {INTERVIEW_VAR}: duplicate interview ids {dup.head(5).tolist()}")
    else:  # no interview id: the row's position in the file is stable for a given file
        ids = pd.Series([f"r{i}" for i in range(len(raw))])
    if WEIGHT_VAR in raw:
        weight = raw[WEIGHT_VAR].to_numpy(dtype=float)
        if np.isnan(weight).any() or (weight < 0).any():
            raise SurveyFileError(file, f"column {WEIGHT_VAR}: missing or negative weights")
    else:
        weight = np.ones(len(raw))
    codes = raw.drop(columns=[c for c in (INTERVIEW_VAR, WEIGHT_VAR) if c in raw])
    return pd.concat([pd.DataFrame({"respondent_id": ids.to_numpy(), "weight": weight}), codes.reset_index(drop=True)],
                     axis=1)


def country_respondents(codes: pd.DataFrame, country: Mapping, specs: Mapping, file: str,
                        value_labels: Mapping[str, Mapping[int, str]] | None = None) -> pd.DataFrame:
    """One country's respondents: id, country, the 11 attribute labels, weight, one column per question.

    `codes` is survey_codes' table (or its rows of this country); `specs` needs attributes and questions.
    """
    value_labels = value_labels or {}
    rows = codes[codes[COUNTRY_VAR].to_numpy(dtype=float) == country["iso_numeric"]].reset_index(drop=True)
    if rows.empty:
        raise SurveyFileError(file, f"column {COUNTRY_VAR}: no respondent of {country['iso3']} "
                                    f"(code {country['iso_numeric']}) in the file")
    out = {"respondent_id": rows["respondent_id"].to_numpy(), "country": np.full(len(rows), country["iso3"], dtype=object)}
    not_answered = specs["attributes"]["not_answered"]
    for attr in specs["attributes"]["attributes"]:
        if attr.get("from_countries"):
            out[attr["name"]] = np.full(len(rows), country["name"], dtype=object)
        else:
            out[attr["name"]] = coding.attribute_labels(rows[attr["wvs_var"]], attr, not_answered, file,
                                                        value_labels.get(attr["wvs_var"])).to_numpy()
    out["weight"] = rows["weight"].to_numpy(dtype=float)
    for q in specs["questions"]["questions"]:
        out[q["id"]] = coding.answer_options(rows[q["wvs_var"]], q, file).to_numpy()
    return pd.DataFrame(out)


def check_countries_present(codes: pd.DataFrame, countries, file: str) -> None:
    present = set(np.unique(codes[COUNTRY_VAR].dropna().to_numpy(dtype=float)).astype(int).tolist())
    absent = [f"{c['iso3']} ({c['iso_numeric']})" for c in countries if c["iso_numeric"] not in present]
    if absent:
        raise SurveyFileError(file, f"column {COUNTRY_VAR}: configured countries not in the file: {', '.join(absent)}")


def read_respondents(path: str | Path, specs: Mapping) -> pd.DataFrame:
    """Read and code a WVS-7 file for all the study's countries (in the order of the countries spec):
    the concatenation of the per-country tables the workflow builds."""
    raw, value_labels = read_survey_columns(path, specs)
    codes = survey_codes(raw, str(path))
    countries = specs["countries"]["countries"]
    check_countries_present(codes, countries, str(path))
    return pd.concat([country_respondents(codes, c, specs, str(path), value_labels) for c in countries],
                     ignore_index=True)
