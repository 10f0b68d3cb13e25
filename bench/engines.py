"""Benchmark: generation throughput of the engines on the demo's tiny model, same prompts, greedy
decoding: transformers (in this Python) and vLLM offline (`LLM.chat`, in the vLLM environment of
scripts/setup_vllm_cpu.sh), optionally vLLM's OpenAI-compatible server (`server: vllm`). Also
counts how many responses agree with transformers'.

    python bench/engines.py [--samples 256] [--model DIR] [--server] [--markdown]
Without --model it builds the tiny model (architecture of specs/models.yaml) on the prompts first.
Start-up (model load; vLLM's engine start) is reported apart from generation.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CPU_ENV = {"VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_HOST_IP": "127.0.0.1"}
VLLM_ARGS = {"enforce_eager": True, "dtype": "float32", "max_model_len": 1024}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--model", help="a Hugging Face model directory (default: build the tiny model)")
    parser.add_argument("--warmup-steps", type=int, default=60)
    parser.add_argument("--max-tokens", type=int, default=24)
    parser.add_argument("--server", action="store_true", help="also vLLM's OpenAI-compatible server")
    parser.add_argument("--vllm-python", default=os.environ.get("DVMAP_VLLM_PYTHON")
                        or str(ROOT / ".venv-vllm/bin/python"))
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import torch
    import yaml

    from dvmap.configuration import load_config
    from dvmap.evaluate.backends import TransformersBackend, generate_into, open_backend
    from dvmap.evaluate.generate_job import generate_in_python
    from dvmap.evaluate.predictions import PredictionLog
    from tools.engine_check import build_tiny_model, engine_requests

    torch.set_num_threads(2)
    os.chdir(ROOT)
    specs = load_config(yaml.safe_load((ROOT / "specs/config.yaml").read_text()))
    sampling = {**specs["models"]["protocols"]["demo"], "temperature": 0.0, "max_tokens": args.max_tokens,
                "concurrency": 16}
    requests = engine_requests(specs, "structured_cot", args.samples, seed=0)
    tmp = Path(tempfile.mkdtemp(prefix="dvmap-bench-engines-"))
    model = args.model or str(build_tiny_model(tmp / "tiny", requests, specs["models"]["models"]["tiny"]["local"],
                                               warmup_steps=args.warmup_steps, vocab_size=1024))
    rows = []

    start = time.perf_counter()
    backend = TransformersBackend(model, sampling)
    ready = time.perf_counter()
    reference = {r["sample_id"]: r for r in backend.generate(requests)}
    rows.append(("transformers (batch 32)", ready - start, time.perf_counter() - ready, reference))

    spec = {"engine": "vllm", "vllm_args": VLLM_ARGS, "env": CPU_ENV}
    with open(tmp / "vllm.log", "w") as fh:
        summary = generate_in_python(args.vllm_python, spec, model, sampling, requests, tmp / "offline.jsonl",
                                     log_file=fh)
    rows.append(("vLLM offline (LLM.chat)", summary["start_s"], summary["generate_s"],
                 PredictionLog(tmp / "offline.jsonl").load()))

    if args.server:
        os.environ["DVMAP_VLLM_PYTHON"] = args.vllm_python
        store = PredictionLog(tmp / "server.jsonl")
        start = time.perf_counter()
        with open(tmp / "server.log", "w") as fh, open_backend({"engine": "openai", "server": "vllm",
                                                                 "vllm_args": VLLM_ARGS, "env": CPU_ENV},
                                                                model, sampling, log_file=fh) as client:
            ready = time.perf_counter()
            generate_into(store, client, requests)
            done = time.perf_counter()
        rows.append(("vLLM server (16 concurrent requests)", ready - start, done - ready, store.load()))

    ids = [r.sample_id for r in requests]
    header = f"{len(requests)} prompts (structured_cot), greedy, max_tokens {args.max_tokens}"
    if args.markdown:
        print(f"{header}\n\n| engine | start (s) | generate (s) | samples/s | same text as transformers |\n|---|---|---|---|---|")
    else:
        print(header)
    for name, start_s, gen_s, records in rows:
        same = sum(records[s]["response"] == reference[s]["response"] for s in ids)
        cells = (name, f"{start_s:.1f}", f"{gen_s:.1f}", f"{len(ids) / gen_s:.1f}", f"{same}/{len(ids)}")
        print("| " + " | ".join(cells) + " |" if args.markdown else "  ".join(cells))


if __name__ == "__main__":
    main()
