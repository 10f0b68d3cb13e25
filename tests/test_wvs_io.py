"""Stage 1: reading .sav/.dta/.csv, and one malformed-file case per check."""
import pandas as pd
import pyreadstat
import pytest

from dvmap.data import synthetic, wvs_io
from dvmap.errors import SurveyFileError


@pytest.fixture(scope="module")
def survey(_specs, calibration):
    small = {**_specs, "synthetic": {**_specs["synthetic"],
                                      "sizes": {**_specs["synthetic"]["sizes"],
                                                "demo": {"respondents_per_country": 40, "extra_countries": 2, "n_columns": 50}}}}
    frame, value_labels, column_labels = synthetic.synthetic_frame(small, "demo", calibration)
    return frame, value_labels, column_labels


@pytest.fixture(scope="module")
def files(survey, tmp_path_factory):
    frame, value_labels, column_labels = survey
    d = tmp_path_factory.mktemp("survey")
    synthetic.write_sav(frame, value_labels, column_labels, d / "wvs.sav")
    numeric = frame.drop(columns=["version", "B_COUNTRY_ALPHA"])
    pyreadstat.write_dta(numeric, str(d / "wvs.dta"))
    frame.to_csv(d / "wvs.csv", index=False)
    frame.to_csv(d / "wvs_semicolon.csv", index=False, sep=";")
    return d


@pytest.mark.parametrize("name", ["wvs.sav", "wvs.dta", "wvs.csv", "wvs_semicolon.csv"])
def test_every_format_gives_the_same_respondents(files, specs, name):
    reference = wvs_io.read_respondents(files / "wvs.sav", specs)
    other = wvs_io.read_respondents(files / name, specs)
    pd.testing.assert_frame_equal(reference, other)


def test_respondents_contract(files, specs, attribute_names):
    r = wvs_io.read_respondents(files / "wvs.sav", specs)
    qids = [q["id"] for q in specs["questions"]["questions"]]
    assert list(r.columns) == ["respondent_id", "country", *attribute_names, "weight", *qids]
    assert set(r["country"]) == {c["iso3"] for c in specs["countries"]["countries"]}  # filler countries dropped
    assert r["respondent_id"].is_unique
    assert (r == "Not Answered").any().any()
    for q in specs["questions"]["questions"]:
        assert set(r[q["id"]].dropna()) <= set(q["options"])


def test_only_needed_columns_are_read(files, specs):
    raw, _ = wvs_io.read_survey_columns(files / "wvs.sav", specs)
    assert set(raw.columns) == {*wvs_io.required_columns(specs), "W_WEIGHT", "D_INTERVIEW"}


def test_lower_case_column_names(files, specs, survey, tmp_path):
    frame = survey[0].rename(columns=str.lower)
    frame.to_csv(tmp_path / "lower.csv", index=False)
    pd.testing.assert_frame_equal(wvs_io.read_respondents(tmp_path / "lower.csv", specs),
                                  wvs_io.read_respondents(files / "wvs.csv", specs))


def test_value_labels_from_sav_metadata_fill_spec_gaps(files, specs, survey, tmp_path):
    frame, value_labels, column_labels = survey
    frame = frame.copy()
    frame.loc[frame.index[0], "Q279"] = 9.0  # a code the spec does not label
    labels = {**value_labels, "Q279": {**value_labels["Q279"], 9.0: "Apprentice (file label)"}}
    synthetic.write_sav(frame, labels, column_labels, tmp_path / "labelled.sav")
    r = wvs_io.read_respondents(tmp_path / "labelled.sav", specs)
    assert "Apprentice (file label)" in set(r["Occupation"])
    frame.to_csv(tmp_path / "unlabelled.csv", index=False)  # a CSV carries no labels: named error
    with pytest.raises(SurveyFileError, match=r"unlabelled.csv: column Q279: codes \[9\] have no label"):
        wvs_io.read_respondents(tmp_path / "unlabelled.csv", specs)


# ---- one malformed-file case per check -------------------------------------------------------
def write_csv(frame, path):
    frame.to_csv(path, index=False)
    return path


def test_unsupported_format(tmp_path, specs):
    (tmp_path / "wvs.rds").write_bytes(b"x")
    with pytest.raises(SurveyFileError, match=r"wvs.rds: unsupported format '.rds'"):
        wvs_io.read_respondents(tmp_path / "wvs.rds", specs)


def test_missing_file(tmp_path, specs):
    with pytest.raises(SurveyFileError, match="absent.sav: file not found"):
        wvs_io.read_respondents(tmp_path / "absent.sav", specs)


def test_corrupt_sav(tmp_path, specs):
    (tmp_path / "corrupt.sav").write_bytes(b"not an spss file at all")
    with pytest.raises(SurveyFileError, match=r"corrupt.sav: cannot be read as .sav"):
        wvs_io.read_respondents(tmp_path / "corrupt.sav", specs)


def test_missing_required_columns(tmp_path, specs, survey):
    path = write_csv(survey[0].drop(columns=["Q262", "Q131"]), tmp_path / "cut.csv")
    with pytest.raises(SurveyFileError, match=r"cut.csv: missing required columns \['Q262', 'Q131'\]"):
        wvs_io.check_survey_file(path, specs)


def test_weight_required_when_filter_uses_it(tmp_path, specs, survey):
    path = write_csv(survey[0].drop(columns=["W_WEIGHT"]), tmp_path / "noweight.csv")
    specs["filter"]["use_weight"] = True
    with pytest.raises(SurveyFileError, match="use_weight but the file has no W_WEIGHT"):
        wvs_io.read_respondents(path, specs)


def test_configured_country_absent(tmp_path, specs, survey):
    frame = survey[0]
    path = write_csv(frame[frame["B_COUNTRY"] != 566], tmp_path / "nonigeria.csv")
    with pytest.raises(SurveyFileError, match=r"column B_COUNTRY: configured countries not in the file: NGA \(566\)"):
        wvs_io.read_respondents(path, specs)


def test_text_in_numeric_column(tmp_path, specs, survey):
    frame = survey[0].copy()
    frame["Q260"] = frame["Q260"].map({1.0: "Male", 2.0: "Female"}).fillna("No answer")
    with pytest.raises(SurveyFileError, match="column Q260: expected numeric WVS codes"):
        wvs_io.read_respondents(write_csv(frame, tmp_path / "text.csv"), specs)


def test_unknown_answer_code(tmp_path, specs, survey):
    frame = survey[0].copy()
    frame.loc[frame.index[3], "Q46"] = 7
    with pytest.raises(SurveyFileError, match=r"column Q46: codes \[7.0\] map to no option of question Q46"):
        wvs_io.read_respondents(write_csv(frame, tmp_path / "q46.csv"), specs)


def test_age_outside_bins(tmp_path, specs, survey):
    frame = survey[0].copy()
    specs["attributes"]["attributes"][8]["bins"][0]["lower"] = 16
    frame.loc[frame.index[0], "Q262"] = 12
    with pytest.raises(SurveyFileError, match=r"column Q262: values \[12.0\] fall in no bin"):
        wvs_io.read_respondents(write_csv(frame, tmp_path / "young.csv"), specs)


def test_duplicate_interview_ids(tmp_path, specs, survey):
    frame = survey[0].copy()
    frame.loc[frame.index[1], "D_INTERVIEW"] = frame.loc[frame.index[0], "D_INTERVIEW"]
    with pytest.raises(SurveyFileError, match="column D_INTERVIEW: duplicate interview ids"):
        wvs_io.read_respondents(write_csv(frame, tmp_path / "dup.csv"), specs)


def test_negative_weight(tmp_path, specs, survey):
    frame = survey[0].copy()
    frame.loc[frame.index[0], "W_WEIGHT"] = -1.0
    with pytest.raises(SurveyFileError, match="column W_WEIGHT: missing or negative weights"):
        wvs_io.read_respondents(write_csv(frame, tmp_path / "w.csv"), specs)


def test_no_interview_column_gives_positional_ids(tmp_path, specs, survey):
    r = wvs_io.read_respondents(write_csv(survey[0].drop(columns=["D_INTERVIEW"]), tmp_path / "noid.csv"), specs)
    assert r["respondent_id"].iloc[0] == "r0" and r["respondent_id"].is_unique


def test_parallel_read_of_large_files_equals_serial(files, specs, monkeypatch):
    serial = wvs_io.read_respondents(files / "wvs.sav", specs)
    monkeypatch.setattr(wvs_io, "PARALLEL_READ_MIN_BYTES", 0)
    monkeypatch.setattr(wvs_io.os, "cpu_count", lambda: 2)
    pd.testing.assert_frame_equal(serial, wvs_io.read_respondents(files / "wvs.sav", specs))
