"""Snakemake adapter: generate one evaluated model's answers on one dataset, resumably."""
import os
from pathlib import Path

import pandas as pd

from dvmap.data.prompts import chat_messages, with_prompts
from dvmap.engines import require_engine
from dvmap.errors import DVMapError
from dvmap.evaluate.backends import VLLM_PYTHON_ENV, Request, generate_into, needs_vllm, open_backend, vllm_python
from dvmap.evaluate.generate_job import generate_in_python
from dvmap.evaluate.predictions import PredictionLog, pending, predictions_frame, prompt_keys
from dvmap.files import logged, write_parquet
from dvmap.train.checkpoints import run_fingerprint

sm = snakemake  # noqa: F821
spec, sampling, weights = sm.params.model, sm.params.sampling, sm.params.weights


def vllm_importable() -> bool:
    import importlib.util

    return importlib.util.find_spec("vllm") is not None


def partial_log_path() -> str:
    """The resumable log of this exact generation: a folder per job, a file per fingerprint of the
    engine spec, sampling and weights, so a retrained model or a changed protocol never reuses
    predictions of another. Prompts are checked per sample (each record holds its prompt's key), so
    a changed dataset keeps the predictions of its unchanged samples."""
    fingerprint = run_fingerprint({"spec": spec, "sampling": sampling, "weights": weights}, list(sm.input.weights))
    return str(Path(sm.params.partial).with_suffix("") / f"{fingerprint}.jsonl")


with logged(sm.log[0]) as log, open(sm.log[0], "a") as server_log:
    if needs_vllm(spec):  # generate_vllm: the wrong environment stops here, before any data, model or server
        require_engine("vllm", vllm_python())
    partial = partial_log_path()
    samples = pd.read_parquet(sm.input.dataset)
    prompts = with_prompts(samples[["sample_id", "options"]], pd.read_parquet(sm.input.prompts))
    requests = {sid: Request(sid, msgs, list(opts)) for sid, msgs, opts in
                zip(prompts["sample_id"], chat_messages(prompts), prompts["options"])}
    store = PredictionLog(partial, prompt_keys(requests.values()))
    every = list(requests.values())  # generate_into skips what the log already holds
    n_pending = len(pending(list(requests), store.load()))
    log.info("%d of %d samples to generate (%s engine); finished ones are kept in %s", n_pending, len(requests),
             spec["engine"], partial)
    if n_pending and spec["engine"] == "vllm" and not vllm_importable() and os.environ.get(VLLM_PYTHON_ENV):
        # vLLM lives in an environment of its own (scripts/setup_vllm_cpu.sh): run the job with its Python
        log.info("vLLM is not installed here: generating with %s=%s", VLLM_PYTHON_ENV, os.environ[VLLM_PYTHON_ENV])
        server_log.flush()
        generate_in_python(os.environ[VLLM_PYTHON_ENV], spec, weights, sampling, every, partial,
                           log_file=server_log)
    elif n_pending:  # no engine or server is started when nothing is left
        with open_backend(spec, weights, sampling, log_file=server_log) as backend:
            generate_into(store, backend, every, desc=f"{sm.wildcards.model} {sm.wildcards.dataset}")
    frame = predictions_frame(list(requests), store.load())
    failed = frame[frame["status"] == "api_error"]
    if len(failed) > sampling["max_api_error_rate"] * len(frame):
        raise DVMapError(f"{len(failed)} of {len(frame)} samples failed with API errors (first: "
                         f"{failed['error'].iloc[0]}); finished predictions are kept in {partial}: "
                         f"rerun to retry the failed ones")
    write_parquet(frame, sm.output[0])
    log.info("status counts: %s", frame["status"].value_counts().to_dict())
