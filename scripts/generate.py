"""Snakemake adapter: generate one evaluated model's answers on one dataset, resumably."""
from pathlib import Path

import pandas as pd

from dvmap.data.prompts import chat_messages, with_prompts
from dvmap.engines import require_engine
from dvmap.evaluate.backends import Request, needs_vllm, vllm_python
from dvmap.evaluate.generate_job import check_api_errors, generate_pending
from dvmap.evaluate.predictions import PredictionLog, predictions_frame, prompt_keys
from dvmap.files import logged, write_parquet
from dvmap.train.checkpoints import run_fingerprint

sm = snakemake  # noqa: F821
spec, sampling, weights = sm.params.model, sm.params.sampling, sm.params.weights


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
    generate_pending(spec, weights, sampling, list(requests.values()), store, partial, log, server_log,
                     desc=f"{sm.wildcards.model} {sm.wildcards.dataset}")
    frame = predictions_frame(list(requests), store.load())
    check_api_errors(frame, sampling["max_api_error_rate"], partial)
    write_parquet(frame, sm.output[0])
    log.info("status counts: %s", frame["status"].value_counts().to_dict())
