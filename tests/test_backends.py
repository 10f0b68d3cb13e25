"""Generation backends and the prediction log: retries with backoff, bounded concurrency, resume
after a killed run (no loss, no duplicates), the local `transformers serve` path end to end with a
tiny model, and option log-prob scoring."""
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler

import pytest
from conftest import send_json, serve_in_thread

from dvmap.evaluate import backends
from dvmap.evaluate.backends import OpenAIBackend, Request, generate_into, server
from dvmap.evaluate.backends.transformers_local import SeededSampling
from dvmap.evaluate.predictions import PredictionLog, pending, predictions_frame

SAMPLING = {"temperature": 0.7, "top_p": 1.0, "max_tokens": 16, "seed": 0, "concurrency": 3, "retries": 3,
            "backoff": 0.01, "timeout": 10, "max_api_error_rate": 0.0}


def requests(n):
    return [Request(f"s{i}", [{"role": "system", "content": "sys"},
                              {"role": "user", "content": f"id s{i}\n**Options**: Yes, No\n"}], ["Yes", "No"])
            for i in range(n)]


class FakeServer:
    """An OpenAI-compatible chat endpoint on loopback: answers the first listed option, can fail
    the first attempts of some samples with 503, counts calls and concurrency per sample."""

    def __init__(self, fail_first=(), delay=0.0, bad_request=()):
        self.calls, self.lock, self.active, self.max_active = {}, threading.Lock(), 0, 0
        self.fail_first, self.delay, self.bad_request = set(fail_first), delay, set(bad_request)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                user = body["messages"][-1]["content"]
                sid = user.split()[1]
                with server.lock:
                    server.calls[sid] = server.calls.get(sid, 0) + 1
                    attempt = server.calls[sid]
                    server.active += 1
                    server.max_active = max(server.max_active, server.active)
                time.sleep(server.delay)
                with server.lock:
                    server.active -= 1
                if sid in server.bad_request:
                    return self._json(400, {"error": {"message": "bad request", "type": "invalid_request_error"}})
                if sid in server.fail_first and attempt == 1:
                    return self._json(503, {"error": {"message": "overloaded"}})
                option = user.split("**Options**: ")[1].split(",")[0].strip()
                self._json(200, {"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                                 "choices": [{"index": 0, "finish_reason": "stop",
                                              "message": {"role": "assistant", "content": f"<answer>{option}</answer>"}}],
                                 "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})

            def _json(self, code, payload):
                send_json(self, code, payload)

        self.httpd, self.url = serve_in_thread(Handler)

    def close(self):
        self.httpd.shutdown()


@pytest.fixture
def fake():
    servers = []

    def make(**kw):
        servers.append(FakeServer(**kw))
        return servers[-1]

    yield make
    for s in servers:
        s.close()


def test_transient_errors_are_retried_with_backoff(fake, tmp_path):
    server = fake(fail_first={"s1", "s3"})
    store = PredictionLog(tmp_path / "p.jsonl")
    generate_into(store, OpenAIBackend(server.url, "m", SAMPLING), requests(5))
    frame = predictions_frame([f"s{i}" for i in range(5)], store.load())
    assert set(frame["status"]) == {"ok"} and set(frame["parsed"]) == {"Yes"}
    assert server.calls["s1"] == 2 and server.calls["s0"] == 1


def test_client_errors_are_recorded_not_retried(fake, tmp_path):
    server = fake(bad_request={"s2"})
    store = PredictionLog(tmp_path / "p.jsonl")
    generate_into(store, OpenAIBackend(server.url, "m", SAMPLING), requests(4))
    records = store.load()
    assert records["s2"]["status"] == "api_error" and "BadRequestError" in records["s2"]["error"]
    assert server.calls["s2"] == 1
    assert pending(list(records), records) == ["s2"]  # a rerun retries only the failed sample


def test_concurrency_is_bounded(fake, tmp_path):
    server = fake(delay=0.05)
    generate_into(PredictionLog(tmp_path / "p.jsonl"), OpenAIBackend(server.url, "m", SAMPLING), requests(12))
    assert 1 < server.max_active <= SAMPLING["concurrency"]


def test_exhausted_retries_become_api_errors(tmp_path):
    sampling = {**SAMPLING, "retries": 1, "timeout": 1}
    dead = f"http://127.0.0.1:{backends.free_port()}/v1"  # nothing listens there
    store = PredictionLog(tmp_path / "p.jsonl")
    generate_into(store, OpenAIBackend(dead, "m", sampling), requests(2))
    assert {r["status"] for r in store.load().values()} == {"api_error"}


def test_prediction_log_tolerates_a_torn_line(tmp_path):
    store = PredictionLog(tmp_path / "p.jsonl")
    store.append([{"sample_id": "a", "status": "ok"}, {"sample_id": "b", "status": "parse_error"}])
    with open(store.path, "a") as fh:
        fh.write('{"sample_id": "c", "sta')  # killed mid-write
    assert set(store.load()) == {"a", "b"}
    assert pending(["a", "b", "c"], store.load()) == ["c"]
    with pytest.raises(ValueError, match="1 samples have no prediction"):
        predictions_frame(["a", "b", "c"], store.load())


KILLABLE = """
import sys
from dvmap.evaluate.backends import OpenAIBackend, generate_into
from dvmap.evaluate.predictions import PredictionLog
sys.path.insert(0, {tests!r})
from test_backends import SAMPLING, requests
generate_into(PredictionLog({log!r}), OpenAIBackend({url!r}, "m", {{**SAMPLING, "concurrency": 2}}), requests(40))
"""


def test_killed_run_resumes_without_loss_or_duplicates(fake, tmp_path):
    server = fake(delay=0.05)
    log = tmp_path / "p.jsonl"
    script = KILLABLE.format(tests=os.path.dirname(__file__), log=str(log), url=server.url)
    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    deadline = time.time() + 60
    while (not log.exists() or len(log.read_text().splitlines()) < 10) and time.time() < deadline:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = PredictionLog(log).load()
    assert 10 <= len(before) < 40
    generate_into(PredictionLog(log), OpenAIBackend(server.url, "m", SAMPLING), requests(40))
    frame = predictions_frame([f"s{i}" for i in range(40)], PredictionLog(log).load())
    assert len(frame) == 40 and frame["sample_id"].is_unique and set(frame["status"]) == {"ok"}
    assert all(server.calls[s] == 1 for s in before)  # finished samples were not paid for twice
    lines = [json.loads(x)["sample_id"] for x in log.read_text().splitlines() if x.endswith("}")]
    assert len(lines) == len(set(lines)) == 40


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    """A tiny Qwen3 with a trained tokenizer and the format warm-up, built here in seconds."""
    from dvmap.train import tiny_model

    out = tmp_path_factory.mktemp("tiny")
    prompts = [f"id s{i}\n**Options**: Yes, No\n" for i in range(64)]
    tok = tiny_model.train_tokenizer(prompts * 3, 300)
    model = tiny_model.build_model(tok, {"hidden_size": 32, "intermediate_size": 64, "num_layers": 1, "num_heads": 2,
                                         "num_kv_heads": 1, "max_positions": 256}, seed=0)
    messages = [r.messages for r in requests(64)]
    tiny_model.format_warmup(model, tok, messages, [["Yes", "No"]] * 64, steps=60, batch_size=16, lr=1e-2, seed=0)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return str(out)


@pytest.mark.slow
def test_local_transformers_server_end_to_end(tiny_model_dir, tmp_path):
    """The kit starts `transformers serve` on a free loopback port, waits for health, generates
    through the OpenAI client and stops the server."""
    store = PredictionLog(tmp_path / "p.jsonl")
    with server.local_server("transformers", tiny_model_dir) as url:
        port = int(url.split(":")[2].split("/")[0])
        generate_into(store, OpenAIBackend(url, tiny_model_dir, SAMPLING), requests(8))
        first = {k: v["response"] for k, v in store.load().items()}
        again = PredictionLog(tmp_path / "again.jsonl")
        generate_into(again, OpenAIBackend(url, tiny_model_dir, {**SAMPLING, "concurrency": 1}), requests(8))
    records = store.load()
    assert len(records) == 8 and {r["status"] for r in records.values()} <= {"ok", "parse_error"}
    assert sum(r["status"] == "ok" for r in records.values()) >= 6  # the warmed-up format holds
    assert {k: v["response"] for k, v in again.load().items()} == first  # per-sample seeds: same answers
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)  # stopped afterwards


def test_local_server_that_dies_is_a_named_error(tmp_path):
    with pytest.raises(Exception, match="exited with"):
        with server.local_server("transformers", str(tmp_path / "no-such-model"), startup_timeout=60):
            pass


def test_transformers_backend_scores_options(tiny_model_dir):
    backend = backends.TransformersBackend(tiny_model_dir, {**SAMPLING, "temperature": 0.0}, score_options=True)
    recs = list(backend.generate(requests(3)))
    for rec in recs:
        assert len(rec["option_probs"]) == 2 and sum(rec["option_probs"]) == pytest.approx(1.0)
        assert rec["status"] in ("ok", "parse_error")
    again = list(backend.generate(requests(3)))
    assert [r["response"] for r in recs] == [r["response"] for r in again]


def test_transformers_backend_samples_per_request_whatever_the_batch(tiny_model_dir):
    """Seeded sampling: each request's text depends on its own seed, not on the batch it is in."""
    sampling = {**SAMPLING, "temperature": 1.0}
    texts = {size: [r["response"] for r in backends.TransformersBackend(tiny_model_dir, sampling, batch_size=size)
                    .generate(requests(12))] for size in (1, 5, 12)}
    assert texts[1] == texts[5] == texts[12]
    assert all(t for t in texts[1])  # sampling produced text, not an empty or broken decode


def test_seeded_sampling_follows_the_tempered_distribution():
    import torch

    logits = torch.tensor([[2.0, 1.0, 0.0]]).repeat(6000, 1)
    expected = torch.softmax(logits[0] / 0.7, dim=-1)
    picks = SeededSampling(range(6000), 0.7, 1.0)(None, logits).argmax(-1)
    share = picks.bincount(minlength=3).float() / len(picks)
    assert torch.allclose(share, expected, atol=0.025), (share, expected)  # ~4 standard errors
    nucleus = SeededSampling(range(6000), 1.0, 0.6)(None, logits).argmax(-1)
    assert set(nucleus.tolist()) == {0}  # top_p 0.6 keeps only the first token (p = 0.67)


def test_sample_seed_is_stable():
    assert backends.sample_seed(0, "p1-Q1") == backends.sample_seed(0, "p1-Q1") != backends.sample_seed(1, "p1-Q1")


def test_offline_vllm_never_changes_this_process_environment(monkeypatch):
    """A spec's `env` (what vLLM reads as its engine starts) belongs to the process that starts vLLM,
    given when it is spawned: opening offline vLLM in a process that lacks it is refused, naming the
    keys, before vLLM is imported, and the environment is left as it was."""
    import os

    from dvmap.errors import DVMapError
    from dvmap.evaluate.backends import open_backend

    monkeypatch.delenv("DVMAP_TEST_NEW", raising=False)
    before = dict(os.environ)
    spec = {"engine": "vllm", "env": {"DVMAP_TEST_NEW": 7}}
    with pytest.raises(DVMapError, match=r"env \(DVMAP_TEST_NEW\).*generate_in_python"), \
            open_backend(spec, "no-model", SAMPLING):
        pass
    assert dict(os.environ) == before


def test_local_server_gets_the_spec_env_as_text(monkeypatch):
    """A spec's `env` may hold numbers (the schema allows them); the server's process gets them as
    text, beside this process's environment, which stays as it was."""
    import os

    seen = {}

    class Started(Exception):
        pass

    def fake_popen(command, stdout, stderr, start_new_session, env):
        seen["env"] = env
        raise Started

    monkeypatch.setattr(server.subprocess, "Popen", fake_popen)
    before = dict(os.environ)
    with pytest.raises(Started), server.local_server("vllm", "m", env={"VLLM_CPU_KVCACHE_SPACE": 1}):
        pass
    assert seen["env"]["VLLM_CPU_KVCACHE_SPACE"] == "1" and seen["env"]["PATH"] == os.environ["PATH"]
    assert dict(os.environ) == before


def test_generate_pending_runs_offline_vllm_in_a_child_given_the_spec_env(monkeypatch, tmp_path):
    """The generate rule's policy: the vLLM engine runs in a child process (of this Python, or of
    $DVMAP_VLLM_PYTHON's where vLLM is not installed here) whose environment holds the spec's `env`."""
    import logging
    import os

    from dvmap.evaluate import generate_job

    seen = {}

    def fake_run(command, stdout, stderr, env):
        seen.update(command=command, env=env)
        job = json.loads(open(command[-1]).read())
        open(job["summary"], "w").write(json.dumps({"generated": 0}))
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(generate_job.subprocess, "run", fake_run)
    monkeypatch.setattr(generate_job, "vllm_importable", lambda: False)
    monkeypatch.setenv(backends.VLLM_PYTHON_ENV, sys.executable)
    before = dict(os.environ)
    spec = {"engine": "vllm", "env": {"VLLM_CPU_KVCACHE_SPACE": 1}}
    store = PredictionLog(tmp_path / "partial.jsonl")
    with open(tmp_path / "server.log", "w") as server_log:
        generate_job.generate_pending(spec, "weights", SAMPLING, requests(2), store, store.path,
                                      logging.getLogger("test"), server_log, desc="t")
    assert seen["command"][:3] == [sys.executable, "-m", "dvmap.evaluate.generate_job"]
    assert seen["env"]["VLLM_CPU_KVCACHE_SPACE"] == "1" and dict(os.environ) == before
