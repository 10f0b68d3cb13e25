"""The kit's vLLM code path run for real on CPU, with the community CPU build of vLLM (`vllm-cpu`,
in its own environment made by scripts/setup_vllm_cpu.sh; the cluster uses the official `vllm`):
offline `LLM.chat` (VLLMBackend, in a child process of that environment) and `server: vllm`
(local_server + OpenAIBackend), on the demo's tiny model built here. vLLM starts twice (about 25 s
each on an idle machine)."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from dvmap.errors import DVMapError, SpecError
from dvmap.evaluate import backends
from dvmap.evaluate.backends import (
    TransformersBackend,
    generate_into,
    open_backend,
    record,
    server,
    vllm_cli_args,
    vllm_engine,
)
from dvmap.evaluate.generate_job import generate_in_python
from dvmap.evaluate.predictions import PREDICTION_COLUMNS, PredictionLog, predictions_frame, prompt_keys
from dvmap.files import write_parquet
from dvmap.specs import ROOT, check_eval_models
from tools.engine_check import build_tiny_model, engine_requests

VLLM_PYTHON = Path(os.environ.get(backends.VLLM_PYTHON_ENV) or ROOT / ".venv-vllm" / "bin" / "python")
# What vLLM needs on a CPU machine: a KV cache that fits (GiB; the default asks for 92% of a NUMA
# node), its internal queues on loopback, and no graph capture (starts in about half the time).
CPU_ENV = {"VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_HOST_IP": "127.0.0.1"}
VLLM_ARGS = {"enforce_eager": True, "dtype": "float32", "max_model_len": 1024}
GREEDY = {"temperature": 0.0, "top_p": 1.0, "max_tokens": 24, "seed": 0, "concurrency": 4, "retries": 2,
          "backoff": 0.5, "timeout": 120, "max_api_error_rate": 0.0}
N = 48
PREFILLED = "prefilled before the vLLM run"


# ---- without vLLM ----------------------------------------------------------------------------------
def test_vllm_args_become_server_flags():
    assert vllm_cli_args({"enforce_eager": True, "dtype": "float32", "max_model_len": 1024,
                          "enable_prefix_caching": False, "hf_overrides": {"a": 1}}) == [
        "--enforce-eager", "--dtype", "float32", "--max-model-len", "1024", "--no-enable-prefix-caching",
        "--hf-overrides", '{"a": 1}']


def test_vllm_server_runs_with_the_vllm_python(monkeypatch):
    monkeypatch.delenv(backends.VLLM_PYTHON_ENV, raising=False)
    assert server.server_command("vllm", "m", 8000)[0] == vllm_engine.sys.executable
    monkeypatch.setenv(backends.VLLM_PYTHON_ENV, "/opt/vllm/bin/python")
    cmd = server.server_command("vllm", "m", 8000, ["--enforce-eager"])
    assert cmd[:3] == ["/opt/vllm/bin/python", "-m", "vllm.entrypoints.openai.api_server"]
    assert cmd[-1] == "--enforce-eager" and cmd[cmd.index("--host") + 1] == "127.0.0.1"
    assert server.server_command("vllm", "m", 8000, python="/x/python")[0] == "/x/python"


def test_vllm_args_need_a_vllm_engine(specs):
    models = specs["models"]
    models["eval_models"]["tiny-base"]["vllm_args"] = {"enforce_eager": True}  # a transformers server
    with pytest.raises(SpecError, match="eval_models/tiny-base/vllm_args"):
        check_eval_models(models, "specs/models.yaml")


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed in this Python")
def test_vllm_engine_without_vllm_names_the_fix():
    with pytest.raises(DVMapError, match="setup_vllm_cpu.sh"):
        backends.VLLMBackend("no-model", GREEDY)


# ---- with vLLM (its own environment) ----------------------------------------------------------------
@pytest.fixture(scope="module")
def vllm_python() -> str:
    if not VLLM_PYTHON.exists():
        pytest.skip(f"no vLLM environment at {VLLM_PYTHON}: create it with scripts/setup_vllm_cpu.sh "
                    f"(or point {backends.VLLM_PYTHON_ENV} at a Python with vLLM and the kit)")
    probe = subprocess.run([str(VLLM_PYTHON), "-c", "import vllm, dvmap.evaluate.backends"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"{VLLM_PYTHON} cannot import vllm and the kit (rerun scripts/setup_vllm_cpu.sh --force): "
                    f"{probe.stderr.strip().splitlines()[-1:]}")
    return str(VLLM_PYTHON)


@pytest.fixture(scope="module")
def tiny(vllm_python, _specs, tmp_path_factory):  # no vLLM environment: skipped before building
    """The demo's tiny model (architecture of specs/models.yaml: head_dim 32, which vLLM's CPU
    attention supports) with a tokenizer trained on the test's prompts and a short format warm-up."""
    requests = engine_requests(_specs, "structured_cot", N, seed=0)
    local = _specs["models"]["models"]["tiny"]["local"]
    assert local["architecture"]["head_dim"] in (32, 64, 80, 96, 112, 128)
    model_dir = build_tiny_model(tmp_path_factory.mktemp("tiny-vllm"), requests, local, warmup_steps=40,
                                 vocab_size=1024)
    return str(model_dir), requests


@pytest.fixture(scope="module")
def transformers_records(tiny):
    model_dir, requests = tiny
    return {r["sample_id"]: r for r in TransformersBackend(model_dir, GREEDY).generate(requests)}


@pytest.fixture(scope="module")
def offline_run(vllm_python, tiny, tmp_path_factory):
    """Offline vLLM through the kit's job runner, into a prediction log that already holds the
    first half of the samples (as a killed run leaves it)."""
    model_dir, requests = tiny
    out = tmp_path_factory.mktemp("offline")
    # as a killed run leaves it: each record stamped with the key of the prompt it answered
    log = PredictionLog(out / "partial.jsonl", prompt_keys(requests))
    log.append(record(r, PREFILLED) for r in requests[:N // 2])
    spec = {"engine": "vllm", "protocol": "greedy", "template": "structured_cot", "weights": {"base_of": "tiny"},
            "vllm_args": VLLM_ARGS, "env": CPU_ENV}
    with open(out / "vllm.log", "w") as fh:
        summary = generate_in_python(vllm_python, spec, model_dir, GREEDY, requests, log.path, log_file=fh)
    return log, summary


@pytest.mark.slow
def test_offline_vllm_matches_transformers_under_greedy(tiny, transformers_records, offline_run):
    _, requests = tiny
    log, _ = offline_run
    records = log.load()
    generated = [r.sample_id for r in requests[N // 2:]]
    assert [records[s]["parsed"] for s in generated] == [transformers_records[s]["parsed"] for s in generated]
    assert [records[s]["response"] for s in generated] == [transformers_records[s]["response"] for s in generated]
    assert sum(records[s]["status"] == "ok" for s in generated) >= 4  # the warmed-up format: answers parse


@pytest.mark.slow
def test_offline_vllm_resumes_and_writes_the_predictions_contract(tiny, offline_run, tmp_path):
    _, requests = tiny
    log, summary = offline_run
    assert summary["generated"] == N - N // 2  # only what the log did not hold
    lines = [json.loads(line)["sample_id"] for line in log.path.read_text().splitlines()]
    assert len(lines) == len(set(lines)) == N  # nothing redone, nothing duplicated
    records = log.load()
    assert all(records[r.sample_id]["response"] == PREFILLED for r in requests[:N // 2])
    assert {records[r.sample_id]["status"] for r in requests[N // 2:]} <= {"ok", "parse_error"}
    ids = [r.sample_id for r in requests]
    write_parquet(predictions_frame(ids, records), tmp_path / "cross_demographic.parquet")
    frame = pd.read_parquet(tmp_path / "cross_demographic.parquet")
    assert list(frame.columns) == PREDICTION_COLUMNS and frame["sample_id"].tolist() == ids


@pytest.mark.slow
def test_vllm_server_generates_like_offline(vllm_python, tiny, transformers_records, offline_run, tmp_path,
                                            monkeypatch):
    """`server: vllm`: the kit starts vLLM's OpenAI-compatible server with the vLLM environment's
    Python on loopback, generates through the OpenAI client (real requests), stops the server."""
    model_dir, requests = tiny
    monkeypatch.setenv(backends.VLLM_PYTHON_ENV, vllm_python)
    spec = {"engine": "openai", "server": "vllm", "vllm_args": VLLM_ARGS, "env": CPU_ENV}
    store = PredictionLog(tmp_path / "server.jsonl")
    with open(tmp_path / "server.log", "w") as fh, open_backend(spec, model_dir, GREEDY, log_file=fh) as backend:
        base = str(backend.client.base_url).rstrip("/").removesuffix("/v1")
        assert generate_into(store, backend, requests) == N
    served = store.load()
    assert {r["status"] for r in served.values()} <= {"ok", "parse_error"}, (tmp_path / "server.log").read_text()[-3000:]
    ids = [r.sample_id for r in requests]
    assert [served[s]["response"] for s in ids] == [transformers_records[s]["response"] for s in ids]
    offline = offline_run[0].load()
    assert all(served[s]["response"] == offline[s]["response"] for s in ids[N // 2:])
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{base}/health", timeout=2)  # stopped afterwards
