"""Data contracts (dvmap/contracts.py) and hostile inputs generated from them (issue 23).

The regression tests are the "What was found" items of the issue about files; the generated tests
mutate a small synthetic survey (every format), a release split and server answers, and assert for
each mutation: a named error (file and column), or a result identical to the unmutated input's when
the mutation touches nothing the kit reads. Hypothesis runs derandomized with bounded examples, so
every machine runs the same cases; the cases that once failed are fixed @examples."""
import math

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from dvmap.contracts import ContractError, check_predictions, check_scores
from dvmap.data import release, synthetic, wvs_io
from dvmap.errors import DVMapError, SurveyFileError
from dvmap.evaluate.backends import MAX_RESPONSE_CHARS, Request, record
from dvmap.train.rewards import extract_answer

BOUNDED = settings(derandomize=True, max_examples=25, deadline=None, database=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def survey(_specs, calibration):
    small = {**_specs, "synthetic": {**_specs["synthetic"],
                                      "sizes": {**_specs["synthetic"]["sizes"],
                                                "demo": {"respondents_per_country": 12, "extra_countries": 1,
                                                         "n_columns": 45}}}}
    return synthetic.synthetic_frame(small, "demo", calibration)


def write(frame, value_labels, column_labels, path, encoding="utf-8"):
    """The frame as a survey file of path's format (a .csv in `encoding`)."""
    if path.suffix == ".csv":
        frame.to_csv(path, index=False, encoding=encoding)
    elif path.suffix == ".sav":
        synthetic.write_sav(frame, value_labels, column_labels, path)
    else:
        pyreadstat.write_dta(frame.drop(columns=["version", "B_COUNTRY_ALPHA"], errors="ignore"), str(path))
    return path


@pytest.fixture(scope="module")
def reference(survey, _specs, tmp_path_factory):
    d = tmp_path_factory.mktemp("reference")
    return {fmt: wvs_io.read_respondents(write(*survey, d / f"wvs{fmt}"), _specs) for fmt in (".csv", ".sav", ".dta")}


def study_rows(frame, specs):
    codes = [c["iso_numeric"] for c in specs["countries"]["countries"]]
    return frame.index[frame["B_COUNTRY"].isin(codes)]


def question_var(specs, i=0):
    return specs["questions"]["questions"][i]["wvs_var"]


# ---- regression: the findings on survey files ---------------------------------------------------------
def test_a_csv_naming_a_column_twice_is_refused(survey, specs, tmp_path):
    """Found: a CSV with column Q1 twice (the second differing): pandas renamed it Q1.1, the first was used."""
    frame = survey[0]
    q = question_var(specs)
    path = tmp_path / "twice.csv"
    text = frame.to_csv(index=False).splitlines()
    header = text[0] + f",{q}"
    path.write_text("\n".join([header, *[line + ",1" for line in text[1:]]]) + "\n")
    with pytest.raises(SurveyFileError, match=rf"twice.csv: column {q}: the header names it 2 times"):
        wvs_io.read_respondents(path, specs)


@pytest.mark.parametrize("fmt", [".csv", ".sav", ".dta"])
def test_birth_years_in_the_age_column_are_refused(survey, specs, tmp_path, fmt):
    """Found: the age column holding birth years (1950-2005): everyone binned "Older Adulthood"."""
    frame = survey[0].copy()
    rng = np.random.default_rng(0)
    frame["Q262"] = rng.integers(1950, 2006, len(frame)).astype(float)
    with pytest.raises(ContractError, match=rf"wvs{fmt}: column Q262: values outside the plausible range \[12, 110\] "
                                            rf"of Life Stage .*\({len(frame)} rows, first rows \[1, 2, 3, 4, 5\]"):
        wvs_io.read_respondents(write(frame, *survey[1:], tmp_path / f"wvs{fmt}"), specs)


def test_a_plausible_range_may_warn_instead(survey, specs, tmp_path, caplog):
    frame = survey[0].copy()
    frame.loc[frame.index[0], "Q274"] = 45.0  # 45 children
    path = write(frame, *survey[1:], tmp_path / "w.csv")
    with pytest.raises(ContractError, match=r"column Q274: values outside the plausible range \[0, 30\]"):
        wvs_io.read_respondents(path, specs)
    children = next(a for a in specs["attributes"]["attributes"] if a["wvs_var"] == "Q274")
    children["plausible"]["out_of_range"] = "warn"
    wvs_io.read_respondents(path, specs)
    assert "column Q274: 1 of" in caplog.text and "outside the plausible range [0, 30] (first rows [1])" in caplog.text


def test_a_question_nobody_answers_is_refused(survey, specs, tmp_path):
    """Found: a training question with no answer anywhere in the file: the corpus silently had 15 of 16."""
    frame = survey[0].copy()
    q = specs["questions"]["questions"][3]
    frame[q["wvs_var"]] = -2.0
    with pytest.raises(ContractError, match=rf"column {q['wvs_var']}: no respondent of the file answers question "
                                            rf"{q['id']}"):
        wvs_io.read_respondents(write(frame, *survey[1:], tmp_path / "w.sav"), specs)


@pytest.mark.parametrize("fmt", [".csv", ".sav"])
def test_blank_interview_ids_are_named(survey, specs, tmp_path, fmt):
    """Found: D_INTERVIEW blank in three rows: IntCastingNaNError."""
    frame = survey[0].copy()
    frame.loc[frame.index[[4, 7, 9]], "D_INTERVIEW"] = np.nan
    with pytest.raises(ContractError, match=r"column D_INTERVIEW: blank values where the contract wants interview ids "
                                            r"in every row \(3 rows, first rows \[5, 8, 10\]"):
        wvs_io.read_respondents(write(frame, *survey[1:], tmp_path / f"w{fmt}"), specs)


def test_text_interview_ids_are_taken_as_text(survey, specs, tmp_path, reference):
    """Found: D_INTERVIEW holding text ids like ID-00000: ValueError. Text ids are ids."""
    frame = survey[0].copy()
    frame["D_INTERVIEW"] = [f"ID-{i:05d}" for i in range(len(frame))]
    got = wvs_io.read_respondents(write(frame, *survey[1:], tmp_path / "w.csv"), specs)
    assert got["respondent_id"].str.startswith("ID-").all()
    pd.testing.assert_frame_equal(got.drop(columns="respondent_id"), reference[".csv"].drop(columns="respondent_id"))


@pytest.mark.parametrize("weight", [math.inf, -math.inf])
def test_an_infinite_weight_is_named(survey, specs, tmp_path, weight):
    """Found: W_WEIGHT = inf with use_weight: "ValueError: NaN entropy" from archetypes.py."""
    specs["filter"]["use_weight"] = True
    frame = survey[0].copy()
    frame.loc[frame.index[2], "W_WEIGHT"] = weight
    with pytest.raises(ContractError, match=r"column W_WEIGHT: infinite weights \(inf\) \(1 rows, first rows \[3\]"):
        wvs_io.read_respondents(write(frame, *survey[1:], tmp_path / "w.sav"), specs)


# ---- regression: the release -----------------------------------------------------------------------------------------
def release_frame(specs, attribute_names, n=6):
    from test_bad_input import release_rows

    return release_rows(specs, attribute_names, n)


def to_samples(frame, specs, attribute_names, file="dev.parquet"):
    return release.release_to_samples(frame, attribute_names, specs["countries"]["countries"], file,
                                      specs["questions"]["questions"])


def test_a_release_question_answered_twice_differently_is_named(specs, attribute_names):
    """Found: a release split holding one profile-question twice with two different answers: both kept."""
    frame = release_frame(specs, attribute_names)
    twin = frame.iloc[[0]].assign(answer=specs["questions"]["questions"][0]["options"][1])
    with pytest.raises(ContractError, match=r"dev.parquet: column answer: 1 \(profile, question\) pairs have more "
                                            r"than one answer .* row 0: .* row 6: "):
        to_samples(pd.concat([frame, twin], ignore_index=True), specs, attribute_names)
    same = pd.concat([frame, frame.iloc[[0]]], ignore_index=True)  # a repeat with the same answer: numbered, kept
    assert to_samples(same, specs, attribute_names)["sample_id"].is_unique


def test_predictions_and_scores_contracts():
    with pytest.raises(ContractError, match=r"p.parquet: column status: isin"):
        check_predictions(pd.DataFrame({"sample_id": ["a", "b"], "status": ["ok", "lost"]}), "p.parquet")
    with pytest.raises(ContractError, match=r"0 predictions"):
        check_predictions(pd.DataFrame({"sample_id": [], "status": []}), "p.parquet")
    with pytest.raises(DVMapError, match=r"acc is nan over n = 3"):
        check_scores([{"model": "m", "dataset": "d", "n": 3, "acc": float("nan")}], "table")


# ---- generated hostile survey files ------------------------------------------------------------------------------
MUTATIONS = ["unread_column", "blank_id", "duplicate_id", "weight", "unmapped_code", "text_code", "birth_year",
             "nobody_answers", "negative_fraction", "encoding"]
# latin-1 text in a column the kit does not read is never decoded: the same result
ENCODINGS = {"utf-8-sig": None, "latin-1": None, "utf-16": "cannot be read as .csv"}


@st.composite
def survey_mutation(draw, kind, fmt):
    return {"kind": kind, "fmt": fmt,
            "row": draw(st.integers(0, 10_000)), "rows": draw(st.integers(1, 4)),
            "weight": draw(st.sampled_from([math.inf, -math.inf, math.nan, -1.0, -1e-9, 1e308, 2e6])),
            "junk": draw(st.one_of(st.text(max_size=12), st.floats(allow_nan=True), st.just(""),
                                   st.integers(-10**12, 10**12))),
            "question": draw(st.integers(0, 15)), "code": draw(st.integers(9, 10**6)),
            "encoding": draw(st.sampled_from(sorted(ENCODINGS)))}


def mutate(frame, specs, m):
    """The mutated frame and the column whose named error is expected (None: the result must not change)."""
    frame = frame.copy()
    rows = study_rows(frame, specs)
    at = [rows[(m["row"] + k * 7) % len(rows)] for k in range(m["rows"])]
    q = specs["questions"]["questions"][m["question"] % len(specs["questions"]["questions"])]
    kind = m["kind"]
    if kind == "unread_column":  # a column the kit never reads: anything may be in it
        read = {c.lower() for c in [*wvs_io.required_columns(specs), "W_WEIGHT", "D_INTERVIEW"]}
        other = [c for c in frame.columns if c.lower() not in read and c not in ("version", "B_COUNTRY_ALPHA")]
        column = other[m["row"] % len(other)]
        junk = m["junk"]
        if m["fmt"] != ".csv" and not isinstance(junk, (int, float)):  # .sav/.dta columns keep one type
            junk = float(len(str(junk)))
        frame[column] = frame[column].astype(object)
        frame.loc[at, column] = junk
        if m["fmt"] != ".csv":
            frame[column] = frame[column].astype(float)
        return frame, None
    if kind == "blank_id":
        frame.loc[at, "D_INTERVIEW"] = np.nan
        return frame, "D_INTERVIEW"
    if kind == "duplicate_id":
        frame.loc[at[0] if at[0] != rows[0] else rows[1], "D_INTERVIEW"] = frame.loc[rows[0], "D_INTERVIEW"]
        return frame, "D_INTERVIEW"
    if kind == "weight":
        frame.loc[at, "W_WEIGHT"] = m["weight"]
        return frame, "W_WEIGHT"
    if kind == "unmapped_code":  # a positive code no option of the question has
        code = float(max(int(c) for c in q["codes"]) + m["code"]) if "codes" in q else 1e9
        frame.loc[at, q["wvs_var"]] = code
        return frame, q["wvs_var"]
    if kind == "text_code":
        frame[q["wvs_var"]] = frame[q["wvs_var"]].astype(object)
        frame.loc[at, q["wvs_var"]] = "Strongly agree"
        return frame, q["wvs_var"]
    if kind == "birth_year":
        frame.loc[at, "Q262"] = 1950.0 + m["code"] % 56
        return frame, "Q262"
    if kind == "nobody_answers":
        frame[q["wvs_var"]] = np.nan
        return frame, q["wvs_var"]
    if kind == "encoding":  # the same values in another text encoding, with a non-ASCII text column
        frame["version"] = "7-0-0 synthétique"
        return frame, None if m["fmt"] != ".csv" else ENCODINGS[m["encoding"]]
    if kind == "negative_fraction":  # not a whole code, in a labelled attribute
        frame.loc[at, "Q260"] = 1.5
        return frame, "Q260"
    raise AssertionError(kind)


FIXED = [  # cases that once failed (issue 23), run on every format
    {"kind": "blank_id", "row": 3, "rows": 3},            # IntCastingNaNError
    {"kind": "weight", "row": 0, "rows": 1, "weight": math.inf},  # "NaN entropy" in archetypes.py
    {"kind": "birth_year", "row": 0, "rows": 4, "code": 30},      # every respondent "Older Adulthood"
    {"kind": "nobody_answers", "question": 5},           # a question silently left out of the corpus
]
DEFAULTS = {"row": 0, "rows": 1, "weight": 0.0, "junk": "", "question": 0, "code": 9, "encoding": "utf-8"}


@pytest.mark.parametrize("fmt", [".csv", ".sav", ".dta"])
@pytest.mark.parametrize("fixed", FIXED, ids=[f["kind"] for f in FIXED])
def test_survey_cases_that_once_failed(survey, _specs, reference, tmp_path_factory, fmt, fixed):
    check_mutation(survey, _specs, reference, tmp_path_factory, {**DEFAULTS, **fixed, "fmt": fmt})


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_a_csv_in_another_encoding(survey, _specs, reference, tmp_path_factory, encoding):
    check_mutation(survey, _specs, reference, tmp_path_factory,
                   {**DEFAULTS, "kind": "encoding", "fmt": ".csv", "encoding": encoding})


@pytest.mark.parametrize("fmt", [".csv", ".sav", ".dta"])
@pytest.mark.parametrize("kind", MUTATIONS)
def test_mutated_survey_files_give_a_named_error_or_the_same_result(survey, _specs, reference, tmp_path_factory,
                                                                    kind, fmt):
    @settings(BOUNDED, max_examples=3)
    @given(m=survey_mutation(kind, fmt))
    def run(m):
        event(f"{m['kind']} {m['fmt']}")
        check_mutation(survey, _specs, reference, tmp_path_factory, m)

    run()


def check_mutation(survey, _specs, reference, tmp_path_factory, m):
    frame, column = mutate(survey[0], _specs, m)
    if m["fmt"] == ".dta" and frame.dtypes.eq(object).any():
        frame = frame.drop(columns=["version", "B_COUNTRY_ALPHA"])
        if frame.dtypes.eq(object).any():  # text among codes: Stata keeps it as a text column
            frame = frame.astype({c: str for c in frame.columns[frame.dtypes.eq(object)]})
    try:
        path = write(frame, *survey[1:], tmp_path_factory.mktemp("m") / f"wvs{m['fmt']}",
                     m["encoding"] if m["kind"] == "encoding" else "utf-8")
    except pyreadstat.ReadstatError as exc:  # the format cannot hold the value (inf in a .dta): no such file
        assert "outside the range of representable values" in str(exc)
        return
    if column is None:
        pd.testing.assert_frame_equal(wvs_io.read_respondents(path, _specs), reference[m["fmt"]])
        return
    with pytest.raises(SurveyFileError) as err:
        wvs_io.read_respondents(path, _specs)
    message = str(err.value)
    assert message.startswith(f"{path}: "), message
    assert f"column {column}" in message or f"columns {column}" in message or column in message, message


# ---- generated hostile release splits -----------------------------------------------------------------------------
@BOUNDED
@given(kind=st.sampled_from(["conflict", "blank_country", "blank_answer", "extra_column", "inf_frequency"]),
       row=st.integers(0, 5), junk=st.text(max_size=8))
@example(kind="conflict", row=0, junk="")  # both answers kept once (n = 2,399)
def test_mutated_release_splits_give_a_named_error_or_the_same_result(_specs, attribute_names, kind, row, junk):
    frame = release_frame(_specs, attribute_names)
    before = to_samples(frame, _specs, attribute_names)
    expected = {"conflict": "answer", "blank_country": "Country", "blank_answer": "answer",
                "inf_frequency": "frequency"}.get(kind)
    if kind == "conflict":
        options = frame.loc[row, "Options"].split(", ")
        frame = pd.concat([frame, frame.iloc[[row]].assign(answer=options[(options.index(frame.loc[row, "answer"]) + 1)
                                                                           % len(options)])], ignore_index=True)
    elif kind == "blank_country":
        frame.loc[row, "Country"] = None
    elif kind == "blank_answer":
        frame.loc[row, "answer"] = " "
    elif kind == "extra_column":
        frame["notes"] = junk
    else:
        frame.loc[row, "frequency"] = math.inf
    if expected is None:
        pd.testing.assert_frame_equal(to_samples(frame, _specs, attribute_names), before)
        return
    with pytest.raises(SurveyFileError, match=rf"^dev.parquet: column {expected}:"):
        to_samples(frame, _specs, attribute_names)


# ---- generated server answers ------------------------------------------------------------------------------------------
PIECES = st.sampled_from(["<answer>", "</answer>", "Yes", "No", "<reasoning>", "</reasoning>", " ", "\n", "...",
                          "<answer", "\x00", "é", "\ud7ff"])


@BOUNDED
@given(body=st.lists(PIECES, max_size=40).map("".join), repeat=st.integers(1, 40_000))
@example(body="<answer>", repeat=30_000)  # quadratic parse once (240 KB)
def test_generated_answers_parse_to_an_option_or_a_parse_failure(body, repeat):
    text = body * repeat if len(body) * repeat <= 2 * MAX_RESPONSE_CHARS else body
    rec = record(Request("s0", [], ["Yes", "No"]), text)
    assert rec["status"] in ("ok", "parse_error")
    assert len(rec["response"]) <= MAX_RESPONSE_CHARS
    if len(text) <= MAX_RESPONSE_CHARS:
        assert rec["parsed"] == (extract_answer(text) if extract_answer(text) in ("Yes", "No") else None)
    else:
        assert rec["parsed"] is None and "over the bound" in rec["error"]


@settings(BOUNDED, max_examples=12)
@given(content=st.one_of(st.lists(PIECES, max_size=30).map("".join), st.text(max_size=200),
                         st.just("<answer>" * 30_000), st.none(), st.integers(), st.lists(st.text(max_size=3))))
def test_generated_server_answers_are_recorded_never_raised(tmp_path_factory, content):
    """A served chat completion whose content is anything JSON can hold: recorded as ok, parse_error or
    api_error (content null or not text), stored bounded, never a traceback."""
    import json

    from test_endpoint_failures import SAMPLING, BodyServer, requests

    from dvmap.evaluate.backends import OpenAIBackend, generate_into
    from dvmap.evaluate.predictions import PredictionLog

    def answer(sid, attempt, authorization):
        payload = {"id": "x", "object": "chat.completion", "created": 0, "model": "m",
                   "choices": [{"index": 0, "finish_reason": "stop",
                                "message": {"role": "assistant", "content": content}}]}
        return 200, json.dumps(payload).encode(), {}

    srv = BodyServer(answer)
    try:
        store = PredictionLog(tmp_path_factory.mktemp("answers") / "p.jsonl")
        generate_into(store, OpenAIBackend(srv.url, "m", {**SAMPLING, "retries": 0, "concurrency": 1}), requests(2))
        records = store.load()
    finally:
        srv.httpd.shutdown()
    assert {r["status"] for r in records.values()} <= {"ok", "parse_error", "api_error"}
    assert all(len(r["response"] or "") <= MAX_RESPONSE_CHARS for r in records.values())
