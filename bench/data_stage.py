"""Benchmark: the data stage (read, filter, split, audits, all prompts) on the full-size synthetic
WVS-7 file (97,220 respondents x 600 columns), against just reading the needed columns.

    python bench/data_stage.py            # prints a table; add --markdown for BENCHMARKS.md
Targets (issue 2): stage wall <= 20 s and <= 3x the read-only time, on a 2-core machine.
Each measurement runs in a fresh subprocess so its peak memory (max RSS) is its own.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
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

    from dvmap.specs import load_config

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


_PROMPT_JOB_STATE: tuple = ()


def _prompt_job(job: tuple[str, str]) -> int:
    from dvmap.data import prompts
    from dvmap.files import write_parquet

    datasets, names, templates, out = _PROMPT_JOB_STATE
    template_name, dataset = job
    rendered = prompts.render_prompts(datasets[dataset], names, templates[template_name])
    write_parquet(rendered, out / f"prompts_{template_name}_{dataset}.parquet")
    return len(rendered)


def stage() -> dict:
    """Everything the data rules do, in one process, writing the same files."""
    from dvmap.data import archetypes, audit, splits, wvs_io
    from dvmap.files import write_json, write_parquet

    specs = load_specs()
    names = [a["name"] for a in specs["attributes"]["attributes"]]
    questions, countries = specs["questions"]["questions"], specs["countries"]["countries"]
    out = Path(tempfile.mkdtemp(prefix="dvmap-bench-"))
    laps, start = {}, time.perf_counter()

    def lap(name):
        laps[name] = round(time.perf_counter() - start - sum(laps.values()), 3)

    respondents = wvs_io.read_respondents(SURVEY, specs)
    respondents.insert(1, "profile_id", archetypes.profile_ids(respondents, names))
    write_parquet(respondents, out / "respondents.parquet")
    lap("read")
    table = archetypes.archetype_table(respondents, questions, specs["filter"])
    write_parquet(table, out / "archetypes.parquet")
    lap("filter")
    profiles = archetypes.profile_table(respondents, names)
    datasets, shortfalls = splits.build_datasets(table, profiles, countries, questions, names, specs["splits"])
    for name, d in datasets.items():
        write_parquet(d, out / f"{name}.parquet")
    lap("split")
    report = audit.leakage_report(datasets, countries, questions)
    audit.assert_no_leakage(report)
    write_json(report, out / "leakage.json")
    write_json(audit.filtering_report(respondents, table, names, specs["filter"]), out / "filtering.json")
    write_json(audit.counts_report(datasets, shortfalls), out / "counts.json")
    lap("audits")
    # One prompt job per (template, dataset), two at a time: what `snakemake --cores 2` runs.
    global _PROMPT_JOB_STATE
    _PROMPT_JOB_STATE = (datasets, names, specs["prompts"]["templates"], out)
    jobs = [(t, d) for t in specs["prompts"]["templates"] for d in datasets]
    with multiprocessing.get_context("fork").Pool(2) as pool:
        n_prompts = sum(pool.map(_prompt_job, jobs, chunksize=1))
    lap("prompts")
    return {"seconds": time.perf_counter() - start, "laps": laps, "respondents": len(respondents),
            "samples": sum(len(d) for d in datasets.values()), "prompts": n_prompts}


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
