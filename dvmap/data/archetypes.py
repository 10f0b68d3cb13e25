"""Archetype extraction: profiles from the 11 attributes, answer entropy per (profile, question),
and the keep/drop decision of the filter spec."""
from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from dvmap.errors import SurveyFileError
from dvmap.stats import entropy as entropy_of

PROFILE_SEPARATOR = "\x1f"  # cannot occur in a label


def profile_ids(respondents: pd.DataFrame, attribute_names: Sequence[str]) -> pd.Series:
    """Stable id of each respondent's profile: a hash of its 11 attribute labels."""
    cols = [respondents[a].astype(str) for a in attribute_names]
    joined = cols[0].str.cat(cols[1:], sep=PROFILE_SEPARATOR)
    ids = ["p" + hashlib.sha1(s.encode("utf-8")).hexdigest()[:12] for s in joined]
    return pd.Series(ids, index=respondents.index, name="profile_id")


def check_weights(respondents: pd.DataFrame, file: str) -> None:
    """Weighted entropies need weight: a country whose weights sum to zero is an error naming it."""
    totals = respondents.groupby("country", sort=False)["weight"].agg(["sum", "size"])
    zero = totals[totals["sum"] <= 0]
    if len(zero):
        named = ", ".join(f"{c} ({int(n)} respondents)" for c, n in zero["size"].items())
        raise SurveyFileError(file, f"column W_WEIGHT: the weights of {named} sum to zero, and the filter spec sets "
                                    f"use_weight: no answer distribution can be weighted (fix the weights, or set "
                                    f"use_weight: false)")


def archetype_table(respondents: pd.DataFrame, questions: Sequence[Mapping], filter_spec: Mapping,
                    file: str = "the survey file") -> pd.DataFrame:
    """One row per (profile, question) with answers: n_respondents, entropy (bits), modal answer, kept.

    Rows are ordered by profile id, then question order. The mode breaks ties by the lower option
    index, so the result does not depend on row order. Grouping runs on integer keys (fast on the
    full WVS-7 size). With weights, a country or a (profile, question) whose answers' weights sum
    to zero is an error naming it (`file`: where the weights come from): its entropy would be NaN.
    """
    profiles, pid = np.unique(respondents["profile_id"].to_numpy(dtype=str), return_inverse=True)
    n_q = len(questions)
    k_max = max(len(q["options"]) for q in questions)
    if filter_spec["use_weight"]:
        check_weights(respondents, file)
    weight = respondents["weight"].to_numpy(dtype=float) if filter_spec["use_weight"] else np.ones(len(respondents))
    keys, weights = [], []
    for j, q in enumerate(questions):
        index = respondents[q["id"]].map({o: i for i, o in enumerate(q["options"])}).to_numpy(dtype=float)
        answered = ~np.isnan(index)
        keys.append((pid[answered] * n_q + j) * k_max + index[answered].astype(np.int64))
        weights.append(weight[answered])
    key_per_answer, inverse = np.unique(np.concatenate(keys), return_inverse=True)
    w_answer = np.bincount(inverse, weights=np.concatenate(weights))
    n_answer = np.bincount(inverse)
    pair_of_answer = key_per_answer // k_max
    pair_keys, pair_index = np.unique(pair_of_answer, return_inverse=True)
    w_pair = np.bincount(pair_index, weights=w_answer)
    if (w_pair <= 0).any():  # every respondent of the pair weighs 0: no distribution, NaN entropy
        first = int(np.flatnonzero(w_pair <= 0)[0])
        profile, q = profiles[pair_keys[first] // n_q], questions[pair_keys[first] % n_q]["id"]
        members = respondents["profile_id"].to_numpy(dtype=str) == profile
        raise SurveyFileError(file, f"column W_WEIGHT: the respondents of profile {profile} "
                                    f"({respondents['country'].to_numpy()[members][0]}) who answered {q} all have weight "
                                    f"0, and the filter spec sets use_weight ({int((w_pair <= 0).sum())} (profile, "
                                    f"question) pairs have no weight; fix the weights, or set use_weight: false)")
    entropy = entropy_of(w_answer, "bits", groups=pair_index)  # unanimous pairs: exactly 0
    if np.isnan(entropy).any():  # NaN would pass every filter rule's comparison unnoticed
        raise SurveyFileError(file, f"column W_WEIGHT: {int(np.isnan(entropy).sum())} (profile, question) pairs have "
                                    f"no finite answer distribution (weights too large to sum?); check the weights")
    # Mode: per pair, the answer with the largest weight, ties to the lower option index.
    order = np.lexsort((key_per_answer % k_max, -w_answer, pair_index))
    first = order[np.r_[True, pair_index[order][1:] != pair_index[order][:-1]]]
    mode_index = (key_per_answer % k_max)[first]
    q_of_pair = pair_keys % n_q
    options = [q["options"] for q in questions]
    country = pd.Series(respondents["country"].to_numpy(), index=pid).groupby(level=0).first()
    table = pd.DataFrame({
        "profile_id": profiles[pair_keys // n_q],
        "country": country.to_numpy()[pair_keys // n_q],
        "q_id": np.array([q["id"] for q in questions], dtype=object)[q_of_pair],
        "n_respondents": np.bincount(pair_index, weights=n_answer).astype(np.int64),
        "entropy": entropy,
        "answer": [options[j][i] for j, i in zip(q_of_pair, mode_index)],
        "answer_index": mode_index.astype(np.int64),
    })
    table["kept"] = keep_mask(table, filter_spec)
    return table


def keep_mask(table: pd.DataFrame, filter_spec: Mapping) -> np.ndarray:
    """Which (profile, question) pairs the filter keeps."""
    rule = filter_spec["rule"]
    if rule == "strict":
        keep = table["entropy"].to_numpy() == 0.0
    elif rule == "majority":
        keep = np.ones(len(table), dtype=bool)
    else:  # threshold
        keep = table["entropy"].to_numpy() <= float(filter_spec["max_entropy"]) + 1e-12
    return keep & (table["n_respondents"].to_numpy() >= filter_spec["min_profile_size"])


def profile_table(respondents: pd.DataFrame, attribute_names: Sequence[str]) -> pd.DataFrame:
    """One row per profile: profile_id, country and its 11 attribute labels."""
    return (respondents[["profile_id", "country", *attribute_names]].drop_duplicates("profile_id")
            .sort_values("profile_id").reset_index(drop=True))
