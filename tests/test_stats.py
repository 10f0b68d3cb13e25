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
