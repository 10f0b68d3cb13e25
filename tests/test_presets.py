"""The presets run what their names and the README say: `paper_sizes_cpu` the paper's data sizes
with the demo's CPU models (no GPU job, no API call), `paper` the GPU cluster and API run."""
import re

import pytest
import yaml
from conftest import snakemake

from dvmap.specs import ROOT

pytestmark = pytest.mark.slow


def job_counts(proc) -> dict[str, int]:
    table = proc.stdout.split("Job stats:")[1].split("total")[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", table, flags=re.M)
            if m.group(1) != "job"}


def test_paper_sizes_cpu_preset_dry_run(workflow):
    preset = yaml.safe_load((ROOT / "specs/presets/paper_sizes_cpu.yaml").read_text())
    assert preset["specs"] == {"splits": "specs/splits.yaml"}  # the paper's sizes, the demo's models
    cpu = job_counts(snakemake(workflow, "-n", "--configfile", "specs/presets/paper_sizes_cpu.yaml"))
    demo = job_counts(snakemake(workflow, "-n"))
    assert cpu == demo  # the demo's jobs, on the paper's sizes
    assert sum(cpu.values()) == 140 and "train_verl" not in cpu and "generate_vllm" not in cpu
    assert cpu["train_local"] == 3 and cpu["generate"] == 12
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert "with the demo's CPU models, training and evaluation: 139 jobs, no GPU, no API" in readme
    assert "without a survey file reads the full-size synthetic file (140 jobs" in readme


def test_paper_preset_is_the_gpu_and_api_run(workflow):
    paper = job_counts(snakemake(workflow, "-n", "--configfile", "specs/presets/paper.yaml"))
    assert (paper["train_verl"], paper["generate_vllm"], paper["generate"]) == (15, 69, 12)
    assert sum(paper.values()) == 289  # 288 with a survey file (no synthetic_survey job)
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert ("(15 `train_verl` jobs: five models x three seeds), generation with vLLM (69 `generate_vllm` jobs) "
            "and the closed APIs (12 `generate` jobs, paid), 288 jobs with a WVS-7 file") in readme
