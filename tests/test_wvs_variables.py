"""One WVS variable, one reader: two questions or attributes reading the same variable are a spec
error before any job, and a cross-value question repeating a training question's answers fails the
answer-identity audit (issue 11)."""
import json
import runpy
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml

from dvmap.configuration import load_all
from dvmap.data import audit
from dvmap.errors import LeakageError, SpecError
from dvmap.specs import ROOT, load_spec, read_yaml

DEFAULT_PATHS = {k: str(ROOT / v) for k, v in yaml.safe_load((ROOT / "specs/config.yaml").read_text())["specs"].items()}


def write_spec(tmp_path, kind, change):
    data = read_yaml(DEFAULT_PATHS[kind])
    change(data[kind])
    path = tmp_path / f"{kind}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


def test_two_questions_reading_one_variable(tmp_path):
    def change(questions):  # the cross-value Q70 reads the training question Q69's variable (lower case)
        next(q for q in questions if q["id"] == "Q70")["wvs_var"] = "q69"
    path = write_spec(tmp_path, "questions", change)
    with pytest.raises(SpecError) as err:
        load_spec("questions", path)
    index = [q["id"] for q in read_yaml(path)["questions"]].index("Q70")
    assert (err.value.file, err.value.key_path) == (str(path), f"questions/{index}/wvs_var")
    assert "questions 'Q69' and 'Q70' both read the WVS variable q69" in str(err.value)


def test_two_attributes_reading_one_variable(tmp_path):
    def change(attributes):
        attributes[3]["wvs_var"] = attributes[2]["wvs_var"]
    path = write_spec(tmp_path, "attributes", change)
    names = [a["name"] for a in read_yaml(path)["attributes"]]
    with pytest.raises(SpecError, match=rf"attributes/3/wvs_var: attributes '{names[2]}' and '{names[3]}' both read"):
        load_spec("attributes", path)


def test_attribute_and_question_reading_one_variable(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    path = write_spec(tmp_path, "attributes", lambda attributes: attributes[1].update(wvs_var="q46"))
    name = read_yaml(path)["attributes"][1]["name"]
    with pytest.raises(SpecError) as err:
        load_all({**DEFAULT_PATHS, "attributes": str(path)})
    assert (err.value.file, err.value.key_path) == (str(path), "attributes/1/wvs_var")
    assert f"attribute '{name}' and question Q46 both read it" in str(err.value)
    assert DEFAULT_PATHS["questions"] in str(err.value)


# ---- the answer-identity audit ---------------------------------------------------------------------
QUESTIONS = [{"id": "T1", "role": "train", "options": ["Yes", "No"]},
             {"id": "T2", "role": "train", "options": ["Low", "Medium", "High"]},
             {"id": "C1", "role": "cross_value", "options": ["Yes", "No"]},
             {"id": "C2", "role": "cross_value", "options": ["Agree", "Disagree"]}]


def respondents(n=60, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({q["id"]: rng.choice(q["options"], n).astype(object) for q in QUESTIONS})
    frame.loc[::7, "T1"] = None  # unanswered: not compared
    return frame


def test_independent_questions_pass():
    report = audit.identical_answers_report(respondents(), QUESTIONS)
    assert report["ok"] and report["identical"] == []
    assert report["pairs"]["C1__T1"]["shared"] == 60 - len(range(0, 60, 7))
    audit.assert_no_identical_answers(report)


def test_cross_value_question_copying_a_training_question_fails():
    frame = respondents()
    frame["C1"] = frame["T1"]  # one variable read twice: same answers where both are answered
    frame.loc[3, "C1"] = None
    report = audit.identical_answers_report(frame, QUESTIONS)
    assert [(p["cross_value"], p["train"]) for p in report["identical"]] == [("C1", "T1")]
    with pytest.raises(LeakageError, match="cross-value question C1 and training question T1"):
        audit.assert_no_identical_answers(report)


def test_same_codes_under_other_option_names_fail():
    frame = respondents()
    frame["C2"] = frame["T1"].map({"Yes": "Agree", "No": "Disagree"})
    report = audit.identical_answers_report(frame, QUESTIONS)
    assert [(p["cross_value"], p["train"]) for p in report["identical"]] == [("C2", "T1")]


def test_one_differing_answer_or_too_few_shared_respondents_pass():
    frame = respondents()
    frame["C1"] = frame["T1"]
    answered = frame.index[frame["T1"].notna()]
    frame.loc[answered[0], "C1"] = "No" if frame.loc[answered[0], "T1"] == "Yes" else "Yes"
    assert audit.identical_answers_report(frame, QUESTIONS)["ok"]
    few = respondents(n=25)
    few["C1"] = few["T1"]  # 21 shared respondents: identical; below a threshold of 22: not judged
    assert not audit.identical_answers_report(few, QUESTIONS, min_shared=21)["ok"]
    assert audit.identical_answers_report(few, QUESTIONS, min_shared=22)["ok"]


def test_audit_script_writes_the_report_and_fails_naming_both_questions(tmp_path):
    frame = respondents()
    frame["C1"] = frame["T1"]
    frame.to_parquet(tmp_path / "respondents.parquet")
    out, log = tmp_path / "answer_identity.json", tmp_path / "audit.log"
    sm = SimpleNamespace(input=[str(tmp_path / "respondents.parquet")], output=[str(out)], log=[str(log)],
                         params=SimpleNamespace(questions=QUESTIONS, min_shared=20))
    with pytest.raises(SystemExit, match="cross-value question C1 and training question T1"):
        runpy.run_path(str(ROOT / "scripts/audit_answer_identity.py"), init_globals={"snakemake": sm})
    assert json.loads(out.read_text())["identical"] == [{"cross_value": "C1", "train": "T1", "shared": 51}]
    assert "training question T1" in log.read_text()
    respondents().to_parquet(tmp_path / "respondents.parquet")
    runpy.run_path(str(ROOT / "scripts/audit_answer_identity.py"), init_globals={"snakemake": sm})
    assert json.loads(out.read_text())["ok"]
