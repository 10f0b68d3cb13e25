"""Read a WVS-7 survey file (.sav/.dta through pyreadstat, .csv through pandas) into respondents.

Only the needed columns are read. Column names match case-insensitively (Stata files of some
WVS releases use lower case); two columns matching one variable are an error. A country is the
respondents of its B_COUNTRY code(s); attributes' missing codes keep or drop a respondent as the
attributes spec says (docs/bad-input.md).
"""
from __future__ import annotations

import csv
import os
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat

from dvmap.contracts import check, check_survey, survey_schema
from dvmap.data import coding
from dvmap.errors import SurveyFileError
from dvmap.specs import country_codes

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


TRAILING_FIELD = "__dvmap_trailing_separator__"


def _csv_trailing_separator(path: Path, sep: str) -> bool:
    """Whether the rows end with a separator the header lacks (`a,b` over `1,2,`), as some exports
    write them. pandas would take the rows' first field as an index and shift every column by one;
    any other mismatch between the header and the first row is an error saying so."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = csv.reader(fh, delimiter=sep)
            header, first = next(rows, None), next(rows, None)
    except (UnicodeDecodeError, csv.Error, OSError):
        return False  # pandas reports it with the kit's message (_unreadable_csv)
    if header is None or first is None or len(first) <= len(header):
        return False
    if len(first) == len(header) + 1 and first[-1] == "":
        return True
    raise SurveyFileError(path, f"cannot be read as .csv: the header has {len(header)} fields but the first row "
                                f"{len(first)}, so the columns would not line up with their names (expected "
                                f"{CSV_EXPECTED}, every row with as many fields as the header)")


def _read_csv(path: Path, usecols: list[str] | None = None, nrows: int | None = None) -> pd.DataFrame:
    """A .csv's columns; rows ending with a separator the header lacks are read in their place, and
    a value in that extra last field is an error naming its first rows."""
    sep = _csv_separator(path)
    trailing = _csv_trailing_separator(path, sep)
    try:
        if not trailing:
            return pd.read_csv(path, usecols=usecols, nrows=nrows, sep=sep)
        names = [*pd.read_csv(path, nrows=0, sep=sep).columns, TRAILING_FIELD]
        frame = pd.read_csv(path, header=0, names=names, usecols=None if usecols is None else [*usecols, TRAILING_FIELD],
                            nrows=nrows, sep=sep)
    except CSV_ERRORS as exc:
        raise _unreadable_csv(path, exc) from None
    extra = frame[TRAILING_FIELD]
    if extra.notna().any():
        rows = (extra.index[extra.notna()] + 1).tolist()[:5]
        raise SurveyFileError(path, f"cannot be read as .csv: the header has {len(names) - 1} fields and the rows one "
                                    f"more, empty in the first row (a trailing separator) but not in data rows {rows} "
                                    f"(counted from 1 after the header): the columns do not line up with their names")
    return frame.drop(columns=TRAILING_FIELD)


def _file_columns(path: Path) -> tuple[list[str], dict]:
    """Column names and value labels of the file, without reading its data."""
    suffix = path.suffix.lower()
    if suffix in READERS:
        try:
            _, meta = READERS[suffix](str(path), metadataonly=True)
        except Exception as exc:  # pyreadstat raises its own ReadstatError / PyreadstatError
            raise SurveyFileError(path, f"cannot be read as {suffix}: {exc}") from None
        return list(meta.column_names), dict(meta.variable_value_labels)
    columns = list(_read_csv(path, nrows=0).columns)
    header = _csv_header(path)  # pandas renames a repeated name (Q1, Q1.1): the header as written
    return (header if header is not None and len(header) == len(columns) else columns), {}


def _csv_header(path: Path) -> list[str] | None:
    """The names of a .csv's header row as written (None when the csv module cannot read it)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            return next(csv.reader(fh, delimiter=_csv_separator(path)), None)
    except (UnicodeDecodeError, csv.Error, OSError):
        return None


def _columns_by_name(path: Path, columns: list[str], variables: list[str]) -> dict[str, str]:
    """The file's column of each variable (names match case-insensitively). Two columns whose names
    differ only in case (Q46 and q46) are an error naming both: either could be the variable."""
    candidates: dict[str, list[str]] = {}
    for c in columns:
        candidates.setdefault(str(c).lower(), []).append(str(c))
    for v in variables:
        found = candidates.get(v.lower(), [])
        if len(found) > 1 and len(set(found)) == 1:
            raise SurveyFileError(path, f"column {found[0]}: the header names it {len(found)} times; pandas would "
                                        f"rename the repeats ({found[0]}.1) and read the first: remove or rename "
                                        f"all but one")
        if len(found) > 1:
            raise SurveyFileError(path, f"columns {' and '.join(repr(c) for c in found)} both match the variable {v} "
                                        f"(names match case-insensitively): remove or rename all but one")
    return {v.lower(): candidates[v.lower()][0] for v in variables if v.lower() in candidates}


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


def _existing_survey_file(path: str | Path) -> Path:
    """The path of a survey file in a supported format that exists, else a SurveyFileError naming it."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise SurveyFileError(path, f"unsupported format '{suffix}' (use one of {', '.join(FORMATS)})")
    if not path.is_file():
        raise SurveyFileError(path, "file not found")
    return path


def _read_columns(path: Path, columns: list[str], keep_text=frozenset()) -> pd.DataFrame:
    """Columns of a survey file, by the reader of its format; a .csv's text columns (but `keep_text`)
    must be numeric codes, and the error names the text values that are not."""
    if path.suffix.lower() in READERS:
        return _read_stat_file(path, columns)
    df = _read_csv(path, usecols=columns)
    for col in df.columns:
        if col not in keep_text and not pd.api.types.is_numeric_dtype(df[col]):
            df[col] = coding.as_numbers(df[col], col, str(path))
    return df


def check_survey_file(path: str | Path, specs: Mapping) -> tuple[list[str], dict]:
    """Check format, existence and required columns from the file's header alone.

    Returns the file's column names and value labels. Cheap: run before any job starts.
    """
    path = _existing_survey_file(path)
    columns, value_labels = _file_columns(path)
    by_lower = _columns_by_name(path, columns, [*required_columns(specs), WEIGHT_VAR, INTERVIEW_VAR])
    missing = [c for c in required_columns(specs) if c.lower() not in by_lower]
    if missing:
        raise SurveyFileError(path, f"missing required columns {missing}")
    if specs["filter"]["use_weight"] and WEIGHT_VAR.lower() not in by_lower:
        raise SurveyFileError(path, f"the filter spec sets use_weight but the file has no {WEIGHT_VAR} column")
    return columns, value_labels


def _label_codes(labels: Mapping) -> dict[int, str]:
    """A variable's value labels by whole-number code; a label of another key (text, '1.5', which a
    file may hold for a column read as text) labels no code."""
    out = {}
    for code, label in labels.items():
        try:
            number = float(code)
        except (TypeError, ValueError):
            continue
        if np.isfinite(number) and number.is_integer():
            out[int(number)] = str(label)
    return out


def read_survey_columns(path: str | Path, specs: Mapping) -> tuple[pd.DataFrame, dict]:
    """The needed columns of a survey file (renamed to their spec names) and the file's value labels."""
    path = Path(path)
    columns, value_labels = check_survey_file(path, specs)
    needed = required_columns(specs)
    by_lower = _columns_by_name(path, columns, [*needed, WEIGHT_VAR, INTERVIEW_VAR])
    optional = [c for c in (WEIGHT_VAR, INTERVIEW_VAR) if c.lower() in by_lower]
    wanted = {by_lower[c.lower()]: c for c in [*needed, *optional]}
    df = _read_columns(path, list(wanted), keep_text={by_lower.get(INTERVIEW_VAR.lower())})
    labels = {wanted[k]: _label_codes(lab) for k, lab in value_labels.items() if k in wanted}
    df = df.rename(columns=wanted)
    check_survey(df, specs, str(path))  # the survey's data contract (dvmap/contracts.py), every format alike
    return df, labels


def survey_codes(raw: pd.DataFrame, file: str) -> pd.DataFrame:
    """Every respondent of the file, whatever the country: respondent_id, country code (B_COUNTRY),
    weight and the raw codes of the needed variables. Independent of the study's countries, so
    adding a country never re-reads the file."""
    if INTERVIEW_VAR in raw:  # whole numbers or text, none blank (the survey contract)
        column = raw[INTERVIEW_VAR]
        ids = (column.astype("int64").astype(str) if pd.api.types.is_numeric_dtype(column)
               else column.astype(str).str.strip())
        dup = ids[ids.duplicated()]
        if len(dup):
            raise SurveyFileError(file, f"column {INTERVIEW_VAR}: duplicate interview ids {dup.head(5).tolist()}")
    else:  # no interview id: the row's position in the file is stable for a given file
        ids = pd.Series([f"r{i}" for i in range(len(raw))])
    if WEIGHT_VAR in raw:
        weight = raw[WEIGHT_VAR].to_numpy(dtype=float)
        if not np.isfinite(weight).all() or (weight < 0).any():
            raise SurveyFileError(file, f"column {WEIGHT_VAR}: missing or negative weights")
    else:
        weight = np.ones(len(raw))
    codes = raw.drop(columns=[c for c in (INTERVIEW_VAR, WEIGHT_VAR) if c in raw])
    return pd.concat([pd.DataFrame({"respondent_id": ids.to_numpy(), "weight": weight}), codes.reset_index(drop=True)],
                     axis=1)


def country_rows(codes: pd.DataFrame, country: Mapping, file: str) -> pd.DataFrame:
    """The rows of survey_codes' table that make up a country: every B_COUNTRY code it pools
    (`b_country`, else its ISO numeric code). A code with no respondent is an error naming it."""
    wanted = country_codes(country)
    found = codes[COUNTRY_VAR].to_numpy(dtype=float)
    pooled = f" (one of the codes {country['iso3']} pools: {', '.join(map(str, wanted))})" if len(wanted) > 1 else ""
    for code in wanted:
        if not (found == code).any():
            raise SurveyFileError(file, f"column {COUNTRY_VAR}: no respondent of {country['iso3']} (code {code}) in the "
                                        f"file{pooled}")
    return codes[np.isin(found, wanted)].reset_index(drop=True)


def missing_treatment(attribute: Mapping) -> str:
    """What a negative (missing) code of an attribute does: `not_answered` (the label) or `drop`."""
    return attribute["missing"]


def missing_attribute_counts(rows: pd.DataFrame, attributes: Mapping, file: str) -> tuple[np.ndarray, dict]:
    """Which respondents the attributes' missing codes drop, and per attribute how many respondents
    have a missing code and what it does to them (the record audit/counts.json shows)."""
    keep = np.ones(len(rows), dtype=bool)
    per_attribute = {}
    for attr in attributes["attributes"]:
        if attr.get("from_countries"):
            continue
        missing = coding.is_missing(coding.as_numbers(rows[attr["wvs_var"]], attr["wvs_var"], file))
        treatment = missing_treatment(attr)
        per_attribute[attr["name"]] = {"missing": treatment, "respondents": int(missing.sum())}
        if treatment == "drop":
            keep &= ~missing
    return keep, {"respondents": int(len(rows)), "dropped": int((~keep).sum()), "kept": int(keep.sum()),
                  "per_attribute": per_attribute}


def country_respondents(codes: pd.DataFrame, country: Mapping, specs: Mapping, file: str,
                        value_labels: Mapping[str, Mapping[int, str]] | None = None,
                        record: dict | None = None) -> pd.DataFrame:
    """One country's respondents: id, country, the 11 attribute labels, weight, one column per question.

    `codes` is survey_codes' table (or its rows of this country); `specs` needs attributes and questions.
    Respondents with a missing code in an attribute whose `missing` is `drop` are left out; `record`,
    when given, receives missing_attribute_counts' record.
    """
    value_labels = value_labels or {}
    rows = country_rows(codes, country, file)
    keep, counts = missing_attribute_counts(rows, specs["attributes"], file)
    if record is not None:
        record.update(counts)
    if not keep.any():
        dropping = [a for a, c in counts["per_attribute"].items() if c["missing"] == "drop" and c["respondents"]]
        raise SurveyFileError(file, f"every one of the {len(rows)} respondents of {country['iso3']} has a missing code in "
                                    f"an attribute whose missing codes drop the respondent ({', '.join(dropping)}; "
                                    f"set `missing: not_answered` for it in the attributes spec to keep them)")
    rows = rows[keep].reset_index(drop=True)
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
    absent = [f"{c['iso3']} ({code})" for c in countries for code in country_codes(c) if code not in present]
    if absent:
        raise SurveyFileError(file, f"column {COUNTRY_VAR}: configured countries not in the file: {', '.join(absent)}")


def read_respondents(path: str | Path, specs: Mapping) -> pd.DataFrame:
    """Read and code a WVS-7 file for all the study's countries (in the order of the countries spec):
    the concatenation of the per-country tables the workflow builds. The package's one-call reader
    (a notebook, the tests); the workflow runs the same steps as jobs (read_survey once, then
    code_country per country), so that adding a country reruns only its own job."""
    raw, value_labels = read_survey_columns(path, specs)
    codes = survey_codes(raw, str(path))
    countries = specs["countries"]["countries"]
    check_countries_present(codes, countries, str(path))
    return pd.concat([country_respondents(codes, c, specs, str(path), value_labels) for c in countries],
                     ignore_index=True)


# ---- every value question of the file (Figure 1b's per-question entropy; not the corpus path) --------------------------
def value_question_columns(columns, first: int, last: int) -> list[str]:
    """The file's columns named Q<number> (any case, no suffix) with first <= number <= last, in number
    order: WVS-7's value questions are Q1..Q259 (Q260 on are demographics)."""
    found = {}
    for c in columns:
        m = re.fullmatch(r"[Qq](\d+)", str(c))
        if m and first <= int(m.group(1)) <= last:
            found[int(m.group(1))] = c
    return [found[i] for i in sorted(found)]


def read_value_questions(path: str | Path, b_country_codes, first: int, last: int) -> pd.DataFrame:
    """Every value question column of a survey file (raw codes, renamed to upper case Q<number>) for the
    respondents of the given B_COUNTRY codes, with B_COUNTRY and W_WEIGHT (1.0 when the file has none).
    Negative codes (WVS missing codes) become NaN."""
    path = _existing_survey_file(path)
    columns, _ = _file_columns(path)
    by_lower = _columns_by_name(path, columns, [COUNTRY_VAR, WEIGHT_VAR])
    if COUNTRY_VAR.lower() not in by_lower:
        raise SurveyFileError(path, f"missing required column {COUNTRY_VAR}")
    questions = value_question_columns(columns, first, last)
    if not questions:
        raise SurveyFileError(path, f"no value question column Q{first}..Q{last}")
    wanted = [by_lower[COUNTRY_VAR.lower()], *([by_lower[WEIGHT_VAR.lower()]] if WEIGHT_VAR.lower() in by_lower else []),
              *questions]
    df = _read_columns(path, wanted)
    df = df.rename(columns={c: c.upper() for c in df.columns})
    df = df[df[COUNTRY_VAR].isin([float(c) for c in b_country_codes])].reset_index(drop=True)
    # the survey contract's column rules (codes numeric and finite, weights finite and >= 0) on these rows
    check(df, survey_schema({"attributes": {"attributes": []}, "questions": {"questions": [
        {"wvs_var": c} for c in df.columns if c not in (COUNTRY_VAR, WEIGHT_VAR)]}, "filter": {"use_weight": False}}),
          str(path))
    if WEIGHT_VAR not in df:
        df[WEIGHT_VAR] = 1.0
    q = [c.upper() for c in questions]
    df[q] = df[q].astype(float).where(df[q] >= 0)
    return df[[COUNTRY_VAR, WEIGHT_VAR, *q]]
