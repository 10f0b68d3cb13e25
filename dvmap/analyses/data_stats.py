"""Data analyses of the survey (Figure 1a, 1b): answer heterogeneity within countries, the entropy
of every value question of the survey file in a country (the paper's Figure 1b) and the entropy of
(profile, question) pairs before filtering (the kit's), each statistic with its n and a bootstrap
95% CI.

Entropies are Shannon entropies (dvmap.stats.entropy) in the unit of specs/analyses.yaml
(`entropy_unit`: bits or nats), written beside every entropy (`unit`). Normalised entropy =
H / log(K), K = the question's number of options (1 = uniform over the options, 0 = unanimous),
the same in either unit. CIs are percentile bootstraps: Figure 1a and the per-question entropies
resample respondents within a country (unweighted: a multinomial draw of the answer counts, which
is the same thing; weighted: resampled respondents with their weights); the (profile, question)
histogram resamples profiles (a cluster bootstrap: the pairs of one profile share respondents).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from dvmap.specs import country_codes
from dvmap.stats import bootstrap_counts, convert_entropy, max_entropy, multinomial_draws, percentile_ci
from dvmap.stats import entropy as entropy_of

ARCHETYPE_UNIT = "bits"  # results/data/archetypes.parquet's entropy (the filter's) is in bits

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


# Figure 1a's table (results/analysis/fig1a_entropy_by_country_question.csv): country_question_entropy's
# columns, then which (country, question) the figure shows and by which rule.
HETEROGENEITY_COLUMNS = ["country", "q_id", "role", "n", "k", "entropy", "entropy_ci_low", "entropy_ci_high", "unit",
                         "entropy_normalized", "entropy_normalized_ci_low", "entropy_normalized_ci_high", "selected",
                         "selection_rule"]


def country_question_entropy(respondents: pd.DataFrame, questions: Sequence[Mapping], countries: Sequence[str],
                             use_weight: bool, seed: int, n_resamples: int, unit: str = "bits") -> pd.DataFrame:
    """Entropy of the answer distribution of every (country, question) among its respondents:
    n (respondents who answered), K, entropy (in `unit`) and normalised, each with a bootstrap CI.
    A pair nobody answered (a question not asked in a country) has n = 0 and NaN entropies."""
    rows = []
    for c_i, country in enumerate(countries):
        for q_i, q in enumerate(questions):
            k = len(q["options"])
            index, weights = _answers(respondents, q, country, use_weight)
            counts = np.bincount(index, weights=weights, minlength=k).astype(float)
            rng = np.random.default_rng([seed, c_i, q_i])
            boot = (entropy_of(bootstrap_counts(index, k, weights, rng, n_resamples), unit) if len(index)
                    else np.full(2, np.nan))
            h = float(entropy_of(counts, unit)) if len(index) else np.nan
            low, high = percentile_ci(boot) if len(index) else (np.nan, np.nan)
            h_max = max_entropy(k, unit)
            rows.append({"country": country, "q_id": q["id"], "role": q["role"], "n": int(len(index)), "k": k,
                         "entropy": h, "entropy_ci_low": float(low), "entropy_ci_high": float(high), "unit": unit,
                         "entropy_normalized": h / h_max, "entropy_normalized_ci_low": float(low) / h_max,
                         "entropy_normalized_ci_high": float(high) / h_max})
    return pd.DataFrame(rows)


def pick_most_heterogeneous(entropies: pd.DataFrame, country: str | None, question: str | None,
                            roles: Sequence[str], measure: str) -> tuple[str, str, str]:
    """The (country, question) of Figure 1a and the rule that chose it.

    Both given: used as they are. Otherwise among the pairs with answers whose question role is in
    `roles` (and the given country or question, if any), the pair of highest entropy (`measure`:
    normalized, or entropy in the table's unit); ties go to the first country, then question, in spec order."""
    column = "entropy_normalized" if measure == "normalized" else "entropy"
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
                        seed: int, n_resamples: int, unit: str = "bits") -> pd.DataFrame:
    """Share of each option of `question` per country (spec order) with n and bootstrap CIs; per
    country also its entropy (in `unit`) with a CI. n_option counts respondents (unweighted)."""
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
            h_boot = entropy_of(boot, unit)
            h, (h_low, h_high) = float(entropy_of(counts, unit)), percentile_ci(h_boot)
        else:
            share = low = high = np.full(k, np.nan)
            h = h_low = h_high = np.nan
        for i, option in enumerate(question["options"]):
            rows.append({"country": country, "q_id": question["id"], "option_index": i, "option": option,
                         "n_country": n, "n_option": int(n_option[i]), "share": float(share[i]),
                         "share_ci_low": float(low[i]), "share_ci_high": float(high[i]),
                         "entropy": h, "entropy_ci_low": float(h_low), "entropy_ci_high": float(h_high), "unit": unit})
    return pd.DataFrame(rows)


def entropy_histogram_edges(max_entropy: float, bin_width: float) -> np.ndarray:
    """Edges of the bins over (0, max]: 0, w, 2w, ... (the last edge >= max_entropy)."""
    n_bins = max(1, int(np.ceil(round(max_entropy / bin_width, 9))))
    return np.round(np.arange(n_bins + 1) * bin_width, 9)


def entropy_distribution(archetypes: pd.DataFrame, country: str | None, bin_width: float, seed: int,
                         n_resamples: int, unit: str = "bits") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Figure 1b: the entropy of (profile, question) pairs before filtering, over all pairs and over
    pairs with >= 2 respondents (a one-respondent pair has H = 0 trivially).

    Returns (histogram, summary). Histogram: per subset, a bin "H = 0" then bins (lo, hi] of
    `bin_width`, with n_pairs and share. Summary: per subset, n_profiles, n_pairs, n_zero, share_zero
    and mean entropy, each with a cluster-bootstrap CI over profiles. Entropies (archetypes: bits)
    and bins are in `unit`.
    """
    pairs = archetypes if country is None else archetypes[archetypes["country"] == country]
    if unit != ARCHETYPE_UNIT:
        pairs = pairs.assign(entropy=convert_entropy(pairs["entropy"].to_numpy(dtype=float), ARCHETYPE_UNIT, unit))
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
                          "n_pairs": int(zero.sum()), "n_subset": n, "share": zero.mean() if n else np.nan,
                          "unit": unit})
        counts = _right_closed_counts(h[~zero], edges)  # bins (lo, hi]: an entropy on an edge goes below
        for lo, hi, c in zip(edges[:-1], edges[1:], counts):
            hist_rows.append({"scope": scope, "subset": subset, "bin": f"({lo:g}, {hi:g}]", "bin_low": float(lo),
                              "bin_high": float(hi), "n_pairs": int(c), "n_subset": n,
                              "share": c / n if n else np.nan, "unit": unit})
        summary_rows.append({"scope": scope, "subset": subset, **_cluster_summary(sel, seed + s_i, n_resamples),
                             "unit": unit})
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


# ---- Figure 1b as the paper draws it: one entropy per survey question in a country -----------------------------------
QUESTION_ENTROPY_COLUMNS = ["country", "q_id", "n", "k_observed", "entropy", "unit", "above_threshold", "counted"]
QUESTION_SUMMARY_COLUMNS = ["country", "n_respondents", "n_questions", "n_above", "share_above_threshold",
                            "share_above_threshold_ci_low", "share_above_threshold_ci_high", "threshold", "unit",
                            "threshold_stated", "threshold_unit", "min_respondents", "n_questions_in_file", "weighted"]


def question_entropy(codes: pd.DataFrame, countries: Sequence[Mapping], threshold: float, min_respondents: int,
                     use_weight: bool, seed: int, n_resamples: int, unit: str = "nats",
                     threshold_unit: str = "nats") -> tuple[pd.DataFrame, pd.DataFrame]:
    """The paper's Figure 1b: the Shannon entropy of the answers to every value question of the survey
    file among one country's respondents, and the share of questions whose entropy exceeds `threshold`.

    `codes`: B_COUNTRY, W_WEIGHT and one column per question (raw codes, NaN = missing), as
    wvs_io.read_value_questions gives. A question's distribution is over the answer codes given in
    that country (K = codes observed). Questions answered by fewer than `min_respondents` (e.g. not
    asked there) are listed but not counted in the share. The share's CI resamples the country's
    respondents (all questions from the same draw) and recomputes every entropy. The threshold is in
    `threshold_unit` (the paper's 1.0 is in nats) and is converted to `unit`, in which the entropies
    are reported; the summary's `threshold` is the converted one (what the figure marks).
    Returns (per (country, question) rows, per-country summary)."""
    stated, threshold = threshold, float(convert_entropy(threshold, threshold_unit, unit))
    questions = [c for c in codes.columns if c not in ("B_COUNTRY", "W_WEIGHT")]
    rows, summary = [], []
    for c_i, country in enumerate(countries):
        pooled = country_codes(country)  # its B_COUNTRY code(s), as the corpus reads the country
        mine = codes[codes["B_COUNTRY"].isin([float(c) for c in pooled])]
        if mine.empty:
            raise ValueError(f"column B_COUNTRY: no respondent of {country['iso3']} "
                             f"(code {'/'.join(map(str, pooled))})")
        n_resp = len(mine)
        weight = mine["W_WEIGHT"].to_numpy(dtype=float) if use_weight else np.ones(n_resp)
        draws = multinomial_draws(np.random.default_rng([seed, c_i]), n_resp, n_resamples) * weight[None, :]
        boot_above, boot_counted = np.zeros(n_resamples), np.zeros(n_resamples)
        n_above = n_counted = 0
        for q in questions:
            answered = mine[q].notna().to_numpy()
            values, index = np.unique(mine[q].to_numpy()[answered], return_inverse=True)
            n = int(answered.sum())
            counted = n >= min_respondents and n > 0
            h = np.nan
            if n:
                onehot = np.zeros((n_resp, len(values)))
                onehot[np.flatnonzero(answered), index] = 1.0
                h = float(entropy_of(weight @ onehot, unit))
                if counted:
                    h_boot = entropy_of(draws @ onehot, unit)
                    finite = np.isfinite(h_boot)
                    boot_counted += finite
                    boot_above += finite & (np.where(finite, h_boot, -np.inf) > threshold)
            above = bool(counted and h > threshold)
            n_above += above
            n_counted += counted
            rows.append({"country": country["iso3"], "q_id": q, "n": n, "k_observed": len(values), "entropy": h,
                         "unit": unit, "above_threshold": above, "counted": counted})
        with np.errstate(invalid="ignore", divide="ignore"):
            share_boot = boot_above / boot_counted
        low, high = percentile_ci(share_boot) if n_counted else (np.nan, np.nan)
        summary.append({"country": country["iso3"], "n_respondents": n_resp, "n_questions": n_counted,
                        "n_above": n_above, "share_above_threshold": n_above / n_counted if n_counted else np.nan,
                        "share_above_threshold_ci_low": float(low), "share_above_threshold_ci_high": float(high),
                        "threshold": threshold, "unit": unit, "threshold_stated": stated,
                        "threshold_unit": threshold_unit, "min_respondents": min_respondents,
                        "n_questions_in_file": len(questions), "weighted": use_weight})
    return (pd.DataFrame(rows, columns=QUESTION_ENTROPY_COLUMNS),
            pd.DataFrame(summary, columns=QUESTION_SUMMARY_COLUMNS))
