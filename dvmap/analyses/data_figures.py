"""Figures of the data analyses (matplotlib, Agg): Figure 1a small multiples, Figure 1b entropy
histogram, Figure 1c importance heatmap. Each takes the table its CSV holds, so a figure shows
exactly the numbers written beside it."""
from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from dvmap.plotting import corner_note, pyplot


def heterogeneity_figure(distribution: pd.DataFrame, country_names: Mapping[str, str], question: Mapping,
                         selected_country: str, rule: str, path: str | Path, weighted: bool = False) -> None:
    """One panel per country (in the table's order): the share of each option with its 95% CI."""
    plt = pyplot()
    countries = list(dict.fromkeys(distribution["country"]))
    k = len(question["options"])
    ncols = min(6, len(countries))
    nrows = int(np.ceil(len(countries) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.3 * ncols + 0.6, 2.0 * nrows + 2.2), dpi=120,
                             sharey=True, squeeze=False)
    x = np.arange(1, k + 1)
    colors = plt.get_cmap("viridis")(np.linspace(0.15, 0.85, k))
    top = float(np.nanmax(distribution["share_ci_high"])) if distribution["share_ci_high"].notna().any() else 1.0
    for ax, country in zip(axes.flat, countries):
        d = distribution[distribution["country"] == country].sort_values("option_index")
        n = int(d["n_country"].iloc[0])
        if n == 0:
            ax.text(0.5, 0.5, "not asked\n(n = 0)", ha="center", va="center", transform=ax.transAxes, fontsize=9)
        else:
            share = 100 * d["share"].to_numpy()
            err = np.vstack([share - 100 * d["share_ci_low"].to_numpy(), 100 * d["share_ci_high"].to_numpy() - share])
            ax.bar(x, share, color=colors, width=0.75)
            ax.errorbar(x, share, yerr=err, fmt="none", ecolor="black", elinewidth=0.8, capsize=2)
            ax.text(0.97, 0.95, f"H = {d['entropy'].iloc[0]:.2f} {d['unit'].iloc[0]}", ha="right", va="top",
                    transform=ax.transAxes, fontsize=7.5)
        bold = country == selected_country
        ax.set_title(f"{country} (n = {n:,})", fontsize=9, fontweight="bold" if bold else "normal")
        if bold:
            for spine in ax.spines.values():
                spine.set_edgecolor("crimson")
                spine.set_linewidth(2)
        ax.set_xticks(x, [str(i) for i in x], fontsize=8)
        ax.set_ylim(0, min(100, 100 * top * 1.15 + 5))
        ax.tick_params(axis="y", labelsize=8)
        ax.grid(axis="y", alpha=0.3)
    for ax in axes.flat[len(countries):]:
        ax.axis("off")
    for row in axes:
        row[0].set_ylabel(("weighted " if weighted else "") + "share (%)", fontsize=8)
    key = "   ".join(f"{i} = {o}" for i, o in enumerate(question["options"], start=1))
    title = f"Figure 1a: {question['id']} ({question['concept']}): answer shares per country, 95% bootstrap CI"
    subtitle = f"{textwrap.fill(question['text'], 140)}\nSelected: {selected_country} ({rule}); highlighted panel"
    fig.suptitle(title, fontsize=11, y=0.995)
    fig.text(0.5, 0.955, subtitle, ha="center", va="top", fontsize=8)
    fig.text(0.5, 0.01, "\n".join(textwrap.wrap("Options: " + key, 160)), ha="center", va="bottom", fontsize=8)
    fig.tight_layout(rect=(0, 0.04, 1, 0.93))
    fig.savefig(path)
    plt.close(fig)


def entropy_histogram_figure(histogram: pd.DataFrame, summary: pd.DataFrame, path: str | Path) -> None:
    """Share of (profile, question) pairs per entropy bin, one panel per subset; the H = 0 bar marked."""
    plt = pyplot()
    subsets = list(dict.fromkeys(histogram["subset"]))
    fig, axes = plt.subplots(1, len(subsets), figsize=(6.2 * len(subsets), 4.6), dpi=120, squeeze=False)
    for ax, subset in zip(axes[0], subsets):
        h = histogram[histogram["subset"] == subset]
        s = summary[summary["subset"] == subset].iloc[0]
        zero, rest = h[h["bin"] == "H = 0"], h[h["bin"] != "H = 0"]
        width = float((rest["bin_high"] - rest["bin_low"]).iloc[0])
        ax.bar(rest["bin_low"] + width / 2, 100 * rest["share"], width=width * 0.95, color="steelblue",
               label="H > 0")
        ax.bar([-width / 2], 100 * zero["share"], width=width * 0.95, color="crimson", label="H = 0 (unanimous)")
        corner_note(ax, f"H = 0: {100 * s['share_zero']:.1f}% of pairs\n"
                            f"(n = {int(s['n_zero']):,} of {int(s['n_pairs']):,}; 95% CI "
                            f"{100 * s['share_zero_ci_low']:.1f}-{100 * s['share_zero_ci_high']:.1f}%)\n"
                            f"mean H = {s['mean_entropy']:.3f} {s['unit']}\n{int(s['n_profiles']):,} profiles")
        ax.set_xlim(-width * 1.2, float(rest["bin_high"].max()) + width * 0.2)
        ax.set_xlabel(f"Shannon entropy of the answers of a (profile, question) pair ({s['unit']})")
        ax.set_ylabel("share of pairs (%)")
        ax.set_title(f"{s['scope']}: {subset} (n = {int(s['n_pairs']):,})", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(loc="center right", fontsize=8, frameon=False)
    fig.suptitle("Figure 1b: entropy of (profile, question) pairs before filtering, all questions", fontsize=11)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def question_entropy_figure(table: pd.DataFrame, summary: pd.DataFrame, bin_width: float, path: str | Path) -> None:
    """The paper's Figure 1b: per country, a histogram of the entropies of the value questions counted
    in the share, the threshold marked, the share above it with its CI."""
    plt = pyplot()
    countries = list(summary["country"])
    fig, axes = plt.subplots(1, len(countries), figsize=(6.2 * len(countries), 4.4), dpi=120, squeeze=False)
    for ax, (country, s) in zip(axes[0], summary.set_index("country").iterrows()):
        h = table[(table["country"] == country) & table["counted"]]["entropy"].to_numpy(dtype=float)
        top = max(float(np.nanmax(h)) if len(h) else 0.0, float(s["threshold"])) + bin_width
        edges = np.arange(0.0, top + bin_width, bin_width)
        ax.hist(h, bins=edges, color="steelblue", edgecolor="white")
        ax.axvline(s["threshold"], color="crimson", linestyle="--", linewidth=1.2)
        corner_note(ax, f"H > {s['threshold']:g} {s['unit']}: {int(s['n_above'])} of {int(s['n_questions'])} "
                            f"questions\n= {100 * s['share_above_threshold']:.1f}% (95% CI "
                            f"{100 * s['share_above_threshold_ci_low']:.1f}-{100 * s['share_above_threshold_ci_high']:.1f}%)"
                            f"\nn = {int(s['n_respondents']):,} respondents")
        ax.set_xlabel(f"Shannon entropy of a question's answers in {country} ({s['unit']})")
        ax.set_ylabel("number of survey questions")
        ax.set_title(f"{country}: {int(s['n_questions'])} value questions of the survey file", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle("Figure 1b: entropy of every value question (one per question)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


METHOD_LABELS = {"mdi": "Mean Decrease Impurity (training data; shares of 1, points)",
                 "permutation": "permutation importance ({scoring} drop on held-out respondents, points)"}


def _importance_panel(fig, ax, table: pd.DataFrame, concepts: Mapping[str, str], method: str) -> None:
    """One method's heatmap: attributes (rows) x questions (columns), both ranked by mean importance."""
    from matplotlib.colors import Normalize

    pivot = table.pivot(index="attribute", columns="q_id", values="importance")
    rows = table.drop_duplicates("attribute").sort_values("attribute_rank")["attribute"].tolist()
    cols = table.drop_duplicates("q_id").sort_values("question_rank")["q_id"].tolist()
    values = 100 * pivot.reindex(index=rows, columns=cols).to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    # symmetric around 0: a small negative importance (noise) stays pale
    vmax = max(float(np.abs(finite).max()) if finite.size else 1.0, 1e-6)
    image = ax.imshow(values, cmap="RdBu_r", norm=Normalize(-vmax, vmax), aspect="auto")
    for i in range(len(rows)):
        for j in range(len(cols)):
            if np.isfinite(values[i, j]):
                strong = abs(values[i, j]) > 0.6 * vmax
                ax.text(j, i, f"{round(values[i, j], 1) + 0.0:.1f}", ha="center", va="center", fontsize=7,
                        color="white" if strong else "black")
    ax.set_yticks(range(len(rows)), rows, fontsize=9)
    ax.set_xticks(range(len(cols)), [f"{q} {textwrap.shorten(concepts.get(q, ''), 34, placeholder='...')}"
                                     for q in cols], rotation=55, ha="right", rotation_mode="anchor", fontsize=8)
    bar = fig.colorbar(image, ax=ax, fraction=0.03, pad=0.02)
    scoring = table["scoring"].iloc[0]
    bar.set_label(METHOD_LABELS[method].format(scoring=scoring), fontsize=8)
    n_test = table.drop_duplicates("q_id")["n_test"].dropna().astype(int)
    n_text = f"{n_test.min():,}" if n_test.min() == n_test.max() else f"{n_test.min():,}-{n_test.max():,}"
    what = ("MDI (the paper's method)" if method == "mdi"
            else f"permutation importance on held-out respondents (n_test {n_text} per question)")
    ax.set_title(f"{what}\nrows and columns ranked by mean importance", fontsize=10)


def importance_heatmap(table: pd.DataFrame, concepts: Mapping[str, str], path: str | Path,
                       figure_method: str = "permutation") -> None:
    """Figure 1c: one heatmap per importance method (the table's `method`), `figure_method` first (left),
    the other beside it."""
    plt = pyplot()
    methods = [figure_method, *[m for m in dict.fromkeys(table["method"]) if m != figure_method]]
    n_rows, n_cols = table["attribute"].nunique(), table["q_id"].nunique()
    fig, axes = plt.subplots(1, len(methods), figsize=((0.62 * n_cols + 4.2) * len(methods), 0.45 * n_rows + 3.6),
                             dpi=120, squeeze=False)
    for ax, method in zip(axes[0], methods):
        _importance_panel(fig, ax, table[table["method"] == method], concepts, method)
    fig.suptitle("Figure 1c: attribute importance per question (random forest per question)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
