"""Result tables and figures: Table 2 (cross-demographic), per-country accuracy (Figure 3),
cross-country (Figure 6) and cross-value (Figure 7) results per model, paired tests, the ablation
tables and the scale figures.

A trained model's row is the mean over its seeds. Its 95% CI combines the two sources of
variance: the benchmark's sampling (the per-seed percentile-bootstrap half-widths, averaged over
seeds: the seeds answer the same samples, so their sampling errors are not independent) and the
seeds (t_{0.975, k-1} x s / sqrt(k) with s the standard deviation across the k seeds), added in
quadrature on each side. With one seed the CI is the bootstrap CI alone."""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from dvmap.contracts import check_scores, written_columns
from dvmap.errors import DVMapError
from dvmap.evaluate import metrics
from dvmap.plotting import pyplot
from dvmap.stats import combined_ci, group_bootstrap, percentile_ci

METRIC_COLUMNS = ["acc", "lc", "wd", "jsd", "lc_parsed"]  # lc over all N (the paper), lc_parsed over parsed
MEAN_COLUMNS = ["acc_lenient", "n_parsed", "parse_failure_rate", "api_error_rate"]
# A results table (Table 2, results/tables/{dataset}.csv): one row per model (score_row).
SCORE_COLUMNS = ["model", "kind", "n", "n_seeds", *(f"{m}{s}" for m in METRIC_COLUMNS
                                                    for s in ("", "_ci_low", "_ci_high", "_seed_sd")),
                 *MEAN_COLUMNS, "parse_failure_rate_max"]


def aggregate_scores(scores: Sequence[Mapping]) -> dict:
    """One row's score from its per-seed scores (a single score passes through): metric means with
    combined CIs, the standard deviation across seeds, the worst parse-failure rate."""
    k = len(scores)
    if not k:
        raise DVMapError("a table row with no score (0 seeds)")
    check_scores(scores, "a table row")  # what a table reads: n > 0, finite accuracy (dvmap/contracts.py)
    out = {"n": scores[0]["n"], "n_seeds": k}
    for m in METRIC_COLUMNS:
        values = [s[m] for s in scores]
        out[m], low, high = combined_ci(values, [s[f"{m}_ci"] for s in scores])
        out[f"{m}_ci"] = [low, high]
        out[f"{m}_seed_sd"] = float(np.std(values, ddof=1)) if k > 1 else 0.0
    for key in MEAN_COLUMNS:
        out[key] = float(np.mean([s[key] for s in scores]))
    out["parse_failure_rate_max"] = float(max(s["parse_failure_rate"] for s in scores))
    return out


def score_row(model: str, kind: str, score: Mapping) -> dict:
    row = {"model": model, "kind": kind, "n": score["n"], "n_seeds": score.get("n_seeds", 1)}
    for m in METRIC_COLUMNS:
        row[m] = score[m]
        row[f"{m}_ci_low"], row[f"{m}_ci_high"] = score[f"{m}_ci"]
        row[f"{m}_seed_sd"] = score.get(f"{m}_seed_sd", 0.0)
    row.update({key: score[key] for key in MEAN_COLUMNS})
    row["parse_failure_rate_max"] = score.get("parse_failure_rate_max", score["parse_failure_rate"])
    return row


def seeds_table(rows: Sequence[Mapping], scores: Mapping[str, Sequence[Mapping]], dataset: str,
                key: str = "name") -> pd.DataFrame:
    """Per-seed values behind each row (rows: entries with name, kind, files, seeds; scores keyed by
    each row's `key`). Keyed by "row" (the ablation tables), the frame has the row's key and its
    evaluated model; by "name" (the main tables), the row's name as `model`."""
    out = []
    for row in rows:
        seeds = row["seeds"] or [None] * len(row["files"])
        ident = {"row": row["row"], "model": row["model"]} if key == "row" else {"model": row["name"]}
        for seed, folder, score in zip(seeds, row["files"], scores[row[key]]):
            out.append({"dataset": dataset, **ident, "kind": row["kind"], "seed": seed,
                        "predictions": folder, "n": score["n"],
                        **{m: round(score[m], 4) for m in [*METRIC_COLUMNS, "parse_failure_rate"]}})
    ident_columns = ["row", "model"] if key == "row" else ["model"]
    return pd.DataFrame(out, columns=["dataset", *ident_columns, "kind", "seed", "predictions", "n", *METRIC_COLUMNS,
                                      "parse_failure_rate"])


def results_table(scores: Mapping[tuple[str, str], Mapping]) -> pd.DataFrame:
    """One row per model ((model, kind) -> score dict), in the given order, rounded for reading."""
    frame = written_columns(pd.DataFrame([score_row(m, k, s) for (m, k), s in scores.items()]), SCORE_COLUMNS,
                            "a results table")
    numeric = frame.select_dtypes("number").columns.difference(["n", "n_parsed"])
    frame[numeric] = frame[numeric].round(4)
    return frame


PER_GROUP_COLUMNS = ["model", "kind", "{group}", "n", "n_seeds", "acc", "acc_ci_low", "acc_ci_high", "acc_vs_rest",
                     "acc_vs_rest_ci_low", "acc_vs_rest_ci_high", "rank", "rank_ci_low", "rank_ci_high", "n_ranked"]
RANKED_KIND = "language model"  # Figure 3 ranks the language models; reference predictors are shown, not ranked


def per_group_table(parsed_by_model: Mapping[str, Sequence[pd.DataFrame]], by: str, kinds: Mapping[str, str],
                    seed: int = 0, n_resamples: int = 2000) -> pd.DataFrame:
    """Accuracy per model and country (or question), long format (Figure 3): the mean over a model's
    seeds with its 95% CI; `acc_vs_rest`, the group's accuracy minus the model's accuracy on the
    other groups' samples (a drop on a country is negative), with its CI; the model's rank among
    the language models in the group (1 the most accurate, ties sharing the better rank) with an
    integer 95% interval. One bootstrap for every model (dvmap.stats.group_bootstrap): samples
    drawn within each group, the same draw for every model, each model's seeds drawn too."""
    models = list(parsed_by_model)
    first = parsed_by_model[models[0]][0]
    for model in models:
        for parsed in parsed_by_model[model]:
            if not np.array_equal(parsed["sample_id"].to_numpy(), first["sample_id"].to_numpy()):
                raise DVMapError(f"per-group accuracy: {model}'s predictions are not on the same samples, in the "
                                 f"same order, as {models[0]}'s")
    correct = [np.stack([p["correct"].to_numpy(dtype=float) for p in parsed_by_model[m]]) for m in models]
    boot = group_bootstrap(correct, first[by].to_numpy(), n_resamples, seed)
    ranked = np.array([kinds[m] == RANKED_KIND for m in models])
    rank, rank_low, rank_high = boot.ranks(ranked)
    acc_low, acc_high = percentile_ci(boot.replicates)
    diff_low, diff_high = percentile_ci(boot.replicates - boot.rest_replicates)
    rows = []
    for i, model in enumerate(models):
        for j, label in enumerate(boot.labels):
            rows.append({"model": model, "kind": kinds[model], by: label, "n": int(boot.sizes[j]),
                         "n_seeds": len(parsed_by_model[model]), "acc": boot.point[i, j], "acc_ci_low": acc_low[i, j],
                         "acc_ci_high": acc_high[i, j], "acc_vs_rest": boot.point[i, j] - boot.rest[i, j],
                         "acc_vs_rest_ci_low": diff_low[i, j], "acc_vs_rest_ci_high": diff_high[i, j],
                         "rank": rank[i, j], "rank_ci_low": rank_low[i, j], "rank_ci_high": rank_high[i, j],
                         "n_ranked": int(ranked.sum()) if ranked[i] else None})
    out = pd.DataFrame(rows, columns=[c.format(group=by) for c in PER_GROUP_COLUMNS])
    numeric = ["acc", "acc_ci_low", "acc_ci_high", "acc_vs_rest", "acc_vs_rest_ci_low", "acc_vs_rest_ci_high"]
    out[numeric] = out[numeric].round(4)
    for column in ("rank", "rank_ci_low", "rank_ci_high", "n_ranked"):
        out[column] = out[column].astype("Int64")
    return out


def paired_over_seeds(a: Sequence[pd.DataFrame], b: Sequence[pd.DataFrame], seed: int = 0) -> dict:
    """Model a vs model b: per seed a paired test (seed i of a against seed i of b; a model with
    one set of predictions, e.g. an untrained base, is paired with every seed of the other), then
    the mean difference with the combined CI, and the largest McNemar p over seeds (the
    difference is significant at level x for every seed when it is below x)."""
    if len(a) == len(b):
        pairs = list(zip(a, b))
    elif len(b) == 1 or len(a) == 1:
        pairs = [(x, b[0]) for x in a] if len(b) == 1 else [(a[0], y) for y in b]
    else:
        raise ValueError(f"cannot pair {len(a)} seeds with {len(b)} seeds")
    tests = [metrics.paired_test(x, y, seed) for x, y in pairs]
    diff, low, high = combined_ci([t["acc_diff"] for t in tests], [t["acc_diff_ci"] for t in tests])
    return {"n": tests[0]["n"], "n_pairs": len(tests), "acc_diff": diff, "acc_diff_ci": [low, high],
            "only_a_correct": float(np.mean([t["only_a_correct"] for t in tests])),
            "only_b_correct": float(np.mean([t["only_b_correct"] for t in tests])),
            "mcnemar_p_max": float(max(t["mcnemar_p"] for t in tests)), "per_seed": tests}


PAIRED_COLUMNS = ["dataset", "model_a", "model_b", "n", "n_pairs", "acc_diff", "acc_diff_ci_low", "acc_diff_ci_high",
                  "only_a_correct", "only_b_correct", "mcnemar_p_max"]


def paired_table(parsed_by_model: Mapping[str, Sequence[pd.DataFrame]], pairs: Sequence[Sequence[str]],
                 dataset: str, seed: int = 0) -> pd.DataFrame:
    rows = []
    for a, b in pairs:
        if a in parsed_by_model and b in parsed_by_model:
            t = paired_over_seeds(parsed_by_model[a], parsed_by_model[b], seed)
            rows.append({"dataset": dataset, "model_a": a, "model_b": b, "n": t["n"], "n_pairs": t["n_pairs"],
                         "acc_diff": round(t["acc_diff"], 4), "acc_diff_ci_low": round(t["acc_diff_ci"][0], 4),
                         "acc_diff_ci_high": round(t["acc_diff_ci"][1], 4), "only_a_correct": t["only_a_correct"],
                         "only_b_correct": t["only_b_correct"], "mcnemar_p_max": t["mcnemar_p_max"]})
    return pd.DataFrame(rows, columns=PAIRED_COLUMNS)


PAPER_KEYS = ["acc", "acc_diff", "wd", "wd_diff", "lc"]
# An ablation table (results/{table}.csv): the row, its score (score_row but the model, named with the
# row), the paired test against the baseline row, and the paper's number for the cell.
BASELINE_COLUMNS = ["acc_diff_vs_baseline", "acc_diff_ci_low", "acc_diff_ci_high", "mcnemar_p_max",
                    "wd_diff_vs_baseline"]
PAPER_COLUMNS = [*[f"paper_{k}" for k in PAPER_KEYS], "paper_vs", "acc_diff_vs_paper_vs", "paper_note"]
EXPERIMENT_COLUMNS = ["table", "dataset", "row", "model", "variant", "overrides", "is_baseline",
                      *[c for c in SCORE_COLUMNS if c != "model"], *BASELINE_COLUMNS, *PAPER_COLUMNS]


def experiment_table(table: str, spec: Mapping, rows: Sequence[Mapping], scores: Mapping[tuple[str, str], dict],
                     parsed: Mapping[tuple[str, str], Sequence[pd.DataFrame]], paper: Mapping,
                     seed: int = 0) -> pd.DataFrame:
    """An ablation table: per dataset and row, the metrics (mean over seeds), what the row
    overrides, the paired test against the baseline row and the paper's number for the cell.
    rows are dvmap.experiments.row_entries; scores/parsed are keyed by (dataset, the row's key), so
    a reference predictor (key `reference:<name>`) is never filed under a spec row of its name."""
    out = []
    for dataset in spec["datasets"]:
        base = spec["baseline"]
        for row in rows:
            key, language_model = row["row"], row["kind"] == "language model"
            entry = score_row(row["model"], row["kind"], scores[(dataset, key)])
            overrides = {"template": row["template"], **row["overrides"]} if language_model else {}
            entry.pop("model")
            line = {"table": table, "dataset": dataset, "row": key, "model": row["model"],
                    "variant": row["variant"], "overrides": json.dumps(overrides, sort_keys=True),
                    "is_baseline": key == base, **entry}
            if key != base:
                t = paired_over_seeds(parsed[(dataset, key)], parsed[(dataset, base)], seed)
                line.update({"acc_diff_vs_baseline": t["acc_diff"], "acc_diff_ci_low": t["acc_diff_ci"][0],
                             "acc_diff_ci_high": t["acc_diff_ci"][1], "mcnemar_p_max": t["mcnemar_p_max"],
                             "wd_diff_vs_baseline": entry["wd"] - scores[(dataset, base)]["wd"]})
            numbers = paper.get(key, {}) if language_model else {}  # the paper's cells are spec rows
            if numbers and numbers.get("dataset", spec["datasets"][0]) == dataset:
                line.update({f"paper_{k}": numbers[k] for k in PAPER_KEYS if k in numbers})
                line["paper_vs"] = numbers.get("vs", base) if any(k.endswith("_diff") for k in numbers) else None
                line["paper_note"] = numbers.get("note")
                if line["paper_vs"] not in (None, base):  # the kit's difference against the paper's reference row
                    t = paired_over_seeds(parsed[(dataset, key)], parsed[(dataset, line["paper_vs"])], seed)
                    line["acc_diff_vs_paper_vs"] = t["acc_diff"]
            out.append(line)
    frame = pd.DataFrame(out)
    for column in [*BASELINE_COLUMNS, *PAPER_COLUMNS]:
        if column not in frame:
            frame[column] = None
    # in the order the rows bring them (the paper's cells: the spec's order of its keys)
    frame = written_columns(frame, EXPERIMENT_COLUMNS, f"ablation table {table}", ordered=False)
    numeric = frame.select_dtypes("number").columns.difference(["n", "n_parsed", "n_seeds", "mcnemar_p_max"])
    frame[numeric] = frame[numeric].round(4)
    return frame


def grouped_bar_figure(table: pd.DataFrame, group: str, title: str, path: str | Path,
                       reference: Sequence[str] = ()) -> None:
    """Accuracy per group (x) and model (bars) with 95% CIs; reference predictors hatched."""
    plt = pyplot()

    # groups and models in the order they come (the spec's), not alphabetical
    order = {"index": list(dict.fromkeys(table[group])), "columns": list(dict.fromkeys(table["model"]))}
    pivot, low, high = (table.pivot(index=group, columns="model", values=v).reindex(**order)
                        for v in ("acc", "acc_ci_low", "acc_ci_high"))
    groups, models = list(pivot.index), list(pivot.columns)
    width = 0.8 / max(1, len(models))
    fig, ax = plt.subplots(figsize=(max(8, 0.9 * len(groups) + 3), 4.8), dpi=120)
    colors = plt.get_cmap("tab10")
    x = np.arange(len(groups))
    for i, model in enumerate(models):
        acc = pivot[model].to_numpy()
        error = 100 * np.stack([acc - low[model].to_numpy(), high[model].to_numpy() - acc])
        ax.bar(x + (i - (len(models) - 1) / 2) * width, 100 * acc, width, yerr=error, label=model,
               color=colors(i % 10), hatch="//" if model in reference else None,
               edgecolor="white" if model not in reference else "black", linewidth=0.5,
               error_kw={"elinewidth": 0.6, "capsize": 1.5, "ecolor": "0.3"})
    ax.set_xticks(x, [str(g) for g in groups], rotation=30 if max(map(len, map(str, groups))) > 4 else 0, ha="right")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)  # beside: bars reach 100%
    fig.tight_layout()
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)


SCALE_COLUMNS = ["dataset", "size", "role", "model", "n", "n_seeds",
                 *(f"{m}{s}" for m in ("acc", "lc", "wd") for s in ("", "_seed_sd", "_ci_low", "_ci_high"))]


def scale_table(sizes: Sequence[tuple[str, Mapping, Mapping]], scores: Mapping[str, Sequence[Mapping]],
                dataset: str) -> pd.DataFrame:
    """One row per (size, base or DVMap): metric means over seeds with their seed SD and combined CI."""
    out = []
    for label, base, dvmap in sizes:
        for role, row in (("base", base), ("dvmap", dvmap)):
            agg = aggregate_scores(scores[row["name"]])
            out.append({"dataset": dataset, "size": label, "role": role, "model": row["name"], "n": agg["n"],
                        "n_seeds": agg["n_seeds"],
                        **{k: round(v, 4) for m in ("acc", "lc", "wd") for k, v in
                           ((m, agg[m]), (f"{m}_seed_sd", agg[f"{m}_seed_sd"]), (f"{m}_ci_low", agg[f"{m}_ci"][0]),
                            (f"{m}_ci_high", agg[f"{m}_ci"][1]))}})
    return written_columns(pd.DataFrame(out), SCALE_COLUMNS, f"the scale table of {dataset}")


def scale_figure(table: pd.DataFrame, references: Mapping[str, Mapping], title: str, path: str | Path) -> None:
    """Acc, LC and WD (panels) across sizes (x), base vs DVMap (lines, error bars: SD over seeds),
    reference predictors as horizontal lines."""
    plt = pyplot()

    sizes = list(dict.fromkeys(table["size"]))
    x = np.arange(len(sizes))
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), dpi=120)
    styles = {"base": ("tab:gray", "o", "base"), "dvmap": ("tab:blue", "s", "DVMap (GRPO)")}
    ref_colors = plt.get_cmap("Set2")
    for ax, metric, label in zip(axes, ("acc", "lc", "wd"), ("accuracy", "Likert consistency", "Wasserstein distance")):
        for i, (name, score) in enumerate(references.items()):
            ax.axhline(score[metric], color=ref_colors(i), linestyle="--", linewidth=1, label=name)
        for role, (color, marker, legend) in styles.items():
            part = table[table["role"] == role].set_index("size").reindex(sizes)
            ax.errorbar(x, part[metric], yerr=part[f"{metric}_seed_sd"], color=color, marker=marker, capsize=4,
                        label=legend)
        ax.set_xticks(x, sizes)
        ax.set_xlabel("model size")
        ax.set_ylabel(label + (" (lower is better)" if metric == "wd" else ""))
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, frameon=False, loc="best")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
