"""A local OpenAI-compatible server's lifecycle (`transformers serve` or vLLM's api_server): started
on a free loopback port with its own environment, healthy within a deadline, stopped after."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from dvmap.errors import DVMapError
from dvmap.evaluate.backends.vllm_engine import env_text, vllm_python

STARTUP_TIMEOUT = {"transformers": 120.0, "vllm": 900.0}  # seconds; a large model on a cluster loads for minutes


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
                            start_new_session=True, env={**os.environ, **env_text(env)})
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

