"""One conda environment per stage: every rule names one that exists, each pins exactly what
requirements.txt pins for the packages it lists, and no development tool enters a run-time env."""
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEV_TOOLS = {"pytest", "hypothesis", "ruff", "snakefmt"}


def pins(lines) -> dict[str, str]:
    out = {}
    for line in lines:
        m = re.match(r"^\s*([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==([^\s#]+)", line)
        if m:
            out[m.group(1).lower()] = m.group(3)
    return out


REQUIREMENTS = pins((ROOT / "requirements.txt").read_text().splitlines())
CPU_ENVS = ["data.yaml", "train-local.yaml", "evaluate.yaml", "analyses.yaml"]


def env_pip(name: str) -> list[str]:
    spec = yaml.safe_load((ROOT / "envs" / name).read_text())
    return next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict) and "pip" in d)


def test_every_rule_names_an_existing_env():
    named = set()
    for smk in (ROOT / "rules").rglob("*.smk"):
        for env in re.findall(r'"\.\./envs/([^"]+)"', smk.read_text()):
            named.add(env)
            assert (ROOT / "envs" / env).is_file(), f"{smk.name}: envs/{env} does not exist"
    assert set(CPU_ENVS) | {"train-verl.yaml", "eval-vllm.yaml"} == named


@pytest.mark.parametrize("name", CPU_ENVS)
def test_cpu_env_pins_match_requirements(name):
    listed = pins(env_pip(name))
    assert listed, name
    assert not DEV_TOOLS & set(listed), f"envs/{name}: development tools in a run-time environment"
    for package, version in listed.items():
        assert REQUIREMENTS.get(package) == version, f"envs/{name}: {package}=={version}, requirements.txt " \
                                                     f"pins {REQUIREMENTS.get(package)}"


def test_no_env_installs_requirements_whole():
    for env in (ROOT / "envs").glob("*.yaml"):
        assert "-r ../requirements.txt" not in env.read_text(), f"envs/{env.name} installs requirements.txt whole"
