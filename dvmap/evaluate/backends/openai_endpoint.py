"""Any OpenAI-compatible endpoint (`vllm serve`, `transformers serve`, closed APIs): bounded
concurrency, retries with backoff and the server's Retry-After, and a stop when the endpoint as a
whole serves nothing (FAIL_FAST_AFTER)."""
from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

from dvmap.errors import DVMapError
from dvmap.evaluate.backends.records import Request, record, sample_seed
from dvmap.redact import add_secret, redact, url_without_credentials

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
