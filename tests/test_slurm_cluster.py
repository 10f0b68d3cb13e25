"""The kit through profiles/slurm/ on a real SLURM cluster (the one-node cluster of
scripts/cluster/slurm_up.sh, which .ci/run brings up): a slice of the demo (data stage, the tiny
model's base and GRPO training, one generation) runs as SLURM jobs, and SLURM's own records
(its job completion log) show each job COMPLETED with the CPUs, memory and time limit its rule
declares. Then a fault: the GRPO job is cancelled with scancel after its first checkpoint;
Snakemake resubmits it (the profile's `retries`), it resumes from the checkpoint, and the policy
after the last step (the last checkpoint's weights) and the output model are byte-identical to the
uninterrupted run's. Skipped when no cluster is up."""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import copy_workflow

from dvmap.specs import ROOT

pytestmark = pytest.mark.slow

# ---- what the test drives: change these when the training outputs are renamed ----------------
MODEL = "tiny"                                     # models: entry of specs/models.yaml
BASE_TARGET = "results/models/tiny-base"           # rule BASE_RULE's output
TRAINED_TARGET = "results/models/tiny__s0"         # rule TRAIN_RULE's output: the main recipe, seed 0
WEIGHTS_FILE = "model.safetensors"                 # in TRAINED_TARGET
CHECKPOINT_ROOT = "results/checkpoints/tiny__s0"   # the trainer's checkpoint-<step>/ folders, at any depth
GENERATION_TARGET = "results/predictions/tiny-dvmap__s0/structured_cot/cross_demographic.parquet"
BASE_RULE = "tiny_base_model"
TRAIN_RULE = "train_local"
GENERATE_RULE = "generate"                         # CPU generation (the demo, API clients)
GPU_RULES = ("train_verl", "generate_vllm")        # not run here: no GPU on the test cluster
DATA_RULES = ("synthetic_survey", "read_survey", "country_data", "country_pools", "corpus_datasets", "prompts")
LOCAL_RULES = ("audit_leakage",)                   # localrules: run by Snakemake itself, not SLURM
# The demo shrunk for CI: fewer profiles (the splits spec), a shorter warm-up and a few GRPO steps
# with a checkpoint and a training-log entry every 2 (models: MODEL: local: of the models spec), so
# the fault lands after a checkpoint with most steps left to resume. The test checks SLURM, not
# learning: any dev evaluation may be selected (select_min_valid 0).
SHRUNK_SPLITS = {"corpus": {"profiles_per_country": 8}, "cross_demographic": {"profiles_per_country": 1},
                 "cross_value": {"profiles_per_country": 1}, "cross_country": {"profiles_per_country": 1}}
# Each study country is a job of its own (two per country): the test cluster gets three of them.
SHRUNK_COUNTRIES = ("USA", "DEU", "NGA")             # two training countries, one cross-country
SHRUNK_LOCAL = {"tokenizer": {"train_texts": 500}, "warmup": {"steps": 20, "batch_size": 8},
                "grpo": {"steps": 16, "save_steps": 2, "eval_steps": 2, "eval_samples": 16, "select_min_valid": 0.0}}
# The overlay on profiles/slurm/config.yaml for the test cluster: no accounting database there,
# so job states come from squeue (the cluster keeps finished jobs MinJobAge=300 s) and any account
# name passes; fast first status check; SLURM's job logs kept for inspection.
OVERLAY = {
    "slurm-status-command": "squeue",
    "slurm-init-seconds-before-status-checks": 8,
    "slurm-keep-successful-logs": True,
    "latency-wait": 5,
    "jobs": 4,
}
OVERLAY_RESOURCES = {"slurm_account": "dvmap"}
RUN_LIMIT_S = 1800  # a Snakemake run that takes longer is stuck: stop it and fail (a hang guard, not a timing check)


def _slurm(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=30)


def _jobcomp_log() -> Path | None:
    """The job completion log of the cluster (JobCompType=jobcomp/filetxt), or None."""
    config = _slurm("scontrol", "show", "config").stdout
    kind = re.search(r"^JobCompType\s*=\s*(\S+)", config, re.M)
    loc = re.search(r"^JobCompLoc\s*=\s*(\S+)", config, re.M)
    if kind and kind.group(1) == "jobcomp/filetxt" and loc:
        return Path(loc.group(1))
    return None


@pytest.fixture(scope="module")
def jobcomp() -> Path:
    if shutil.which("sinfo") is None:
        pytest.skip("no SLURM here (sinfo is absent): bring a cluster up with scripts/cluster/slurm_up.sh")
    states = {}
    for partition in ("cpu", "gpu"):
        proc = _slurm("sinfo", "-h", "-N", "-p", partition, "-o", "%T")
        states[partition] = proc.stdout.split()
    if not any(s.rstrip("*~#") in ("idle", "mixed", "allocated") for s in states["cpu"]) or not states["gpu"]:
        pytest.skip(f"the SLURM cluster is down or lacks the cpu/gpu partitions ({states}): "
                    "bring it up with scripts/cluster/slurm_up.sh")
    log = _jobcomp_log()
    if log is None:
        pytest.skip("the cluster keeps no job completion log (JobCompType=jobcomp/filetxt): "
                    "bring it up with scripts/cluster/slurm_up.sh")
    return log


def _records(log: Path, job_ids: set[str], workdir: Path) -> dict[str, dict]:
    """SLURM's completion records (JobId=... JobState=... Tres=...) of the given jobs run in workdir."""
    out = {}
    for line in log.read_text().splitlines():
        fields = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
        if fields.get("JobId") in job_ids and Path(fields.get("WorkDir", "")) == workdir:
            out[fields["JobId"]] = fields
    return out


def _wait_for_records(log: Path, job_ids: set[str], workdir: Path, timeout: float = 30) -> dict[str, dict]:
    """slurmctld writes a record when a job ends; a cancelled job's may come a moment later."""
    deadline = time.monotonic() + timeout
    while True:
        found = _records(log, job_ids, workdir)
        if set(found) == job_ids or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def _submissions(output: str) -> list[dict]:
    """Snakemake's SLURM submissions in the order made: Snakemake job id, SLURM job id, rule, and the
    threads and resources Snakemake printed for that job (what the rule declares plus the profile)."""
    declared = {}
    for block in re.split(r"\n(?=\[.*\]\n|(?:local)?rule \w+:)", output):
        jobid = re.search(r"^\s+jobid: (\d+)$", block, re.M)
        rule = re.search(r"^(?:local)?rule (\w+):", block, re.M)
        if jobid and rule:
            threads = re.search(r"^\s+threads: (\d+)$", block, re.M)
            resources = re.search(r"^\s+resources: (.*)$", block, re.M)
            declared[jobid.group(1)] = {
                "rule": rule.group(1), "threads": int(threads.group(1)) if threads else 1,
                "resources": dict(kv.split("=", 1) for kv in resources.group(1).split(", ")) if resources else {}}
    subs = []
    for m in re.finditer(r"Job (\d+) has been submitted with SLURM jobid (\d+) \(log: (.*?)\)\.", output):
        job = dict(declared[m.group(1)])
        rule_dir = next(p for p in Path(m.group(3)).parts if p.startswith("rule_"))
        assert rule_dir == f"rule_{job['rule']}", (rule_dir, job)
        subs.append({**job, "snakemake_jobid": m.group(1), "slurm_jobid": m.group(2), "slurm_log": m.group(3)})
    return subs


def _deep_update(target: dict, changes: dict) -> None:
    for key, value in changes.items():
        if isinstance(value, dict):
            assert isinstance(target.get(key), dict), f"the spec has no mapping {key!r} to shrink"
            _deep_update(target[key], value)
        else:
            assert key in target, f"the spec has no key {key!r} to shrink"
            target[key] = value


def _update_yaml(path: Path, changes: dict) -> None:
    data = yaml.safe_load(path.read_text())
    _deep_update(data, changes)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _scratch_workflow(dest: Path) -> Path:
    """A copy of the workflow with the demo shrunk and the test cluster's profile overlay."""
    workdir = copy_workflow(dest)
    spec_files = yaml.safe_load((workdir / "specs/config.yaml").read_text())["specs"]
    _update_yaml(workdir / spec_files["splits"], SHRUNK_SPLITS)
    countries = yaml.safe_load((workdir / spec_files["countries"]).read_text())
    countries["countries"] = [c for c in countries["countries"] if c["iso3"] in SHRUNK_COUNTRIES]
    (workdir / spec_files["countries"]).write_text(yaml.safe_dump(countries, sort_keys=False, allow_unicode=True))
    _update_yaml(workdir / spec_files["models"], {"models": {MODEL: {"local": SHRUNK_LOCAL}}})
    profile = yaml.safe_load((workdir / "profiles/slurm/config.yaml").read_text())
    profile.update(OVERLAY)
    profile["default-resources"].update(OVERLAY_RESOURCES)
    (workdir / "profiles/slurm-test").mkdir()
    for extra in (workdir / "profiles/slurm").iterdir():  # partitions.yaml and the like
        if extra.name != "config.yaml":
            shutil.copy2(extra, workdir / "profiles/slurm-test" / extra.name)
    (workdir / "profiles/slurm-test/config.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
    return workdir


def _snakemake_cmd(*targets: str) -> list[str]:
    return [sys.executable, "-m", "snakemake", "--profile", "profiles/slurm-test", *targets]


def _stop(proc: subprocess.Popen, workdir: Path) -> None:
    """Stop a stuck run: Snakemake (it cancels its jobs), then any job of this workdir left."""
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    for line in _slurm("squeue", "-h", "-o", "%i|%Z").stdout.splitlines():
        job, folder = line.split("|", 1)
        if Path(folder) == workdir:
            _slurm("scancel", job)


def _run(workdir: Path, *targets: str, on_poll=None) -> str:
    """Run Snakemake through the SLURM profile; `on_poll` is called every half second while it runs."""
    proc = subprocess.Popen(_snakemake_cmd(*targets), cwd=workdir, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    out_path = workdir / "snakemake_run.log"
    deadline = time.monotonic() + RUN_LIMIT_S
    with open(out_path, "a") as sink:
        import threading

        def pump_output():
            for line in proc.stdout:
                sink.write(line)
                sink.flush()

        pump = threading.Thread(target=pump_output)
        pump.start()
        while proc.poll() is None:
            if time.monotonic() > deadline:
                _stop(proc, workdir)
                pump.join()
                raise AssertionError(f"Snakemake ran over {RUN_LIMIT_S} s:\n{out_path.read_text()[-6000:]}")
            if on_poll:
                on_poll()
            time.sleep(0.5)
        pump.join()
    output = out_path.read_text()
    assert proc.returncode == 0, f"{' '.join(_snakemake_cmd(*targets))} failed:\n{output[-8000:]}"
    return output


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _checkpoints(workdir: Path) -> list[tuple[int, Path]]:
    """(global step, folder) of the trainer's complete checkpoints (trainer_state.json is written last)."""
    return sorted((int(p.parent.name.split("-")[1]), p.parent)
                  for p in (workdir / CHECKPOINT_ROOT).rglob("checkpoint-*/trainer_state.json"))


@pytest.fixture(scope="module")
def demo_slice(jobcomp, tmp_path_factory):
    """The slice run once, uninterrupted: (workdir, Snakemake's output, submissions, SLURM records)."""
    workdir = _scratch_workflow(tmp_path_factory.mktemp("slurm") / "wf")
    output = _run(workdir, TRAINED_TARGET, GENERATION_TARGET)
    subs = _submissions(output)
    records = _wait_for_records(jobcomp, {s["slurm_jobid"] for s in subs}, workdir)
    return workdir, output, subs, records


def test_demo_slice_runs_as_slurm_jobs_with_the_declared_resources(demo_slice):
    workdir, output, subs, records = demo_slice
    rules = [s["rule"] for s in subs]
    for rule in (*DATA_RULES, BASE_RULE, TRAIN_RULE, GENERATE_RULE):
        assert rule in rules, f"rule {rule} did not run as a SLURM job: {rules}"
    for rule in LOCAL_RULES:
        assert rule not in rules and re.search(rf"^localrule {rule}:", output, re.M), rule
    assert len({s["snakemake_jobid"] for s in subs}) == len(subs)  # each job submitted once: no failure, no retry
    assert (workdir / TRAINED_TARGET / WEIGHTS_FILE).is_file() and (workdir / GENERATION_TARGET).is_file()
    for sub in subs:
        rec = records.get(sub["slurm_jobid"])
        assert rec is not None, f"no SLURM record of job {sub['slurm_jobid']} ({sub['rule']})"
        tres = dict(kv.split("=", 1) for kv in rec["Tres"].split(","))
        declared = sub["resources"]
        assert rec["JobState"] == "COMPLETED", (sub, rec)
        assert rec["Partition"] == "cpu", (sub, rec)  # CPU rules on the CPU partition, generate included
        assert int(tres["cpu"]) == sub["threads"], (sub, rec)
        assert tres["mem"] == f"{declared['mem_mb']}M", (sub, rec)
        assert int(rec["TimeLimit"]) == int(declared["runtime"]), (sub, rec)
        assert rec["Account"] == OVERLAY_RESOURCES["slurm_account"], rec
    by_rule = {s["rule"]: records[s["slurm_jobid"]] for s in subs}
    # the rules' own numbers: GRPO and generation on 2 cores, generation's 4-hour limit
    assert by_rule[TRAIN_RULE]["Tres"].startswith("cpu=2,") and by_rule[GENERATE_RULE]["Tres"].startswith("cpu=2,")
    assert by_rule[GENERATE_RULE]["TimeLimit"] == "240" and by_rule[TRAIN_RULE]["TimeLimit"] == "60"


def test_cancelled_grpo_job_resumes_from_its_checkpoint(demo_slice, jobcomp, tmp_path):
    first, _, _, _ = demo_slice
    workdir = _scratch_workflow(tmp_path / "wf")
    # the data and the base model of the first run (mtimes kept); training starts from scratch
    shutil.copytree(first / "results", workdir / "results", copy_function=shutil.copy2,
                    ignore=lambda folder, names: [n for n in names if (Path(folder) / n) in
                                                  {first / TRAINED_TARGET, first / CHECKPOINT_ROOT}])
    assert not (workdir / TRAINED_TARGET).exists() and (workdir / BASE_TARGET).is_dir()
    cancelled = {}

    def cancel_after_first_checkpoint():
        if cancelled or not _checkpoints(workdir):
            return
        for line in _slurm("squeue", "-h", "-o", "%i|%k|%T|%Z").stdout.splitlines():
            job, comment, state, folder = line.split("|", 3)
            if Path(folder) == workdir and comment.startswith(f"rule_{TRAIN_RULE}") and state == "RUNNING":
                cancelled.update(job=job, step=_checkpoints(workdir)[-1][0])
                _slurm("scancel", job)

    output = _run(workdir, TRAINED_TARGET, on_poll=cancel_after_first_checkpoint)
    assert cancelled, f"the GRPO job was never seen running with a checkpoint:\n{output[-4000:]}"
    train_jobs = [s["slurm_jobid"] for s in _submissions(output) if s["rule"] == TRAIN_RULE]
    assert train_jobs[0] == cancelled["job"] and len(train_jobs) == 2, train_jobs  # resubmitted once
    records = _wait_for_records(jobcomp, set(train_jobs), workdir)
    assert [records[j]["JobState"] for j in train_jobs] == ["CANCELLED", "COMPLETED"], records
    assert cancelled["step"] < SHRUNK_LOCAL["grpo"]["steps"]
    # the second job resumed: the steps up to the checkpoint were logged once (by the first job)
    log_path = next((workdir / CHECKPOINT_ROOT).rglob("train_log.jsonl"))
    import json

    log = [json.loads(line) for line in log_path.read_text().splitlines()]
    before = [h["step"] for h in log if "reward_mean" in h and h["step"] <= cancelled["step"]]
    assert before and len(before) == len(set(before)), before
    assert sum(1 for h in log if h.get("step") == 0 and "dev" in h) == 1
    # and ended where the uninterrupted run did: the policy after the last step (the last checkpoint)
    # and the output (the dev-selected weights) are byte for byte the same
    last, uninterrupted = _checkpoints(workdir)[-1], _checkpoints(first)[-1]
    assert last[0] == uninterrupted[0] == SHRUNK_LOCAL["grpo"]["steps"]
    assert _sha256(last[1] / WEIGHTS_FILE) == _sha256(uninterrupted[1] / WEIGHTS_FILE)
    assert _sha256(last[1] / WEIGHTS_FILE) != _sha256(workdir / BASE_TARGET / WEIGHTS_FILE)  # it trained
    assert _sha256(workdir / TRAINED_TARGET / WEIGHTS_FILE) == _sha256(first / TRAINED_TARGET / WEIGHTS_FILE)


def test_gpu_rules_get_the_gpu_partition_cpu_rules_the_cpu_partition():
    """In profiles/slurm/: CPU rules default to the CPU partition, train_verl asks for the GPU
    partition, and generate_vllm names none, so that the plugin picks one from partitions.yaml by
    the job's gpu resource (GPUs: the GPU partition; vLLM on CPU: the CPU partition)."""
    import logging
    from types import SimpleNamespace

    from snakemake_executor_plugin_slurm.partitions import get_best_partition, read_partition_file

    profile = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())
    assert profile["default-resources"]["slurm_partition"] == "cpu"
    train_verl, generate_vllm = GPU_RULES
    assert profile["set-resources"][train_verl]["slurm_partition"] == "gpu"
    assert eval(profile["set-resources"][generate_vllm]["slurm_partition"]) == ""  # as Snakemake evaluates it
    partitions = read_partition_file(ROOT / "profiles/slurm" / profile["slurm-partition-config"])

    def job(gpu):
        return SimpleNamespace(name=generate_vllm, threads=2, resources={"gpu": gpu, "mem_mb": 8000, "runtime": 240})

    logger = logging.getLogger(__name__)
    assert get_best_partition(partitions, job(1), logger) == "gpu"
    assert get_best_partition(partitions, job(4), logger) == "gpu"
    assert get_best_partition(partitions, job(0), logger) == "cpu"
