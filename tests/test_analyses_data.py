"""Data analyses (Figure 1a-1c) on hand-made inputs with known answers, the tables rendered from the
specs, errors of a malformed specs/analyses.yaml, and the `analyses` target built on the demo."""
import copy
import re
import struct

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import copy_workflow, snakemake
from sklearn.metrics import balanced_accuracy_score

from dvmap.analyses.attribute_importance import attribute_importance
from dvmap.analyses.data_stats import (
    SUBSET_ALL,
    SUBSET_SHARED,
    answer_distribution,
    country_question_entropy,
    entropy_distribution,
    pick_most_heterogeneous,
)
from dvmap.analyses.spec_tables import attribute_table, country_table, cross_value_table, question_table, to_markdown
from dvmap.configuration import load_all
from dvmap.errors import SpecError
from dvmap.specs import ROOT, read_yaml
from dvmap.stats import bootstrap_counts, bootstrap_scores
from dvmap.stats import entropy as entropy_bits

DEFAULT_PATHS = {k: str(ROOT / v) for k, v in yaml.safe_load((ROOT / "specs/config.yaml").read_text())["specs"].items()}
FOUR = ["a", "b", "c", "d"]
QUESTIONS = [
    {"id": "Q1", "role": "train", "options": FOUR},                      # A: unanimous, H = 0
    {"id": "Q2", "role": "train", "options": FOUR},                      # A: 50/50 over two options: 1 bit, 0.5 normalised
    {"id": "Q3", "role": "train", "options": ["Low", "Medium", "High"]},  # A: uniform: log2(3) bits, 1.0 normalised
    {"id": "Q36", "role": "train", "options": ["v", "w", "x", "y", "z"]},  # A: uniform over 4 of 5: 2 bits, 0.86
    {"id": "Q8", "role": "cross_value", "options": ["yes", "no"]},       # A: 50/50: 1 bit, 1.0 normalised
]


def hand_made_respondents() -> pd.DataFrame:
    """Country A: 12 respondents with the answers above; country B: 12 unanimous ones, Q36 not asked."""
    a = pd.DataFrame({"Q1": ["a"] * 12, "Q2": ["a", "b"] * 6, "Q3": ["Low", "Medium", "High"] * 4,
                      "Q36": ["v", "w", "x", "y"] * 3, "Q8": ["yes", "no"] * 6})
    b = pd.DataFrame({"Q1": ["b"] * 12, "Q2": ["c"] * 12, "Q3": ["Low"] * 11 + ["High"], "Q36": [None] * 12,
                      "Q8": ["no"] * 12})
    frame = pd.concat([a.assign(country="AAA"), b.assign(country="BBB")], ignore_index=True)
    frame["weight"] = 1.0
    return frame


# ---- entropy and Figure 1a ------------------------------------------------------------------
def test_entropy_of_known_distributions():
    h = entropy_bits(np.array([[1, 1, 0, 0], [1, 1, 1, 1], [7, 0, 0, 0], [1, 1, 2, 0], [0, 0, 0, 0]]))
    assert h[:4] == pytest.approx([1.0, 2.0, 0.0, 1.5])
    assert np.isnan(h[4])
    assert entropy_bits(np.array([2.0, 2.0, 2.0])) == pytest.approx(np.log2(3))


def test_bootstrap_counts_keep_the_sample_size():
    rng = np.random.default_rng(0)
    index = np.array([0, 0, 1, 2, 2, 2])
    unweighted = bootstrap_counts(index, 4, None, rng, 50)
    assert unweighted.shape == (50, 4) and (unweighted.sum(axis=1) == 6).all() and (unweighted[:, 3] == 0).all()
    weights = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 3.0])
    weighted = bootstrap_counts(index, 3, weights, rng, 50)
    assert ((weighted.sum(axis=1) >= 6) & (weighted.sum(axis=1) <= 18)).all()


def test_country_question_entropy_values_and_n():
    table = country_question_entropy(hand_made_respondents(), QUESTIONS, ["AAA", "BBB"], False, 0, 200)
    a = table[table["country"] == "AAA"].set_index("q_id")
    assert a.loc["Q1", "entropy"] == 0.0 and a.loc["Q2", "entropy"] == pytest.approx(1.0)
    assert a.loc["Q3", "entropy_normalized"] == pytest.approx(1.0)
    assert a.loc["Q36", "entropy"] == pytest.approx(2.0)
    assert (a["n"] == 12).all()
    assert (a["entropy_ci_low"] <= a["entropy"] + 1e-12).all()
    assert (a["entropy_ci_high"] >= a["entropy"] - 1e-12).all()
    not_asked = table[(table["country"] == "BBB") & (table["q_id"] == "Q36")].iloc[0]
    assert not_asked["n"] == 0 and np.isnan(not_asked["entropy"])


@pytest.mark.parametrize("country,question,roles,measure,expected", [
    (None, None, ["train"], "normalized", ("AAA", "Q3")),        # ties at 1.0 with Q8, which is cross_value
    (None, None, ["train"], "entropy", ("AAA", "Q36")),
    (None, None, ["train", "cross_value"], "normalized", ("AAA", "Q3")),  # tie Q3 = Q8 = 1.0: first in spec order
    ("BBB", None, ["train"], "normalized", ("BBB", "Q3")),        # the only non-unanimous question in BBB
    (None, "Q2", ["train"], "normalized", ("AAA", "Q2")),
    ("BBB", "Q1", ["train"], "entropy", ("BBB", "Q1")),            # both set: used as they are
])
def test_most_heterogeneous_pick(country, question, roles, measure, expected):
    table = country_question_entropy(hand_made_respondents(), QUESTIONS, ["AAA", "BBB"], False, 0, 100)
    picked_country, picked_question, rule = pick_most_heterogeneous(table, country, question, roles, measure)
    assert (picked_country, picked_question) == expected
    assert rule


def test_answer_distribution_shares_n_and_weights():
    respondents = hand_made_respondents()
    dist = answer_distribution(respondents, QUESTIONS[1], ["AAA", "BBB"], False, 0, 300)
    a = dist[dist["country"] == "AAA"]
    assert a["share"].tolist() == pytest.approx([0.5, 0.5, 0.0, 0.0]) and a["n_option"].tolist() == [6, 6, 0, 0]
    assert (a["n_country"] == 12).all() and a["entropy"].iloc[0] == pytest.approx(1.0)
    assert ((a["share_ci_low"] <= a["share"]) & (a["share"] <= a["share_ci_high"])).all()
    assert a["share_ci_low"].iloc[0] < 0.5 < a["share_ci_high"].iloc[0]
    respondents.loc[(respondents["country"] == "AAA") & (respondents["Q2"] == "a"), "weight"] = 3.0
    weighted = answer_distribution(respondents, QUESTIONS[1], ["AAA"], True, 0, 300)
    assert weighted["share"].tolist() == pytest.approx([0.75, 0.25, 0.0, 0.0])
    assert weighted["n_option"].tolist() == [6, 6, 0, 0]  # n stays a count of respondents


# ---- Figure 1b ------------------------------------------------------------------------------
def hand_made_archetypes() -> pd.DataFrame:
    rows = [  # profile, country, n_respondents, entropy
        ("p1", "USA", 1, 0.0), ("p1", "USA", 1, 0.0),
        ("p2", "USA", 2, 1.0), ("p2", "USA", 2, 0.0),
        ("p3", "USA", 3, 0.918296), ("p3", "USA", 3, 0.0),
        ("p4", "GBR", 2, 1.0), ("p4", "GBR", 2, 1.0),
    ]
    frame = pd.DataFrame(rows, columns=["profile_id", "country", "n_respondents", "entropy"])
    frame["q_id"] = ["Q1", "Q2"] * 4
    return frame


def test_entropy_distribution_h0_mass_and_bins():
    histogram, summary = entropy_distribution(hand_made_archetypes(), "USA", 0.1, 0, 500)
    s = summary.set_index("subset")
    assert (s.loc[SUBSET_ALL, "n_pairs"], s.loc[SUBSET_ALL, "n_zero"]) == (6, 4)
    assert s.loc[SUBSET_ALL, "share_zero"] == pytest.approx(4 / 6)
    assert (s.loc[SUBSET_SHARED, "n_pairs"], s.loc[SUBSET_SHARED, "n_zero"], s.loc[SUBSET_SHARED, "n_profiles"]) == (4, 2, 2)
    assert s.loc[SUBSET_SHARED, "mean_entropy"] == pytest.approx((1.0 + 0.918296) / 4)
    assert s.loc[SUBSET_ALL, "share_zero_ci_low"] <= 4 / 6 <= s.loc[SUBSET_ALL, "share_zero_ci_high"]
    h = histogram[histogram["subset"] == SUBSET_ALL].set_index("bin")
    assert h.loc["H = 0", "n_pairs"] == 4
    assert h.loc["(0.9, 1]", "n_pairs"] == 2  # 0.918 and exactly 1.0 (bins are closed on the right)
    assert h["n_pairs"].sum() == 6 and h["share"].sum() == pytest.approx(1.0)
    pooled, pooled_summary = entropy_distribution(hand_made_archetypes(), None, 0.5, 0, 100)
    assert pooled_summary["n_pairs"].tolist() == [8, 6] and set(pooled["bin"]) == {"H = 0", "(0, 0.5]", "(0.5, 1]"}
    with pytest.raises(ValueError, match="XXX"):
        entropy_distribution(hand_made_archetypes(), "XXX", 0.1, 0, 100)


# ---- Figure 1c ------------------------------------------------------------------------------
ATTRS = ["Country", "Gender", "Marital Status", "Has Children", "Education Level", "Occupation", "Work Nature",
         "Religion", "Life Stage", "Income Bracket", "Common Language"]
IMPORTANCE_SPEC = {"max_respondents": 700, "test_share": 0.3, "scoring": "accuracy", "n_repeats": 3,
                   "random_forest": {"n_estimators": 25, "max_depth": None, "min_samples_leaf": 2,
                                     "max_features": "sqrt"}}


def planted_respondents(n: int = 900) -> pd.DataFrame:
    """Random attribute labels; the answer to Q1 depends on Religion only, Q2 on Life Stage only."""
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({a: rng.choice([f"{a} {i}" for i in range(4)], n) for a in ATTRS})
    frame["country"] = rng.choice(["AAA", "BBB"], n)
    religion = {f"Religion {i}": FOUR[i] for i in range(4)}
    frame["Q1"] = frame["Religion"].map(religion)
    frame["Q2"] = np.where(frame["Life Stage"].isin(["Life Stage 0", "Life Stage 1"]), "yes", "no")
    return frame


@pytest.mark.parametrize("scoring", ["accuracy", "balanced_accuracy"])
def test_permutation_importance_finds_the_planted_attribute(scoring):
    questions = [{"id": "Q1", "options": FOUR}, {"id": "Q2", "options": ["yes", "no"]}]
    spec = {**IMPORTANCE_SPEC, "scoring": scoring}
    both = attribute_importance(planted_respondents(), ATTRS, questions, ["AAA", "BBB"], spec, 0, 200)
    assert len(both) == 2 * 2 * len(ATTRS)
    mdi = both[both["method"] == "mdi"]
    assert set(mdi.loc[mdi.groupby("q_id")["importance"].idxmax(), "attribute"]) == {"Religion", "Life Stage"}
    table = both[both["method"] == "permutation"]
    for q_id, planted in (("Q1", "Religion"), ("Q2", "Life Stage")):
        t = table[table["q_id"] == q_id].set_index("attribute")
        assert t["importance"].idxmax() == planted
        assert t.loc[planted, "importance_ci_low"] > t.drop(planted)["importance_ci_high"].max()
        assert t.loc[planted, "importance_ci_low"] <= t.loc[planted, "importance"] <= t.loc[planted, "importance_ci_high"]
        assert t["baseline_score"].iloc[0] > 0.95  # a deterministic answer is learnt
        assert (t["n_available"] == 900).all() and (t["n_train"] + t["n_test"] == 700).all()  # capped
    ranks = table.drop_duplicates("attribute").set_index("attribute")["attribute_rank"]
    assert set(ranks.loc[["Religion", "Life Stage"]]) == {1, 2}


def test_importance_of_a_one_answer_question_is_nan_not_an_error():
    frame = planted_respondents(200).assign(Q3="same")
    table = attribute_importance(frame, ATTRS, [{"id": "Q3", "options": ["same", "other"]}], ["AAA", "BBB"],
                                 IMPORTANCE_SPEC, 0, 100)
    assert table["importance"].isna().all() and (table["n_classes"] == 1).all()


def test_bootstrap_balanced_accuracy_matches_sklearn():
    rng = np.random.default_rng(1)
    y = rng.choice(["a", "b", "c"], 60)
    predictions = np.stack([y, rng.choice(["a", "b", "c"], 60)])
    ones = bootstrap_scores(y, predictions, "balanced_accuracy", np.ones((1, 60)))[0]
    assert ones == pytest.approx([1.0, balanced_accuracy_score(y, predictions[1])])


# ---- tables rendered from the specs ---------------------------------------------------------
def test_country_tables_match_the_spec(specs):
    countries = specs["countries"]["countries"]
    train, cross = country_table(countries, "train"), country_table(countries, "cross_country")
    assert len(train) == sum(c["role"] == "train" for c in countries) == 10
    assert len(cross) == sum(c["role"] == "cross_country" for c in countries) == 8
    assert train["iso3"].tolist() + cross["iso3"].tolist() == [c["iso3"] for c in countries]
    assert dict(zip(train["iso3"], train["quadrant"]))["USA"] == "traditional/self_expression"


def test_attribute_table_matches_the_spec(specs):
    spec, countries = specs["attributes"], specs["countries"]["countries"]
    table = attribute_table(spec, countries).set_index("attribute")
    assert list(table.index) == [a["name"] for a in spec["attributes"]]
    assert table.loc["Life Stage", "labels"] == ("Adolescence: < 18; Young Adulthood: [18, 35); Middle Adulthood: "
                                                "[35, 51); Late Adulthood: [51, 65); Older Adulthood: >= 65")
    assert table.loc["Income Bracket", "labels"] == "Low income: [1, 4); Middle income: [4, 8); High income: [8, 11)"
    assert table.loc["Gender", ["wvs_var", "labels"]].tolist() == ["Q260", "1 = Male; 2 = Female"]
    assert table.loc["Country", "n_labels"] == len(countries)
    religion = next(a for a in spec["attributes"] if a["name"] == "Religion")
    assert table.loc["Religion", "n_labels"] == len(religion["labels"])
    cut = attribute_table(spec, countries, max_items=5).set_index("attribute")
    assert cut.loc["Religion", "labels"].endswith(f"... (+{len(religion['labels']) - 5} more)")
    assert cut.loc["Gender", "labels"] == table.loc["Gender", "labels"]


def test_question_tables_match_the_spec(specs):
    questions = specs["questions"]["questions"]
    table = question_table(questions)
    assert table["q_id"].tolist() == [q["id"] for q in questions] and len(table) == 23
    row = table.set_index("q_id").loc["Q49"]
    assert row["coding"] == "Low: [1, 4); Medium: [4, 8); High: [8, 11)" and row["options"] == "Low, Medium, High"
    cross = cross_value_table(questions)
    expected = {q["id"]: q["neighbour"] for q in questions if q["role"] == "cross_value"}
    assert dict(zip(cross["q_id"], cross["neighbour"])) == expected and len(cross) == 7
    assert dict(zip(cross["q_id"], cross["neighbour"]))["Q61"] == "Q60"


def test_markdown_rendering_escapes_and_counts_rows():
    table = pd.DataFrame({"a": ["x|y", "z"], "b": [1, None]})
    lines = to_markdown(table, "T").splitlines()
    assert lines[0] == "**T**" and lines[2] == "| a | b |" and lines[4] == "| x\\|y | 1.0 |" and lines[5] == "| z |  |"
    assert len(lines) == 2 + 2 + len(table)


# ---- specs/analyses.yaml errors -------------------------------------------------------------
def load_with_analyses(tmp_path, change):
    data = copy.deepcopy(read_yaml(DEFAULT_PATHS["analyses"]))
    change(data)
    path = tmp_path / "analyses.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_all({**DEFAULT_PATHS, "analyses": str(path)}), path


def test_default_analyses_spec_loads(monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    specs, _ = load_with_analyses(tmp_path, lambda d: None)
    assert specs["analyses"]["entropy_distribution"]["country"] == "USA"


@pytest.mark.parametrize("change,key_path,message", [
    (lambda d: d["heterogeneity"].update(country="ZZZ"), "heterogeneity/country", "unknown country 'ZZZ'"),
    (lambda d: d["heterogeneity"].update(question="Q999"), "heterogeneity/question", "unknown question 'Q999'"),
    (lambda d: d["entropy_distribution"].update(country="XYZ"), "entropy_distribution/country", "unknown country 'XYZ'"),
    (lambda d: d["attribute_importance"].update(questions=["Q1", "Q77"]), "attribute_importance/questions/1",
     "unknown question 'Q77'"),
    (lambda d: d["attribute_importance"].update(countries=["USA", "FRA"]), "attribute_importance/countries/1",
     "unknown country 'FRA'"),
    (lambda d: d["heterogeneity"].update(measure="gini"), "heterogeneity/measure", "is not one of"),
    (lambda d: d["heterogeneity"].update(country="usa"), "heterogeneity/country", ""),
    (lambda d: d.update(colour="red"), "<root>", "Additional properties"),
    (lambda d: d["attribute_importance"].update(test_share=0.9), "attribute_importance/test_share", "maximum"),
    (lambda d: d["attribute_importance"]["random_forest"].update(criterion="gini"),
     "attribute_importance/random_forest", "Additional properties"),
])
def test_malformed_analyses_spec_names_file_key_and_value(monkeypatch, tmp_path, change, key_path, message):
    monkeypatch.chdir(ROOT)
    with pytest.raises(SpecError) as info:
        load_with_analyses(tmp_path, change)
    assert info.value.file.endswith("analyses.yaml") and info.value.key_path == key_path
    assert message in str(info.value)


# ---- the analyses target on the demo --------------------------------------------------------
DATA_ANALYSIS_RULES = ("analysis_heterogeneity", "analysis_entropy_distribution", "analysis_question_entropy",
                       "analysis_attribute_importance",
                       "table_countries", "table_attributes", "table_questions")


def png_size(path):
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", head[16:24])


@pytest.mark.slow
def test_analyses_target_on_the_demo(tmp_path):
    wf = copy_workflow(tmp_path / "wf")
    spec_path = wf / "specs/analyses.yaml"  # fewer questions and resamples: the rules, not the numbers, are tested
    spec = yaml.safe_load(spec_path.read_text())
    spec["bootstrap_resamples"] = 200
    spec["attribute_importance"]["questions"] = ["Q6", "Q29", "Q61"]
    spec_path.write_text(yaml.safe_dump(spec))
    plan = snakemake(wf, "analyses", "-n").stdout
    assert all(re.search(rf"^{rule}\s+1\s*$", plan, flags=re.M) for rule in DATA_ANALYSIS_RULES), plan[-2000:]
    # The `analyses` target also holds the model analyses (training, generation): build this module's
    # rules by name, which needs only the data stage (respondents, archetypes).
    snakemake(wf, *DATA_ANALYSIS_RULES)
    assert not (wf / "results/corpus").exists()
    out = wf / "results/analysis"
    fig1a = pd.read_csv(out / "fig1a_heterogeneity.csv")
    countries = [c["iso3"] for c in read_yaml(wf / "specs/countries.yaml")["countries"]]
    assert list(dict.fromkeys(fig1a["country"])) == countries
    assert {"n_country", "n_option", "share", "share_ci_low", "share_ci_high", "entropy", "unit"} <= set(fig1a.columns)
    entropies = pd.read_csv(out / "fig1a_entropy_by_country_question.csv")
    assert entropies["selected"].sum() == 1 and len(entropies) == len(countries) * 23
    summary = pd.read_csv(out / "fig1b_entropy_summary.csv")
    assert summary["subset"].tolist() == [SUBSET_ALL, SUBSET_SHARED] and (summary["scope"] == "USA").all()
    assert {"n_pairs", "n_zero", "share_zero", "share_zero_ci_low", "share_zero_ci_high"} <= set(summary.columns)
    assert pd.read_csv(out / "fig1b_entropy_histogram.csv")["n_pairs"].sum() == summary["n_pairs"].sum()
    importance = pd.read_csv(out / "fig1c_attribute_importance.csv")
    assert len(importance) == 2 * 3 * 11 and importance["importance"].notna().all()
    assert importance["method"].value_counts().to_dict() == {"mdi": 33, "permutation": 33}
    assert len(pd.read_csv(out / "fig1c_rank_agreement.csv")) == 3 + 1
    per_question = pd.read_csv(out / "fig1b_question_entropy.csv")
    question_summary = pd.read_csv(out / "fig1b_question_entropy_summary.csv").iloc[0]
    assert set(per_question["country"]) == {"USA"} and (per_question["unit"] == spec["entropy_unit"]).all()
    assert question_summary["n_questions"] == per_question["counted"].sum() > 23  # the file's filler questions too
    assert {"importance_ci_low", "importance_ci_high", "n_train", "n_test", "baseline_score"} <= set(importance.columns)
    for name, rows in (("table1_countries", 10), ("table8_cross_countries", 8), ("table6_attributes", 11),
                       ("table7_questions", 23), ("table9_cross_value", 7)):
        assert len(pd.read_csv(out / f"{name}.csv")) == rows, name
        assert (out / f"{name}.md").read_text().count("\n| ") == rows + 1, name
    for figure in ("fig1a_heterogeneity", "fig1b_entropy_distribution", "fig1b_question_entropy",
                   "fig1c_attribute_importance"):
        width, height = png_size(wf / f"results/figures/{figure}.png")
        assert width > 500 and height > 300
    for rule in DATA_ANALYSIS_RULES:
        assert (wf / f"benchmarks/analyses/{rule}.tsv").is_file() and (wf / f"logs/analyses/{rule}.log").is_file()
