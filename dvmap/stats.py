"""The kit's statistics, each implemented once: Shannon entropy (bits or nats), percentile bootstrap
confidence intervals (of a mean, of resampled answer counts, of classifier scores, over units and
seeds), and the 95% CIs that add the spread over training seeds to the sampling error.

Every module that reports an entropy or a CI calls these functions; none re-implements them, so a
number means the same thing in every table and figure.

  entropy            H = -sum_k p_k log p_k of the distribution proportional to non-negative
                     weights (counts, or sums of survey weights); `unit` bits (log2) or nats (ln)
  percentile_ci      the 2.5% and 97.5% quantiles of bootstrap replicates
  bootstrap_ci       percentile bootstrap CI of a mean (scipy.stats.bootstrap)
  bootstrap_counts   answer counts of respondents resampled with replacement
  multinomial_draws  how often each of n units is drawn in each resample (a bootstrap as weights)
  bootstrap_scores   accuracy / balanced accuracy of predictions on such weighted resamples
  seed_bootstrap     a statistic averaged over seeds, CI over units (stratified) and seeds
  group_bootstrap    per-group means of several models on the same units, resampled jointly (paired)
                     within groups and over each model's seeds: CIs, differences to the other groups, ranks
  seed_term          t_{0.975,k-1} s / sqrt(k), the seeds' half-width
  combined_ci        over seeds: bootstrap half-widths averaged, combined with the seed term
  difference_ci      a difference from standard errors (normal interval) and the seed term
  count_draw_interval the spread of a count summed over randomly drawn units (profiles)
  fisher_z_ci        the CI of a Pearson r over few points (Fisher's z)
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

CI_LEVEL = 0.95
CI_QUANTILES = (0.025, 0.975)
Z95 = float(sps.norm.ppf(CI_QUANTILES[1]))  # 1.959963984540054
# unit -> its logarithm and base; bits use numpy's log2 (not ln / ln 2), so bits are exact as before
ENTROPY_UNITS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], float]] = {"bits": (np.log2, 2.0),
                                                                              "nats": (np.log, math.e)}


# ---- entropy ------------------------------------------------------------------------------------------------------------
def _log(unit: str) -> Callable[[np.ndarray], np.ndarray]:
    try:
        return ENTROPY_UNITS[unit][0]
    except KeyError:
        raise ValueError(f"entropy unit must be one of {sorted(ENTROPY_UNITS)}, not {unit!r}") from None


def entropy(weights, unit: str = "bits", axis: int = -1, groups: np.ndarray | None = None) -> np.ndarray:
    """Shannon entropy of the distribution proportional to non-negative `weights` (answer counts, or
    sums of survey weights), in `unit` (bits or nats).

    Dense form (groups None): one distribution along `axis`; returns an array without that axis, NaN
    where all weights are 0. Long form: `weights` holds one positive entry per (group, category) cell
    and `groups` its group index (0..G-1, each present); returns the G entropies, exactly 0.0 for a
    group with one category."""
    log = _log(unit)
    w = np.asarray(weights, dtype=float)
    if groups is not None:
        groups = np.asarray(groups)
        total = np.bincount(groups, weights=w)
        p = w / total[groups]
        h = np.bincount(groups, weights=-(p * log(p)))
        return np.where(np.bincount(groups) == 1, 0.0, h)  # unanimous: exactly 0, never -0.0
    w = np.moveaxis(w, axis, -1)
    total = w.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = w / total
        terms = np.where(p > 0, -p * log(np.where(p > 0, p, 1.0)), 0.0)
    h = terms.sum(axis=-1)
    return np.where(total[..., 0] > 0, h + 0.0, np.nan)


def max_entropy(k, unit: str = "bits"):
    """Entropy of the uniform distribution over k options (log k): the normaliser of H / log K."""
    return _log(unit)(k)


def convert_entropy(h, from_unit: str, to_unit: str):
    """An entropy in another unit: nats = bits x ln 2, bits = nats x log2(e)."""
    _log(from_unit)
    return np.asarray(h, dtype=float) * _log(to_unit)(ENTROPY_UNITS[from_unit][1])


# ---- percentile bootstrap -----------------------------------------------------------------------------------------------
def percentile_ci(replicates, axis: int = 0, nan_policy: str = "omit") -> tuple:
    """(low, high): the 2.5% and 97.5% quantiles of bootstrap replicates along `axis`; `omit` skips
    NaN replicates, `propagate` lets a NaN through."""
    quantile = {"omit": np.nanquantile, "propagate": np.quantile}[nan_policy]
    low, high = quantile(replicates, CI_QUANTILES, axis=axis)
    return low, high


def bootstrap_ci(values: np.ndarray, seed: int, n_resamples: int = 2000) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean (scipy); degenerate samples give a zero-width interval."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2 or np.all(values == values[0]):
        m = float(values.mean()) if len(values) else float("nan")
        return m, m
    res = sps.bootstrap((values,), np.mean, n_resamples=n_resamples, confidence_level=CI_LEVEL,
                        method="percentile", random_state=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def bootstrap_counts(option_index: np.ndarray, k: int, weights: np.ndarray | None, rng: np.random.Generator,
                     n_resamples: int) -> np.ndarray:
    """(n_resamples, k) answer counts (or weight sums) of respondents resampled with replacement
    (unweighted: a multinomial draw of the counts, which is the same thing)."""
    option_index = np.asarray(option_index, dtype=np.int64)
    n = len(option_index)
    if n == 0:
        return np.zeros((n_resamples, k))
    if weights is None:
        counts = np.bincount(option_index, minlength=k).astype(float)
        return rng.multinomial(n, counts / n, size=n_resamples).astype(float)
    draw = rng.integers(0, n, size=(n_resamples, n))
    flat = (np.arange(n_resamples)[:, None] * k + option_index[draw]).ravel()
    return np.bincount(flat, weights=np.asarray(weights, dtype=float)[draw].ravel(),
                       minlength=n_resamples * k).reshape(n_resamples, k)


def multinomial_draws(rng: np.random.Generator, n: int, n_resamples: int) -> np.ndarray:
    """(n_resamples, n): how often each of n units is drawn in each bootstrap resample."""
    return rng.multinomial(n, np.full(n, 1.0 / n), size=n_resamples).astype(float)


def bootstrap_scores(y: np.ndarray, predictions: np.ndarray, scoring: str, draws: np.ndarray) -> np.ndarray:
    """Scores of each row of `predictions` (M, n) against y on each bootstrap draw: `draws` (B, n)
    holds how often each unit is drawn (multinomial_draws; ones for the sample itself). Returns (B, M)."""
    correct = (predictions == y[None, :]).astype(float)
    if scoring == "accuracy":
        return draws @ correct.T / draws.sum(axis=1, keepdims=True)
    if scoring == "balanced_accuracy":  # mean recall over the classes present in the resample
        recalls = []
        for k in np.unique(y):
            in_k = (y == k).astype(float)
            with np.errstate(invalid="ignore", divide="ignore"):
                recalls.append((draws @ (correct * in_k).T) / (draws @ in_k)[:, None])
        return np.nanmean(np.stack(recalls), axis=0)
    raise ValueError(f"unknown scoring '{scoring}' (have accuracy, balanced_accuracy)")


# ---- a statistic over seeds: bootstrap over units and seeds -------------------------------------------------------------
@dataclass(frozen=True)
class Estimate:
    """A statistic averaged over seeds: value, bootstrap 95% CI, spread over seeds (NaN with one seed)."""

    value: float
    ci_low: float
    ci_high: float
    seed_sd: float
    n_seeds: int

    def columns(self, name: str) -> dict:
        return {name: self.value, f"{name}_ci_low": self.ci_low, f"{name}_ci_high": self.ci_high,
                f"{name}_seed_sd": self.seed_sd}


def resample(rng: np.random.Generator, strata: Sequence[np.ndarray], n_resamples: int) -> np.ndarray:
    """(n_resamples, n) unit indices drawn with replacement within each stratum (each keeps its size)."""
    parts = [s[rng.integers(0, len(s), (n_resamples, len(s)))] for s in strata if len(s)]
    return np.concatenate(parts, axis=1) if parts else np.zeros((n_resamples, 0), dtype=int)


def _strata(n_units: int, groups: np.ndarray | None) -> list[np.ndarray]:
    if groups is None or n_units == 0:
        return [np.arange(n_units)]
    codes = pd.factorize(pd.Series(groups), sort=False)[0]
    return [np.flatnonzero(codes == c) for c in range(codes.max() + 1)]


def _finite_mean(values: Sequence[float]) -> float:
    values = np.asarray(values, dtype=float)
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if len(finite) else float("nan")


def seed_bootstrap(statistic: Callable[[np.ndarray, int], np.ndarray], n_units: int, n_seeds: int, n_resamples: int,
                   seed: int, groups: np.ndarray | None = None) -> Estimate:
    """A statistic averaged over seeds, with a CI over units and seeds.

    statistic(idx, s): idx is an (m, n) array of unit indices (m resamples, or one row of all units);
    it returns the m values of the statistic for seed s. Each resample draws the units with
    replacement (within each group of `groups`, so no group vanishes) and the seeds with
    replacement, then averages the statistic over the drawn seeds."""
    if n_seeds < 1:
        raise ValueError("a statistic needs at least one seed")
    every = np.arange(n_units)[None, :]
    per_seed = np.array([np.asarray(statistic(every, s), dtype=float)[0] for s in range(n_seeds)])
    value = _finite_mean(per_seed)
    finite = per_seed[np.isfinite(per_seed)]
    seed_sd = float(np.std(finite, ddof=1)) if len(finite) > 1 else float("nan")
    if n_units == 0 or not np.isfinite(value):
        return Estimate(value, float("nan"), float("nan"), seed_sd, n_seeds)
    rng = np.random.default_rng(seed)
    idx = resample(rng, _strata(n_units, groups), n_resamples)
    by_seed = np.stack([np.asarray(statistic(idx, s), dtype=float) for s in range(n_seeds)])  # (seeds, resamples)
    drawn = rng.integers(0, n_seeds, (n_resamples, n_seeds)) if n_seeds > 1 else np.zeros((n_resamples, 1), dtype=int)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN resamples stay NaN
        replicates = np.nanmean(by_seed[drawn, np.arange(n_resamples)[:, None]], axis=1)
    if np.isfinite(replicates).sum() < 2:
        return Estimate(value, float("nan"), float("nan"), seed_sd, n_seeds)
    low, high = percentile_ci(replicates)
    return Estimate(value, float(low), float(high), seed_sd, n_seeds)


@dataclass(frozen=True)
class GroupReplicates:
    """Per-group means of M models on the same units (group_bootstrap): the point values and B
    bootstrap replicates, each (M, G) or (B, M, G); `rest` is the mean over the other groups' units."""

    labels: list
    sizes: np.ndarray
    point: np.ndarray
    rest: np.ndarray
    replicates: np.ndarray
    rest_replicates: np.ndarray

    def ranks(self, among: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rank of each model among the models `among` (a boolean mask over M) within each group, 1
        the highest mean, ties sharing the better rank; (point, CI low, CI high), each (M, G), NaN
        outside `among`. The CI takes the 2.5% and 97.5% quantiles of the replicates' ranks at the
        ranks on either side (an integer interval that covers at least 95%)."""
        def rank(values: np.ndarray) -> np.ndarray:  # (..., M, G) -> ranks over M
            inside = values[..., among, :]
            above = (inside[..., None, :, :] > inside[..., :, None, :]).sum(axis=-2)  # models strictly higher
            out = np.full(values.shape, np.nan)
            out[..., among, :] = 1 + above
            return out
        replicated = rank(self.replicates)
        low = np.quantile(replicated, CI_QUANTILES[0], axis=0, method="lower")
        high = np.quantile(replicated, CI_QUANTILES[1], axis=0, method="higher")
        return rank(self.point), low, high


def group_bootstrap(scores: Sequence[np.ndarray], groups: np.ndarray, n_resamples: int, seed: int) -> GroupReplicates:
    """Per-group means of several models' per-unit scores (`scores`: one (seeds, n) array per model,
    the same n units in the same order), with B = n_resamples replicates drawn jointly: the units
    within each group with replacement (each group keeps its size), the same draw for every model,
    so comparisons between models are paired, and each model's seeds with replacement, as
    seed_bootstrap draws them. Groups in order of first appearance."""
    groups = np.asarray(groups)
    labels = list(dict.fromkeys(groups.tolist()))
    strata = _strata(len(groups), groups)  # in the labels' order: first appearance
    sizes = np.array([len(s) for s in strata])
    if not len(strata) or sizes.min() == 0:
        raise ValueError("group_bootstrap needs at least one unit in every group")
    bounds = np.concatenate([[0], np.cumsum(sizes)[:-1]])  # resample() lays the strata out in order
    rng = np.random.default_rng(seed)
    idx = resample(rng, strata, n_resamples)
    point, replicates = [], []
    for model_scores in scores:
        values = np.atleast_2d(np.asarray(model_scores, dtype=float))
        k = len(values)
        sums = np.stack([np.add.reduceat(v[idx], bounds, axis=1) for v in values])  # (seeds, B, G)
        drawn = rng.integers(0, k, (n_resamples, k)) if k > 1 else np.zeros((n_resamples, 1), dtype=int)
        replicates.append(sums[drawn, np.arange(n_resamples)[:, None]].mean(axis=1))  # (B, G) sums
        point.append(np.stack([[v[s].sum() for s in strata] for v in values]).mean(axis=0))
    sums_point, sums_replicated = np.stack(point), np.stack(replicates, axis=1)  # (M, G), (B, M, G)
    total = sizes.sum()

    def rest(sums: np.ndarray) -> np.ndarray:
        others = total - sizes  # a single group has no rest: NaN
        return np.where(others > 0, (sums.sum(axis=-1, keepdims=True) - sums) / np.maximum(others, 1), np.nan)

    return GroupReplicates(labels, sizes, sums_point / sizes, rest(sums_point), sums_replicated / sizes,
                           rest(sums_replicated))


# ---- CIs over training seeds --------------------------------------------------------------------------------------------
def seed_term(values: Sequence[float]) -> float:
    """Half-width of the seeds' 95% CI, t_{0.975,k-1} s / sqrt(k) (0 with one seed)."""
    v = np.asarray(values, dtype=float)
    k = len(v)
    return float(sps.t.ppf(CI_QUANTILES[1], k - 1) * v.std(ddof=1) / math.sqrt(k)) if k > 1 else 0.0


def combined_ci(values: Sequence[float], cis: Sequence[Sequence[float]]) -> tuple[float, float, float]:
    """(mean, low, high) over seeds: the seeds' bootstrap half-widths averaged over seeds (they answer
    the same samples, so their sampling errors are not independent), combined in quadrature with
    the seed term on each side. With one seed: the bootstrap CI."""
    v = np.asarray(values, dtype=float)
    mean = float(v.mean())
    below = float(np.mean([x - lo for x, (lo, _) in zip(v, cis)]))
    above = float(np.mean([hi - x for x, (_, hi) in zip(v, cis)]))
    seeds = seed_term(v)
    return mean, mean - float(np.hypot(below, seeds)), mean + float(np.hypot(above, seeds))


def difference_ci(base: float, base_se: float, values: Sequence[float], values_se: Sequence[float]
                  ) -> tuple[float, float, float]:
    """(mean over seeds) - base with a 95% CI: a normal interval from the standard errors (base, and
    the seeds' averaged: they answer the same items), treated as independent (conservative when the
    errors are correlated), combined in quadrature with the seed term."""
    v = np.asarray(values, dtype=float)
    diff = float(v.mean()) - base
    sampling = Z95 * math.sqrt(base_se ** 2 + float(np.mean(values_se)) ** 2)
    half = math.hypot(sampling, seed_term(v))
    return diff, diff - half, diff + half


# ---- counts from a random draw and correlations over few points ---------------------------------------------------------
def count_draw_interval(unit_counts: Sequence[float]) -> tuple[float, float]:
    """95% interval of a count that sums what each of n randomly drawn units (profiles) contributes:
    sum +- z sqrt(n) sd, the spread of that sum over redraws of n units from the same population
    (the units' contributions as the estimate of its spread; no finite-population correction, so
    the interval is conservative). A design count (no draw) has no such interval."""
    c = np.asarray(unit_counts, dtype=float)
    total = float(c.sum())
    half = Z95 * math.sqrt(len(c)) * float(c.std(ddof=1)) if len(c) > 1 else 0.0
    return total - half, total + half


def fisher_z_ci(r: float, n_points: int) -> tuple[float, float]:
    """95% CI of a Pearson r over n_points points drawn from a population of such points (Fisher's z,
    tanh(atanh r +- z / sqrt(n - 3))): the uncertainty of a correlation over few groups, which a
    bootstrap over the samples inside fixed groups leaves out. (-1, 1) with 3 points or fewer."""
    if n_points <= 3 or not np.isfinite(r):
        return -1.0, 1.0
    z = math.atanh(min(max(r, -0.999999), 0.999999))
    half = Z95 / math.sqrt(n_points - 3)
    return math.tanh(z - half), math.tanh(z + half)
