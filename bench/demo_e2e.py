"""Benchmark: the README's main command on the embedded default, from scratch, in a fresh copy of
the workflow (synthetic data, tiny base and GRPO models, evaluation, tables).

    python bench/demo_e2e.py [--markdown]
Target (issue 4): at most 10 minutes on 2 cores. Per-job times come from the rules' benchmark files.
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
sys.path.insert(0, str(ROOT / "tests"))
from conftest import copy_workflow  # noqa: E402
from test_evaluation_dag import readme_main_command  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--markdown", action="store_true")
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
    by_rule: dict[str, float] = defaultdict(float)
    for tsv in (wf / "benchmarks").rglob("*.tsv"):
        with open(tsv) as fh:
            seconds = float(next(csv.DictReader(fh, delimiter="\t"))["s"])
        by_rule[tsv.relative_to(wf / "benchmarks").parts[0].removesuffix(".tsv")] += seconds
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
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
