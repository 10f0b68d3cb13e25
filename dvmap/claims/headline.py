"""The lines printed when a run ends (Snakefile onsuccess): the main table and the claims' verdicts."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from dvmap.claims.verdicts import summary_line


# ---- the headline printed when a run ends (Snakefile onsuccess) ------------------------------------------------
def headline(table: str, claims: Sequence[str], root: str | Path = ".", report: str = "results/report.html"
             ) -> list[str]:
    """Lines for the end of a run from the files that exist (none are required): the main table's
    rows (model, accuracy with CI, n), then for each claims file (one per target, each named) the
    verdicts by evidence and where the details are. The paths are the rules' (Snakefile onsuccess)."""
    root = Path(root)
    lines = []
    if (root / table).is_file():
        frame = pd.read_csv(root / table)
        if {"model", "acc", "acc_ci_low", "acc_ci_high", "n"} <= set(frame.columns) and not frame.empty:
            lines.append(f"{table} (cross-demographic accuracy, 95% CI):")
            width = max(len(str(m)) for m in frame["model"])
            lines += [f"  {str(r.model):<{width}}  {100 * r.acc:5.1f}% [{100 * r.acc_ci_low:5.1f}, "
                      f"{100 * r.acc_ci_high:5.1f}]  n = {r.n}" for r in frame.itertuples()]
    for path in map(str, claims):
        if not (root / path).is_file():
            continue
        frame = pd.read_csv(root / path)
        if {"verdict", "evidence", "same_as"} <= set(frame.columns):
            survey = next((s for s in frame.get("survey", pd.Series(dtype=str)).dropna() if s), "")
            lines.append(f"The paper's claims in {path} ({len(frame)}" + (f", judged on {survey}" if survey else "")
                         + "):")
            lines.append(f"  {summary_line(frame)}")
            markdown = Path(path).with_suffix(".md")
            lines.append(f"  details: {markdown}" + ("" if (root / markdown).is_file() else " (not built)"))
    if lines:
        built = (root / report).is_file()
        lines.append(f"Report: {report}" + ("" if built else f" (make it: snakemake --report {report})"))
    return lines
