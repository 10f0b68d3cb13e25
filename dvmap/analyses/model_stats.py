"""Statistics of the model analyses, each with its n and a bootstrap 95% CI that covers seeds too.

A table row (a model or a reference predictor) may have several prediction files, one per training
seed. Every statistic is computed per seed and averaged; its spread is the standard deviation over
seeds. Where a statistic involves two rows (a gain of DVMap over its base), "seed s" pairs seed s
of each row, a row with fewer seeds reusing them in turn (s mod its count): a base with one file is
paired with every seed of its DVMap model.

CIs are percentile bootstraps of that seed mean: each resample draws the units (samples, pairs)
with replacement, stratified by group (question, country or category, so no group vanishes), and
draws the seeds with replacement, then averages the statistic over the drawn seeds on the drawn
units. The interval thus includes both sampling and seed variance; with one seed it is the
ordinary bootstrap.

  entropy vs accuracy (Figure 5)  per value category (and per question): accuracy against the mean
                                  entropy (bits or nats: `unit`) of the category's questions' answer distributions
                                  on the benchmark; Pearson r across the groups.
  gain vs distance (Figure 9, Table 12)  accuracy of row a minus row b per group (country, question)
                                  on the same samples (paired), against the group's distance
                                  (cultural map, embeddings); Pearson r across the groups.
  change rate (Figure 8)          share of (original, perturbed) pairs with a changed answer.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from dvmap.stats import entropy as entropy_of
from dvmap.stats import seed_bootstrap


def row_means(values: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Mean of values over each row of unit indices (NaN for an empty row)."""
    if idx.shape[1] == 0:
        return np.full(idx.shape[0], np.nan)
    return np.asarray(values, dtype=float)[idx].mean(axis=1)


def group_sums(codes: np.ndarray, idx: np.ndarray, n_groups: int, weights: np.ndarray | None = None) -> np.ndarray:
    """(m, n_groups) sums of weights (or counts) of the units of each row of idx, by group code."""
    m = idx.shape[0]
    flat = (np.arange(m)[:, None] * n_groups + codes[idx]).ravel()
    w = None if weights is None else np.asarray(weights, dtype=float)[idx].ravel()
    return np.bincount(flat, weights=w, minlength=m * n_groups).reshape(m, n_groups)


def rowwise_pearson(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r of each row pair (x may be one row for all); NaN where a row has < 3 finite points or
    no spread."""
    x, y = np.broadcast_arrays(np.atleast_2d(np.asarray(x, dtype=float)), np.atleast_2d(np.asarray(y, dtype=float)))
    ok = np.isfinite(x) & np.isfinite(y)
    n = ok.sum(axis=1)
    x0, y0 = np.where(ok, x, 0.0), np.where(ok, y, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx, my = x0.sum(1) / n, y0.sum(1) / n
        dx, dy = np.where(ok, x - mx[:, None], 0.0), np.where(ok, y - my[:, None], 0.0)
        sxx, syy, sxy = (dx * dx).sum(1), (dy * dy).sum(1), (dx * dy).sum(1)
        r = sxy / np.sqrt(sxx * syy)
    flat_x = sxx <= 1e-15 * np.maximum(1.0, (x0 * x0).sum(1))
    flat_y = syy <= 1e-15 * np.maximum(1.0, (y0 * y0).sum(1))
    bad = (n < 3) | flat_x | flat_y
    return np.where(bad, np.nan, np.clip(r, -1.0, 1.0))


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    """Pearson r; NaN with fewer than 3 finite points or a constant variable."""
    return float(rowwise_pearson(x, y)[0])


def pearson_p(r: float, n: int) -> float:
    """Two-sided p-value of r under no correlation (t with n - 2 degrees of freedom)."""
    if not np.isfinite(r) or n < 3:
        return float("nan")
    if abs(r) >= 1:
        return 0.0
    t = r * np.sqrt((n - 2) / (1 - r * r))
    return float(2 * stats.t.sf(abs(t), n - 2))


def _seed_value(per_seed: Sequence, s: int):
    return per_seed[s % len(per_seed)]


# ---- Figure 5: entropy of the answer distribution vs accuracy ----------------------------------------------------
class EntropyAccuracy:
    """Accuracy and mean answer entropy per group (category or question) of a benchmark's samples."""

    def __init__(self, samples: pd.DataFrame, level: str, unit: str = "bits"):
        self.unit = unit
        if level not in ("category", "question"):
            raise ValueError(f"level must be category or question, not {level!r}")
        q_codes, questions = pd.factorize(samples["q_id"], sort=False)  # questions in the benchmark's order
        self.questions, self.q_codes = np.asarray(questions), np.asarray(q_codes)
        self.answers = samples["answer_index"].to_numpy(dtype=int)
        self.k = int(samples["options"].map(len).max()) if len(samples) else 1
        if level == "question":
            self.groups, self.group_of_q = list(self.questions), np.arange(len(self.questions))
        else:
            if (samples.groupby("q_id")["category"].nunique() > 1).any():
                raise ValueError("a question has samples in two categories")
            category_of_q = samples.groupby("q_id", sort=False)["category"].first().loc[self.questions]
            self.groups = list(dict.fromkeys(category_of_q))
            self.group_of_q = np.array([self.groups.index(c) for c in category_of_q])
        self.unit_group = self.group_of_q[self.q_codes]
        self.n_groups = len(self.groups)
        # (questions, groups) averaging matrix: a group's entropy is the mean over its questions
        self.members = (self.group_of_q[:, None] == np.arange(self.n_groups)[None, :]).astype(float)

    def entropy(self, idx: np.ndarray) -> np.ndarray:
        """(m, groups): per group, the mean over its questions of the entropy of their answers among idx."""
        nq = len(self.questions)
        counts = group_sums(self.q_codes * self.k + self.answers, idx, nq * self.k).reshape(len(idx), nq, self.k)
        h = entropy_of(counts, self.unit)
        present = np.isfinite(h)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (np.where(present, h, 0.0) @ self.members) / (present.astype(float) @ self.members)

    def accuracy(self, idx: np.ndarray, correct: np.ndarray) -> np.ndarray:
        """(m, groups) accuracy per group among idx."""
        n = group_sums(self.unit_group, idx, self.n_groups)
        with np.errstate(invalid="ignore", divide="ignore"):
            return group_sums(self.unit_group, idx, self.n_groups, correct.astype(float)) / n


# Figure 5's correlations (results/analysis/fig5_entropy_accuracy.csv): per row and level, the summary below.
ENTROPY_ACCURACY_COLUMNS = ["model", "kind", "level", "n_points", "n_samples", "r", "r_ci_low", "r_ci_high",
                            "r_seed_sd", "n_seeds", "p_value", "note"]


def entropy_accuracy(samples: pd.DataFrame, correct_per_seed: Sequence[np.ndarray], level: str, n_resamples: int,
                     seed: int, unit: str = "bits") -> tuple[pd.DataFrame, dict]:
    """Points (group, n, entropy in `unit`, acc with CIs) and the correlation (r with CI, p, n points) of
    one row (r does not depend on the unit)."""
    ea = EntropyAccuracy(samples, level, unit)
    n_seeds = len(correct_per_seed)
    points = []
    for g, group in enumerate(ea.groups):
        members = np.flatnonzero(ea.unit_group == g)
        acc = seed_bootstrap(lambda idx, s: row_means(_seed_value(correct_per_seed, s)[members], idx),
                             len(members), n_seeds, n_resamples, seed + g, ea.q_codes[members])
        entropy = seed_bootstrap(lambda idx, s: ea.entropy(members[idx])[:, g], len(members), 1, n_resamples,
                                 seed + g, ea.q_codes[members])
        points.append({"group": group, "n": len(members), **entropy.columns("entropy"), "unit": unit,
                       **acc.columns("acc"), "n_seeds": acc.n_seeds})
    # stratified by question: every question (and category) keeps its size in each resample
    def r_of(idx: np.ndarray, s: int) -> np.ndarray:
        return rowwise_pearson(ea.entropy(idx), ea.accuracy(idx, _seed_value(correct_per_seed, s)))

    r = seed_bootstrap(r_of, len(samples), n_seeds, n_resamples, seed, ea.q_codes)
    points_frame = pd.DataFrame(points).drop(columns=["entropy_seed_sd"])
    summary = {"n_points": ea.n_groups, "n_samples": len(samples), **r.columns("r"), "n_seeds": r.n_seeds,
               "p_value": pearson_p(r.value, ea.n_groups)}
    return points_frame, summary


# ---- Figure 9 and Table 12: paired gains per group against a distance ---------------------------------------------
def group_gains(correct_a: Sequence[np.ndarray], correct_b: Sequence[np.ndarray], groups: np.ndarray,
                distances: Mapping[str, Mapping[str, float]], n_resamples: int, seed: int
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Accuracy of a minus b per group on the same samples (paired bootstrap CI), and Pearson r of the
    gain against each distance (name -> group -> distance) across the groups."""
    groups = np.asarray(groups)
    names = list(dict.fromkeys(groups))
    codes = np.array([names.index(g) for g in groups], dtype=int)
    n_seeds = max(len(correct_a), len(correct_b))
    diff = [(_seed_value(correct_a, s).astype(float) - _seed_value(correct_b, s).astype(float)) for s in range(n_seeds)]
    rows = []
    for g, name in enumerate(names):
        members = np.flatnonzero(codes == g)
        est = seed_bootstrap(lambda idx, s: row_means(diff[s][members], idx), len(members), n_seeds, n_resamples,
                             seed + g)
        acc_a = float(np.mean([np.mean(c[members]) for c in correct_a]))
        acc_b = float(np.mean([np.mean(c[members]) for c in correct_b]))
        rows.append({"group": name, "n": len(members), **{f"distance_{d}": distances[d][name] for d in distances},
                     "acc_a": acc_a, "acc_b": acc_b, **est.columns("gain"), "n_seeds": n_seeds})
    correlations = []
    for d, by_group in distances.items():
        x = np.array([by_group[name] for name in names], dtype=float)

        def r_of(idx: np.ndarray, s: int, x=x) -> np.ndarray:
            with np.errstate(invalid="ignore", divide="ignore"):
                gains = group_sums(codes, idx, len(names), diff[s]) / group_sums(codes, idx, len(names))
            return rowwise_pearson(x, gains)

        r = seed_bootstrap(r_of, len(groups), n_seeds, n_resamples, seed, codes)
        correlations.append({"distance": d, "n_points": len(names), "n_samples": len(groups), **r.columns("r"),
                             "n_seeds": n_seeds, "p_value": pearson_p(r.value, len(names))})
    return pd.DataFrame(rows), pd.DataFrame(correlations)


def map_distances(countries: Sequence[Mapping], file: str = "specs/countries.yaml") -> pd.DataFrame:
    """Per cross-country country: Euclidean distance on the cultural map (x, y) to the nearest training
    country (and which), and the mean distance to all training countries."""
    from dvmap.errors import SpecError

    for i, c in enumerate(countries):
        if "position" not in c:
            raise SpecError(file, f"countries/{i}/position",
                            f"{c['iso3']} has no position (x, y) on the cultural map: the cross-country analysis "
                            "needs one for every country")
    train = [c for c in countries if c["role"] == "train"]
    train_xy = np.array([[c["position"]["x"], c["position"]["y"]] for c in train], dtype=float)
    rows = []
    for c in countries:
        if c["role"] != "cross_country":
            continue
        d = np.hypot(*(train_xy - [c["position"]["x"], c["position"]["y"]]).T)
        rows.append({"country": c["iso3"], "x": c["position"]["x"], "y": c["position"]["y"],
                     "distance_nearest": float(d.min()), "nearest_training_country": train[int(d.argmin())]["iso3"],
                     "distance_mean": float(d.mean())})
    return pd.DataFrame(rows)


def cosine_distances(embeddings: np.ndarray) -> np.ndarray:
    """1 - cosine similarity between every pair of rows."""
    e = np.asarray(embeddings, dtype=float)
    e = e / np.linalg.norm(e, axis=1, keepdims=True)
    return 1.0 - e @ e.T


def semantic_distances(embeddings: pd.DataFrame, targets: Sequence[str], references: Sequence[str]) -> pd.DataFrame:
    """Per target question: mean and smallest cosine distance to the reference (training) questions,
    and the nearest one. `embeddings`: q_id and embedding (a vector per row)."""
    ids = embeddings["q_id"].tolist()
    missing = [q for q in [*targets, *references] if q not in ids]
    if missing:
        raise ValueError(f"no embedding for questions {missing}")
    dist = cosine_distances(np.stack(embeddings["embedding"].map(np.asarray).to_numpy()))
    ref = [ids.index(q) for q in references]
    rows = []
    for q in targets:
        d = dist[ids.index(q), ref]
        rows.append({"q_id": q, "distance_average": float(d.mean()), "distance_nearest": float(d.min()),
                     "nearest_training_question": references[int(d.argmin())]})
    return pd.DataFrame(rows)


# ---- Figure 8 and option order: change rates -------------------------------------------------------------------------
# Figure 8's tables (results/analysis/fig8_value_flip.csv, _by_question.csv): per row and perturbation,
# change_rates by category (with the interval of the number of pairs, and a note) and by question.
_RATE_COLUMNS = ["n_pairs", "n_both_parsed", "rate", "rate_ci_low", "rate_ci_high", "rate_seed_sd", "n_seeds"]
VALUE_FLIP_COLUMNS = ["model", "kind", "perturbation", "category", *_RATE_COLUMNS, "n_pairs_draw_low",
                      "n_pairs_draw_high", "note"]
VALUE_FLIP_BY_QUESTION_COLUMNS = ["model", "kind", "perturbation", "q_id", *_RATE_COLUMNS]


def change_rates(pairs_per_seed: Sequence[pd.DataFrame], n_resamples: int, seed: int, by: str = "category"
                 ) -> pd.DataFrame:
    """Share of pairs with a changed answer over pairs with both members parsed: per value of `by`
    (category, or q_id for the paper's per-question flip rates), after an overall row `all` (by
    category only; its resamples are stratified by category). `pairs_per_seed`:
    robustness.pair_predictions of each seed, in the same pair order."""
    from dvmap.analyses.robustness import changed

    first = pairs_per_seed[0]
    for other in pairs_per_seed[1:]:
        if other["original_sample_id"].tolist() != first["original_sample_id"].tolist():
            raise ValueError("the seeds' pairs are not the same pairs in the same order")
    flags = [changed(p) for p in pairs_per_seed]
    categories = first[by].to_numpy()
    rows = []
    overall = ["all"] if by == "category" else []
    for i, category in enumerate([*overall, *dict.fromkeys(categories)]):
        members = np.arange(len(first)) if category == "all" else np.flatnonzero(categories == category)

        def rate(idx: np.ndarray, s: int) -> np.ndarray:
            flips, both = _seed_value(flags, s)
            n_both = both[members][idx].sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(n_both > 0, flips[members][idx].sum(axis=1) / n_both, np.nan)

        est = seed_bootstrap(rate, len(members), len(flags), n_resamples, seed + i,
                             categories[members] if category == "all" else None)
        rows.append({by: category, "n_pairs": len(members),
                     "n_both_parsed": float(np.mean([f[1][members].sum() for f in flags])),
                     **est.columns("rate"), "n_seeds": est.n_seeds})
    return pd.DataFrame(rows)
