"""Snakemake adapter: generate one evaluated model's answers on one dataset, resumably."""
import os

import pandas as pd

from dvmap.backends import (OpenAIBackend, Request, TransformersBackend, VLLMBackend, generate_into,
                            local_server)
from dvmap.errors import DVMapError
from dvmap.io import logged, write_parquet
from dvmap.predictions import PredictionLog, pending, predictions_frame
from dvmap.prompts import chat_messages, with_prompts

sm = snakemake  # noqa: F821
spec, sampling, weights = sm.params.model, sm.params.sampling, sm.params.weights


def run(backend, todo, store):
    generate_into(store, backend, todo, desc=f"{sm.wildcards.model} {sm.wildcards.dataset}")


with logged(sm.log[0]) as log, open(sm.log[0], "a") as server_log:
    samples = pd.read_parquet(sm.input.dataset)
    prompts = with_prompts(samples[["sample_id", "options"]], pd.read_parquet(sm.input.prompts))
    requests = {sid: Request(sid, msgs, list(opts)) for sid, msgs, opts in
                zip(prompts["sample_id"], chat_messages(prompts), prompts["options"])}
    store = PredictionLog(sm.params.partial)
    every = list(requests.values())  # generate_into skips what the log already holds
    n_pending = len(pending(list(requests), store.load()))
    log.info("%d of %d samples to generate (%s engine); finished ones are kept in %s", n_pending, len(requests),
             spec["engine"], sm.params.partial)
    if n_pending:  # no server is started when nothing is left
        if spec["engine"] == "openai" and "server" in spec:
            with local_server(spec["server"], weights, log_file=server_log) as url:
                run(OpenAIBackend(url, weights, sampling, extra_body=spec.get("extra_body")), every, store)
        elif spec["engine"] == "openai":
            key_var = spec.get("api_key_env")
            if key_var and not os.environ.get(key_var):
                raise DVMapError(f"eval model {sm.wildcards.model}: set the API key in the environment variable {key_var}")
            run(OpenAIBackend(spec["endpoint"], weights, sampling, os.environ.get(key_var, "not-needed"),
                              spec.get("extra_body")), every, store)
        elif spec["engine"] == "transformers":
            run(TransformersBackend(weights, sampling, spec.get("score_options", False)), every, store)
        else:
            run(VLLMBackend(weights, sampling, spec.get("gpus", 1)), every, store)
    frame = predictions_frame(list(requests), store.load())
    failed = frame[frame["status"] == "api_error"]
    if len(failed) > sampling["max_api_error_rate"] * len(frame):
        raise DVMapError(f"{len(failed)} of {len(frame)} samples failed with API errors (first: "
                         f"{failed['error'].iloc[0]}); finished predictions are kept in {sm.params.partial}: "
                         f"rerun to retry the failed ones")
    write_parquet(frame, sm.output[0])
    log.info("status counts: %s", frame["status"].value_counts().to_dict())
