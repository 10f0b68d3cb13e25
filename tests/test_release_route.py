"""The authors' release as a route of its own (`data_source: release`): release-shaped folders made
from the demo's own corpus, the README's release command on each. train + dev + test trains the demo
model, evaluates it and the reference predictors on the released test split and judges the size
claims; dev only and test only run what they can; all six give Table 2 itself. None ends in a
traceback; a target that needs a missing split stops before any job, naming it."""
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import copy_workflow, snakemake

from dvmap.data.release import release_route
from tools.release_folder import write_release_folder

pytestmark = pytest.mark.slow

# The demo's recipe shrunk (this tests the route, not learning): a short warm-up, a few GRPO steps, one seed.
QUICK_LOCAL = {"tokenizer": {"train_texts": 500}, "warmup": {"steps": 20, "batch_size": 8},
               "grpo": {"steps": 6, "save_steps": 2, "eval_steps": 2, "eval_samples": 16, "select_min_valid": 0.0}}
# Evaluated splits cut to this many rows (the released splits' layout, fewer samples to generate).
EVAL_ROWS = 120
REFERENCES = ["uniform", "majority", "country_majority", "demographic_classifier"]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The demo's corpus and benchmarks (the data stage, about a minute on 2 cores)."""
    wf = copy_workflow(tmp_path_factory.mktemp("built"))
    snakemake(wf, "data")
    return wf


def release_dir(built: Path, dest: Path, splits, hf=()) -> Path:
    """A release folder of `splits` from the demo's corpus; the evaluated splits cut to EVAL_ROWS rows."""
    write_release_folder(built / "results", dest, splits, hf)
    for split in splits:
        if split not in ("train", "dev") and split not in hf:
            path = dest / f"{split}.parquet"
            pd.read_parquet(path).head(EVAL_ROWS).to_parquet(path, index=False)
    return dest


def quick_workflow(dest: Path) -> Path:
    wf = copy_workflow(dest)
    models = yaml.safe_load((wf / "specs/models.yaml").read_text())
    for section, values in QUICK_LOCAL.items():
        models["models"]["tiny"]["local"][section].update(values)
    (wf / "specs/models.yaml").write_text(yaml.safe_dump(models, sort_keys=False, allow_unicode=True))
    experiments = wf / "specs/experiments.yaml"
    experiments.write_text(experiments.read_text().replace("seeds: [0, 1, 2]  ", "seeds: [0]  ", 1))
    return wf


def release_command(wf: Path, release: Path, *args: str, check: bool = True):
    """The README's release command (`--config data_source=release release_dir=...`)."""
    proc = snakemake(wf, *args, "--config", "data_source=release", f"release_dir={release}", check=check)
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out and "Exception" not in out, out[-3000:]
    return proc, out


def claims_verdicts(wf: Path, claims_file: str) -> dict:
    claims = pd.read_csv(wf / claims_file)
    return dict(zip(claims["id"], claims["verdict"]))


def test_train_dev_test_trains_evaluates_on_test_and_judges_the_sizes(built, tmp_path):
    release = release_dir(built, tmp_path / "release", ["train", "dev", "test"])
    wf = quick_workflow(tmp_path / "wf")
    _, out = release_command(wf, release)
    assert "no cross_demographic, cross_country or cross_value split: not evaluated" in out
    assert "evaluated on test: results/tables/test.csv" in out
    assert (wf / "results/models/tiny__s0").is_dir()  # trained on the released train split, selected on dev
    table = pd.read_csv(wf / "results/tables/test.csv")
    assert table["model"].tolist() == ["tiny-base", "tiny-dvmap", *REFERENCES]
    assert (table["n"] == EVAL_ROWS).all()
    assert (table["acc_ci_low"] <= table["acc"]).all() and (table["acc"] <= table["acc_ci_high"]).all()
    assert not (wf / "results/table2.csv").exists()  # Table 2 stands on cross_demographic, which the release lacks
    counts = json.loads((wf / "results/audit/counts.json").read_text())
    sizes = {s: len(pd.read_parquet(release / f"{s}.parquet")) for s in ("train", "dev", "test")}
    assert {s: counts["datasets"][s]["samples"] for s in sizes} == sizes
    assert counts["corpus_samples"] == sum(sizes.values())
    assert (wf / "results/claims.csv").is_file()


def test_train_dev_test_judges_the_corpus_size_claim(built, tmp_path):
    release = release_dir(built, tmp_path / "release", ["train", "dev", "test"])
    wf = copy_workflow(tmp_path / "wf")
    release_command(wf, release, "data")  # the data target's claims: results/claims/data.csv
    verdicts = claims_verdicts(wf, "results/claims/data.csv")
    assert verdicts["corpus_samples"] != "not run"
    # the release's own prompts (here the demo's, as tools/release_folder.py writes them) rendered byte for byte
    prompts = json.loads((wf / "results/audit/release_prompts.json").read_text())
    assert prompts["share_identical"] == 1.0 and prompts["prompts_given"] == prompts["identical"] > 0
    assert verdicts["release_prompt_format"] == "reproduced"
    assert verdicts["release_dev_samples"] in ("reproduced", "contradicted")  # the demo's dev is not 7,183
    claims = pd.read_csv(wf / "results/claims/data.csv").set_index("id")
    assert claims.loc["corpus_samples", "survey"].startswith("the released DVMap corpus")


@pytest.mark.parametrize("split", ["dev", "test"])
def test_one_split_runs_what_it_can(built, tmp_path, split):
    release = release_dir(built, tmp_path / "release", [split])
    wf = copy_workflow(tmp_path / "wf")
    _, out = release_command(wf, release)
    assert "no train split: the reference predictors" in out and "not evaluated" in out
    folder = wf / "results/corpus"
    assert [p.name for p in folder.iterdir()] == [f"{split}.parquet"]
    assert (wf / f"results/prompts/structured_cot/{split}.parquet").is_file()
    assert (wf / "results/audit/counts.json").is_file() and (wf / "results/claims.csv").is_file()
    assert not (wf / "results/tables").exists() and not (wf / "results/models").exists()
    # a target that needs a missing split stops before any job, naming the split and what needs it
    proc, out = release_command(wf, release, "results/models/tiny__s0", check=False)
    assert proc.returncode != 0
    assert "no train split" in out and "training (GRPO trains on train)" in out
    # the analyses target holds what the folder allows: the spec tables
    release_command(wf, release, "analyses")
    assert (wf / "results/analysis").is_dir() and not (wf / "results/analysis/fig5_entropy_accuracy.csv").exists()


def test_all_six_give_table2_itself(built, tmp_path):
    """The six splits, two of them as Hugging Face `datasets` folders: Table 2 on cross_demographic,
    the other benchmarks and the test split, every model and reference predictor."""
    release = release_dir(built, tmp_path / "release", ["train", "dev", "test", "cross_demographic", "cross_country",
                                                        "cross_value"], hf=["dev", "cross_value"])
    assert (release / "cross_value").is_dir()
    wf = quick_workflow(tmp_path / "wf")
    _, out = release_command(wf, release)
    assert "not evaluated" not in out and "not trained" not in out
    table2 = pd.read_csv(wf / "results/table2.csv")
    assert table2["model"].tolist() == ["tiny-base", "tiny-dvmap", *REFERENCES]
    assert (table2["n"] == EVAL_ROWS).all()
    for dataset in ("cross_country", "cross_value", "test"):
        assert (wf / f"results/tables/{dataset}.csv").is_file(), dataset
    assert (wf / "results/claims.csv").is_file()


def test_paper_target_on_the_release_leaves_out_what_needs_the_survey(built, tmp_path):
    release = release_dir(built, tmp_path / "release", ["train", "dev", "test", "cross_demographic", "cross_country",
                                                        "cross_value"])
    wf = copy_workflow(tmp_path / "wf")
    _, out = release_command(wf, release, "paper", "-n")
    assert "the paper target leaves out results/table3.csv" in out
    proc, out = release_command(wf, release, "results/table3.csv", "-n", check=False)
    assert proc.returncode != 0 and "the majority_filter variant refilters the survey's respondents" in out


def test_route_of_each_subset():
    """What the default target runs for each subset of the six splits, decided before any job."""
    specs = yaml.safe_load((Path(__file__).resolve().parents[1] / "specs/models.yaml").read_text())["eval_models"]
    benchmarks = ["cross_demographic", "cross_country", "cross_value"]

    def route(*splits):
        return release_route(splits, ["tiny"], ["tiny-base", "tiny-dvmap"], specs, REFERENCES, benchmarks)

    full = route("train", "dev", "test", *benchmarks)
    assert full.train_models == ("tiny",) and full.eval_datasets == (*benchmarks, "test")
    corpus = route("train", "dev", "test")
    assert corpus.eval_datasets == ("test",) and corpus.eval_models == ("tiny-base", "tiny-dvmap")
    no_dev = route("train", "test")
    assert no_dev.train_models == () and no_dev.eval_models == ("tiny-base",)
    assert no_dev.reference_predictors == tuple(REFERENCES)
    assert any(n.startswith("no dev split: tiny not trained") for n in no_dev.notes)
    only_test = route("test")
    assert only_test.eval_datasets == () and only_test.reference_predictors == ()
    only_bench = route("cross_demographic")
    assert only_bench.eval_datasets == () and "no train split" in " ".join(only_bench.notes)
