"""Benchmark: the workflow's data target (`snakemake data`: read, filter, split, audits, all prompts
and exports) on the full-size synthetic WVS-7 file (97,220 respondents x 600 columns), against just
reading the needed columns. The stage is the DAG itself, not a re-implementation of its rules.

    python bench/data_stage.py            # prints a table; add --markdown for BENCHMARKS.md
Targets (issue 2): stage wall <= 20 s and <= 3x the read-only time, on a 2-core machine.
Each measurement runs in a fresh subprocess so its peak memory (max RSS) is its own.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
SURVEY = OUT / "wvs7_synthetic_full.sav"


def load_specs() -> dict:
    import yaml

    from dvmap.configuration import load_config

    config = yaml.safe_load((ROOT / "specs/config.yaml").read_text())
    config["specs"]["splits"] = "specs/splits.yaml"  # the paper's sample sizes
    os.chdir(ROOT)
    return load_config(config)


def make_survey() -> None:
    from dvmap.data.synthetic import synthetic_frame, write_sav
    from dvmap.specs import read_yaml

    specs = load_specs()
    OUT.mkdir(parents=True, exist_ok=True)
    frame, value_labels, column_labels = synthetic_frame(specs, "full", read_yaml(specs["synthetic"]["calibration"]))
    write_sav(frame, value_labels, column_labels, SURVEY)


def read_only() -> dict:
    import pyreadstat

    from dvmap.data.wvs_io import INTERVIEW_VAR, WEIGHT_VAR, required_columns

    specs = load_specs()
    start = time.perf_counter()
    df, _ = pyreadstat.read_sav(str(SURVEY), usecols=[*required_columns(specs), WEIGHT_VAR, INTERVIEW_VAR],
                                apply_value_formats=False)
    return {"seconds": time.perf_counter() - start, "rows": len(df)}


def stage() -> dict:
    """The workflow's own data target (read, per-country coding and archetypes, pools, datasets,
    audits, every prompt and export) on the full-size file, in a copy of the workflow."""
    sys.path.insert(0, str(ROOT))
    from tools.workflow_copy import copy_workflow, run_snakemake

    with tempfile.TemporaryDirectory(prefix="dvmap-bench-") as tmp:
        wf = copy_workflow(Path(tmp) / "wf")
        start = time.perf_counter()
        run_snakemake(wf, "data", "--config", f"survey_file={SURVEY}")
        seconds = time.perf_counter() - start
        import pandas as pd

        laps: dict[str, float] = {}  # job seconds per rule folder, from the rules' benchmark files
        for tsv in (wf / "benchmarks").rglob("*.tsv"):
            key = tsv.relative_to(wf / "benchmarks").parts[0].removesuffix(".tsv")
            laps[key] = round(laps.get(key, 0.0) + float(pd.read_csv(tsv, sep="\t")["s"].iloc[0]), 2)
        respondents = len(pd.read_parquet(wf / "results/data/survey_codes.parquet", columns=[]))

        samples = sum(len(pd.read_parquet(p)) for p in (wf / "results").glob("*/*.parquet")
                      if p.parent.name in ("corpus", "benchmarks"))
        prompts = sum(len(pd.read_parquet(p)) for p in (wf / "results/prompts").rglob("*.parquet"))
    return {"seconds": seconds, "laps": laps, "respondents": respondents, "samples": samples, "prompts": prompts}


def measure(what: str) -> dict:
    """Run one measurement in a fresh interpreter; add its wall time (incl. imports) and peak RSS."""
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "MAXRSS_KB=%M", sys.executable, __file__, "--run", what],
                          capture_output=True, text=True, check=True)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_seconds"] = time.perf_counter() - start
    result["peak_rss_mib"] = int(proc.stderr.split("MAXRSS_KB=")[-1].split()[0]) / 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--run", choices=["read_only", "stage"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.run:
        print(json.dumps(globals()[args.run]()))
        return
    if not SURVEY.exists():
        print(f"generating {SURVEY} ...", file=sys.stderr)
        make_survey()
    reads = [measure("read_only") for _ in range(args.repeat)]
    stages = [measure("stage") for _ in range(args.repeat)]
    best_read = min(r["seconds"] for r in reads)
    best = min(stages, key=lambda r: r["seconds"])
    rows = [("read needed columns (pyreadstat)", best_read, max(r["peak_rss_mib"] for r in reads)),
            ("data stage: read, filter, split, audits, all prompts", best["seconds"],
             max(r["peak_rss_mib"] for r in stages))]
    ratio = best["seconds"] / best_read
    if args.markdown:
        print(f"| measurement | best of {args.repeat} (s) | peak RSS (MiB) |\n|---|---|---|")
        for name, secs, rss in rows:
            print(f"| {name} | {secs:.2f} | {rss:.0f} |")
        print(f"\nstage / read = {ratio:.2f} (target <= 3); stage laps (s): {best['laps']}; "
              f"{best['respondents']} respondents, {best['samples']} samples, {best['prompts']} prompts")
    else:
        for name, secs, rss in rows:
            print(f"{name:55s} {secs:7.2f} s  {rss:7.0f} MiB")
        print(f"stage / read = {ratio:.2f} (target <= 3, wall target <= 20 s); laps {best['laps']}")
        print(f"{best['respondents']} respondents, {best['samples']} samples, {best['prompts']} prompts")


if __name__ == "__main__":
    main()
