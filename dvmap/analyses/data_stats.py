"""Data analyses of the survey (Figure 1a, 1b): answer heterogeneity within countries and the entropy
of (profile, question) pairs before filtering, each statistic with its n and a bootstrap 95% CI.

Entropies are Shannon entropies in bits. Normalised entropy = H / log2(K), K = the question's
number of options (1 = uniform over the options, 0 = unanimous). CIs are percentile bootstraps:
Figure 1a resamples respondents within a country (unweighted: a multinomial draw of the answer
counts, which is the same thing; weighted: resampled respondents with their weights); Figure 1b
resamples profiles (a cluster bootstrap: the pairs of one profile share respondents).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from dvmap.stats import bootstrap_counts, multinomial_draws, percentile_ci
from dvmap.stats import entropy as entropy_of

SUBSET_ALL = "all pairs"
SUBSET_SHARED = "pairs with >= 2 respondents"


def _answers(respondents: pd.DataFrame, question: Mapping, country: str, use_weight: bool
             ) -> tuple[np.ndarray, np.ndarray | None]:
    """Option indices (and weights) of the respondents of `country` who answered `question`."""
    rows = respondents[(respondents["country"] == country) & respondents[question["id"]].notna()]
    index = rows[question["id"]].map({o: i for i, o in enumerate(question["options"])})
    if index.isna().any():
        bad = sorted(set(rows.loc[index.isna(), question["id"]]))[:3]
        raise ValueError(f"column {question['id']}: answers {bad} are not options of the question")
    weights = rows["weight"].to_numpy(dtype=float) if use_weight else None
    return index.to_numpy(dtype=np.int64), weights


def country_question_entropy(respondents: pd.DataFrame, questions: Sequence[Mapping], countries: Sequence[str],
                             use_weight: bool, seed: int, n_resamples: int) -> pd.DataFrame:
    """Entropy of the answer distribution of every (country, question) among its respondents:
    n (respondents who answered), K, entropy in bits and normalised, each with a bootstrap CI.
    A pair nobody answered (a question not asked in a country) has n = 0 and NaN entropies."""
    rows = []
    for c_i, country in enumerate(countries):
        for q_i, q in enumerate(questions):
            k = len(q["options"])
            index, weights = _answers(respondents, q, country, use_weight)
            counts = np.bincount(index, weights=weights, minlength=k).astype(float)
            rng = np.random.default_rng([seed, c_i, q_i])
            boot = entropy_of(bootstrap_counts(index, k, weights, rng, n_resamples)) if len(index) else np.full(2, np.nan)
            h = float(entropy_of(counts)) if len(index) else np.nan
            low, high = percentile_ci(boot) if len(index) else (np.nan, np.nan)
            rows.append({"country": country, "q_id": q["id"], "role": q["role"], "n": int(len(index)), "k": k,
                         "entropy_bits": h, "entropy_bits_ci_low": float(low), "entropy_bits_ci_high": float(high),
                         "entropy_normalized": h / np.log2(k), "entropy_normalized_ci_low": float(low) / np.log2(k),
                         "entropy_normalized_ci_high": float(high) / np.log2(k)})
    return pd.DataFrame(rows)


def pick_most_heterogeneous(entropies: pd.DataFrame, country: str | None, question: str | None,
                            roles: Sequence[str], measure: str) -> tuple[str, str, str]:
    """The (country, question) of Figure 1a and the rule that chose it.

    Both given: used as they are. Otherwise among the pairs with answers whose question role is in
    `roles` (and the given country or question, if any), the pair of highest entropy (`measure`:
    normalized or bits); ties go to the first country, then question, in spec order."""
    column = f"entropy_{measure}"
    if country is not None and question is not None:
        return country, question, "country and question set in the spec"
    pool = entropies[entropies["role"].isin(roles) & (entropies["n"] > 0)]
    if country is not None:
        pool = pool[pool["country"] == country]
    if question is not None:
        pool = entropies[(entropies["q_id"] == question) & (entropies["n"] > 0)]
    if pool.empty:
        raise ValueError(f"no answered (country, question) pair to choose from (country={country}, "
                         f"question={question}, roles={list(roles)})")
    best = pool.loc[pool[column].round(12).idxmax()]  # first maximum in row (spec) order; float noise is a tie
    if country is None and question is None:
        rule = f"highest {measure} entropy over all (country, question) pairs, questions of role {', '.join(roles)}"
    elif country is not None:
        rule = f"highest {measure} entropy among the questions (role {', '.join(roles)}) in {country}"
    else:
        rule = f"country where {question} has the highest {measure} entropy"
    return str(best["country"]), str(best["q_id"]), rule


def answer_distribution(respondents: pd.DataFrame, question: Mapping, countries: Sequence[str], use_weight: bool,
                        seed: int, n_resamples: int) -> pd.DataFrame:
    """Share of each option of `question` per country (spec order) with n and bootstrap CIs; per
    country also its entropy (bits) with a CI. n_option counts respondents (unweighted)."""
    k = len(question["options"])
    rows = []
    for c_i, country in enumerate(countries):
        index, weights = _answers(respondents, question, country, use_weight)
        n = len(index)
        counts = np.bincount(index, weights=weights, minlength=k).astype(float)
        n_option = np.bincount(index, minlength=k)
        rng = np.random.default_rng([seed, c_i])
        if n:
            boot = bootstrap_counts(index, k, weights, rng, n_resamples)
            share, (low, high) = counts / counts.sum(), percentile_ci(boot / boot.sum(axis=1, keepdims=True))
            h_boot = entropy_of(boot)
            h, (h_low, h_high) = float(entropy_of(counts)), percentile_ci(h_boot)
        else:
            share = low = high = np.full(k, np.nan)
            h = h_low = h_high = np.nan
        for i, option in enumerate(question["options"]):
            rows.append({"country": country, "q_id": question["id"], "option_index": i, "option": option,
                         "n_country": n, "n_option": int(n_option[i]), "share": float(share[i]),
                         "share_ci_low": float(low[i]), "share_ci_high": float(high[i]),
                         "entropy_bits": h, "entropy_bits_ci_low": float(h_low), "entropy_bits_ci_high": float(h_high)})
    return pd.DataFrame(rows)


def entropy_histogram_edges(max_entropy: float, bin_width: float) -> np.ndarray:
    """Edges of the bins over (0, max]: 0, w, 2w, ... (the last edge >= max_entropy)."""
    n_bins = max(1, int(np.ceil(round(max_entropy / bin_width, 9))))
    return np.round(np.arange(n_bins + 1) * bin_width, 9)


def entropy_distribution(archetypes: pd.DataFrame, country: str | None, bin_width: float, seed: int,
                         n_resamples: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Figure 1b: the entropy of (profile, question) pairs before filtering, over all pairs and over
    pairs with >= 2 respondents (a one-respondent pair has H = 0 trivially).

    Returns (histogram, summary). Histogram: per subset, a bin "H = 0" then bins (lo, hi] of
    `bin_width`, with n_pairs and share. Summary: per subset, n_profiles, n_pairs, n_zero, share_zero
    and mean entropy, each with a cluster-bootstrap CI over profiles.
    """
    pairs = archetypes if country is None else archetypes[archetypes["country"] == country]
    scope = "all countries" if country is None else country
    if pairs.empty:
        raise ValueError(f"archetypes: no (profile, question) pair of country {country}")
    max_h = float(pairs["entropy"].max())
    edges = entropy_histogram_edges(max(max_h, bin_width), bin_width)
    hist_rows, summary_rows = [], []
    for s_i, (subset, sel) in enumerate(((SUBSET_ALL, pairs), (SUBSET_SHARED, pairs[pairs["n_respondents"] >= 2]))):
        h = sel["entropy"].to_numpy(dtype=float)
        zero = h == 0.0
        n = len(h)
        hist_rows.append({"scope": scope, "subset": subset, "bin": "H = 0", "bin_low": 0.0, "bin_high": 0.0,
                          "n_pairs": int(zero.sum()), "n_subset": n, "share": zero.mean() if n else np.nan})
        counts = _right_closed_counts(h[~zero], edges)  # bins (lo, hi]: an entropy on an edge goes below
        for lo, hi, c in zip(edges[:-1], edges[1:], counts):
            hist_rows.append({"scope": scope, "subset": subset, "bin": f"({lo:g}, {hi:g}]", "bin_low": float(lo),
                              "bin_high": float(hi), "n_pairs": int(c), "n_subset": n,
                              "share": c / n if n else np.nan})
        summary_rows.append({"scope": scope, "subset": subset, **_cluster_summary(sel, seed + s_i, n_resamples)})
    return pd.DataFrame(hist_rows), pd.DataFrame(summary_rows)


def _right_closed_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts of positive values in the bins (edges[i], edges[i+1]]."""
    idx = np.searchsorted(edges, values, side="left") - 1  # value == edges[j] lands in bin j-1
    idx = np.clip(idx, 0, len(edges) - 2)
    return np.bincount(idx, minlength=len(edges) - 1)


def _cluster_summary(pairs: pd.DataFrame, seed: int, n_resamples: int) -> dict:
    """n, the H = 0 share and the mean entropy of pairs, CIs by resampling profiles."""
    n = len(pairs)
    if n == 0:
        return {"n_profiles": 0, "n_pairs": 0, "n_zero": 0, **{k: np.nan for k in (
            "share_zero", "share_zero_ci_low", "share_zero_ci_high", "mean_entropy", "mean_entropy_ci_low",
            "mean_entropy_ci_high")}}
    g = pairs.assign(zero=pairs["entropy"] == 0.0).groupby("profile_id", sort=True)
    per_profile = pd.DataFrame({"pairs": g.size(), "zero": g["zero"].sum(), "h": g["entropy"].sum()})
    n_profiles = len(per_profile)
    rng = np.random.default_rng(seed)
    draws = multinomial_draws(rng, n_profiles, n_resamples)
    total = draws @ per_profile["pairs"].to_numpy(dtype=float)
    share_boot = draws @ per_profile["zero"].to_numpy(dtype=float) / total
    mean_boot = draws @ per_profile["h"].to_numpy(dtype=float) / total
    (s_low, m_low), (s_high, m_high) = percentile_ci(np.c_[share_boot, mean_boot], nan_policy="propagate")
    n_zero = int(per_profile["zero"].sum())
    return {"n_profiles": int(n_profiles), "n_pairs": int(n), "n_zero": n_zero, "share_zero": n_zero / n,
            "share_zero_ci_low": float(s_low), "share_zero_ci_high": float(s_high),
            "mean_entropy": float(pairs["entropy"].mean()), "mean_entropy_ci_low": float(m_low),
            "mean_entropy_ci_high": float(m_high)}
