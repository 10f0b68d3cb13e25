"""Benchmark: the README's main command on the embedded default, from scratch, in a fresh copy of
the workflow (synthetic data, tiny base and GRPO models, evaluation, tables).

    python bench/demo_e2e.py [--markdown] [--paper]
Targets: the main command at most 10 minutes on 2 cores (issue 4); with --paper, then every paper
table and figure (`snakemake --cores all paper`) from the built main in at most 30 minutes
(issue 7). Per-job times come from the rules' benchmark files.
"""
from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tools.workflow_copy import copy_workflow, readme_main_command  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--paper", action="store_true", help="then time the paper target from the built main")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dvmap-demo-"))
    wf = copy_workflow(work / "wf")
    command = readme_main_command()
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "MAXRSS_KB=%M", sys.executable, "-m", *command], cwd=wf,
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(proc.stderr[-3000:])
    by_rule = job_seconds(wf)
    table = (wf / "results/table2.csv").read_text()
    peak = int(proc.stderr.split("MAXRSS_KB=")[-1].split()[0]) / 1024
    print(f"{' '.join(command)}: {wall:.0f} s wall (target <= 600 s), peak RSS of the snakemake process {peak:.0f} MiB")
    print("job seconds by rule (benchmark files): " + ", ".join(f"{k} {v:.0f}" for k, v in sorted(by_rule.items())))
    if args.markdown:
        rows = list(csv.reader(table.splitlines()))
        keep = ["model", "acc", "acc_ci_low", "acc_ci_high", "lc", "wd", "jsd", "parse_failure_rate"]
        idx = [rows[0].index(k) for k in keep]
        print("\n| " + " | ".join(keep) + " |\n|" + "---|" * len(keep))
        for r in rows[1:]:
            print("| " + " | ".join(r[i] for i in idx) + " |")
    else:
        print(table)
    print("\nper seed (results/table2_seeds.csv):\n" + (wf / "results/table2_seeds.csv").read_text())
    if args.paper:
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "all", "paper"], cwd=wf,
                              capture_output=True, text=True)
        paper_wall = time.perf_counter() - start
        if proc.returncode != 0:
            sys.exit(proc.stderr[-3000:])
        after = job_seconds(wf)
        print(f"snakemake --cores all paper (from the built main): {paper_wall:.0f} s wall (target <= 1800 s)")
        print("job seconds by rule, paper target only: " + ", ".join(
            f"{k} {after[k] - by_rule.get(k, 0):.0f}" for k in sorted(after) if after[k] - by_rule.get(k, 0) > 0.5))
        for table_name in ("table3", "table4", "table5", "table10"):
            print(f"\n{table_name}.csv:\n" + (wf / f"results/{table_name}.csv").read_text())
    shutil.rmtree(work, ignore_errors=True)


def job_seconds(wf: Path) -> dict[str, float]:
    """Seconds of every job, summed per rule (from the rules' benchmark files)."""
    by_rule: dict[str, float] = defaultdict(float)
    for tsv in (wf / "benchmarks").rglob("*.tsv"):
        with open(tsv) as fh:
            seconds = float(next(csv.DictReader(fh, delimiter="\t"))["s"])
        by_rule[tsv.relative_to(wf / "benchmarks").parts[0].removesuffix(".tsv")] += seconds
    return by_rule


if __name__ == "__main__":
    main()
