"""Figures of the model analyses (matplotlib, Agg): Figure 5 (entropy vs accuracy), Figure 8 (change
rates), Figure 9 (cross-country gains by distance) and Table 12 (gain vs semantic distance). Each
takes the table its CSV holds, so a figure shows exactly the numbers written beside it. Language
models are filled markers/bars; reference predictors are hollow markers or hatched bars."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from dvmap.plotting import pyplot

REFERENCE = "reference predictor"


def _short(category: str) -> str:
    """'SOCIAL CAPITAL, TRUST & ORGANIZATIONAL MEMBERSHIP' -> 'Social capital'."""
    return category.split(",")[0].split(" AND ")[0].capitalize()


def _fmt_ci(value: float, low: float, high: float, digits: int = 2) -> str:
    if not np.isfinite(value):
        return "n/a"
    if not (np.isfinite(low) and np.isfinite(high)):
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def _errors(frame: pd.DataFrame, name: str, scale: float = 1.0) -> np.ndarray:
    value, low, high = (frame[c].to_numpy(dtype=float) * scale for c in (name, f"{name}_ci_low", f"{name}_ci_high"))
    return np.nan_to_num(np.vstack([value - low, high - value]), nan=0.0).clip(min=0)


def _stagger(xs: Sequence[float], span: float, levels: int = 4) -> list[int]:
    """A label level per x so that labels closer than 4% of the axis span do not sit at the same height."""
    order = np.argsort(np.asarray(xs, dtype=float), kind="stable")
    level, out, previous = 0, [0] * len(order), None
    for i in order:
        level = (level + 1) % levels if previous is not None and xs[i] - previous < 0.04 * span else 0
        out[i], previous = level, xs[i]
    return out


def _rows(frame: pd.DataFrame) -> list[tuple[str, str]]:
    return list(dict.fromkeys(zip(frame["model"], frame["kind"])))


def entropy_accuracy_figure(points: pd.DataFrame, correlations: pd.DataFrame, dataset: str, path: str | Path) -> None:
    """Two panels (value categories, questions): accuracy (with CI) against mean answer entropy, one
    series per row, Pearson r [CI] in the legend."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(14, 6.4 + 0.12 * len(_rows(points))), dpi=120)
    colors = plt.get_cmap("tab10")
    markers = "osD^v<>ph*"
    rows = _rows(points)
    for ax, level in zip(axes, ("category", "question")):
        for i, (model, kind) in enumerate(rows):
            p = points[(points["model"] == model) & (points["level"] == level)]
            c = correlations[(correlations["model"] == model) & (correlations["level"] == level)].iloc[0]
            ref = kind == REFERENCE
            label = f"{model}: r = {_fmt_ci(c['r'], c['r_ci_low'], c['r_ci_high'])}"
            ax.errorbar(p["entropy"], 100 * p["acc"], yerr=_errors(p, "acc", 100), fmt=markers[i % len(markers)],
                        color=colors(i % 10), mfc="white" if ref else colors(i % 10), ms=6, capsize=2, lw=0.8,
                        label=label)
        first = points[(points["level"] == level) & (points["model"] == rows[0][0])] if rows else points.iloc[:0]
        top = 100 * points.loc[points["level"] == level, "acc_ci_high"].max() if len(points) else 100
        xs = first["entropy"].to_numpy(dtype=float)
        span = float(np.nanmax(xs) - np.nanmin(xs)) if len(xs) else 1.0
        for (_, p), lev in zip(first.iterrows(), _stagger(xs, span or 1.0)):
            text = _short(p["group"]) if level == "category" else p["group"]
            ax.annotate(text, (p["entropy"], min(top + 3, 95) + 5 * lev), fontsize=7.5, ha="center", va="bottom",
                        color="0.25")
            ax.axvline(p["entropy"], color="0.85", lw=0.6, zorder=0)
        n_points = int(correlations.loc[correlations["level"] == level, "n_points"].max()) if len(correlations) else 0
        title = ("value categories" if level == "category" else "questions") + f" ({n_points} points)"
        if level == "category":
            title += ": the CI of r from 5 points is wide"
        ax.set_title(title, fontsize=10)
        unit = points["unit"].iloc[0] if "unit" in points and len(points) else "bits"
        ax.set_xlabel(f"mean entropy of the answer distribution ({unit})")
        ax.set_ylabel("accuracy (%)")
        ax.set_ylim(0, 125)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2, frameon=False)
    n = int(correlations["n_samples"].max()) if len(correlations) else 0
    fig.suptitle(f"Figure 5. {dataset}: accuracy vs answer entropy (n = {n} samples; hollow: reference predictors; "
                 f"Pearson r [bootstrap 95% CI])", fontsize=11)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def value_flip_figure(table: pd.DataFrame, path: str | Path, by_question: pd.DataFrame | None = None) -> None:
    """Left: overall change rate per row and perturbation (with CI). Right: income-flip rate per value
    category and row. Below (with `by_question`): income-flip rate per question and row (the paper
    names Religion Q6 and financial satisfaction Q50)."""
    plt = pyplot()
    if by_question is None:
        fig, axes = plt.subplots(1, 2, figsize=(15, 6), dpi=120, gridspec_kw={"width_ratios": [1, 1.25]})
    else:
        fig = plt.figure(figsize=(15, 11), dpi=120)
        grid = fig.add_gridspec(2, 2, width_ratios=[1, 1.25])
        axes = [fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1]), fig.add_subplot(grid[1, :])]
    rows = _rows(table)
    colors = plt.get_cmap("tab10")
    overall = table[table["category"] == "all"]
    perturbations = list(dict.fromkeys(overall["perturbation"]))
    labels = {"income_flip": "income flipped", "option_order": "options reordered",
              "repeat": "same prompt again (control)"}
    x = np.arange(len(rows))
    width = 0.8 / max(1, len(perturbations))
    ax = axes[0]
    for j, pert in enumerate(perturbations):
        d = overall[overall["perturbation"] == pert].set_index("model").reindex([m for m, _ in rows]).reset_index()
        for i, (_model, kind) in enumerate(rows):
            rate = 100 * d.loc[i, "rate"]
            top = 100 * d.loc[i, "rate_ci_high"] if np.isfinite(d.loc[i, "rate_ci_high"]) else rate
            ax.text(x[i] + (j - (len(perturbations) - 1) / 2) * width, (top if np.isfinite(top) else 0) + 1,
                    f"{rate:.0f}" if np.isfinite(rate) else "n/a", ha="center", va="bottom", fontsize=7)
            ax.bar(x[i] + (j - (len(perturbations) - 1) / 2) * width, rate, width,
                   yerr=_errors(d.iloc[[i]], "rate", 100), capsize=2, color=colors(j), alpha=0.9,
                   hatch="//" if kind == REFERENCE else None, edgecolor="black" if kind == REFERENCE else "white",
                   linewidth=0.5, label=labels.get(pert, pert) if i == 0 else None)
    ax.set_xticks(x, [m for m, _ in rows], rotation=30, ha="right")
    ax.set_ylabel("answers changed (% of pairs)")
    ax.set_ylim(0, 105)
    ax.set_title("overall, % of pairs (hatched: reference predictors)", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper right", frameon=True, framealpha=0.85)
    ax = axes[1]
    flip = table[(table["perturbation"] == "income_flip") & (table["category"] != "all")]
    categories = list(dict.fromkeys(flip["category"]))
    x = np.arange(len(categories))
    width = 0.8 / max(1, len(rows))
    for i, (model, kind) in enumerate(rows):
        d = flip[flip["model"] == model].set_index("category").reindex(categories).reset_index()
        ax.bar(x + (i - (len(rows) - 1) / 2) * width, 100 * d["rate"], width, yerr=_errors(d, "rate", 100), capsize=2,
               color=colors(i % 10), hatch="//" if kind == REFERENCE else None,
               edgecolor="black" if kind == REFERENCE else "white", linewidth=0.5, label=model)
    n_pairs = flip.groupby("category")["n_pairs"].max().reindex(categories)
    ax.set_xticks(x, [f"{_short(c)}\n(n = {int(n)})" for c, n in zip(categories, n_pairs)], fontsize=8)
    ax.set_ylabel("value flip rate (% of pairs)")
    ax.set_ylim(0, 105)
    ax.set_title("income flipped, per value category", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, ncol=2, loc="upper right", frameon=True, framealpha=0.85)
    if by_question is not None:
        ax = axes[2]
        flip_q = by_question[by_question["perturbation"] == "income_flip"]
        questions = list(dict.fromkeys(flip_q["q_id"]))
        x = np.arange(len(questions))
        for i, (model, kind) in enumerate(rows):
            d = flip_q[flip_q["model"] == model].set_index("q_id").reindex(questions).reset_index()
            ax.bar(x + (i - (len(rows) - 1) / 2) * width, 100 * d["rate"], width, yerr=_errors(d, "rate", 100),
                   capsize=1.5, color=colors(i % 10), hatch="//" if kind == REFERENCE else None,
                   edgecolor="black" if kind == REFERENCE else "white", linewidth=0.5, label=model)
        n_q = flip_q.groupby("q_id")["n_pairs"].max().reindex(questions)
        ax.set_xticks(x, [f"{q}\n(n = {int(n)})" for q, n in zip(questions, n_q)], fontsize=8)
        ax.set_ylabel("value flip rate (% of pairs)")
        ax.set_ylim(0, 105)
        ax.set_title("income flipped, per question (the paper names Q6 religion and Q50 financial satisfaction)",
                     fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    n = int(overall.loc[overall["perturbation"] == "income_flip", "n_pairs"].max()) if len(overall) else 0
    fig.suptitle(f"Figure 8. Value flip rate: income High <-> Low with the 10 other attributes fixed ({n} pairs), "
                 f"with bootstrap 95% CIs", fontsize=11)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def country_gain_figure(gains: pd.DataFrame, correlations: pd.DataFrame, path: str | Path) -> None:
    """Gain per cross-country country (x, ordered by distance to the nearest training country) and
    comparison (bars with paired-bootstrap CIs); reference predictors hatched (gain over uniform)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(13, 6), dpi=120)
    colors = plt.get_cmap("tab10")
    countries = list(dict.fromkeys(gains.sort_values(["distance_nearest", "group"])["group"]))
    comps = list(dict.fromkeys(zip(gains["model_a"], gains["model_b"], gains["kind"])))
    x = np.arange(len(countries))
    width = 0.8 / max(1, len(comps))
    for i, (a, b, kind) in enumerate(comps):
        d = gains[(gains["model_a"] == a) & (gains["model_b"] == b)].set_index("group").reindex(countries).reset_index()
        c = correlations[(correlations["model_a"] == a) & (correlations["model_b"] == b)
                         & (correlations["distance"] == "nearest")]
        r = _fmt_ci(*c[["r", "r_ci_low", "r_ci_high"]].iloc[0]) if len(c) else "n/a"
        ax.bar(x + (i - (len(comps) - 1) / 2) * width, 100 * d["gain"], width, yerr=_errors(d, "gain", 100), capsize=2,
               color=colors(i % 10), hatch="//" if kind == REFERENCE else None,
               edgecolor="black" if kind == REFERENCE else "white", linewidth=0.5,
               label=f"{a} - {b} (r with distance {r})")
    first = gains.drop_duplicates("group").set_index("group")
    ax.set_xticks(x, [f"{g}\nd = {first.loc[g, 'distance_nearest']:.2f}\n({first.loc[g, 'nearest_training_country']})"
                      for g in countries], fontsize=8)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_ylabel("accuracy gain (percentage points)")
    ax.set_xlabel("cross-country countries, nearest to farthest from a training country on the Inglehart-Welzel map "
                  "(approximate positions; in brackets the nearest)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)
    ax.set_title("Figure 9. Cross-country accuracy gain per country (DVMap minus its base; hatched: reference "
                 "predictor minus uniform), paired bootstrap 95% CIs", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def question_gain_figure(gains: pd.DataFrame, correlations: pd.DataFrame, path: str | Path) -> None:
    """Two panels (average, nearest cosine distance to the training questions): gain per cross-value
    question with its CI, one series per comparison, Pearson r [CI] in the legend."""
    plt = pyplot()
    n_comps = len(set(zip(gains["model_a"], gains["model_b"])))
    fig, axes = plt.subplots(1, 2, figsize=(14, 6 + 0.22 * n_comps), dpi=120, sharey=True)
    colors = plt.get_cmap("tab10")
    markers = "osD^v<>ph*"
    comps = list(dict.fromkeys(zip(gains["model_a"], gains["model_b"], gains["kind"])))
    for ax, distance in zip(axes, ("average", "nearest")):
        for i, (a, b, kind) in enumerate(comps):
            d = gains[(gains["model_a"] == a) & (gains["model_b"] == b)]
            c = correlations[(correlations["model_a"] == a) & (correlations["model_b"] == b)
                             & (correlations["distance"] == distance)]
            r = _fmt_ci(*c[["r", "r_ci_low", "r_ci_high"]].iloc[0]) if len(c) else "n/a"
            ref = kind == REFERENCE
            ax.errorbar(d[f"distance_{distance}"], 100 * d["gain"], yerr=_errors(d, "gain", 100),
                        fmt=markers[i % len(markers)], color=colors(i % 10), mfc="white" if ref else colors(i % 10),
                        capsize=2, lw=0.8, ms=6, label=f"{a} - {b}: r = {r}")
        first = gains.drop_duplicates("group")
        xs = first[f"distance_{distance}"].to_numpy(dtype=float)
        span = float(np.nanmax(xs) - np.nanmin(xs)) if len(xs) else 1.0
        for (_, p), lev in zip(first.iterrows(), _stagger(xs, span or 1.0)):
            ax.annotate(p["group"], (p[f"distance_{distance}"], 0), xytext=(0, -12 - 9 * lev),
                        textcoords="offset points", fontsize=7.5, color="0.25", ha="center")
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xlabel(f"{distance} cosine distance to the training questions")
        ax.set_title(f"{distance} distance ({len(first)} questions)", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=1, frameon=False)
    axes[0].set_ylabel("accuracy gain (percentage points)")
    fig.suptitle("Table 12. Cross-value gain (DVMap minus its base; hollow: reference predictor minus uniform) vs "
                 "semantic distance, bootstrap 95% CIs", fontsize=11)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def empty_figure(title: str, message: str, path: str | Path) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 3), dpi=120)
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=11, wrap=True)
    ax.set_axis_off()
    ax.set_title(title)
    fig.savefig(path)
    plt.close(fig)
