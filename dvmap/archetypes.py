"""Archetype extraction: profiles from the 11 attributes, answer entropy per (profile, question),
and the keep/drop decision of the filter spec."""
from __future__ import annotations

import hashlib
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

PROFILE_SEPARATOR = "\x1f"  # cannot occur in a label


def profile_ids(respondents: pd.DataFrame, attribute_names: Sequence[str]) -> pd.Series:
    """Stable id of each respondent's profile: a hash of its 11 attribute labels."""
    joined = respondents[list(attribute_names)].astype(str).agg(PROFILE_SEPARATOR.join, axis=1)
    return joined.map(lambda s: "p" + hashlib.sha1(s.encode("utf-8")).hexdigest()[:12]).rename("profile_id")


def shannon_entropy(weights: Sequence[float], base: float = 2.0) -> float:
    """Entropy of the distribution proportional to `weights` (zeros ignored)."""
    w = np.asarray(weights, dtype=float)
    p = w[w > 0] / w[w > 0].sum()
    return float(-(p * np.log(p)).sum() / np.log(base)) + 0.0


def long_answers(respondents: pd.DataFrame, questions: Sequence[Mapping], use_weight: bool) -> pd.DataFrame:
    """One row per (respondent, question) answered: profile_id, country, q_id, answer, answer_index, w."""
    frames = []
    for q in questions:
        answered = respondents[q["id"]].notna().to_numpy()
        sub = respondents.loc[answered, ["profile_id", "country"]]
        answer = respondents.loc[answered, q["id"]]
        frames.append(pd.DataFrame({
            "profile_id": sub["profile_id"].to_numpy(), "country": sub["country"].to_numpy(),
            "q_id": q["id"], "answer": answer.to_numpy(),
            "answer_index": answer.map({o: i for i, o in enumerate(q["options"])}).to_numpy(),
            "w": respondents.loc[answered, "weight"].to_numpy() if use_weight else 1.0,
        }))
    return pd.concat(frames, ignore_index=True)


def archetype_table(respondents: pd.DataFrame, questions: Sequence[Mapping], filter_spec: Mapping) -> pd.DataFrame:
    """One row per (profile, question) with answers: n_respondents, entropy (bits), modal answer, kept.

    The mode breaks ties by the lower option index, so the result does not depend on row order.
    """
    answers = long_answers(respondents, questions, filter_spec["use_weight"])
    keys = ["profile_id", "q_id"]
    per_answer = (answers.groupby([*keys, "answer_index", "answer"], sort=False)
                  .agg(w=("w", "sum"), n=("w", "size")).reset_index())
    total = per_answer.groupby(keys, sort=False)["w"].transform("sum")
    p = per_answer["w"] / total
    per_answer["h"] = -(p * np.log2(p))
    pairs = per_answer.groupby(keys, sort=False).agg(n_respondents=("n", "sum"), entropy=("h", "sum"),
                                                     n_answers=("answer", "size"))
    # Unanimous pairs have entropy exactly 0; clamp float noise (e.g. -0.0) for a clean file.
    pairs["entropy"] = np.where(pairs["n_answers"] == 1, 0.0, pairs["entropy"].to_numpy())
    mode = (per_answer.sort_values([*keys, "w", "answer_index"], ascending=[True, True, False, True])
            .drop_duplicates(keys).set_index(keys)[["answer", "answer_index"]])
    table = pairs.join(mode).reset_index()
    country = answers.drop_duplicates("profile_id").set_index("profile_id")["country"]
    table.insert(1, "country", table["profile_id"].map(country))
    table["kept"] = keep_mask(table, filter_spec)
    q_order = {q["id"]: i for i, q in enumerate(questions)}
    table = table.assign(_q=table["q_id"].map(q_order)).sort_values(["profile_id", "_q"]).drop(columns=["_q", "n_answers"])
    return table.reset_index(drop=True)


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
