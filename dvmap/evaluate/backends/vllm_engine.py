"""vLLM: where it lives (this Python, or the one $DVMAP_VLLM_PYTHON names: scripts/setup_vllm_cpu.sh
on CPU), its engine options as server flags, and offline batch generation (LLM.chat, thinking off).

vLLM reads environment variables while its engine starts (VLLM_CPU_KVCACHE_SPACE, ...). This module
never sets them: a spec's `env` is the environment of the process that starts vLLM, given when that
process is spawned (dvmap.evaluate.generate_job.generate_in_python offline, local_server for
`server: vllm`), so no process changes its own environment."""
from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from dvmap.errors import DVMapError
from dvmap.evaluate.backends.records import Request, record, sample_seed

VLLM_PYTHON_ENV = "DVMAP_VLLM_PYTHON"
NO_THINKING = {"enable_thinking": False}  # the paper's protocol: Qwen3's thinking off (other templates ignore it)


def needs_vllm(spec: Mapping) -> bool:
    """Whether an eval model runs vLLM: offline (`engine: vllm`) or as its local server."""
    return spec["engine"] == "vllm" or spec.get("server") == "vllm"


def vllm_python(python: str | None = None) -> str:
    """The Python that runs vLLM: the argument, else $DVMAP_VLLM_PYTHON, else this one."""
    return python or os.environ.get(VLLM_PYTHON_ENV) or sys.executable


def vllm_cli_args(engine_args: Mapping[str, Any] | None) -> list[str]:
    """`LLM(...)` keyword arguments as the server's flags: `max_model_len: 512` -> `--max-model-len 512`,
    `enforce_eager: true` -> `--enforce-eager`, false -> `--no-enforce-eager`, mappings and lists as JSON."""
    flags: list[str] = []
    for key, value in (engine_args or {}).items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            flags.append(flag)
        elif value is False:
            flags.append("--no-" + key.replace("_", "-"))
        elif isinstance(value, (Mapping, list)):
            flags += [flag, json.dumps(value)]
        else:
            flags += [flag, str(value)]
    return flags


def env_text(env: Mapping[str, Any] | None) -> dict[str, str]:
    """A spec's `env` as a process environment holds it: every value as text (the schema allows numbers)."""
    return {key: str(value) for key, value in (env or {}).items()}


def env_missing(env: Mapping[str, Any] | None) -> dict[str, str]:
    """The entries of a spec's `env` this process's environment does not hold (as text)."""
    return {key: value for key, value in env_text(env).items() if os.environ.get(key) != value}


class VLLMBackend:
    def __init__(self, model_path: str, sampling: Mapping, tensor_parallel: int = 1, batch_size: int = 512,
                 engine_args: Mapping[str, Any] | None = None):
        """`engine_args`: further `vllm.LLM` keyword arguments (the spec's `vllm_args`, e.g.
        enforce_eager, dtype, max_model_len)."""
        try:
            from vllm import LLM
        except ImportError as exc:
            raise DVMapError(f"engine vllm: vLLM cannot be imported in {sys.executable} ({exc}); on a GPU cluster "
                             f"run Snakemake with --use-conda (envs/eval-vllm.yaml); on CPU create the environment "
                             f"with scripts/setup_vllm_cpu.sh and set {VLLM_PYTHON_ENV}=.venv-vllm/bin/python") from exc

        args = {"tensor_parallel_size": tensor_parallel, "seed": sampling["seed"], **dict(engine_args or {})}
        self.llm = LLM(model=model_path, **args)
        self.sampling, self.batch_size = sampling, batch_size

    def generate(self, requests: Sequence[Request]) -> Iterator[dict]:
        from vllm import SamplingParams

        sampling = self.sampling
        for start in range(0, len(requests), self.batch_size):  # batches: finished work is logged per batch
            batch = requests[start:start + self.batch_size]
            params = [SamplingParams(temperature=sampling["temperature"], top_p=sampling["top_p"],
                                     max_tokens=sampling["max_tokens"],
                                     seed=sample_seed(sampling["seed"], request.sample_id)) for request in batch]
            outputs = self.llm.chat([request.messages for request in batch], params, chat_template_kwargs=NO_THINKING,
                                    use_tqdm=False)
            for request, out in zip(batch, outputs):
                yield record(request, out.outputs[0].text)

