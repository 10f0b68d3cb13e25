"""Benchmark: the embedded demo's training (tokenizer, format warm-up, GRPO for every seed of
specs/experiments.yaml) on this machine, and whether GRPO really learned: strict accuracy (greedy)
on the demo's whole cross_demographic benchmark for the warmed-up base, each seed's GRPO model
(the checkpoint selected on dev) and the uniform predictor.

    python bench/train_demo.py [--markdown]
Targets (issue 7): mean gain >= +10 points over the seeds, every seed >= +5, parseable >= 95%.
Runs `snakemake results/models/tiny__s{seed}... --forcerun tiny_base_model` (data stages are reused or built).
"""
from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--model", default="tiny")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import pandas as pd
    import torch
    import yaml
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from dvmap.data.prompts import chat_messages, with_prompts
    from dvmap.train.local import greedy_completions, strict_accuracy

    seeds = yaml.safe_load((ROOT / "specs/experiments.yaml").read_text())["seeds"]
    runs = [f"{args.model}__s{s}" for s in seeds]
    subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", "data"], cwd=ROOT, check=True,
                   capture_output=True)
    for run in runs:  # train from scratch
        shutil.rmtree(ROOT / "results/checkpoints" / run, ignore_errors=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", *[f"results/models/{r}" for r in runs],
                    "--forcerun", "tiny_base_model"], cwd=ROOT, check=True, capture_output=True)
    wall = time.perf_counter() - start
    stages = {}
    for name in (f"{args.model}-base", *runs):
        with open(ROOT / f"benchmarks/train/{name}.tsv") as fh:
            row = next(csv.DictReader(fh, delimiter="\t"))
            stages[name] = (float(row["s"]), float(row["max_rss"]))

    torch.set_num_threads(2)
    bench = with_prompts(pd.read_parquet(ROOT / "results/benchmarks/cross_demographic.parquet"),
                         pd.read_parquet(ROOT / "results/prompts/structured_cot/cross_demographic.parquet"))
    messages = chat_messages(bench)
    scores = {"uniform": {"accuracy": float((1 / bench["options"].map(len)).mean()), "valid": 1.0}}
    for label, folder in (("base (warm-up only)", f"{args.model}-base"), *((f"GRPO seed {r.split('__s')[1]}", r)
                                                                          for r in runs)):
        path = ROOT / "results/models" / folder
        tok, model = AutoTokenizer.from_pretrained(path), AutoModelForCausalLM.from_pretrained(path)
        scores[label] = strict_accuracy(greedy_completions(model, tok, messages, 12), bench)
        if folder != f"{args.model}-base":
            log = [json.loads(x) for x in (path / "train_log.jsonl").read_text().splitlines()]
            scores[label]["selected_step"] = log[-1]["selected_step"]
    base = scores["base (warm-up only)"]["accuracy"]
    gains = [100 * (v["accuracy"] - base) for k, v in scores.items() if k.startswith("GRPO")]
    valid = [v["valid"] for k, v in scores.items() if k.startswith("GRPO")]
    lines = [f"training wall (snakemake, base + {len(runs)} GRPO jobs): {wall:.0f} s; "
             + "; ".join(f"{k}: {s:.0f} s, {rss:.0f} MiB peak" for k, (s, rss) in stages.items()),
             f"cross_demographic, n = {len(bench)} (strict parsing, greedy):"]
    if args.markdown:
        lines += ["", "| predictor | accuracy | parseable | selected step |", "|---|---|---|---|"]
        lines += [f"| {k} | {100 * v['accuracy']:.1f}% | {100 * v['valid']:.1f}% | {v.get('selected_step', '')} |"
                  for k, v in scores.items()]
    else:
        lines += [f"  {k:22s} accuracy {100 * v['accuracy']:5.1f}%  parseable {100 * v['valid']:5.1f}%"
                  for k, v in scores.items()]
    lines.append(f"GRPO gain over base per seed: {', '.join(f'{g:+.1f}' for g in gains)} points; mean "
                 f"{sum(gains) / len(gains):+.1f} (target >= +10), min {min(gains):+.1f} (target >= +5); "
                 f"parseable min {100 * min(valid):.1f}% (target >= 95%)")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
