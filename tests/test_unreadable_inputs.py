"""Every unreadable input is the kit's error naming the file and what was expected (issue 11): a
truncated .sav, an empty .csv, a .sav named .csv, text among numeric codes, release answers that
are not among their options."""
import pandas as pd
import pytest

from dvmap.data import coding, release, synthetic, wvs_io
from dvmap.errors import SurveyFileError


@pytest.fixture(scope="module")
def frame(_specs, calibration):
    small = {**_specs, "synthetic": {**_specs["synthetic"],
                                      "sizes": {**_specs["synthetic"]["sizes"],
                                                "demo": {"respondents_per_country": 30, "extra_countries": 1, "n_columns": 50}}}}
    return synthetic.synthetic_frame(small, "demo", calibration)


@pytest.fixture(scope="module")
def sav(frame, tmp_path_factory):
    path = tmp_path_factory.mktemp("sav") / "wvs.sav"
    synthetic.write_sav(*frame, path)
    return path


def test_truncated_sav_passes_the_header_check_then_is_named(sav, specs, tmp_path):
    data = sav.read_bytes()
    cut = tmp_path / "cut.sav"
    cut.write_bytes(data[:len(data) - 5000])  # the header is intact, the last rows are gone
    wvs_io.check_survey_file(cut, specs)
    n_rows = len(wvs_io.read_survey_columns(sav, specs)[0])
    with pytest.raises(SurveyFileError, match=rf"cut.sav: cannot be read as .sav: .*expected the {n_rows} rows its "
                                              r"header announces: the file is probably truncated"):
        wvs_io.read_respondents(cut, specs)


@pytest.mark.parametrize("content", [b"", b"\n\n"], ids=["empty", "blank lines"])
def test_empty_csv(specs, tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    for read in (wvs_io.check_survey_file, wvs_io.read_respondents):  # the first runs at DAG build
        with pytest.raises(SurveyFileError, match=r"empty.csv: cannot be read as .csv: the file is empty \(expected "
                                                  r"UTF-8 text with a header row"):
            read(path, specs)


def test_sav_named_csv(sav, specs, tmp_path):
    path = tmp_path / "wvs.csv"
    path.write_bytes(sav.read_bytes())
    for read in (wvs_io.check_survey_file, wvs_io.read_respondents):
        with pytest.raises(SurveyFileError, match=r"wvs.csv: cannot be read as .csv, expected UTF-8 text .* \(it "
                                                  r"starts like an SPSS file: name it .sav\): UnicodeDecodeError"):
            read(path, specs)


def test_text_among_numeric_codes_shows_the_text(frame, specs, tmp_path):
    data = frame[0].copy()
    data["Q260"] = data["Q260"].astype(object)
    data.loc[data.index[[4, 9]], "Q260"] = ["Male", "Female"]
    data.to_csv(tmp_path / "text.csv", index=False)
    with pytest.raises(SurveyFileError) as err:
        wvs_io.read_respondents(tmp_path / "text.csv", specs)
    message = str(err.value)
    assert "text.csv: column Q260: expected numeric WVS codes, found text ['Male', 'Female'] (2 of" in message
    assert "1.0" not in message and "2.0" not in message


def test_numbers_stored_as_text_are_numbers():
    """A string variable holding codes only (a .sav export choice) is read, not rejected."""
    numbers = coding.as_numbers(pd.Series(["1", "2.0", None, "-2"], dtype=object), "Q260", "wvs.sav")
    assert numbers.tolist()[:2] == [1.0, 2.0] and numbers.isna().tolist() == [False, False, True, False]
    codes = pd.Series([1, 2, 3])
    assert coding.as_numbers(codes, "Q260", "wvs.sav") is codes


@pytest.mark.parametrize("which", ["attribute", "question"])
def test_text_in_a_stat_file_column_is_named_not_a_value_error(specs, which):
    """A .sav string variable reaches the coding as text: the kit's error, with the text values."""
    values = pd.Series([1.0, 2.0, "Male", None, 2.0], dtype=object)
    with pytest.raises(SurveyFileError, match=r"wvs.sav: column \w+: expected numeric WVS codes, found text "
                                              r"\['Male'\] \(1 of 5 values\)"):
        if which == "attribute":
            coding.attribute_labels(values, specs["attributes"]["attributes"][1], "Not Answered", "wvs.sav")
        else:
            coding.answer_options(values, specs["questions"]["questions"][0], "wvs.sav")


def release_rows(specs, attribute_names, n=6):
    question = specs["questions"]["questions"][0]
    country = specs["countries"]["countries"][0]
    rows = []
    for i in range(n):
        profile = {a: f"label {i}" for a in attribute_names}
        profile["Country"] = country["name"]
        rows.append({"Q_id": question["id"], "Country": country["name"], **profile, "frequency": 1.0,
                     "Category": question["category"], "Question": question["text"],
                     "Options": ", ".join(question["options"]), "answer": question["options"][i % 2]})
    return pd.DataFrame(rows)


def test_release_answers_not_among_options_give_count_and_first_rows(specs, attribute_names):
    frame = release_rows(specs, attribute_names)
    frame.loc[[1, 4], "answer"] = ["Very importnat", "Maybe"]
    countries = specs["countries"]["countries"]
    ok = release.release_to_samples(release_rows(specs, attribute_names), attribute_names, countries, "dev.parquet",
                                    specs["questions"]["questions"])
    with pytest.raises(SurveyFileError) as err:
        release.release_to_samples(frame, attribute_names, countries, "dev.parquet",
                                    specs["questions"]["questions"])
    message = str(err.value)
    assert "dev.parquet: column answer: 2 of 6 answers are not among their Options; first: row 1 (" in message
    for row, answer in ((1, "Very importnat"), (4, "Maybe")):
        assert f"row {row} ({ok['sample_id'][row]}, {frame['Q_id'][row]}): '{answer}' not in" in message
