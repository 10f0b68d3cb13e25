import numpy as np
import pandas as pd
import pytest

from dvmap.data import audit, splits
from dvmap.errors import LeakageError
from dvmap.specs import fill_defaults

COUNTRIES = [{"iso3": "USA", "iso_numeric": 840, "role": "train"}, {"iso3": "DEU", "iso_numeric": 276, "role": "train"},
             {"iso3": "NGA", "iso_numeric": 566, "role": "cross_country"}]
QUESTIONS = [{"id": "Q1", "role": "train", "text": "t1", "options": ["a", "b"], "category": "C"},
             {"id": "Q2", "role": "train", "text": "t2", "options": ["a", "b"], "category": "C"},
             {"id": "Q8", "role": "cross_value", "text": "t8", "options": ["a", "b"], "category": "C"}]
ATTRS = ["Country", "Gender"]
SPEC = {"seed": 1, "corpus": {"profiles_per_country": 20, "ratios": {"train": 0.6, "dev": 0.2, "test": 0.2}},
        "cross_demographic": {"profiles_per_country": 5}, "cross_value": {"profiles_per_country": 10},
        "cross_country": {"profiles_per_country": 8}}


@pytest.mark.parametrize("n,ratios,expected", [
    (100, {"train": 0.8, "dev": 0.1, "test": 0.1}, {"train": 80, "dev": 10, "test": 10}),
    (7, {"train": 0.744, "dev": 0.128, "test": 0.128}, {"train": 5, "dev": 1, "test": 1}),
    (3, {"train": 1.0, "dev": 0.0, "test": 0.0}, {"train": 3, "dev": 0, "test": 0}),
])
def test_split_sizes(n, ratios, expected):
    assert splits.split_sizes(n, ratios) == expected


def test_scaled_requests_shrink_in_proportion():
    assert splits.scaled_requests(100, {"a": 40, "b": 10}) == {"a": 40, "b": 10}
    assert splits.scaled_requests(25, {"a": 40, "b": 10}) == {"a": 20, "b": 5}


def test_shuffled_depends_only_on_seed_and_country():
    ids = [f"p{i}" for i in range(50)]
    assert splits.shuffled(ids, 1, 840) == splits.shuffled(list(reversed(ids)), 1, 840)
    assert splits.shuffled(ids, 1, 840) != splits.shuffled(ids, 2, 840)
    assert splits.shuffled(ids, 1, 840) != splits.shuffled(ids, 1, 276)


def test_frequency_hand_computed():
    d = pd.DataFrame({"country": ["A", "A", "A", "A", "B"], "q_id": ["Q1", "Q1", "Q1", "Q2", "Q1"],
                      "answer": ["x", "x", "y", "x", "y"]})
    assert splits.with_frequency(d).tolist() == pytest.approx([2 / 3, 2 / 3, 1 / 3, 1.0, 1.0])


def make_archetypes(n_per_country=60, seed=0):
    rng = np.random.default_rng(seed)
    rows, profiles = [], []
    for c in COUNTRIES:
        for i in range(n_per_country):
            pid = f"p{c['iso3']}{i:03d}"
            profiles.append({"profile_id": pid, "country": c["iso3"], "Country": c["iso3"], "Gender": "F"})
            for q in QUESTIONS:
                a = int(rng.integers(0, 2))
                rows.append({"profile_id": pid, "country": c["iso3"], "q_id": q["id"], "n_respondents": 1,
                             "entropy": 0.0, "answer": q["options"][a], "answer_index": a, "kept": rng.random() > 0.1})
    return pd.DataFrame(rows), pd.DataFrame(profiles)


def test_build_datasets_profile_disjoint_and_scoped():
    arche, profiles = make_archetypes()
    data, shortfalls = splits.build_datasets(arche, profiles, COUNTRIES, QUESTIONS, ATTRS, SPEC)
    assert shortfalls == []
    report = audit.leakage_report(data, COUNTRIES, QUESTIONS)
    assert report["ok"], report["violations"]
    assert set(data["cross_country"]["country"]) == {"NGA"}
    assert set(data["cross_value"]["q_id"]) == {"Q8"}
    assert set(data["train"]["q_id"]) == {"Q1", "Q2"}
    assert data["train"]["profile_id"].nunique() == 2 * 12  # 20 corpus profiles: 12/4/4 per country
    assert data["dev"]["profile_id"].nunique() == 2 * 4
    assert data["cross_demographic"]["profile_id"].nunique() == 2 * 5
    assert data["cross_country"]["profile_id"].nunique() == 8
    assert list(data["train"].columns[:4]) == ["sample_id", "profile_id", "q_id", "country"]
    assert data["train"]["sample_id"].is_unique
    # only kept pairs become samples
    kept = set(zip(arche.loc[arche.kept, "profile_id"], arche.loc[arche.kept, "q_id"]))
    assert all(pair in kept for pair in zip(data["test"]["profile_id"], data["test"]["q_id"]))


def test_build_datasets_is_deterministic_and_seeded():
    arche, profiles = make_archetypes()
    a, _ = splits.build_datasets(arche, profiles, COUNTRIES, QUESTIONS, ATTRS, SPEC)
    b, _ = splits.build_datasets(arche.sample(frac=1, random_state=3), profiles, COUNTRIES, QUESTIONS, ATTRS, SPEC)
    c, _ = splits.build_datasets(arche, profiles, COUNTRIES, QUESTIONS, ATTRS, {**SPEC, "seed": 2})
    assert all(a[k].equals(b[k]) for k in a)
    assert set(a["train"]["profile_id"]) != set(c["train"]["profile_id"])


def test_shortfall_is_recorded_not_hidden():
    arche, profiles = make_archetypes(n_per_country=15)
    data, shortfalls = splits.build_datasets(arche, profiles, COUNTRIES, QUESTIONS, ATTRS, SPEC)
    pools = {(s["country"], s["pool"]) for s in shortfalls}
    assert ("USA", "corpus") in pools and ("NGA", "cross_country") not in pools
    assert audit.leakage_report(data, COUNTRIES, QUESTIONS)["ok"]


def test_leakage_detected_and_fatal():
    arche, profiles = make_archetypes()
    data, _ = splits.build_datasets(arche, profiles, COUNTRIES, QUESTIONS, ATTRS, SPEC)
    leaked = dict(data)
    leaked["cross_demographic"] = pd.concat([data["cross_demographic"], data["train"].head(3)])
    leaked["cross_value"] = pd.concat([data["cross_value"], data["cross_value"].head(1).assign(q_id="Q1")])
    report = audit.leakage_report(leaked, COUNTRIES, QUESTIONS)
    assert report["profile_overlap"]["cross_demographic__train"] >= 1
    assert report["violations"]["training_questions_in_cross_value"] == 1
    with pytest.raises(LeakageError, match="cross_demographic__train"):
        audit.assert_no_leakage(report)


def test_cross_country_with_training_country_is_leakage():
    arche, profiles = make_archetypes()
    data, _ = splits.build_datasets(arche, profiles, COUNTRIES, QUESTIONS, ATTRS, SPEC)
    data["cross_country"] = data["cross_country"].assign(country="USA")
    assert audit.leakage_report(data, COUNTRIES, QUESTIONS)["violations"]["training_countries_in_cross_country"] > 0


def test_filtering_report_hand_computed():
    respondents = pd.DataFrame({"profile_id": ["p1", "p1", "p2"], "Gender": ["F", "F", "M"]})
    arche = pd.DataFrame({"profile_id": ["p1", "p1", "p2"], "q_id": ["Q1", "Q2", "Q1"], "n_respondents": [2, 2, 1],
                          "entropy": [0.0, 1.0, 0.0], "kept": [True, False, True]})
    r = audit.filtering_report(respondents, arche, ["Gender"], fill_defaults({"rule": "strict"}, "filter"))
    assert r["respondents_sharing_a_profile"] == pytest.approx(2 / 3)
    assert r["pairs_removed_share"] == pytest.approx(1 / 3)
    assert r["answers_removed_share"] == pytest.approx(2 / 5)
    assert r["entropy_histogram"]["0"] == 2 and r["entropy_histogram"]["[1,1.5)"] == 1
    assert r["coverage"]["Gender"]["F"] == {"pairs_before": 2, "pairs_after": 1, "retained": 0.5}


def test_counts_report():
    arche, profiles = make_archetypes()
    data, _ = splits.build_datasets(arche, profiles, COUNTRIES, QUESTIONS, ATTRS, SPEC)
    c = audit.counts_report(data, [])
    assert c["datasets"]["train"]["samples"] == len(data["train"])
    assert sum(c["datasets"]["cross_country"]["per_country"].values()) == len(data["cross_country"])
    assert c["benchmark_samples"] == sum(len(data[b]) for b in splits.BENCHMARKS)


def test_release_prompts_report_compares_byte_for_byte():
    from dvmap.data.audit import release_prompts_report

    release = pd.DataFrame({"prompt": ["a", "b ", "", None]})
    rendered = pd.DataFrame({"prompt": ["a", "b", "c", "d"]})
    report = release_prompts_report({"dev": release}, {"dev": rendered})
    assert report["datasets"]["dev"] == {"samples": 4, "prompts_given": 2, "identical": 1, "first_difference_row": 1}
    assert report["share_identical"] == 0.5
    assert "share_identical" not in release_prompts_report({"dev": release.assign(prompt="")}, {"dev": rendered})
