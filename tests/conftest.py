"""Shared fixtures: the default specs, the shared reference files (skipped when absent), and a
copy of the workflow in a temporary folder for DAG tests."""
from __future__ import annotations

import copy
import json
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from dvmap.configuration import load_config
from dvmap.specs import ROOT, read_yaml
from tools.workflow_copy import WORKFLOW_FILES, copy_workflow  # noqa: F401 (tests import them from here)
from tools.workflow_copy import run_snakemake as snakemake  # noqa: F401

SHARED = ROOT.parent / "shared" / "reference"
RELEASE_DEV = SHARED / "dvmap_release" / "dev.parquet"


@pytest.fixture(scope="session")
def config() -> dict:
    return yaml.safe_load((ROOT / "specs/config.yaml").read_text())


@pytest.fixture(scope="session")
def _specs(config) -> dict:
    import os

    cwd = os.getcwd()
    os.chdir(ROOT)  # spec paths are relative to the workflow root
    try:
        return load_config(config)
    finally:
        os.chdir(cwd)


@pytest.fixture
def specs(_specs) -> dict:
    return copy.deepcopy(_specs)


@pytest.fixture(scope="session")
def attribute_names(_specs) -> list[str]:
    return [a["name"] for a in _specs["attributes"]["attributes"]]


@pytest.fixture(scope="session")
def calibration(_specs) -> dict:
    return read_yaml(ROOT / _specs["synthetic"]["calibration"])


@pytest.fixture(scope="session")
def release_dev():
    if not RELEASE_DEV.is_file():
        pytest.skip(f"{RELEASE_DEV} is absent: the release reference is only in the developers' shared/ folder")
    import pandas as pd

    return pd.read_parquet(RELEASE_DEV)


@pytest.fixture
def workflow(tmp_path) -> Path:
    """A fresh copy of the workflow, so DAG tests never touch the user's results/."""
    return copy_workflow(tmp_path / "wf")


# ---- fake OpenAI-compatible servers (tests/test_backends.py, tests/test_endpoint_failures.py) ----
def send_json(handler, code: int, payload) -> None:
    """Answer one request of a BaseHTTPRequestHandler with a JSON body."""
    data = json.dumps(payload).encode()
    handler.send_response(code)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def serve_in_thread(handler_class) -> tuple[ThreadingHTTPServer, str]:
    """A loopback HTTP server on a free port in a daemon thread, and its OpenAI base URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}/v1"
