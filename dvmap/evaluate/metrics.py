"""Metrics of predictions against the survey answers, with bootstrap confidence intervals.

Per sample: strict accuracy (the parsed option equals the answer; a parse failure counts as not
correct and is reported separately), lenient accuracy (the release's rule), Likert consistency
LC = 1 - |i_hat - i| / (K - 1), K = the question's option count, as the paper defines it: the mean
over all N samples, a parse failure counting with the maximal distance (LC term 0), as accuracy
counts it wrong; `lc_parsed` is the mean over the parsed samples only.
Per (country, question) group: the predicted answer distribution (parsed predictions) against the
real one (the dataset's answers); WD = sum_k |CDF_pred(k) - CDF_real(k)| (the 1-Wasserstein
distance on option positions 0..K-1, scipy), JSD = Jensen-Shannon divergence in bits. WD and JSD
are averaged over groups with at least one parsed prediction, each group weighing the same.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial.distance import jensenshannon

from dvmap.stats import bootstrap_ci
from dvmap.train.rewards import extract_answer, lenient_match


def parse_predictions(predictions: pd.DataFrame, samples: pd.DataFrame) -> pd.DataFrame:
    """Join predictions to samples: predicted index (strict), lenient correctness, statuses."""
    merged = samples[["sample_id", "country", "q_id", "options", "answer", "answer_index"]].merge(
        predictions[["sample_id", "response", "status"]], on="sample_id", how="left", validate="one_to_one")
    if merged["status"].isna().any():
        missing = merged.loc[merged["status"].isna(), "sample_id"].head(3).tolist()
        raise ValueError(f"{merged['status'].isna().sum()} samples have no prediction, e.g. {missing}")
    answers = [extract_answer(r) if s != "api_error" else None for r, s in zip(merged["response"], merged["status"])]
    merged["pred_index"] = [list(o).index(a) if a in list(o) else -1 for a, o in zip(answers, merged["options"])]
    merged["correct"] = merged["pred_index"].to_numpy() == merged["answer_index"].to_numpy()
    merged["lenient_correct"] = [a == t or lenient_match(a, t, list(o))
                                 for a, t, o in zip(answers, merged["answer"], merged["options"])]
    merged["n_options"] = merged["options"].map(len)
    return merged


def likert_consistency(pred_index: np.ndarray, true_index: np.ndarray, n_options: np.ndarray) -> np.ndarray:
    """Per-sample LC for parsed predictions (pred_index >= 0)."""
    return 1.0 - np.abs(pred_index - true_index) / (n_options - 1)


def distribution(indices: Sequence[int], k: int, weights: Sequence[float] | None = None) -> np.ndarray:
    counts = np.bincount(np.asarray(indices, dtype=int), weights=weights, minlength=k).astype(float)
    return counts / counts.sum()


def wasserstein(p: np.ndarray, q: np.ndarray) -> float:
    """sum_k |CDF_p(k) - CDF_q(k)| for distributions over positions 0..K-1."""
    positions = np.arange(len(p))
    return float(stats.wasserstein_distance(positions, positions, p, q))


def jsd_bits(p: np.ndarray, q: np.ndarray) -> float:
    return float(jensenshannon(p, q, base=2) ** 2)


def group_distances(parsed: pd.DataFrame) -> pd.DataFrame:
    """WD and JSD per (country, question) group between predicted and real answer distributions."""
    rows = []
    for (country, q_id), g in parsed.groupby(["country", "q_id"], sort=True):
        k = int(g["n_options"].iloc[0])
        predicted = g.loc[g["pred_index"] >= 0, "pred_index"]
        if predicted.empty:
            continue
        p, r = distribution(predicted, k), distribution(g["answer_index"], k)
        rows.append({"country": country, "q_id": q_id, "n": len(g), "wd": wasserstein(p, r), "jsd": jsd_bits(p, r)})
    return pd.DataFrame(rows, columns=["country", "q_id", "n", "wd", "jsd"])


def score(parsed: pd.DataFrame, seed: int = 0) -> dict:
    """Acc (strict, lenient), LC, WD, JSD with 95% bootstrap CIs, n and failure rates.
    Acc and LC resample samples; WD and JSD resample (country, question) groups."""
    ok = parsed["pred_index"].to_numpy() >= 0
    correct = parsed["correct"].to_numpy(dtype=float)
    lc_parsed = likert_consistency(parsed.loc[ok, "pred_index"].to_numpy(),
                                   parsed.loc[ok, "answer_index"].to_numpy(), parsed.loc[ok, "n_options"].to_numpy())
    lc = np.zeros(len(parsed))  # a parse failure is as far as an answer can be: its LC term is 0
    lc[ok] = lc_parsed
    groups = group_distances(parsed)
    out = {"n": int(len(parsed)), "n_parsed": int(ok.sum()),
           "parse_failure_rate": float((parsed["status"] == "parse_error").mean()) if len(parsed) else 0.0,
           "api_error_rate": float((parsed["status"] == "api_error").mean()) if len(parsed) else 0.0,
           "acc_lenient": float(parsed["lenient_correct"].mean()), "n_groups": int(len(groups))}
    for name, values in (("acc", correct), ("lc", lc), ("wd", groups["wd"].to_numpy()),
                         ("jsd", groups["jsd"].to_numpy()), ("lc_parsed", lc_parsed)):
        out[name] = float(np.mean(values)) if len(values) else float("nan")
        out[f"{name}_ci"] = list(bootstrap_ci(values, seed)) if len(values) else [float("nan")] * 2
    return out


def paired_test(a: pd.DataFrame, b: pd.DataFrame, seed: int = 0) -> dict:
    """Model a vs model b on the same samples: accuracy difference with a paired bootstrap CI and
    McNemar's exact test (binomial test on the discordant pairs)."""
    joined = a[["sample_id", "correct"]].merge(b[["sample_id", "correct"]], on="sample_id", suffixes=("_a", "_b"),
                                               validate="one_to_one")
    if len(joined) != len(a) or len(joined) != len(b):
        raise ValueError("paired test needs predictions of both models on the same samples")
    diff = joined["correct_a"].astype(float).to_numpy() - joined["correct_b"].astype(float).to_numpy()
    only_a, only_b = int((diff > 0).sum()), int((diff < 0).sum())
    p = stats.binomtest(only_a, only_a + only_b, 0.5).pvalue if only_a + only_b else 1.0
    return {"n": int(len(joined)), "acc_diff": float(diff.mean()), "acc_diff_ci": list(bootstrap_ci(diff, seed)),
            "only_a_correct": only_a, "only_b_correct": only_b, "mcnemar_p": float(p)}
