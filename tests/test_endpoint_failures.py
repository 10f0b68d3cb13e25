"""OpenAI-compatible endpoints that serve nothing stop the job at once, naming the endpoint and model
(no per-sample retries for tens of minutes), and the API key never reaches a record, an error or a
log, even from a server that echoes the Authorization header (issue 11)."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler

import pytest
from conftest import send_json, serve_in_thread

from dvmap.evaluate import backends
from dvmap.evaluate.backends import (
    FAIL_FAST_AFTER,
    EndpointError,
    OpenAIBackend,
    generate_into,
    open_backend,
)
from dvmap.evaluate.predictions import PredictionLog
from dvmap.files import logged

SAMPLING = {"temperature": 0.0, "top_p": 1.0, "max_tokens": 16, "seed": 0, "concurrency": 4, "retries": 3,
            "backoff": 0.05, "timeout": 5, "max_api_error_rate": 0.0}
KEY = "sk-test-7f3a9c1e5b2d4a6f8e0c"


def requests(n):
    return [backends.Request(f"s{i}", [{"role": "user", "content": f"id s{i}\n**Options**: Yes, No\n"}],
                             ["Yes", "No"]) for i in range(n)]


class Server:
    """A chat endpoint on loopback. `status(sample_id, attempt)` gives the HTTP status of each call
    (200 answers `Yes`); an error body echoes the request's Authorization header, as some servers do."""

    def __init__(self, status):
        self.calls, self.lock = {}, threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                sid = body["messages"][-1]["content"].split()[1]
                with server.lock:
                    server.calls[sid] = server.calls.get(sid, 0) + 1
                    code = status(sid, server.calls[sid])
                if code == 200:
                    payload = {"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                               "choices": [{"index": 0, "finish_reason": "stop",
                                            "message": {"role": "assistant", "content": "<answer>Yes</answer>"}}]}
                else:
                    payload = {"error": {"message": f"rejected request with {self.headers['Authorization']}",
                                         "type": "echo"}}
                send_json(self, code, payload)

        self.httpd, self.url = serve_in_thread(Handler)

    def total(self):
        return sum(self.calls.values())


@pytest.fixture
def server():
    made = []

    def make(status):
        made.append(Server(status))
        return made[-1]

    yield make
    for s in made:
        s.httpd.shutdown()


def test_closed_port_stops_fast_naming_endpoint_and_model(tmp_path):
    dead = f"http://127.0.0.1:{backends.free_port()}/v1"  # nothing listens there
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
        raise backends.DVMapError(f"{len(errors)} samples failed (first: {errors[0]})")
    texts = {"records": store.path.read_text(), "error": str(exit_.value), "log": log_file.read_text(),
             "stderr": capsys.readouterr().err}
    assert "rejected request with Bearer ***" in texts["records" if code != 401 else "error"]
    for where, text in texts.items():
        assert KEY not in text, where
    assert srv.total() > 0
