"""One generation job run by another Python: the vLLM stack lives in an environment of its own
(`.venv-vllm` from scripts/setup_vllm_cpu.sh on CPU), apart from the CPU demo stack. The job (eval
model spec, weights, sampling, requests, prediction log) travels as a JSON file; the child appends
to the same resumable prediction log (dvmap.evaluate.predictions) and writes a summary.

    python -m dvmap.evaluate.generate_job JOB.json
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from dvmap.errors import DVMapError
from dvmap.evaluate.backends import Request, generate_into, open_backend, vllm_python
from dvmap.evaluate.backends.vllm_engine import env_text
from dvmap.evaluate.predictions import PredictionLog, pending, prompt_keys


def job_document(spec: Mapping, weights: str, sampling: Mapping, requests: Sequence[Request],
                 log_path: str | Path, summary_path: str | Path) -> dict:
    """The JSON-serialisable job: what `run_job` needs, paths made absolute."""
    return {"spec": dict(spec), "weights": str(weights), "sampling": dict(sampling),
            "log": str(Path(log_path).resolve()), "summary": str(Path(summary_path).resolve()),
            "requests": [{"sample_id": r.sample_id, "messages": r.messages, "options": list(r.options)}
                         for r in requests]}


def run_job(job: Mapping, log_file=None) -> dict:
    """Start the spec's backend, generate what the log has not finished, stop it. Returns
    {generated, start_s, generate_s}: how many were generated now, seconds to start, to generate."""
    requests = [Request(r["sample_id"], r["messages"], r["options"]) for r in job["requests"]]
    started = time.monotonic()
    with open_backend(job["spec"], job["weights"], job["sampling"], log_file=log_file) as backend:
        ready = time.monotonic()
        generated = generate_into(PredictionLog(job["log"], prompt_keys(requests)), backend, requests,
                                  desc=f"{job['spec']['engine']}")
        done = time.monotonic()
    return {"generated": generated, "start_s": round(ready - started, 3), "generate_s": round(done - ready, 3)}


def generate_in_python(python: str, spec: Mapping, weights: str, sampling: Mapping, requests: Sequence[Request],
                       log_path: str | Path, log_file=None) -> dict:
    """Run one job in a child process of `python` (which must have the engine and the kit installed),
    whose environment is this one plus the spec's `env` (what vLLM reads as its engine starts), and
    return its summary; its output goes to `log_file` (or is discarded). A failed child is a
    DVMapError naming its exit status."""
    if not Path(python).exists():
        raise DVMapError(f"{python}: no such Python (create the vLLM environment with scripts/setup_vllm_cpu.sh)")
    with tempfile.TemporaryDirectory(prefix="dvmap-job-") as tmp:
        job_path, summary_path = Path(tmp) / "job.json", Path(tmp) / "summary.json"
        job_path.write_text(json.dumps(job_document(spec, weights, sampling, requests, log_path, summary_path)))
        proc = subprocess.run([python, "-m", "dvmap.evaluate.generate_job", str(job_path)], stdout=log_file or subprocess.DEVNULL,
                              stderr=subprocess.STDOUT, env={**os.environ, **env_text(spec.get("env"))})
        if proc.returncode != 0:
            raise DVMapError(f"generation with {python} exited with {proc.returncode} (finished predictions are kept "
                             f"in {log_path}; the child's output is in the job's log)")
        return json.loads(summary_path.read_text())


# ---- the generate rule's policy (scripts/generate.py is its adapter) ------------------------------------
def vllm_importable() -> bool:
    import importlib.util

    return importlib.util.find_spec("vllm") is not None


def generate_pending(spec: Mapping, weights: str, sampling: Mapping, requests: Sequence[Request], store: PredictionLog,
                     log_path: str | Path, log, server_log, desc: str) -> None:
    """Generate what the prediction log `store` (at `log_path`) has not finished. The vLLM engine runs
    in a child process given the spec's `env` as it starts (this process's environment is never
    changed): of this Python when vLLM is installed here, else of the one DVMAP_VLLM_PYTHON names
    (scripts/setup_vllm_cpu.sh). Other engines run here. Nothing starts when nothing is left."""
    n_pending = len(pending([r.sample_id for r in requests], store.load()))
    log.info("%d of %d samples to generate (%s engine); finished ones are kept in %s", n_pending, len(requests),
             spec["engine"], log_path)
    if not n_pending:
        return
    if spec["engine"] == "vllm":
        python = sys.executable if vllm_importable() else vllm_python()
        log.info("generating with vLLM in a child process of %s", python)
        server_log.flush()
        generate_in_python(python, spec, weights, sampling, requests, log_path, log_file=server_log)
        return
    with open_backend(spec, weights, sampling, log_file=server_log) as backend:
        generate_into(store, backend, requests, desc=desc)


def check_api_errors(frame: pd.DataFrame, max_rate: float, log_path: str | Path) -> None:
    """More API errors than the sampling spec's `max_api_error_rate` allows stop the job (the finished
    predictions stay in the log: a rerun retries only the failed ones)."""
    failed = frame[frame["status"] == "api_error"]
    if len(failed) > max_rate * len(frame):
        raise DVMapError(f"{len(failed)} of {len(frame)} samples failed with API errors (first: "
                         f"{failed['error'].iloc[0]}); finished predictions are kept in {log_path}: "
                         f"rerun to retry the failed ones")


def main(argv: Sequence[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m dvmap.evaluate.generate_job JOB.json", file=sys.stderr)
        return 2
    job = json.loads(Path(argv[0]).read_text())
    summary = run_job(job, log_file=sys.stdout)
    Path(job["summary"]).write_text(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
