"""Reference predictors: fitted on train only, same predictions format, documented back-off."""
import numpy as np
import pandas as pd
import pytest

from dvmap.evaluate import baselines, metrics

ATTRS = ["Country", "Gender"]


def frame(rows):
    out = pd.DataFrame(rows, columns=["sample_id", "country", "q_id", "Gender", "answer_index"])
    out["Country"] = out["country"]
    out["options"] = [["yes", "no"]] * len(out)
    out["answer"] = out["answer_index"].map({0: "yes", 1: "no"})
    return out


TRAIN = frame([("t1", "USA", "Q1", "F", 0), ("t2", "USA", "Q1", "M", 0), ("t3", "DEU", "Q1", "F", 1),
               ("t4", "DEU", "Q1", "M", 1), ("t5", "DEU", "Q1", "F", 1), ("t6", "USA", "Q2", "F", 1)])
TARGET = frame([("a", "USA", "Q1", "F", 0), ("b", "DEU", "Q1", "M", 1), ("c", "NGA", "Q1", "F", 1),
                ("d", "USA", "Q8", "F", 0)])


def test_question_majority_with_backoff():
    p = baselines.reference_predictions("majority", TRAIN, TARGET, ATTRS)
    assert p["parsed"].tolist()[:3] == ["no", "no", "no"]          # Q1: 3 "no" of 5
    assert p["source"].tolist() == ["majority"] * 3 + ["uniform"]   # Q8 never trained on
    assert p["option_probs"][0] == pytest.approx([0.4, 0.6])
    assert p["response"][0] == "<answer>no</answer>" and set(p["status"]) == {"ok"}


def test_country_majority_backs_off_to_question_majority():
    p = baselines.reference_predictions("country_majority", TRAIN, TARGET, ATTRS)
    assert p["parsed"].tolist()[:3] == ["yes", "no", "no"]
    assert p["source"].tolist() == ["country_majority", "country_majority", "majority", "uniform"]


def test_uniform_is_seeded():
    a = baselines.reference_predictions("uniform", TRAIN, TARGET, ATTRS, seed=1)
    b = baselines.reference_predictions("uniform", TRAIN, TARGET, ATTRS, seed=1)
    assert a.equals(b) and all(p == [0.5, 0.5] for p in a["option_probs"])


def test_demographic_classifier_uses_attributes_and_train_only():
    rng = np.random.default_rng(0)
    n = 400
    gender = rng.choice(["F", "M"], n)
    train = frame([(f"t{i}", "USA", "Q1", g, int(g == "M")) for i, g in enumerate(gender)])
    target = frame([("x", "USA", "Q1", "F", 0), ("y", "USA", "Q1", "M", 1), ("z", "BRA", "Q1", "M", 1)])
    p = baselines.reference_predictions("demographic_classifier", train, target, ATTRS)
    assert p["parsed"].tolist() == ["yes", "no", "no"]  # the unseen country is ignored, gender decides
    assert all(abs(sum(x) - 1) < 1e-9 for x in p["option_probs"])


def test_predictions_score_like_language_models():
    p = baselines.reference_predictions("country_majority", TRAIN, TARGET, ATTRS)
    parsed = metrics.parse_predictions(p, TARGET)
    assert parsed["pred_index"].min() >= 0
    assert metrics.score(parsed)["parse_failure_rate"] == 0.0


def test_unknown_predictor_is_named():
    with pytest.raises(ValueError, match="unknown reference predictor 'oracle'"):
        baselines.reference_predictions("oracle", TRAIN, TARGET, ATTRS)
