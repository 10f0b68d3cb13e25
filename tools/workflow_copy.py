"""Test and benchmark support (outside the package): a copy of the workflow in another folder, so
a run never touches the checkout's results/, and the README's main command."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW_FILES = ["Snakefile", "docutils.conf", "rules", "scripts", "specs", "schemas", "templates", "profiles", "envs", "report"]


def copy_workflow(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dest / name)
    return dest


def run_snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", *args]
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    return proc


def readme_main_command() -> list[str]:
    """The main command as written in the README's code block (first snakemake line)."""
    for line in (ROOT / "README.md").read_text().splitlines():
        if line.startswith("snakemake --cores all"):
            return line.split("#")[0].split()
    raise AssertionError("README.md has no main `snakemake --cores all` command")
