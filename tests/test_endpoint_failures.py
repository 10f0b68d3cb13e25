"""OpenAI-compatible endpoints that serve nothing stop the job at once, naming the endpoint and model
(no per-sample retries for tens of minutes), and the API key never reaches a record, an error or a
log, even from a server that echoes the Authorization header (issue 11)."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler

import pytest
from conftest import serve_in_thread

from dvmap.errors import DVMapError
from dvmap.evaluate.backends import EndpointError, OpenAIBackend, Request, free_port, generate_into, open_backend
from dvmap.evaluate.backends.openai_endpoint import FAIL_FAST_AFTER, MAX_RETRY_AFTER, retry_after
from dvmap.evaluate.predictions import PredictionLog
from dvmap.files import logged

SAMPLING = {"temperature": 0.0, "top_p": 1.0, "max_tokens": 16, "seed": 0, "concurrency": 4, "retries": 3,
            "backoff": 0.05, "timeout": 5, "max_api_error_rate": 0.0}
KEY = "sk-test-7f3a9c1e5b2d4a6f8e0c"


def requests(n):
    return [Request(f"s{i}", [{"role": "user", "content": f"id s{i}\n**Options**: Yes, No\n"}],
                             ["Yes", "No"]) for i in range(n)]


def status_answer(status):
    """A BodyServer answer from `status(sample_id, attempt)`: 200 answers `Yes`; an error body echoes the
    request's Authorization header, as some servers do."""

    def answer(sid, attempt, authorization):
        code = status(sid, attempt)
        if code == 200:
            payload = {"id": "x", "object": "chat.completion", "created": 0, "model": "m",
                       "choices": [{"index": 0, "finish_reason": "stop",
                                    "message": {"role": "assistant", "content": "<answer>Yes</answer>"}}]}
        else:
            payload = {"error": {"message": f"rejected request with {authorization}", "type": "echo"}}
        return code, json.dumps(payload).encode(), {}

    return answer


@pytest.fixture
def server():
    made = []

    def make(status):
        made.append(BodyServer(status_answer(status)))
        return made[-1]

    yield make
    for s in made:
        s.httpd.shutdown()


def test_closed_port_stops_fast_naming_endpoint_and_model(tmp_path):
    dead = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    store = PredictionLog(tmp_path / "p.jsonl")
    store.append([{"sample_id": "s0", "response": "<answer>No</answer>", "parsed": "No", "status": "ok",
                   "option_probs": None, "error": None}])
    started = time.monotonic()
    with pytest.raises(EndpointError) as err:
        generate_into(store, OpenAIBackend(dead, "qwen3-8b", SAMPLING), requests(200))
    assert time.monotonic() - started < 10  # retrying all 200 samples takes 200 x 0.35 s / 4
    message = str(err.value)
    assert f"{dead} (model qwen3-8b): the first {FAIL_FAST_AFTER} requests all failed, no connection" in message
    assert f"finished predictions are kept in {store.path}" in message
    records = store.load()
    assert records["s0"]["status"] == "ok"  # what was finished before stays
    assert len(records) < 1 + FAIL_FAST_AFTER + SAMPLING["concurrency"]  # the other samples were never tried


def test_refused_key_stops_after_the_first_requests(server, tmp_path):
    srv = server(lambda sid, attempt: 401)
    with pytest.raises(EndpointError, match=rf"{srv.url} \(model m\): .* all failed, the API key is refused "
                                            r"\(AuthenticationError"):
        generate_into(PredictionLog(tmp_path / "p.jsonl"), OpenAIBackend(srv.url, "m", SAMPLING, KEY),
                      requests(100))
    assert srv.total() < FAIL_FAST_AFTER + SAMPLING["concurrency"]


def test_transient_errors_of_a_healthy_run_are_still_retried(server, tmp_path):
    srv = server(lambda sid, attempt: 503 if attempt == 1 else 200)  # every sample fails once, then works
    store = PredictionLog(tmp_path / "p.jsonl")
    generate_into(store, OpenAIBackend(srv.url, "m", SAMPLING), requests(3 * FAIL_FAST_AFTER))
    assert {r["status"] for r in store.load().values()} == {"ok"}
    assert set(srv.calls.values()) == {2}


def test_failures_after_a_success_are_per_sample(server, tmp_path):
    srv = server(lambda sid, attempt: 200 if sid == "s0" else 401)
    store = PredictionLog(tmp_path / "p.jsonl")
    generate_into(store, OpenAIBackend(srv.url, "m", {**SAMPLING, "concurrency": 1}), requests(2 * FAIL_FAST_AFTER))
    statuses = [r["status"] for r in store.load().values()]
    assert statuses.count("ok") == 1 and statuses.count("api_error") == 2 * FAIL_FAST_AFTER - 1


@pytest.mark.parametrize("code", [400, 500, 401])
def test_api_key_is_redacted_everywhere(server, tmp_path, monkeypatch, capsys, code):
    """The server echoes `Bearer <key>` in its error body: 400 is recorded per sample, 500 is retried
    then recorded, 401 stops the job. The key is in no record, raised error or log line."""
    srv = server(lambda sid, attempt: code)
    monkeypatch.setenv("DVMAP_TEST_API_KEY", KEY)
    spec = {"engine": "openai", "endpoint": srv.url, "api_key_env": "DVMAP_TEST_API_KEY"}
    store = PredictionLog(tmp_path / "partial.jsonl")
    log_file = tmp_path / "generate.log"
    with pytest.raises(SystemExit) as exit_, logged(log_file) as log:
        with open_backend(spec, "remote-model", {**SAMPLING, "retries": 1}) as backend:
            generate_into(store, backend, requests(12))
        errors = [r["error"] for r in store.load().values()]  # as scripts/generate.py reports them
        log.info("first error: %s", errors[0])
        raise DVMapError(f"{len(errors)} samples failed (first: {errors[0]})")
    texts = {"records": store.path.read_text(), "error": str(exit_.value), "log": log_file.read_text(),
             "stderr": capsys.readouterr().err}
    assert "rejected request with Bearer ***" in texts["records" if code != 401 else "error"]
    for where, text in texts.items():
        assert KEY not in text, where
    assert srv.total() > 0


# ---- malformed HTTP 200 answers and Retry-After (issue 17) -------------------------------------------------------
COMPLETION = {"id": "x", "object": "chat.completion", "created": 0, "model": "m",
              "choices": [{"index": 0, "finish_reason": "stop",
                           "message": {"role": "assistant", "content": "<answer>Yes</answer>"}}]}
NULL_CONTENT = {**COMPLETION, "choices": [{"index": 0, "finish_reason": "length",
                                           "message": {"role": "assistant", "content": None}}]}
MALFORMED = {"not JSON": b"<html><body>502 Bad Gateway</body></html>", "a list": b"[]", "an empty object": b"{}",
             "no choices": b'{"choices": []}', "choices of another shape": b'{"choices": "abc"}',
             "content null": json.dumps(NULL_CONTENT).encode()}


class BodyServer:
    """A chat endpoint on loopback whose `answer(sample_id, attempt, authorization)` gives (status, body
    bytes, headers) of each call."""

    def __init__(self, answer):
        self.calls, self.times, self.lock = {}, {}, threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                sid = body["messages"][-1]["content"].split()[1]
                with server.lock:
                    server.calls[sid] = server.calls.get(sid, 0) + 1
                    server.times.setdefault(sid, []).append(time.monotonic())
                    code, data, headers = answer(sid, server.calls[sid], self.headers["Authorization"])
                self.send_response(code)
                for key, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd, self.url = serve_in_thread(Handler)

    def total(self):
        return sum(self.calls.values())


@pytest.fixture
def body_server():
    made = []

    def make(answer):
        made.append(BodyServer(lambda sid, attempt, authorization: answer(sid, attempt)))
        return made[-1]

    yield make
    for s in made:
        s.httpd.shutdown()


@pytest.mark.parametrize("kind", list(MALFORMED))
def test_a_malformed_answer_is_retried_as_an_api_error_of_its_sample(body_server, tmp_path, kind):
    good = json.dumps(COMPLETION).encode()
    srv = body_server(lambda sid, attempt: (200, MALFORMED[kind] if attempt == 1 or sid == "s0" else good, {}))
    store = PredictionLog(tmp_path / "p.jsonl")
    generate_into(store, OpenAIBackend(srv.url, "m", {**SAMPLING, "concurrency": 1}), requests(4))
    records = store.load()
    assert [records[f"s{i}"]["status"] for i in range(4)] == ["api_error", "ok", "ok", "ok"]
    assert srv.calls == {"s0": SAMPLING["retries"] + 1, "s1": 2, "s2": 2, "s3": 2}  # every malformed answer retried
    expected = "content null" if kind == "content null" else "HTTP 200 with"
    assert records["s0"]["error"].startswith("MalformedAnswer: HTTP 200") and expected in records["s0"]["error"]
    assert records["s0"]["parsed"] is None  # an API error, not a parse failure


def test_an_endpoint_answering_only_malformed_bodies_stops_fast(body_server, tmp_path):
    srv = body_server(lambda sid, attempt: (200, b"[]", {}))
    with pytest.raises(EndpointError, match=rf"{srv.url} \(model m\): the first {FAIL_FAST_AFTER} requests all failed, "
                                            r"malformed answers \(MalformedAnswer: HTTP 200 without a chat completion"):
        generate_into(PredictionLog(tmp_path / "p.jsonl"), OpenAIBackend(srv.url, "m", {**SAMPLING, "retries": 0}),
                      requests(100))
    assert sum(srv.calls.values()) < FAIL_FAST_AFTER + SAMPLING["concurrency"]


def test_retry_after_is_honoured(body_server, tmp_path):
    good = json.dumps(COMPLETION).encode()
    srv = body_server(lambda sid, attempt: (429, b'{"error": {"message": "slow down"}}', {"Retry-After": "1"})
                      if attempt == 1 else (200, good, {}))
    store = PredictionLog(tmp_path / "p.jsonl")
    generate_into(store, OpenAIBackend(srv.url, "m", SAMPLING), requests(1))  # backoff 0.05 s alone
    assert store.load()["s0"]["status"] == "ok"
    first, second = srv.times["s0"]
    assert second - first >= 1.0


def test_retry_after_values():
    class Response:
        def __init__(self, headers):
            self.headers = headers

    class Error(Exception):
        def __init__(self, headers):
            self.response = Response(headers)

    from email.utils import formatdate

    assert retry_after(Error({"retry-after": "2"})) == 2.0
    assert retry_after(Error({"retry-after-ms": "1500", "retry-after": "9"})) == 1.5
    assert 8 <= retry_after(Error({"retry-after": formatdate(time.time() + 10, usegmt=True)})) <= 10
    assert retry_after(Error({"retry-after": "3600"})) == MAX_RETRY_AFTER
    assert retry_after(Error({"retry-after": "soon"})) is None
    assert retry_after(Error({})) is None and retry_after(ValueError()) is None
