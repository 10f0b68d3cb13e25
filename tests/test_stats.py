"""dvmap/stats.py, the one statistics module: entropy in bits and nats (hand-computed values, unit
conversions, the dense and the long form agree), and the bootstrap and CI helpers, checked against
the formulas the kit used before they were gathered here (the numbers must not change)."""
import math

import numpy as np
import pytest
from scipy import stats as sps

from dvmap import stats


# ---- entropy ------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("weights,bits", [([5], 0.0), ([1, 1], 1.0), ([1, 1, 1, 1], 2.0), ([2, 0, 2], 1.0),
                                          ([3, 1], -(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25)))])
def test_entropy_hand_computed_in_bits_and_nats(weights, bits):
    assert stats.entropy(weights) == pytest.approx(bits)
    assert stats.entropy(weights, unit="nats") == pytest.approx(bits * math.log(2))


def test_uniform_three_options_is_ln3_nats_and_log2_3_bits():
    """The paper's Figure 1a H = 1.09 is a near-uniform three-option answer in nats (ln 3 = 1.0986)."""
    assert stats.entropy([10, 10, 10], unit="nats") == pytest.approx(math.log(3))
    assert stats.entropy([10, 10, 10], unit="bits") == pytest.approx(math.log2(3))
    assert stats.max_entropy(3, "nats") == pytest.approx(1.0986, abs=1e-4)
    assert stats.max_entropy(4, "bits") == 2.0


def test_entropy_unit_conversions():
    h_bits = np.array([0.0, 1.0, 1.5, math.log2(3)])
    h_nats = stats.convert_entropy(h_bits, "bits", "nats")
    assert h_nats == pytest.approx(h_bits * math.log(2))
    assert stats.convert_entropy(h_nats, "nats", "bits") == pytest.approx(h_bits)
    assert stats.convert_entropy(h_bits, "bits", "bits") == pytest.approx(h_bits)
    counts = np.random.default_rng(3).integers(0, 9, (20, 5))
    assert stats.entropy(counts, unit="nats") == pytest.approx(
        stats.convert_entropy(stats.entropy(counts, unit="bits"), "bits", "nats"), nan_ok=True)
    with pytest.raises(ValueError, match="bits"):
        stats.entropy([1, 1], unit="dits")
    with pytest.raises(ValueError, match="nats"):
        stats.convert_entropy(1.0, "bits", "hartleys")


def test_dense_entropy_rows_axis_and_empty():
    counts = np.array([[1, 1, 0, 0], [1, 1, 1, 1], [7, 0, 0, 0], [1, 1, 2, 0], [0, 0, 0, 0]])
    h = stats.entropy(counts)
    assert h[:4] == pytest.approx([1.0, 2.0, 0.0, 1.5]) and np.isnan(h[4])
    assert math.copysign(1.0, h[2]) == 1.0  # a unanimous row is +0.0
    assert np.array_equal(stats.entropy(counts.T, axis=0), h, equal_nan=True)


def test_dense_entropy_is_the_formula_the_analyses_used():
    """Bit for bit the former data_stats/model_stats entropy_bits: -sum p log2 p over p > 0."""
    counts = np.random.default_rng(11).integers(0, 6, (40, 5, 4)).astype(float)
    total = counts.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = counts / total
        before = -np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0)), 0.0).sum(axis=-1)
    before = np.where(total[..., 0] > 0, before + 0.0, np.nan)
    assert np.array_equal(stats.entropy(counts), before, equal_nan=True)


def test_long_form_equals_dense_form():
    """The archetypes' grouped form (one entry per answered cell) gives the dense rows' entropies."""
    rng = np.random.default_rng(5)
    dense = rng.integers(0, 4, (30, 5)).astype(float)
    dense[dense.sum(axis=1) == 0, 0] = 1.0
    rows, cols = np.nonzero(dense)
    for unit in ("bits", "nats"):
        grouped = stats.entropy(dense[rows, cols], unit, groups=rows)
        assert grouped == pytest.approx(stats.entropy(dense, unit), abs=1e-12)
    one = stats.entropy(np.array([3.0, 2.0, 2.0]), groups=np.array([0, 1, 1]))
    assert one[0] == 0.0 and math.copysign(1.0, one[0]) == 1.0 and one[1] == pytest.approx(1.0)


# ---- bootstrap and CIs --------------------------------------------------------------------------------------------------
def test_percentile_ci_nan_policies():
    replicates = np.r_[np.arange(101, dtype=float), np.nan]
    low, high = stats.percentile_ci(replicates)
    assert (low, high) == pytest.approx((2.5, 97.5))
    assert all(np.isnan(stats.percentile_ci(replicates, nan_policy="propagate")))


def test_multinomial_draws_are_seeded_resamples():
    a = stats.multinomial_draws(np.random.default_rng(1), 7, 50)
    assert a.shape == (50, 7) and (a.sum(axis=1) == 7).all()
    assert np.array_equal(a, stats.multinomial_draws(np.random.default_rng(1), 7, 50))
    old = np.random.default_rng(1).multinomial(7, np.full(7, 1 / 7), size=50).astype(float)  # the former inline draw
    assert np.array_equal(a, old)


def test_bootstrap_counts_same_draws_as_before():
    index = np.array([0, 0, 1, 2, 2, 2])
    counts = stats.bootstrap_counts(index, 4, None, np.random.default_rng(2), 20)
    rng = np.random.default_rng(2)
    assert np.array_equal(counts, rng.multinomial(6, np.array([2, 1, 3, 0]) / 6, size=20).astype(float))
    weighted = stats.bootstrap_counts(index, 4, np.ones(6), np.random.default_rng(2), 20)
    assert weighted.sum(axis=1) == pytest.approx(np.full(20, 6.0)) and (weighted[:, 3] == 0).all()


def test_seed_term_and_combined_ci_hand_computed():
    values = [0.4, 0.5, 0.6]
    t = sps.t.ppf(0.975, 2) * np.std(values, ddof=1) / math.sqrt(3)
    assert stats.seed_term(values) == pytest.approx(t) and stats.seed_term([0.4]) == 0.0
    mean, low, high = stats.combined_ci(values, [[0.37, 0.43], [0.47, 0.53], [0.57, 0.63]])
    assert mean == pytest.approx(0.5)
    assert (mean - low, high - mean) == pytest.approx((math.hypot(0.03, t), math.hypot(0.03, t)))


def test_difference_ci_hand_computed():
    assert stats.Z95 == 1.959963984540054  # the constant general_utility used, now from scipy
    diff, low, high = stats.difference_ci(0.60, 0.03, [0.62, 0.66], [0.04, 0.06])
    half = math.hypot(1.959963984540054 * math.sqrt(0.03 ** 2 + 0.05 ** 2), stats.seed_term([0.62, 0.66]))
    assert diff == pytest.approx(0.04) and (low, high) == pytest.approx((0.04 - half, 0.04 + half))


# ---- per-group means of several models, bootstrapped jointly (Figure 3) -------------------------------------------------
GROUPS = np.repeat(["USA", "CHN", "RUS"], [60, 40, 30])


def test_group_bootstrap_point_values_and_the_rest_hand_computed():
    rng = np.random.default_rng(3)
    a = (rng.random((3, 130)) < 0.6).astype(float)  # three seeds
    b = (rng.random((1, 130)) < 0.4).astype(float)
    boot = stats.group_bootstrap([a, b], GROUPS, 200, seed=0)
    assert boot.labels == ["USA", "CHN", "RUS"] and list(boot.sizes) == [60, 40, 30]
    for j, label in enumerate(boot.labels):
        inside = GROUPS == label
        assert boot.point[0, j] == pytest.approx(a[:, inside].mean())  # the mean over seeds
        assert boot.rest[1, j] == pytest.approx(b[0, ~inside].mean())
    assert boot.replicates.shape == boot.rest_replicates.shape == (200, 2, 3)
    again = stats.group_bootstrap([a, b], GROUPS, 200, seed=0)
    assert np.array_equal(boot.replicates, again.replicates)  # seeded: byte-identical


def test_group_bootstrap_draws_the_same_units_for_every_model():
    """Paired: two models with the same answers have the same replicate in every resample, so one
    model is never ranked above its copy, and a model always better on every unit always ranks first."""
    rng = np.random.default_rng(4)
    same = (rng.random((1, 130)) < 0.5).astype(float)
    better = np.maximum(same, (rng.random((1, 130)) < 0.3).astype(float))
    boot = stats.group_bootstrap([same, same.copy(), better], GROUPS, 500, seed=1)
    assert np.array_equal(boot.replicates[:, 0], boot.replicates[:, 1])
    rank, low, high = boot.ranks(np.array([True, True, True]))
    assert (rank[0] == rank[1]).all() and (low[2] == 1).all() and (high[2] == 1).all()
    assert (low[:2] >= 1).all() and (high[:2] <= 3).all()


def test_group_bootstrap_ranks_only_the_models_asked_and_gives_integer_intervals():
    rng = np.random.default_rng(5)
    good, middling, poor = ((rng.random((2, 130)) < p).astype(float) for p in (0.9, 0.5, 0.1))
    boot = stats.group_bootstrap([poor, good, middling], GROUPS, 500, seed=2)
    rank, low, high = boot.ranks(np.array([True, False, True]))  # the middle one is not ranked (a reference)
    assert np.isnan(rank[1]).all() and np.isnan(low[1]).all()
    assert (rank[0] == 2).all() and (rank[2] == 1).all()
    assert (low[2] == 1).all() and (high[0] == 2).all()
    close = stats.group_bootstrap([middling, middling[::-1]], GROUPS, 500, seed=2)  # two alike models: ranks overlap
    rank, low, high = close.ranks(np.array([True, True]))
    assert set(np.unique(low)) | set(np.unique(high)) <= {1.0, 2.0} and (low <= rank).all() and (rank <= high).all()


def test_group_bootstrap_refuses_an_empty_group():
    with pytest.raises(ValueError, match="at least one unit"):
        stats.group_bootstrap([np.ones((1, 0))], np.array([]), 10, seed=0)
