"""Generation backends behind one interface: each takes requests (sample id, chat messages,
options) and yields one prediction record per request as it finishes.

  openai        any OpenAI-compatible endpoint: `vllm serve`, `transformers serve`, closed APIs
                (key read from the environment variable the spec names); with `server` set, the
                kit starts that server on a free loopback port, waits for health, stops it after
  transformers  local generation with Hugging Face transformers (CPU or GPU), option log-probs
  vllm          vLLM offline batch generation (LLM.chat, thinking off) on GPU clusters
"""
from __future__ import annotations

import hashlib
import math
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Mapping, Sequence

from dvmap.errors import DVMapError
from dvmap.predictions import PredictionLog, classify, pending


@dataclass(frozen=True)
class Request:
    sample_id: str
    messages: list[dict]
    options: list[str]


def sample_seed(base: int, sample_id: str) -> int:
    """A per-sample seed: sampled outputs do not depend on batching, concurrency or resumption."""
    return (base + int(hashlib.sha1(sample_id.encode()).hexdigest()[:8], 16)) % 2**31


def record(request: Request, response: str | None, error: str | None = None, option_probs=None) -> dict:
    if error is not None:
        return {"sample_id": request.sample_id, "response": None, "parsed": None, "status": "api_error",
                "option_probs": None, "error": error}
    parsed, status = classify(response, request.options)
    return {"sample_id": request.sample_id, "response": response, "parsed": parsed, "status": status,
            "option_probs": option_probs, "error": None}


# ---- OpenAI-compatible endpoints ------------------------------------------------------------------
class OpenAIBackend:
    def __init__(self, base_url: str, model: str, sampling: Mapping, api_key: str = "not-needed",
                 extra_body: Mapping | None = None):
        import openai

        self.openai = openai
        self.client = openai.OpenAI(base_url=base_url, api_key=api_key, timeout=sampling["timeout"], max_retries=0)
        self.model, self.sampling, self.extra_body = model, sampling, dict(extra_body or {})

    def _call(self, request: Request) -> dict:
        s = self.sampling
        transient = (self.openai.APIConnectionError, self.openai.APITimeoutError, self.openai.RateLimitError,
                     self.openai.InternalServerError)
        for attempt in range(s["retries"] + 1):
            try:
                out = self.client.chat.completions.create(
                    model=self.model, messages=request.messages, temperature=s["temperature"], top_p=s["top_p"],
                    max_tokens=s["max_tokens"], seed=sample_seed(s["seed"], request.sample_id),
                    extra_body=self.extra_body or None)
                return record(request, out.choices[0].message.content or "")
            except transient as exc:  # back off and retry: rate limits, dropped connections, 5xx
                if attempt == s["retries"]:
                    return record(request, None, error=f"{type(exc).__name__}: {exc}")
                time.sleep(s["backoff"] * 2**attempt)
            except self.openai.APIError as exc:  # 4xx other than rate limits: retrying will not help
                return record(request, None, error=f"{type(exc).__name__}: {exc}")
        raise AssertionError("unreachable")

    def generate(self, requests: Sequence[Request]) -> Iterator[dict]:
        with ThreadPoolExecutor(max_workers=self.sampling["concurrency"]) as pool:
            futures = [pool.submit(self._call, r) for r in requests]
            for future in as_completed(futures):
                yield future.result()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_command(kind: str, model_path: str, port: int, extra: Sequence[str] = ()) -> list[str]:
    """Command line of a local OpenAI-compatible server bound to loopback."""
    if kind == "transformers":
        return ["transformers", "serve", model_path, "--host", "127.0.0.1", "--port", str(port), "--device", "cpu",
                *extra]
    if kind == "vllm":
        return [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", model_path,
                "--host", "127.0.0.1", "--port", str(port), *extra]
    raise DVMapError(f"unknown local server '{kind}' (use transformers or vllm)")


@contextmanager
def local_server(kind: str, model_path: str, startup_timeout: float = 120.0, log_file=None,
                 extra: Sequence[str] = ()) -> Iterator[str]:
    """Start a server on a free loopback port, wait for /health, yield its /v1 URL, stop it after."""
    port = free_port()
    command = server_command(kind, model_path, port, extra)
    proc = subprocess.Popen(command, stdout=log_file or subprocess.DEVNULL, stderr=subprocess.STDOUT,
                            start_new_session=True)
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
class TransformersBackend:
    def __init__(self, model_path: str, sampling: Mapping, score_options: bool = False,
                 chat_template_kwargs: Mapping | None = None):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(model_path)
        self.model = AutoModelForCausalLM.from_pretrained(model_path).eval()
        self.sampling, self.score_options = sampling, score_options
        self.template_kwargs = dict(chat_template_kwargs or {})

    def _prompt_ids(self, messages: list[dict]) -> list[int]:
        return self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
                                                  return_dict=False, **self.template_kwargs)

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

    def generate(self, requests: Sequence[Request]) -> Iterator[dict]:
        torch, s = self.torch, self.sampling
        for request in requests:
            ids = torch.tensor([self._prompt_ids(request.messages)])
            torch.manual_seed(sample_seed(s["seed"], request.sample_id))
            with torch.no_grad():
                out = self.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                                          max_new_tokens=s["max_tokens"], do_sample=s["temperature"] > 0,
                                          temperature=s["temperature"] if s["temperature"] > 0 else None,
                                          top_p=s["top_p"], pad_token_id=self.tokenizer.pad_token_id)
            text = self.tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True)
            yield record(request, text, option_probs=self.option_probs(request) if self.score_options else None)


# ---- vLLM offline (GPU clusters; cannot run on a CPU machine) -----------------------------------
class VLLMBackend:
    def __init__(self, model_path: str, sampling: Mapping, tensor_parallel: int = 1,
                 chat_template_kwargs: Mapping | None = None, batch_size: int = 512):
        from vllm import LLM  # imported only on the cluster

        self.llm = LLM(model=model_path, tensor_parallel_size=tensor_parallel, seed=sampling["seed"])
        self.sampling, self.batch_size = sampling, batch_size
        self.template_kwargs = dict(chat_template_kwargs or {"enable_thinking": False})

    def generate(self, requests: Sequence[Request]) -> Iterator[dict]:
        from vllm import SamplingParams

        s = self.sampling
        for start in range(0, len(requests), self.batch_size):  # batches: finished work is logged per batch
            batch = requests[start:start + self.batch_size]
            params = [SamplingParams(temperature=s["temperature"], top_p=s["top_p"], max_tokens=s["max_tokens"],
                                     seed=sample_seed(s["seed"], r.sample_id)) for r in batch]
            outputs = self.llm.chat([r.messages for r in batch], params, chat_template_kwargs=self.template_kwargs,
                                    use_tqdm=True)
            for r, out in zip(batch, outputs):
                yield record(r, out.outputs[0].text)


def generate_into(store: PredictionLog, backend, requests: Sequence[Request], desc: str = "generate") -> int:
    """Generate every request the log has not finished, appending each record as it arrives
    (progress bar). Returns the number generated now."""
    from tqdm import tqdm

    todo_ids = set(pending([r.sample_id for r in requests], store.load()))
    todo = [r for r in requests if r.sample_id in todo_ids]
    with tqdm(total=len(todo), desc=desc, unit="sample") as bar:
        for rec in backend.generate(todo) if todo else []:
            store.append([rec])
            bar.update(1)
    return len(todo)
