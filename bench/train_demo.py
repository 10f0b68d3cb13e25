"""Benchmark: the embedded demo's training (tokenizer, format warm-up, GRPO) on this machine, and
whether GRPO really learned: strict accuracy on the demo's whole cross_demographic benchmark for
the warmed-up base, the GRPO model and the uniform predictor.

    python bench/train_demo.py [--markdown]
Targets (issue 3): training <= 3 minutes on 2 cores; trained >= base + 10 points and > uniform.
Runs `snakemake results/models/tiny --forcerun tiny_base_model` (data stages are reused or built).
"""
from __future__ import annotations

import argparse
import csv
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
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from dvmap.local_train import greedy_completions, strict_accuracy
    from dvmap.prompts import chat_messages, with_prompts

    subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", "data"], cwd=ROOT, check=True,
                   capture_output=True)
    shutil.rmtree(ROOT / "results/checkpoints" / args.model, ignore_errors=True)  # train from scratch
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", f"results/models/{args.model}",
                    "--forcerun", "tiny_base_model"], cwd=ROOT, check=True, capture_output=True)
    wall = time.perf_counter() - start
    stages = {}
    for name in (f"{args.model}-base", args.model):
        with open(ROOT / f"benchmarks/train/{name}.tsv") as fh:
            row = next(csv.DictReader(fh, delimiter="\t"))
            stages[name] = (float(row["s"]), float(row["max_rss"]))

    torch.set_num_threads(2)
    bench = with_prompts(pd.read_parquet(ROOT / "results/benchmarks/cross_demographic.parquet"),
                         pd.read_parquet(ROOT / "results/prompts/structured_cot/cross_demographic.parquet"))
    messages = chat_messages(bench)
    scores = {"uniform": {"accuracy": float((1 / bench["options"].map(len)).mean()), "valid": 1.0}}
    for label, folder in (("base (warm-up only)", f"{args.model}-base"), ("GRPO", args.model)):
        path = ROOT / "results/models" / folder
        tok, model = AutoTokenizer.from_pretrained(path), AutoModelForCausalLM.from_pretrained(path)
        scores[label] = strict_accuracy(greedy_completions(model, tok, messages, 12), bench)
    gain = 100 * (scores["GRPO"]["accuracy"] - scores["base (warm-up only)"]["accuracy"])
    lines = [f"training wall (snakemake, both jobs): {wall:.0f} s; "
             + "; ".join(f"{k}: {s:.0f} s, {rss:.0f} MiB peak" for k, (s, rss) in stages.items()),
             f"cross_demographic, n = {len(bench)} (strict parsing, greedy):"]
    if args.markdown:
        lines += ["", "| predictor | accuracy | parseable |", "|---|---|---|"]
        lines += [f"| {k} | {100 * v['accuracy']:.1f}% | {100 * v['valid']:.1f}% |" for k, v in scores.items()]
    else:
        lines += [f"  {k:22s} accuracy {100 * v['accuracy']:5.1f}%  parseable {100 * v['valid']:5.1f}%"
                  for k, v in scores.items()]
    lines.append(f"GRPO gain over base: {gain:+.1f} points (target >= +10); above uniform: "
                 f"{scores['GRPO']['accuracy'] > scores['uniform']['accuracy']}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
