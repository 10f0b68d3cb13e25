"""Table-driven tests of every reward variant, malformed outputs included, and both adapters."""
import math

import pytest

from dvmap.train import rewards

OPTS = ["Very important", "Rather important", "Not very important", "Not at all important"]
AGREE = ["Agree strongly", "Agree", "Neither agree nor disagree", "Disagree", "Disagree strongly"]
GOOD = "<reasoning>\nShe values family.\n</reasoning>\n<answer>\nVery important\n</answer>"
WRONG_FAR = "<reasoning>x</reasoning><answer>Not at all important</answer>"
WRONG_NEAR = "<reasoning>x</reasoning><answer>Rather important</answer>"
NO_REASONING = "<answer>Very important</answer>"
LENIENT = "<reasoning>x</reasoning><answer>I think: Very important.</answer>"


@pytest.mark.parametrize("text,expected", [
    (GOOD, "Very important"),
    ("<answer>A</answer> then <answer> B </answer>", "B"),           # the last one counts
    ("<answer>\n...\n</answer>", None),                                # the template's placeholder
    ("<answer>   </answer>", None),
    ("no tags at all", None),
    ("<answer>unclosed", None),
    ("", None),
    (None, None),
    ("<answer>Very\nimportant</answer>", "Very\nimportant"),
])
def test_extract_answer(text, expected):
    assert rewards.extract_answer(text) == expected


@pytest.mark.parametrize("answer,truth,options,expected", [
    ("Very important", "Very important", OPTS, True),
    ("Surely Very important!", "Very important", OPTS, True),
    ("Very important or Rather important", "Very important", OPTS, False),   # names another option too
    ("Agree strongly", "Agree strongly", AGREE, False),                      # contains 'Agree' as well
    ("I Disagree", "Disagree", AGREE, True),
    (None, "Agree", AGREE, False),
])
def test_lenient_match(answer, truth, options, expected):
    assert rewards.lenient_match(answer, truth, options) is expected


CASES = [
    # variant, completion, truth, frequency, params, expected
    ("paper", GOOD, "Very important", None, {"beta": 0.5}, 1.5),
    ("paper", NO_REASONING, "Very important", None, {"beta": 0.5}, 1.0),          # right, wrong format
    ("paper", WRONG_FAR, "Very important", None, {"beta": 0.5}, 0.5),             # wrong, right format
    ("paper", "garbage", "Very important", None, {"beta": 0.5}, 0.0),
    ("paper", NO_REASONING, "Very important", None, {"beta": 0.5, "fmt": "answer_only"}, 1.5),
    ("paper", LENIENT, "Very important", None, {"beta": 0.0}, 0.0),               # the paper is strict
    ("release", GOOD, "Very important", None, {}, 2.8),
    ("release", LENIENT, "Very important", None, {}, 1.8),
    ("release", NO_REASONING, "Very important", None, {}, 2.4),
    ("release", WRONG_FAR, "Very important", None, {}, 0.8),
    ("release", "<answer>", "Very important", None, {}, 0.2),
    ("likert", GOOD, "Very important", None, {"alpha": 1.0, "beta": 0.5}, 1.5),
    ("likert", WRONG_NEAR, "Very important", None, {"alpha": 1.0, "beta": 0.5}, 1 - 1 / 3 + 0.5),
    ("likert", WRONG_FAR, "Very important", None, {"alpha": 1.0, "beta": 0.5}, 0.5),
    ("likert", "<answer>Other</answer>", "Very important", None, {"alpha": 1.0, "beta": 0.0}, 0.0),
    ("likert", "<answer>Agree</answer>", "Disagree strongly", None, {"alpha": 2.0, "beta": 0.0}, 2 * (1 - 3 / 4)),
    ("gaussian", GOOD, "Very important", None, {}, 3.8),
    ("gaussian", WRONG_NEAR, "Very important", None, {}, 3 * math.exp(-(1 / 3) ** 2 / (2 * 0.25**2)) + 0.8),
    ("gaussian", "<answer>x</answer>", "Very important", None, {}, 0.4),
    ("frequency", GOOD, "Very important", 0.9, {}, 2 * 0.1 + 0.8),
    ("frequency", LENIENT, "Very important", 0.25, {}, 0.75 + 0.8),
    ("frequency", WRONG_FAR, "Very important", 0.25, {}, 0.8),
]


@pytest.mark.parametrize("variant,completion,truth,frequency,params,expected", CASES)
def test_reward_table(variant, completion, truth, frequency, params, expected):
    options = AGREE if truth in AGREE else OPTS
    assert rewards.score(variant, completion, truth, options, frequency, **params) == pytest.approx(expected)


def test_bad_calls_are_named():
    with pytest.raises(ValueError, match="unknown reward variant 'binary'"):
        rewards.score("binary", GOOD, "Very important", OPTS)
    with pytest.raises(ValueError, match="is not one of the options"):
        rewards.score("paper", GOOD, "Maybe", OPTS)
    with pytest.raises(ValueError, match="needs the sample's frequency"):
        rewards.score("frequency", GOOD, "Very important", OPTS)


def test_verl_adapter_signature():
    extra = {"options": OPTS, "frequency": 0.5, "sample_id": "p1-Q1"}
    got = rewards.verl_compute_score(data_source="wvs", solution_str=GOOD, ground_truth="Very important",
                                     extra_info=extra, variant="release")
    assert got == pytest.approx(rewards.score("release", GOOD, "Very important", OPTS, 0.5))
    assert rewards.verl_compute_score("wvs", GOOD, "Very important", extra) == pytest.approx(1.5)  # paper default
    with pytest.raises(ValueError, match="carries no 'options'"):
        rewards.verl_compute_score("wvs", GOOD, "Very important", {})


def test_trl_adapter_signature_plain_and_conversational():
    fn = rewards.trl_reward("likert", alpha=1.0, beta=0.5)
    plain = fn(prompts=["p", "p"], completions=[GOOD, WRONG_NEAR], answer=["Very important"] * 2,
               options=[OPTS, OPTS], sample_id=["a", "b"])
    chat = fn(prompts=[[{"role": "user", "content": "p"}]] * 2,
              completions=[[{"role": "assistant", "content": GOOD}], [{"role": "assistant", "content": WRONG_NEAR}]],
              answer=["Very important"] * 2, options=[OPTS, OPTS])
    assert plain == chat == [pytest.approx(1.5), pytest.approx(1 - 1 / 3 + 0.5)]
    assert fn.__name__ == "dvmap_likert_reward"
