"""Result tables and figures: Table 2 (cross-demographic), per-country accuracy (Figure 3),
cross-country (Figure 6) and cross-value (Figure 7) results per model, paired tests."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from dvmap import metrics

METRIC_COLUMNS = ["acc", "lc", "wd", "jsd"]


def score_row(model: str, kind: str, score: Mapping) -> dict:
    row = {"model": model, "kind": kind, "n": score["n"]}
    for m in METRIC_COLUMNS:
        row[m] = score[m]
        row[f"{m}_ci_low"], row[f"{m}_ci_high"] = score[f"{m}_ci"]
    row.update({"acc_lenient": score["acc_lenient"], "n_parsed": score["n_parsed"],
                "parse_failure_rate": score["parse_failure_rate"], "api_error_rate": score["api_error_rate"]})
    return row


def results_table(scores: Mapping[tuple[str, str], Mapping]) -> pd.DataFrame:
    """One row per model ((model, kind) -> score dict), in the given order, rounded for reading."""
    frame = pd.DataFrame([score_row(m, k, s) for (m, k), s in scores.items()])
    numeric = frame.select_dtypes("number").columns.difference(["n", "n_parsed"])
    frame[numeric] = frame[numeric].round(4)
    return frame


def per_group_table(parsed_by_model: Mapping[str, pd.DataFrame], by: str) -> pd.DataFrame:
    """Accuracy per model and country (or question), long format."""
    frames = []
    for model, parsed in parsed_by_model.items():
        table = metrics.per_group_accuracy(parsed, by)
        table.insert(0, "model", model)
        frames.append(table)
    out = pd.concat(frames, ignore_index=True)
    out["acc"] = out["acc"].round(4)
    return out


def paired_table(parsed_by_model: Mapping[str, pd.DataFrame], pairs: Sequence[Sequence[str]],
                 dataset: str) -> pd.DataFrame:
    rows = []
    for a, b in pairs:
        if a in parsed_by_model and b in parsed_by_model:
            t = metrics.paired_test(parsed_by_model[a], parsed_by_model[b])
            rows.append({"dataset": dataset, "model_a": a, "model_b": b, "n": t["n"], "acc_diff": round(t["acc_diff"], 4),
                         "acc_diff_ci_low": round(t["acc_diff_ci"][0], 4), "acc_diff_ci_high": round(t["acc_diff_ci"][1], 4),
                         "only_a_correct": t["only_a_correct"], "only_b_correct": t["only_b_correct"],
                         "mcnemar_p": t["mcnemar_p"]})
    return pd.DataFrame(rows, columns=["dataset", "model_a", "model_b", "n", "acc_diff", "acc_diff_ci_low",
                                       "acc_diff_ci_high", "only_a_correct", "only_b_correct", "mcnemar_p"])


def grouped_bar_figure(table: pd.DataFrame, group: str, title: str, path: str | Path,
                       reference: Sequence[str] = ()) -> None:
    """Accuracy per group (x) and model (bars); reference predictors hatched."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pivot = table.pivot(index=group, columns="model", values="acc")
    # groups and models in the order they come (the spec's), not alphabetical
    pivot = pivot.reindex(index=list(dict.fromkeys(table[group])), columns=list(dict.fromkeys(table["model"])))
    groups, models = list(pivot.index), list(pivot.columns)
    width = 0.8 / max(1, len(models))
    fig, ax = plt.subplots(figsize=(max(8, 0.9 * len(groups) + 3), 4.8), dpi=120)
    colors = plt.get_cmap("tab10")
    x = np.arange(len(groups))
    for i, model in enumerate(models):
        ax.bar(x + (i - (len(models) - 1) / 2) * width, 100 * pivot[model].to_numpy(), width, label=model,
               color=colors(i % 10), hatch="//" if model in reference else None,
               edgecolor="white" if model not in reference else "black", linewidth=0.5)
    ax.set_xticks(x, [str(g) for g in groups], rotation=30 if max(map(len, map(str, groups))) > 4 else 0, ha="right")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, ncol=min(4, len(models)), loc="upper left", frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
