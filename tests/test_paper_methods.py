"""The paper's own methods beside the kit's (issue 15, point 1), on small hand-made inputs against
values computed by hand: Figure 1b's entropy of every value question of the survey file, Figure
1c's MDI importance and its rank agreement with permutation importance, Figure 8's flip rate per
question."""
import math

import numpy as np
import pandas as pd
import pytest

from dvmap.analyses.attribute_importance import attribute_importance, mean_decrease_impurity, rank_agreement
from dvmap.analyses.data_stats import question_entropy
from dvmap.analyses.model_figures import value_flip_figure
from dvmap.analyses.model_stats import change_rates
from dvmap.data.wvs_io import read_value_questions, value_question_columns
from dvmap.errors import SurveyFileError

USA = {"iso3": "USA", "iso_numeric": 840}


# ---- Figure 1b: one entropy per value question of the survey file ---------------------------------------------------
def hand_made_codes() -> pd.DataFrame:
    """USA: 4 respondents. Q1 half 1, half 2 (ln 2 nats, 1 bit); Q2 four codes (ln 4 nats, 2 bits);
    Q3 unanimous (0); Q4 not asked (all missing). GBR: 2 respondents, ignored for USA."""
    return pd.DataFrame({"B_COUNTRY": [840.0] * 4 + [826.0] * 2, "W_WEIGHT": [3.0, 3.0, 1.0, 1.0, 1.0, 1.0],
                         "Q1": [1, 1, 2, 2, 1, 2], "Q2": [1, 2, 3, 4, 1, 1], "Q3": [4, 4, 4, 4, 1, 2],
                         "Q4": [np.nan] * 4 + [1, 2]}, dtype=float)


def test_question_entropy_reads_every_pooled_code_of_a_country():
    """A country of several B_COUNTRY codes (`b_country`) is all its codes' respondents, as the corpus reads it."""
    pooled = {"iso3": "GBR", "iso_numeric": 826, "b_country": [826, 840]}
    rows, summary = question_entropy(hand_made_codes(), [pooled], 1.0, 2, False, 0, 50, "bits")
    assert int(summary["n_respondents"].iloc[0]) == 6
    q1 = rows.set_index("q_id").loc["Q1", "entropy"]  # 3 of 6 answer 1, 3 answer 2
    assert q1 == pytest.approx(1.0)


@pytest.mark.parametrize("unit,q1,q2,n_above", [("nats", math.log(2), math.log(4), 1), ("bits", 1.0, 2.0, 1)])
def test_question_entropy_by_hand(unit, q1, q2, n_above):
    rows, summary = question_entropy(hand_made_codes(), [USA], 1.0, 2, False, 0, 200, unit)
    r = rows.set_index("q_id")
    assert r["entropy"].tolist()[:3] == pytest.approx([q1, q2, 0.0])
    assert r["n"].tolist() == [4, 4, 4, 0] and r["k_observed"].tolist() == [2, 4, 1, 0]
    assert np.isnan(r.loc["Q4", "entropy"]) and not r.loc["Q4", "counted"]  # not asked in the USA
    assert r["above_threshold"].tolist() == [False, True, False, False]  # 1 bit does not exceed 1.0
    s = summary.iloc[0]
    assert (s["n_questions"], s["n_above"], s["n_respondents"]) == (3, n_above, 4)
    assert s["share_above_threshold"] == pytest.approx(1 / 3) and s["unit"] == unit
    # the threshold is the paper's 1.0 nats in either unit; `threshold` is it in the reported unit
    assert (s["threshold_stated"], s["threshold_unit"]) == (1.0, "nats")
    assert s["threshold"] == pytest.approx(1.0 if unit == "nats" else 1 / math.log(2))
    assert 0.0 <= s["share_above_threshold_ci_low"] <= s["share_above_threshold_ci_high"] <= 1.0


def test_question_entropy_threshold_is_in_its_own_unit_whatever_the_reported_unit():
    """1.2 bits is 0.83 nats: above a threshold of 1.0 bits, not above the paper's 1.0 nats."""
    codes = pd.DataFrame({"B_COUNTRY": 840.0, "W_WEIGHT": 1.0, "Q1": np.repeat([1.0, 2.0, 3.0], [60, 25, 15])})
    h_bits = float(question_entropy(codes, [USA], 1.0, 2, False, 0, 50, "bits", "bits")[0]["entropy"].iloc[0])
    assert 1.0 < h_bits < 1 / math.log(2)
    for threshold_unit, above in (("bits", True), ("nats", False)):
        rows, summary = question_entropy(codes, [USA], 1.0, 2, False, 0, 50, "bits", threshold_unit)
        assert rows["above_threshold"].tolist() == [above]
        assert summary.iloc[0]["threshold_unit"] == threshold_unit


def test_question_entropy_weighted_and_min_respondents():
    rows, summary = question_entropy(hand_made_codes(), [USA], 1.0, 5, True, 0, 100, "nats")
    q1 = rows.set_index("q_id").loc["Q1"]
    assert q1["entropy"] == pytest.approx(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25)))  # weights 3, 3 vs 1, 1
    assert q1["n"] == 4 and not q1["counted"]  # 4 < min_respondents 5: listed, not counted
    assert summary.iloc[0]["n_questions"] == 0 and np.isnan(summary.iloc[0]["share_above_threshold"])


def test_question_entropy_share_ci_is_exact_when_no_resample_can_cross_the_threshold():
    codes = pd.DataFrame({"B_COUNTRY": 840.0, "W_WEIGHT": 1.0, "Q1": [1.0] * 50,
                          "Q2": np.tile([1.0, 2.0, 3.0, 4.0, 5.0], 10)})
    _, summary = question_entropy(codes, [USA], 1.0, 2, False, 0, 200, "bits")
    s = summary.iloc[0]  # Q1 always 0; Q2 near log2 5 = 2.3 bits: a resample cannot bring it under 1 bit
    assert (s["share_above_threshold"], s["share_above_threshold_ci_low"], s["share_above_threshold_ci_high"]) == (
        0.5, 0.5, 0.5)


def test_every_value_question_column_of_the_file(tmp_path):
    assert value_question_columns(["B_COUNTRY", "Q260", "q2", "Q10", "Q1", "Q289CS9", "Y001", "Q259"], 1, 259) == [
        "Q1", "q2", "Q10", "Q259"]
    path = tmp_path / "wvs.csv"
    pd.DataFrame({"B_COUNTRY": [840, 840, 826], "q2": [1, -1, 2], "Q1": [3, 4, 1], "Q262": [30, 40, 50],
                  "Q289CS9": [1, 1, 1]}).to_csv(path, index=False)
    codes = read_value_questions(path, [840], 1, 259)
    assert codes.columns.tolist() == ["B_COUNTRY", "W_WEIGHT", "Q1", "Q2"]
    assert codes["Q1"].tolist() == [3.0, 4.0] and np.isnan(codes["Q2"].iloc[1])  # -1 (don't know) is missing
    assert (codes["W_WEIGHT"] == 1.0).all()
    with pytest.raises(SurveyFileError, match="no value question column Q300..Q400"):
        read_value_questions(path, [840], 300, 400)


# ---- Figure 1c: MDI and its rank agreement with permutation importance ------------------------------------------------
def test_mdi_of_a_stump_is_all_on_its_split_attribute():
    """A depth-1 forest can split only on the one attribute that varies: its MDI is 1, the others' 0."""
    rng = np.random.default_rng(1)
    n = 200
    frame = pd.DataFrame({"A": rng.choice(["x", "y"], n), "B": "same", "C": "same", "country": "AAA"})
    frame["Q1"] = np.where(frame["A"] == "x", "yes", "no")
    spec = {"max_respondents": 500, "test_share": 0.25, "scoring": "accuracy", "n_repeats": 2,
            "random_forest": {"n_estimators": 5, "max_depth": 1, "min_samples_leaf": 1, "max_features": None}}
    table = attribute_importance(frame, ["A", "B", "C"], [{"id": "Q1", "options": ["yes", "no"]}], ["AAA"], spec, 0,
                                 100)
    mdi = table[table["method"] == "mdi"].set_index("attribute")
    assert mdi["importance"].tolist() == [1.0, 0.0, 0.0]
    assert mdi.loc["A", "importance_ci_low"] == mdi.loc["A", "importance_ci_high"] == 1.0
    permutation = table[table["method"] == "permutation"].set_index("attribute")
    assert permutation.loc["A", "importance"] > 0.3 and permutation.loc[["B", "C"], "importance"].tolist() == [0, 0]


def test_mdi_is_sklearns_feature_importances():
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(2)
    X = rng.integers(0, 4, (300, 5))
    y = (X[:, 1] + rng.integers(0, 2, 300)) % 3
    forest = RandomForestClassifier(n_estimators=20, random_state=0).fit(X, y)
    mdi = mean_decrease_impurity(forest, np.random.default_rng(0), 200)
    assert np.array_equal(mdi["mdi_importance"], forest.feature_importances_)
    assert ((mdi["mdi_ci_low"] <= forest.feature_importances_ + 1e-12)
            & (forest.feature_importances_ <= mdi["mdi_ci_high"] + 1e-12)).all()


def test_rank_agreement_of_a_hand_made_pair_of_rankings():
    """MDI ranks a > b > c > d, permutation a > c > d > b: rank differences 0, 2, 1, 1, so Spearman
    rho = 1 - 6 x 6 / (4 x 15) = 0.4; of the 6 pairs 4 agree and 2 do not, Kendall tau = 2/6."""
    attrs = ["a", "b", "c", "d"]
    q1 = pd.DataFrame({"q_id": "Q1", "attribute": attrs * 2, "method": ["mdi"] * 4 + ["permutation"] * 4,
                       "importance": [0.4, 0.3, 0.2, 0.1, 0.04, 0.01, 0.03, 0.02]})
    q2 = q1.assign(q_id="Q2", importance=[0.4, 0.3, 0.2, 0.1, 0.4, 0.3, 0.2, 0.1])  # identical rankings
    table = rank_agreement(pd.concat([q1, q2], ignore_index=True)).set_index("q_id")
    assert table.loc["Q1", "spearman_rho"] == pytest.approx(0.4)
    assert table.loc["Q1", "kendall_tau"] == pytest.approx(1 / 3)
    assert table.loc["Q2", ["spearman_rho", "kendall_tau"]].tolist() == pytest.approx([1.0, 1.0])
    assert table.loc["Q1", "n_attributes"] == 4 and table.loc["Q1", ["top_mdi", "top_permutation"]].tolist() == ["a", "a"]
    # `all`: the questions' mean importances; permutation a 0.22 > b 0.155 > c 0.115 > d 0.06, as MDI
    assert table.loc["all", ["spearman_rho", "kendall_tau"]].tolist() == pytest.approx([1.0, 1.0])
    one_answer = q1.assign(importance=np.nan)
    assert np.isnan(rank_agreement(one_answer).set_index("q_id").loc["Q1", "spearman_rho"])


# ---- Figure 8: flip rate per question ---------------------------------------------------------------------------------
def test_flip_rate_per_question_on_a_hand_made_pair_table(tmp_path):
    """Q6: 3 pairs, 2 changed (2/3); Q50: 3 pairs, 1 changed, 1 unparsed original (1/2); Q1: 1 unchanged (0)."""
    pairs = pd.DataFrame({"original_sample_id": list("abcdefg"), "q_id": ["Q6", "Q6", "Q6", "Q50", "Q50", "Q50", "Q1"],
                          "category": ["c1", "c1", "c1", "c2", "c2", "c2", "c2"],
                          "pred_original": [0, 1, 2, -1, 1, 2, 0], "pred_perturbed": [1, 1, 0, 1, 0, 2, 0]})
    rates = change_rates([pairs], 300, seed=0, by="q_id").set_index("q_id")
    assert list(rates.index) == ["Q6", "Q50", "Q1"]  # no overall row: that is the per-category table's
    assert rates["rate"].tolist() == pytest.approx([2 / 3, 1 / 2, 0.0])
    assert rates["n_pairs"].tolist() == [3, 3, 1] and rates["n_both_parsed"].tolist() == [3, 2, 1]
    assert rates.loc["Q6", "rate_ci_low"] <= 2 / 3 <= rates.loc["Q6", "rate_ci_high"]
    by_category = change_rates([pairs], 300, seed=0).set_index("category")
    assert by_category.loc["all", "rate"] == pytest.approx(3 / 6)
    table = by_category.reset_index().assign(model="m", kind="language model", perturbation="income_flip")
    value_flip_figure(table, tmp_path / "fig8.png", rates.reset_index().assign(model="m", kind="language model",
                                                                             perturbation="income_flip"))
    assert (tmp_path / "fig8.png").stat().st_size > 10_000


# ---- the presets' choices ----------------------------------------------------------------------------------------------
def test_presets_choose_their_methods():
    """Demo: bits, permutation importance first, the packaged MiniLM on CPU; the paper preset: nats,
    MDI first, Qwen3-8B (cosine distance) on a GPU."""
    import yaml

    from dvmap.specs import ROOT, load_spec

    paper = yaml.safe_load((ROOT / "specs/presets/paper.yaml").read_text())["specs"]
    demo = yaml.safe_load((ROOT / "specs/config.yaml").read_text())["specs"]
    for specs, unit, method in ((demo, "bits", "permutation"), (paper, "nats", "mdi")):
        analyses = load_spec("analyses", ROOT / specs["analyses"])
        assert (analyses["entropy_unit"], analyses["attribute_importance"]["figure_method"]) == (unit, method)
    embedding = load_spec("model_analyses", ROOT / paper["model_analyses"])["embedding"]
    assert (embedding["model"], embedding["device"], embedding["resources"]["gpu"]) == ("Qwen/Qwen3-8B", "cuda", 1)
    assert load_spec("model_analyses", ROOT / demo["model_analyses"])["embedding"]["backend"] == "package"
