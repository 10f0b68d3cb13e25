"""Hand-computed cases for every metric, ordinal edge cases, CIs and the paired test."""
import numpy as np
import pandas as pd
import pytest

from dvmap.evaluate import metrics
from dvmap.stats import bootstrap_ci

OPTS4 = ["A", "B", "C", "D"]


@pytest.mark.parametrize("p,q,expected", [
    ([1, 0, 0, 0], [0, 0, 0, 1], 3.0),              # opposite ends of a 4-point scale
    ([1, 0, 0, 0], [1, 0, 0, 0], 0.0),
    ([0.5, 0.5], [0, 1], 0.5),
    ([0.25, 0.25, 0.25, 0.25], [1, 0, 0, 0], 0.75 + 0.5 + 0.25),
    ([0, 1, 0], [0.5, 0, 0.5], 1.0),                 # same mean, different spread
])
def test_wasserstein_is_the_cdf_l1_distance(p, q, expected):
    p, q = np.array(p, float), np.array(q, float)
    assert metrics.wasserstein(p, q) == pytest.approx(expected)
    assert metrics.wasserstein(p, q) == pytest.approx(np.abs(np.cumsum(p) - np.cumsum(q)).sum())


@pytest.mark.parametrize("p,q,expected", [([1, 0], [1, 0], 0.0), ([1, 0], [0, 1], 1.0),
                                          ([0.5, 0.5], [1, 0], 0.5 * (1 * np.log2(1 / 0.75))
                                           + 0.5 * 0.5 * np.log2(0.5 / 0.25) + 0.5 * 0.5 * np.log2(0.5 / 0.75))])
def test_jsd_in_bits(p, q, expected):
    assert metrics.jsd_bits(np.array(p, float), np.array(q, float)) == pytest.approx(expected)


@pytest.mark.parametrize("pred,true,k,expected", [(0, 3, 4, 0.0), (1, 0, 4, 2 / 3), (3, 3, 4, 1.0),
                                                  (1, 0, 2, 0.0), (2, 0, 5, 0.5), (1, 2, 3, 0.5)])
def test_likert_consistency(pred, true, k, expected):
    got = metrics.likert_consistency(np.array([pred]), np.array([true]), np.array([k]))[0]
    assert got == pytest.approx(expected)


def make(preds, truths, countries=None, statuses=None, options=OPTS4):
    n = len(preds)
    samples = pd.DataFrame({"sample_id": [f"s{i}" for i in range(n)], "country": countries or ["USA"] * n,
                            "q_id": "Q1", "options": [options] * n, "answer": truths,
                            "answer_index": [options.index(t) for t in truths]})
    preds_frame = pd.DataFrame({"sample_id": samples["sample_id"], "response": preds,
                                "status": statuses or ["ok"] * n})
    return metrics.parse_predictions(preds_frame, samples)


def test_parse_strict_and_lenient():
    parsed = make(["<answer>A</answer>", "<answer>I pick B.</answer>", "no tags", "<answer>A or B</answer>"],
                  ["A", "B", "C", "A"], statuses=["ok", "parse_error", "parse_error", "parse_error"])
    assert parsed["pred_index"].tolist() == [0, -1, -1, -1]
    assert parsed["correct"].tolist() == [True, False, False, False]
    assert parsed["lenient_correct"].tolist() == [True, True, False, False]


def test_score_hand_computed():
    parsed = make(["<answer>A</answer>", "<answer>D</answer>", "<answer>B</answer>", "garbage"],
                  ["A", "A", "A", "A"], statuses=["ok", "ok", "ok", "parse_error"])
    s = metrics.score(parsed)
    assert s["n"] == 4 and s["n_parsed"] == 3
    assert s["acc"] == pytest.approx(0.25)                  # the failure counts as not correct ...
    assert s["parse_failure_rate"] == pytest.approx(0.25)   # ... and is reported as such
    # LC = 1 - |i_hat - i| / (K - 1) with K = 4: A 1, D 0, B 2/3; the parse failure counts as 0 (the paper's
    # definition, over all N, as accuracy counts it wrong); lc_parsed is over the 3 parsed samples
    assert s["lc"] == pytest.approx((1 + 0 + 2 / 3 + 0) / 4)
    assert s["lc_parsed"] == pytest.approx((1 + 0 + 2 / 3) / 3)
    assert s["lc_ci"][0] <= s["lc"] <= s["lc_ci"][1] and s["lc_parsed_ci"][0] <= s["lc_parsed"] <= s["lc_parsed_ci"][1]
    # one group: predicted (1/3, 1/3, 0, 1/3) vs real (1, 0, 0, 0)
    assert s["wd"] == pytest.approx((1 - 1 / 3) + (1 - 2 / 3) + (1 - 2 / 3))
    assert s["n_groups"] == 1 and s["wd_ci"] == [s["wd"], s["wd"]]
    assert s["acc_ci"][0] <= s["acc"] <= s["acc_ci"][1]


def test_wd_averages_groups_equally():
    parsed = make(["<answer>A</answer>"] * 3 + ["<answer>D</answer>"], ["A", "A", "A", "A"],
                  countries=["USA", "USA", "USA", "DEU"])
    groups = metrics.group_distances(parsed)
    assert sorted(groups["wd"]) == [0.0, 3.0]
    assert metrics.score(parsed)["wd"] == pytest.approx(1.5)


def test_api_errors_are_counted_and_never_parsed():
    parsed = make(["<answer>A</answer>", None], ["A", "A"], statuses=["ok", "api_error"])
    s = metrics.score(parsed)
    assert s["api_error_rate"] == 0.5 and s["acc"] == 0.5


def test_missing_prediction_is_an_error():
    samples = make(["<answer>A</answer>"], ["A"])
    with pytest.raises(ValueError, match="have no prediction"):
        metrics.parse_predictions(pd.DataFrame({"sample_id": ["other"], "response": ["x"], "status": ["ok"]}),
                                  samples.drop(columns=["response", "status"]))


def test_bootstrap_ci_covers_the_mean_and_is_seeded():
    values = np.random.default_rng(0).integers(0, 2, 500).astype(float)
    lo, hi = bootstrap_ci(values, seed=1)
    assert lo < values.mean() < hi and hi - lo < 0.15
    assert bootstrap_ci(values, seed=1) == (lo, hi)
    assert bootstrap_ci(np.ones(10), seed=1) == (1.0, 1.0)


def test_paired_test_hand_computed():
    a = make(["<answer>A</answer>"] * 10, ["A"] * 8 + ["B"] * 2)      # correct on s0..s7
    b = make(["<answer>B</answer>"] * 10, ["A"] * 8 + ["B"] * 2)      # correct on s8, s9
    t = metrics.paired_test(a, b)
    assert (t["only_a_correct"], t["only_b_correct"]) == (8, 2)
    assert t["acc_diff"] == pytest.approx(0.6)
    assert t["mcnemar_p"] == pytest.approx(0.109375)  # two-sided exact binomial, 8 of 10
    with pytest.raises(ValueError, match="same samples"):
        metrics.paired_test(a, b.head(5))
