"""The Snakemake DAG: lint, the demo build end to end, determinism, reruns after spec edits,
bad input stopping the run before any job, leakage failing the build, the release as source."""
import hashlib
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import RELEASE_DEV, copy_workflow, snakemake

from dvmap.data.splits import DATASETS

pytestmark = pytest.mark.slow


def digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((root / "results").rglob("*")) if p.is_file()}


def planned_jobs(proc) -> dict[str, int]:
    """Jobs per rule that a dry run would execute (from its job-stats table)."""
    table = proc.stdout.split("Job stats:")[1].split("total")[0] if "Job stats:" in proc.stdout else ""
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", table, flags=re.M)
            if m.group(1) != "job"}


def planned_rules(proc) -> set[str]:
    return set(planned_jobs(proc))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The demo workflow built once from the embedded synthetic file."""
    wf = copy_workflow(tmp_path_factory.mktemp("built"))
    snakemake(wf, "data")
    return wf


def test_lint_is_clean(workflow):
    proc = snakemake(workflow, "--lint")
    assert "Congratulations, your workflow is in a good condition!" in proc.stdout + proc.stderr


def test_demo_build_outputs(built):
    counts = json.loads((built / "results/audit/counts.json").read_text())
    for name in DATASETS:
        assert counts["datasets"][name]["samples"] > 0, name
    leakage = json.loads((built / "results/audit/leakage.json").read_text())
    assert leakage["ok"] and all(v == 0 for v in leakage["profile_overlap"].values())
    filtering = json.loads((built / "results/audit/filtering.json").read_text())
    assert 0 < filtering["answers_removed_share"] < 0.5
    for template in ("structured_cot", "free_reasoning", "no_reasoning"):
        prompts = pd.read_parquet(built / f"results/prompts/{template}/cross_demographic.parquet")
        assert len(prompts) == counts["datasets"]["cross_demographic"]["samples"]
    verl = pd.read_parquet(built / "results/verl/structured_cot/train.parquet")
    assert list(verl.columns) == ["data_source", "prompt", "ability", "reward_model", "extra_info"]
    assert (built / "results/hf/cross_value/dataset_info.json").is_file()


def test_two_builds_are_byte_identical(built, tmp_path):
    again = copy_workflow(tmp_path / "again")
    snakemake(again, "data")
    first, second = digests(built), digests(again)
    assert first.keys() == second.keys() and len(first) > 40
    assert {k for k in first if first[k] != second[k]} == set()


def test_users_csv_file_gives_the_same_corpus(built, tmp_path):
    import pyreadstat

    frame, _ = pyreadstat.read_sav(str(built / "results/synthetic/wvs7_synthetic_demo.sav"))
    frame.to_csv(tmp_path / "my_wvs7.csv", index=False)
    wf = copy_workflow(tmp_path / "csv")
    snakemake(wf, "results/corpus/train.parquet", "results/audit/leakage.json", "--config",
              f"survey_file={tmp_path / 'my_wvs7.csv'}")
    assert not (wf / "results/synthetic").exists()  # the synthetic file is not built for a real file
    for name in ("corpus/train.parquet", "benchmarks/cross_demographic.parquet"):
        a, b = (built / "results" / name).read_bytes(), (wf / "results" / name).read_bytes()
        assert hashlib.sha256(a).digest() == hashlib.sha256(b).digest(), name


ANDORRA = ("  - {iso3: AND, iso_numeric: 20, name: Andorra, quadrant: secular/self_expression, role: %s,"
           " position: {x: 0.8, y: 1.3}}\n")
DATA_READ = {"synthetic_survey", "read_survey"}


def append(text):
    return lambda old: old + text


def replace(old_text, new_text):
    def edit(old):
        assert old_text in old
        return old.replace(old_text, new_text)

    return edit


@pytest.mark.parametrize("spec,edit,reruns,untouched", [
    ("filter.yaml", replace("rule: strict", "rule: majority"),
     {"country_data": 18, "country_pools": 18, "corpus_datasets": 1, "audit_filtering": 1, "prompts": 18}, DATA_READ),
    ("splits_demo.yaml", replace("seed: 42", "seed: 7"),
     {"country_pools": 18, "corpus_datasets": 1, "audit_leakage": 1, "prompts": 18, "export_verl": 12},
     {*DATA_READ, "country_data", "study_tables", "audit_filtering"}),
    ("synthetic.yaml", replace("profile_noise: 0.9", "profile_noise: 0.8"),
     {"synthetic_survey": 1, "read_survey": 1, "country_data": 18, "corpus_datasets": 1}, set()),
    # Adding a test country: its own data and pools, the cross-country benchmark and its prompts;
    # nothing of the training countries, nothing of the other benchmarks.
    ("countries.yaml", append(ANDORRA % "cross_country"),
     {"country_data": 1, "country_pools": 1, "cross_country_dataset": 1, "prompts": 3, "export_verl": 2,
      "export_hf": 1}, {*DATA_READ, "corpus_datasets", "cross_value_dataset"}),
    # Adding a training country: the corpus and the benchmarks drawn from training countries change.
    ("countries.yaml", append(ANDORRA % "train"),
     {"country_data": 1, "country_pools": 1, "corpus_datasets": 1, "cross_value_dataset": 1},
     {*DATA_READ, "cross_country_dataset"}),
    # Rewording a cross-value question: that benchmark and its prompts only (no coding, no corpus).
    ("questions.yaml", replace("How much do you trust people you meet for the first time:",
                               "How far do you trust people you meet for the first time:"),
     {"cross_value_dataset": 1, "prompts": 3}, {*DATA_READ, "country_data", "country_pools", "corpus_datasets",
                                                 "cross_country_dataset"}),
])
def test_spec_edit_reruns_only_affected_jobs(built, tmp_path, spec, edit, reruns, untouched):
    import shutil

    wf = tmp_path / "edit"
    shutil.copytree(built, wf, symlinks=True)
    path = wf / "specs" / spec
    path.write_text(edit(path.read_text()))
    planned = planned_jobs(snakemake(wf, "-n", "data"))
    assert {rule: planned.get(rule) for rule in reruns} == reruns, planned
    assert not (untouched & set(planned)), planned


def test_nothing_to_do_after_a_build(built):
    assert "Nothing to be done" in "".join(snakemake(built, "-n", "data").__dict__[k] for k in ("stdout", "stderr"))


def test_bad_spec_stops_before_any_job(workflow):
    bad = workflow / "specs/filter_bad.yaml"
    bad.write_text("rule: strictest\n")
    proc = snakemake(workflow, "--config", "specs={'filter': 'specs/filter_bad.yaml'}", check=False)
    assert proc.returncode != 0
    assert "specs/filter_bad.yaml: rule: 'strictest' is not one of" in proc.stdout + proc.stderr
    assert not (workflow / "results").exists()


def test_bad_survey_file_stops_before_any_job(workflow, tmp_path):
    (tmp_path / "wvs.csv").write_text("B_COUNTRY,Q260\n840,1\n")
    proc = snakemake(workflow, "--config", f"survey_file={tmp_path / 'wvs.csv'}", check=False)
    assert proc.returncode != 0
    assert "wvs.csv: missing required columns ['Q273'" in proc.stdout + proc.stderr
    assert not (workflow / "results").exists()


def test_leakage_fails_the_build(built, tmp_path):
    import shutil

    wf = tmp_path / "leak"
    shutil.copytree(built, wf, symlinks=True)
    bench = wf / "results/benchmarks/cross_demographic.parquet"
    train = pd.read_parquet(wf / "results/corpus/train.parquet")
    pd.concat([pd.read_parquet(bench), train.head(2)]).to_parquet(bench, index=False)
    proc = snakemake(wf, "results/audit/leakage.json", "--forcerun", "audit_leakage", check=False)
    assert proc.returncode != 0
    assert "leakage between splits" in proc.stdout + proc.stderr
    assert not (wf / "results/audit/leakage.json").exists()


def release_frame(samples: pd.DataFrame, attribute_names) -> pd.DataFrame:
    """Our samples in the released corpus's column layout."""
    return pd.DataFrame({"Q_id": samples["q_id"], **{a: samples[a] for a in attribute_names},
                         "frequency": samples["frequency"], "Category": samples["category"],
                         "Question": samples["question"], "prompt": "", "Options": samples["options"].map(", ".join),
                         "answer": samples["answer"], "data_source": "wvs"})


def test_release_as_data_source(built, tmp_path, attribute_names):
    release = tmp_path / "release"
    release.mkdir()
    for name, folder in (("train", "corpus"), ("test", "corpus"), ("cross_demographic", "benchmarks")):
        release_frame(pd.read_parquet(built / f"results/{folder}/{name}.parquet"), attribute_names).to_parquet(
            release / f"{name}.parquet", index=False)
    wf = copy_workflow(tmp_path / "rel")
    snakemake(wf, "data", "--config", "data_source=release", f"release_dir={release}")
    ours = pd.read_parquet(built / "results/benchmarks/cross_demographic.parquet")
    theirs = pd.read_parquet(wf / "results/benchmarks/cross_demographic.parquet")
    assert theirs["profile_id"].tolist() == ours["profile_id"].tolist()
    assert theirs["frequency"].tolist() == pytest.approx(ours["frequency"].tolist())
    assert json.loads((wf / "results/audit/leakage.json").read_text())["ok"]
    assert not (wf / "results/corpus/dev.parquet").exists()  # only the splits the release folder has


def test_partial_release_folder_never_takes_a_split_from_the_survey_build(built, tmp_path, attribute_names):
    """A checkout built from the survey, switched to a release folder holding train only: training
    stops on the missing dev split before any job (the survey-built dev.parquet is not taken for the
    release's), and the prompts-only run replaces the survey-built train split with the release's."""
    import shutil

    release = tmp_path / "release"
    release.mkdir()
    train = pd.read_parquet(built / "results/corpus/train.parquet").head(300)
    release_frame(train, attribute_names).to_parquet(release / "train.parquet", index=False)
    wf = tmp_path / "switched"
    shutil.copytree(built, wf, symlinks=True)
    source = ["--config", "data_source=release", f"release_dir={release}"]
    proc = snakemake(wf, "-n", "results/models/tiny__s0", *source, check=False)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "no dev split" in out and "each GRPO run's checkpoint is chosen on dev" in out and "Traceback" not in out
    snakemake(wf, "data", *source, "train_models=[]", "eval_models=[]")
    assert len(pd.read_parquet(wf / "results/corpus/train.parquet")) == 300  # the release's, not the survey's
    assert len(pd.read_parquet(wf / "results/prompts/structured_cot/train.parquet")) == 300


def test_release_dev_split_through_the_dag(tmp_path, workflow):
    if not RELEASE_DEV.is_file():
        pytest.skip(f"{RELEASE_DEV} is absent (developers' shared/ folder only)")
    release = tmp_path / "release"
    release.mkdir()
    (release / "dev.parquet").symlink_to(RELEASE_DEV)
    snakemake(workflow, "results/prompts/structured_cot/dev.parquet", "--config", "data_source=release",
              f"release_dir={release}")
    ours = pd.read_parquet(workflow / "results/prompts/structured_cot/dev.parquet")
    assert ours["prompt"].tolist() == pd.read_parquet(RELEASE_DEV)["prompt"].tolist()
