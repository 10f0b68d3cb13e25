"""What every backend takes and gives: a request (sample id, chat messages, options), the stored
record of its answer, and the per-sample seed that makes sampled answers independent of batching."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from dvmap.redact import redact
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
