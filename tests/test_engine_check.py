"""A `train_verl` or `generate_vllm` job started in an environment without its engine stops at once,
naming the environment to use (dvmap/engines.py), before any checkpoint, Ray, model or server."""
import os
import subprocess
import sys

import pytest
from conftest import copy_workflow, snakemake

from dvmap.engines import ENGINES, EngineMissing, importable, require_engine


def test_require_engine_names_the_environment(monkeypatch):
    monkeypatch.setitem(ENGINES, "nothing", ENGINES["verl"].__class__(
        "dvmap_no_such_engine", "train_verl", "envs/train-verl.yaml", "DVMAP_VERL_PYTHON", "scripts/setup_verl_cpu.sh"))
    with pytest.raises(EngineMissing) as error:
        require_engine("nothing")
    message = str(error.value)
    assert message.startswith("train_verl: dvmap_no_such_engine cannot be imported by " + sys.executable)
    assert "envs/train-verl.yaml" in message and "--software-deployment-method conda" in message
    assert "DVMAP_VERL_PYTHON" in message
    assert importable("yaml") and importable("yaml", sys.executable)
    assert not importable("yaml", "/no/such/python")


def without_engine_pythons() -> dict:
    return {k: v for k, v in os.environ.items() if k not in ("DVMAP_VERL_PYTHON", "DVMAP_VLLM_PYTHON")}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The demo's data stage up to the files a verl job and a vLLM generation read."""
    wf = copy_workflow(tmp_path_factory.mktemp("engines"))
    snakemake(wf, "results/verl/structured_cot/train.parquet", "results/verl/structured_cot/dev.parquet",
              "results/prompts/structured_cot/cross_demographic.parquet")
    return wf


@pytest.mark.slow
@pytest.mark.parametrize("engine, target, config, log", [
    ("verl", "results/models/qwen3-0.6b__s0", "train_models=[qwen3-0.6b]", "logs/train/qwen3-0.6b__s0.log"),
    ("vllm", "results/predictions/qwen3-0.6b-base/structured_cot/cross_demographic.parquet",
     "eval_models=[qwen3-0.6b-base]", "logs/generate/qwen3-0.6b-base_structured_cot_cross_demographic.log"),
])
def test_gpu_job_without_its_engine_stops_at_once(exported, engine, target, config, log):
    if importable(ENGINES[engine].module):
        pytest.skip(f"{engine} is importable here: the job would run")
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", target, "--config", config]
    proc = subprocess.run(cmd, cwd=exported, capture_output=True, text=True, env=without_engine_pythons())
    assert proc.returncode != 0
    rule = ENGINES[engine].rule
    text = (exported / log).read_text()
    assert f"{rule}: {engine} cannot be imported by" in text, text[-2000:]
    assert ENGINES[engine].env_file in text and ENGINES[engine].python_env in text
    assert not (exported / "results/checkpoints").exists()  # nothing was started
    assert not (exported / "results/partial").exists()
