"""Experiments as a spec axis: the spec's validation, the trained runs behind each table (a
shared run once), the DAG's job sets (an edited variant reruns only its own jobs), the seed
aggregation and the ablation table's columns and paired tests on hand-made numbers."""
import copy
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import copy_workflow, snakemake
from scipy import stats
from test_specs import DEFAULT_PATHS

from dvmap.configuration import load_all
from dvmap.errors import SpecError
from dvmap.evaluate.tables import aggregate_scores, experiment_table, paired_over_seeds
from dvmap.experiments import MAIN, TrainedRun, all_runs, main_rows, table_rows
from dvmap.specs import ROOT, read_yaml
from dvmap.stats import combined_ci


def write_spec(tmp_path, kind, change):
    data = copy.deepcopy(read_yaml(DEFAULT_PATHS[kind]))
    change(data)
    path = tmp_path / f"{kind}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return str(path)


def set_variant(name, value):
    return lambda d: d["variants"].__setitem__(name, value)


def set_row(table, row, value):
    return lambda d: d["tables"][table]["rows"].__setitem__(row, value)


CASES = [
    # (mutation of the experiments spec, key path, message part)
    (set_variant("bigger", {"learning_rate": 1e-3}), "variants/bigger", "Additional properties"),
    (set_variant("same_template", {"template": "structured_cot"}), None, None),  # unused: harmless
    (lambda d: (set_variant("same_template", {"template": "structured_cot"})(d),
                set_row("table5", "same", {"model": "tiny-dvmap", "variant": "same_template"})(d)),
     "variants/same_template/template", "changes nothing"),
    (lambda d: (set_variant("paper_reward", {"reward": {"variant": "paper"}})(d),
                set_row("table5", "same", {"model": "tiny-dvmap", "variant": "paper_reward"})(d)),
     "variants/paper_reward/reward", "changes nothing"),
    (set_variant("empty", {}), "variants/empty", "must override something"),
    (lambda d: d["tables"]["table3"].__setitem__("baseline", "nope"), "tables/table3/baseline", "is not a row"),
    (lambda d: d["tables"]["table3"].pop("baseline"), "tables/table3", "'baseline' is a required property"),
    (set_row("table3", "other", {"model": "gpt-5"}), "tables/table3/rows/other/model", "unknown evaluated model"),
    (set_row("table3", "other", {"model": "tiny-dvmap", "variant": "nope"}), "tables/table3/rows/other/variant",
     "unknown variant"),
    (set_row("table4", "base_likert", {"model": "tiny-base", "variant": "likert_reward"}),
     "tables/table4/rows/base_likert/variant", "is not a trained model"),
    (set_variant("odd", {"template": "haiku"}), "variants/odd/template", "unknown template"),
    (set_variant("bad__name", {"template": "free_reasoning"}), "variants", "should not be valid"),
]


@pytest.mark.parametrize("change,key_path,message", [c for c in CASES if c[1]], ids=[c[1] + ":" + c[2] for c in CASES if c[1]])
def test_malformed_experiments_spec(tmp_path, monkeypatch, change, key_path, message):
    monkeypatch.chdir(ROOT)
    path = write_spec(tmp_path, "experiments", change)
    with pytest.raises(SpecError) as err:
        load_all({**DEFAULT_PATHS, "experiments": path})
    assert (err.value.file, err.value.key_path) == (path, key_path)
    assert message in str(err.value)


def test_unused_variant_is_allowed(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    load_all({**DEFAULT_PATHS, "experiments": write_spec(tmp_path, "experiments", CASES[1][0])})


def test_paper_cells_name_known_rows(tmp_path, monkeypatch):
    """The paper's number of an ablation cell (a claim's `cell`) names a row of the experiments spec."""
    monkeypatch.chdir(ROOT)

    def rename(d):
        next(c for c in d["claims"] if c.get("cell", {}).get("table") == "table5")["cell"]["row"] = "ternary"

    path = write_spec(tmp_path, "claims", rename)
    with pytest.raises(SpecError, match="no row 'ternary' in table5") as err:
        load_all({**DEFAULT_PATHS, "claims": path})
    assert err.value.key_path.endswith("/cell/row")


@pytest.fixture(scope="module")
def default_specs():
    cwd = Path.cwd()
    try:
        import os
        os.chdir(ROOT)
        return load_all(DEFAULT_PATHS)
    finally:
        os.chdir(cwd)


def test_runs_behind_the_tables(default_specs):
    """The baseline of every ablation is the main model itself, and a run two tables need is one run."""
    exp, models = default_specs["experiments"], default_specs["models"]
    rows = {t: table_rows(exp, models, t) for t in exp["tables"]}
    baseline_runs = {t: {r.name for r in next(x for x in rows[t] if x.name == exp["tables"][t]["baseline"]).runs}
                     for t in ("table3", "table5")}
    assert baseline_runs["table3"] == baseline_runs["table5"] == {"tiny__s0"}
    main = main_rows(exp, models, ["tiny-base", "tiny-dvmap"], exp["seeds"])
    assert [r.name for r in main[1].runs] == ["tiny__s0", "tiny__s1", "tiny__s2"]
    assert main[0].runs == () and main[0].predictions == ("tiny-base",)  # untrained: inference only
    runs = all_runs([*main, *(r for rs in rows.values() for r in rs)])
    assert len(runs) == len(set(runs)) == 3 + 4  # main x3; majority, free reasoning, likert, llama x1 (demo)
    free = next(r for r in rows["table4"] if r.name == "free_reasoning_rl")
    assert free.template == "free_reasoning" and free.predictions == ("tiny-dvmap__free_reasoning__s0",)
    base = next(r for r in rows["table4"] if r.name == "base")
    assert base.runs == () and base.template == "no_reasoning"
    base5 = next(r for r in rows["table5"] if r.name == "base")  # Table 5's untrained base: inference only
    assert base5.runs == () and base5.predictions == ("tiny-base",) and base5.template == "structured_cot"
    assert TrainedRun("tiny", MAIN, 1).name == "tiny__s1"


def dry_run_outputs(proc) -> list[str]:
    return [line.split("output:")[1].strip() for line in proc.stdout.splitlines() if line.strip().startswith("output:")]


def placeholders(workdir: Path, outputs: list[str]) -> None:
    """Stand-in outputs, so a dry run can show what an edit reruns without training anything."""
    for out in (o.strip() for line in outputs for o in line.split(",")):
        path = workdir / out
        if Path(out).parts[1] in ("models", "hf"):  # directory outputs
            path.mkdir(parents=True, exist_ok=True)
            (path / "placeholder").touch()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()


@pytest.mark.slow
def test_experiment_dag_job_sets(tmp_path):
    """Every ablation table and scale figure trains each distinct run once; editing one variant
    reruns that variant's training, generation and scoring and its table, nothing else."""
    wf = copy_workflow(tmp_path / "wf")
    targets = ["results/table3.csv", "results/table4.csv", "results/table5.csv", "results/table10.csv",
               "results/figures/scale_cross_demographic.png", "results/table2.csv"]
    outputs = dry_run_outputs(snakemake(wf, *targets, "-n"))
    trained = sorted(o for o in outputs if o.startswith("results/models/") and "-base" not in o)
    assert trained == sorted(f"results/models/{n}" for n in [
        "tiny__s0", "tiny__s1", "tiny__s2", "tiny__majority_filter__s0", "tiny__free_reasoning__s0",
        "tiny__likert_reward__s0", "tiny-llama__s0", "tiny-small__s0"])
    assert len(outputs) == len(set(outputs))  # nothing built twice
    # the filter variant builds its own corpus beside the main one; the other variants reuse the main corpus
    assert "results/variants/majority_filter/data/archetypes.parquet" in outputs
    assert not any(o.startswith("results/variants/") and "majority_filter" not in o for o in outputs)
    placeholders(wf, outputs)
    snakemake(wf, "--touch", "--forceall", *targets)  # records every job's provenance (params, code)
    assert dry_run_outputs(snakemake(wf, *targets, "-n")) == []
    spec = wf / "specs/experiments.yaml"
    spec.write_text(spec.read_text().replace("likert_reward: {reward: {variant: likert}}",
                                             "likert_reward: {reward: {variant: likert, alpha: 0.8}}"))
    rerun = dry_run_outputs(snakemake(wf, *targets, "-n"))
    assert sorted(rerun) == sorted([
        "results/models/tiny__likert_reward__s0",
        *[f"results/{kind}/tiny-dvmap__likert_reward__s0/structured_cot/cross_demographic.{ext}"
          for kind, ext in (("predictions", "parquet"), ("scores", "json"))],
        "results/table5.csv, results/table5_seeds.csv"])


@pytest.mark.slow
@pytest.mark.parametrize("preset,base,trained", [
    (None, "tiny-base", ["tiny__s0", "tiny__likert_reward__s0"]),
    ("specs/presets/paper.yaml", "qwen3-4b-base",
     [f"qwen3-4b{v}__s{s}" for v in ("", "__likert_reward") for s in (0, 1, 2)]),
])
def test_table5_has_an_untrained_base_row(tmp_path, preset, base, trained):
    """Table 5's job set: the base row is generated (inference only, under the main template) and
    trains nothing; the trained runs are the binary and Likert rows'."""
    wf = copy_workflow(tmp_path / "wf")
    args = ["--profile", "profiles/slurm", "--configfile", preset] if preset else []
    outputs = dry_run_outputs(snakemake(wf, "results/table5.csv", "-n", *args))
    assert f"results/predictions/{base}/structured_cot/cross_demographic.parquet" in outputs
    assert f"results/scores/{base}/structured_cot/cross_demographic.json" in outputs
    models = sorted(o for o in outputs if o.startswith("results/models/") and not o.endswith("-base"))
    assert models == sorted(f"results/models/{n}" for n in trained)


@pytest.mark.slow
def test_paper_preset_trains_each_run_once_on_the_cluster(tmp_path):
    wf = copy_workflow(tmp_path / "wf")
    targets = ["results/table3.csv", "results/table4.csv", "results/table5.csv", "results/table10.csv",
               "results/figures/scale_cross_demographic.png", "results/table2.csv"]
    proc = snakemake(wf, *targets, "-n", "--profile", "profiles/slurm", "--configfile", "specs/presets/paper.yaml")
    blocks = proc.stdout.split("rule train_verl:")[1:]
    outputs = sorted(b.split("output: ")[1].split("\n")[0] for b in blocks)
    expected = [f"results/models/{m}__s{s}" for m in ("qwen3-0.6b", "qwen3-1.7b", "qwen3-4b", "qwen3-8b", "llama-3.2-3b")
                for s in (0, 1, 2)]
    expected += [f"results/models/qwen3-4b__{v}__s{s}" for v in ("majority_filter", "free_reasoning", "likert_reward")
                 for s in (0, 1, 2)]
    assert outputs == sorted(expected)
    assert all("resources:" in b and "gpu=8" in b.split("rule ")[0] for b in blocks)


# ---- seed aggregation and the tables on hand-made numbers ------------------------------------------
def fake_score(acc, ci=(0.0, 0.0), **extra):
    base = {"n": 100, "acc": acc, "acc_ci": [acc - ci[0], acc + ci[1]], "acc_lenient": acc, "n_parsed": 100,
            "parse_failure_rate": extra.get("pfr", 0.0), "api_error_rate": 0.0}
    for m in ("lc", "wd", "jsd", "lc_parsed"):
        base[m], base[f"{m}_ci"] = 0.5, [0.5, 0.5]
    return base


def test_combined_ci_adds_seed_variance_in_quadrature():
    mean, low, high = combined_ci([0.4, 0.5, 0.6], [[0.37, 0.43], [0.47, 0.53], [0.57, 0.63]])
    seed_term = stats.t.ppf(0.975, 2) * 0.1 / math.sqrt(3)
    assert mean == pytest.approx(0.5)
    assert high - mean == pytest.approx(math.hypot(0.03, seed_term))
    assert mean - low == pytest.approx(math.hypot(0.03, seed_term))
    assert combined_ci([0.4], [[0.35, 0.47]]) == pytest.approx((0.4, 0.35, 0.47))  # one seed: the bootstrap CI


def test_aggregate_scores_over_seeds():
    agg = aggregate_scores([fake_score(0.40, pfr=0.01), fake_score(0.44, pfr=0.03), fake_score(0.48, pfr=0.02)])
    assert agg["acc"] == pytest.approx(0.44) and agg["n_seeds"] == 3
    assert agg["acc_seed_sd"] == pytest.approx(0.04)
    assert agg["parse_failure_rate"] == pytest.approx(0.02) and agg["parse_failure_rate_max"] == pytest.approx(0.03)
    assert agg["acc_ci"][0] < 0.44 < agg["acc_ci"][1]


def parsed_frame(correct):
    return pd.DataFrame({"sample_id": [f"s{i}" for i in range(len(correct))], "correct": correct})


def test_paired_over_seeds_pairs_seeds_and_broadcasts_an_untrained_model():
    a = [parsed_frame([True] * 30 + [False] * 10), parsed_frame([True] * 25 + [False] * 15)]
    b = [parsed_frame([True] * 10 + [False] * 30)]
    t = paired_over_seeds(a, b)
    assert t["n_pairs"] == 2 and t["acc_diff"] == pytest.approx((0.5 + 0.375) / 2)
    assert t["mcnemar_p_max"] == pytest.approx(max(stats.binomtest(20, 20).pvalue, stats.binomtest(15, 15).pvalue))
    with pytest.raises(ValueError, match="cannot pair 2 seeds with 3"):
        paired_over_seeds(a, b * 3)


def test_experiment_table_columns_and_paper_numbers():
    spec = {"datasets": ["cross_demographic"], "baseline": "binary"}
    rows = [{"row": "binary", "name": "binary", "model": "tiny-dvmap", "kind": "language model",
             "template": "structured_cot",
             "variant": MAIN, "overrides": {}, "files": ["m__s0", "m__s1"], "seeds": [0, 1]},
            {"row": "likert", "name": "likert", "model": "tiny-dvmap", "kind": "language model",
             "template": "structured_cot",
             "variant": "likert_reward",
             "overrides": {"reward": {"variant": "likert"}}, "files": ["m__l__s0", "m__l__s1"], "seeds": [0, 1]},
            {"row": "reference:majority", "name": "majority", "model": "majority", "kind": "reference predictor",
             "template": "reference", "variant": MAIN,
             "overrides": {}, "files": ["majority"], "seeds": []}]
    good, bad = parsed_frame([True] * 6 + [False] * 4), parsed_frame([True] * 4 + [False] * 6)
    parsed = {("cross_demographic", "binary"): [good, good], ("cross_demographic", "likert"): [bad, bad],
              ("cross_demographic", "reference:majority"): [bad]}
    scores = {("cross_demographic", "binary"): aggregate_scores([fake_score(0.6), fake_score(0.6)]),
              ("cross_demographic", "likert"): aggregate_scores([fake_score(0.4), fake_score(0.4)]),
              ("cross_demographic", "reference:majority"): aggregate_scores([fake_score(0.4)])}
    paper = {"likert": {"acc_diff": -0.016, "wd": 0.155}}
    table = experiment_table("table5", spec, rows, scores, parsed, paper).set_index("row")
    assert table.loc["likert", "acc_diff_vs_baseline"] == pytest.approx(-0.2)
    assert table.loc["likert", "paper_acc_diff"] == -0.016 and table.loc["likert", "paper_wd"] == 0.155
    assert table.loc["likert", "paper_vs"] == "binary"
    assert '"variant": "likert"' in table.loc["likert", "overrides"]
    assert table.loc["binary", "is_baseline"] and np.isnan(table.loc["binary", "acc_diff_vs_baseline"])
    assert {"acc", "acc_ci_low", "acc_ci_high", "lc", "lc_parsed", "wd", "jsd", "n", "n_seeds", "parse_failure_rate",
            "mcnemar_p_max"} <= set(table.columns)
    assert table.loc["reference:majority", "kind"] == "reference predictor"
    assert table.loc["likert", "model"] == "tiny-dvmap" and table.loc["reference:majority", "model"] == "majority"


def _rules_of(proc) -> dict[str, int]:
    """Jobs per rule that a dry run would execute (its job-stats table)."""
    table = proc.stdout.split("Job stats:")[1].split("total")[0] if "Job stats:" in proc.stdout else ""
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", table, flags=re.M)
            if m.group(1) != "job"}


# three seeds, each evaluated on the three benchmarks of the default target
@pytest.fixture(scope="module")
def touched_demo(tmp_path_factory):
    """The demo's default target with stand-in outputs and every job's provenance recorded
    (params, code), as if built: a dry run has nothing to do."""
    wf = copy_workflow(tmp_path_factory.mktemp("touched") / "wf")
    placeholders(wf, dry_run_outputs(snakemake(wf, "-n")))
    snakemake(wf, "--touch", "--forceall")
    assert _rules_of(snakemake(wf, "-n")) == {}
    return wf


AFTER_TRAINING = {"train_local": 3, "generate": 9, "score": 9, "results_table": 3, "table2": 1}
DATA_RULES = {"read_survey", "country_data", "country_pools", "corpus_datasets", "prompts", "export_verl"}


@pytest.mark.slow
@pytest.mark.parametrize("old,new,reruns,untouched", [
    # a GRPO setting: the trained runs and what reads them, never the base model
    ("        lr: 3.0e-4", "        lr: 2.0e-4", AFTER_TRAINING, {"tiny_base_model", *DATA_RULES}),
    # a warm-up setting: the base, and through it every run and the base's own evaluation
    ("warmup: {steps: 300,", "warmup: {steps: 299,",
     {"tiny_base_model": 1, **AFTER_TRAINING, "generate": 12, "score": 12}, DATA_RULES),
    # a reward setting: training and after, not the corpus nor the base
    ("reward: {variant: paper, beta: 0.5,", "reward: {variant: paper, beta: 0.4,", AFTER_TRAINING,
     {"tiny_base_model", *DATA_RULES}),
])
def test_single_key_model_edits_rerun_only_what_reads_the_key(touched_demo, tmp_path, old, new, reruns, untouched):
    """Each rule's params are the slice of the specs it reads: one key edited in specs/models.yaml
    reruns exactly the jobs that read it and their descendants (checked on a touched DAG)."""
    import shutil

    wf = tmp_path / "edit"
    shutil.copytree(touched_demo, wf, symlinks=True)
    spec = wf / "specs/models.yaml"
    assert spec.read_text().count(old) == 1, old
    spec.write_text(spec.read_text().replace(old, new))
    planned = _rules_of(snakemake(wf, "-n"))
    assert {rule: planned.get(rule) for rule in reruns} == reruns, planned
    assert not (untouched & set(planned)), planned
