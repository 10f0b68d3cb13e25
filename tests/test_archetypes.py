
import numpy as np
import pandas as pd
import pytest

from dvmap.data import archetypes
from dvmap.stats import entropy

QUESTIONS = [{"id": "Q1", "options": ["a", "b", "c"]}, {"id": "Q2", "options": ["x", "y"]}]
STRICT = {"rule": "strict", "max_entropy": None, "min_profile_size": 1, "use_weight": False}


def respondents(rows):
    df = pd.DataFrame(rows, columns=["profile_id", "country", "Q1", "Q2", "weight"])
    return df


def test_archetype_table_hand_computed():
    df = respondents([
        ("p1", "USA", "a", "x", 1.0), ("p1", "USA", "a", "y", 1.0),   # Q1 unanimous, Q2 split 1:1
        ("p2", "USA", "b", None, 1.0),                                 # single respondent, Q2 missing
        ("p3", "DEU", "c", "x", 1.0), ("p3", "DEU", "b", "x", 1.0), ("p3", "DEU", "c", "x", 1.0),
    ])
    t = archetypes.archetype_table(df, QUESTIONS, STRICT).set_index(["profile_id", "q_id"])
    assert len(t) == 5  # p2/Q2 has no answer, so no pair
    assert t.loc[("p1", "Q1")].tolist()[1:] == [2, 0.0, "a", 0, True]
    assert t.loc[("p1", "Q2"), "entropy"] == pytest.approx(1.0)
    assert t.loc[("p1", "Q2"), "answer"] == "x"  # tie broken towards the lower option index
    assert not t.loc[("p1", "Q2"), "kept"]
    assert t.loc[("p3", "Q1"), "answer"] == "c" and t.loc[("p3", "Q1"), "n_respondents"] == 3
    assert t.loc[("p3", "Q1"), "entropy"] == pytest.approx(entropy([2, 1]))
    assert t.loc[("p3", "Q1"), "country"] == "DEU"


def test_weighted_mode_and_entropy():
    df = respondents([("p1", "USA", "a", "x", 1.0), ("p1", "USA", "b", "x", 3.0)])
    t = archetypes.archetype_table(df, QUESTIONS, {**STRICT, "rule": "majority", "use_weight": True})
    row = t[t.q_id == "Q1"].iloc[0]
    assert row["answer"] == "b" and row["entropy"] == pytest.approx(entropy([1, 3]))
    unweighted = archetypes.archetype_table(df, QUESTIONS, {**STRICT, "rule": "majority"})
    assert unweighted[unweighted.q_id == "Q1"].iloc[0]["answer"] == "a"


@pytest.mark.parametrize("spec,kept", [
    ({"rule": "strict"}, [True, False, True]),
    ({"rule": "majority"}, [True, True, True]),
    ({"rule": "threshold", "max_entropy": 0.5}, [True, False, True]),
    ({"rule": "threshold", "max_entropy": 1.0}, [True, True, True]),
    ({"rule": "majority", "min_profile_size": 2}, [True, True, False]),
])
def test_keep_rules(spec, kept):
    table = pd.DataFrame({"entropy": [0.0, 1.0, 0.0], "n_respondents": [2, 2, 1]})
    assert archetypes.keep_mask(table, {**STRICT, **spec}).tolist() == kept


def test_vectorized_table_matches_a_plain_groupby(rng=np.random.default_rng(3)):
    n = 3000
    df = pd.DataFrame({"profile_id": rng.integers(0, 400, n).astype(str), "country": "USA",
                       "Q1": rng.choice(["a", "b", "c", None], n), "Q2": rng.choice(["x", "y"], n),
                       "weight": rng.uniform(0.5, 2, n)})
    df["profile_id"] = "p" + df["profile_id"]
    spec = {**STRICT, "use_weight": True}
    fast = archetypes.archetype_table(df, QUESTIONS, spec).set_index(["profile_id", "q_id"])
    answers = df.melt(["profile_id", "weight"], ["Q1", "Q2"], "q_id", "ans").dropna()
    for (pid, qid), group in answers.groupby(["profile_id", "q_id"]):
        w = group.groupby("ans")["weight"].sum()
        row = fast.loc[(pid, qid)]
        assert row["entropy"] == pytest.approx(entropy(w.to_numpy()), abs=1e-12)
        assert row["n_respondents"] == len(group)
        best = max(w.items(), key=lambda kv: (kv[1], -[q for q in QUESTIONS if q["id"] == qid][0]["options"].index(kv[0])))
        assert row["answer"] == best[0]
    assert len(fast) == df.melt(["profile_id"], ["Q1", "Q2"]).dropna().groupby(["profile_id", "variable"]).ngroups


def test_profile_ids_stable_and_distinct():
    df = pd.DataFrame({"A": ["x", "x", "y"], "B": ["1", "1", "1"]})
    ids = archetypes.profile_ids(df, ["A", "B"])
    assert ids[0] == ids[1] != ids[2]
    assert ids[0] == archetypes.profile_ids(df.iloc[[1]], ["A", "B"]).iloc[0]
    assert ids[0].startswith("p") and len(ids[0]) == 13
    # the separator keeps ("ab", "c") apart from ("a", "bc")
    other = archetypes.profile_ids(pd.DataFrame({"A": ["ab", "a"], "B": ["c", "bc"]}), ["A", "B"])
    assert other[0] != other[1]
