"""Row identity in the ablation tables (issue 21): a row is identified by what it is, never by a bare
name a reference predictor can share. Table 3's ablation row (the majority-filter model, once `majority`)
and the reference predictor `majority` are two rows, each with its own score; the experiments spec
refuses names that would collide, when the DAG is built."""
import json
import runpy
from types import SimpleNamespace

import pandas as pd
import pytest
import yaml
from test_experiments import write_spec
from test_specs import DEFAULT_PATHS

from dvmap.configuration import load_all
from dvmap.errors import SpecError
from dvmap.experiments import REFERENCE_ROW, reference_row, row_entries, table_rows
from dvmap.specs import ROOT, read_yaml

DATASET = "cross_demographic"
N = 20


def score(acc: float) -> dict:
    """A score file's content (dvmap.evaluate.metrics) with the given accuracy."""
    out = {"n": N, "acc": acc, "acc_ci": [acc - 0.05, acc + 0.05], "acc_lenient": acc, "n_parsed": N,
           "parse_failure_rate": 0.0, "api_error_rate": 0.0}
    for m in ("lc", "wd", "jsd", "lc_parsed"):
        out[m], out[f"{m}_ci"] = acc, [acc - 0.05, acc + 0.05]
    return out


def run_experiment_table(tmp_path, table: str, specs: dict) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """scripts/experiment_table.py on hand-made files: every predictions folder of the table's rows
    gets a score file of its own accuracy (distinct for each folder) and predictions that answer
    that share of samples right. Returns the table, its seeds file and the accuracy per folder."""
    from dvmap.experiments import plan_experiments

    plan = plan_experiments(specs["experiments"], specs["models"], ["tiny"], ["tiny-base", "tiny-dvmap"])
    rows = row_entries(plan.table_rows[table], specs["models"]["reference_predictors"])
    spec = specs["experiments"]["tables"][table]
    samples = pd.DataFrame({"sample_id": [f"s{i}" for i in range(N)], "country": "USA", "q_id": "Q1",
                            "options": [["a", "b"]] * N, "answer": "a", "answer_index": 0})
    tmp_path.mkdir(parents=True, exist_ok=True)
    dataset_files = [str(tmp_path / f"{d}.parquet") for d in spec["datasets"]]
    for path in dataset_files:
        samples.to_parquet(path)
    folders = [f for r in rows for f in r["files"]]
    acc = {f: round(0.05 * (i + 1), 2) for i, f in enumerate(folders)}  # every folder its own number
    scores, predictions = [], []
    for d in spec["datasets"]:
        for row in rows:
            for f in row["files"]:
                right = round(acc[f] * N)
                path = tmp_path / "scores" / f / d
                path.mkdir(parents=True, exist_ok=True)
                (path / "score.json").write_text(json.dumps(score(acc[f])))
                pd.DataFrame({"sample_id": samples["sample_id"], "status": "ok",
                              "response": ["<answer>a</answer>"] * right + ["<answer>b</answer>"] * (N - right)}
                             ).to_parquet(path / "predictions.parquet")
                scores.append(str(path / "score.json"))
                predictions.append(str(path / "predictions.parquet"))
    sm = SimpleNamespace(
        params=SimpleNamespace(table=spec, rows=rows, paper={}, seed=0),
        input=SimpleNamespace(scores=scores, predictions=predictions, datasets=dataset_files),
        output=SimpleNamespace(table=str(tmp_path / f"{table}.csv"), seeds=str(tmp_path / f"{table}_seeds.csv")),
        log=[str(tmp_path / f"{table}.log")], wildcards=SimpleNamespace(table=table))
    runpy.run_path(str(ROOT / "scripts/experiment_table.py"), init_globals={"snakemake": sm})
    return pd.read_csv(sm.output.table), pd.read_csv(sm.output.seeds), acc


@pytest.fixture(scope="module")
def default_specs():
    import os

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        return load_all(DEFAULT_PATHS)
    finally:
        os.chdir(cwd)


def test_table3_majority_filter_row_shows_its_own_models_score(tmp_path, default_specs):
    """The clash of issue 21: Table 3's row `majority` showed the reference predictor `majority`'s
    score (both filed under (dataset, 'majority')). Now the row is `majority_vote` (a row may not be
    named like a reference predictor) and each row has its own score."""
    assert "majority_vote" in default_specs["experiments"]["tables"]["table3"]["rows"]
    assert "majority" in default_specs["models"]["reference_predictors"]
    table, seeds, acc = run_experiment_table(tmp_path, "table3", default_specs)
    model_row = table[(table["row"] == "majority_vote") & (table["dataset"] == DATASET)]
    assert len(model_row) == 1  # a claim's {row: majority_vote, dataset: cross_demographic} picks one row
    model_row = model_row.iloc[0]
    assert (model_row["model"], model_row["variant"], model_row["kind"]) == (
        "tiny-dvmap", "majority_filter", "language model")
    assert model_row["acc"] == pytest.approx(acc["tiny-dvmap__majority_filter__s0"])
    reference = table[table["row"] == reference_row("majority")].iloc[0]
    assert (reference["model"], reference["kind"]) == ("majority", "reference predictor")
    assert reference["acc"] == pytest.approx(acc["majority"])
    # the paired test is the model's own: its predictions against the baseline's
    strict = table[table["row"] == "strict"].iloc[0]
    assert model_row["acc_diff_vs_baseline"] == pytest.approx(model_row["acc"] - strict["acc"])
    # every row once, with its own number; reference predictors in their own namespace
    assert table["row"].is_unique
    assert list(table["row"]) == ["strict", "majority_vote", *(REFERENCE_ROW + p for p in
                                                          default_specs["models"]["reference_predictors"])]
    for _, line in table.iterrows():
        folder = line["model"] if line["kind"] == "reference predictor" else (
            "tiny-dvmap__s0" if line["row"] == "strict" else "tiny-dvmap__majority_filter__s0")
        assert line["acc"] == pytest.approx(acc[folder]), line["row"]
    assert list(seeds["row"]) == list(table["row"])
    assert seeds.set_index("row").loc["majority_vote", "acc"] == pytest.approx(acc["tiny-dvmap__majority_filter__s0"])
    assert seeds.set_index("row").loc["majority_vote", "model"] == "tiny-dvmap"


def test_every_ablation_table_files_each_row_under_its_own_key(tmp_path, default_specs):
    for table in default_specs["experiments"]["tables"]:
        frame, _, acc = run_experiment_table(tmp_path / table, table, default_specs)
        assert not frame.duplicated(["dataset", "row"]).any(), table
        for _, line in frame[frame["kind"] == "reference predictor"].iterrows():
            assert line["row"] == reference_row(line["model"]) and line["acc"] == pytest.approx(acc[line["model"]])


def test_row_entries_key_rows_by_what_they_are(default_specs):
    rows = table_rows(default_specs["experiments"], default_specs["models"], "table3")
    entries = row_entries(rows, ["majority"])
    assert [(e["row"], e["kind"], e["model"]) for e in entries] == [
        ("strict", "language model", "tiny-dvmap"), ("majority_vote", "language model", "tiny-dvmap"),
        ("reference:majority", "reference predictor", "majority")]
    with pytest.raises(ValueError, match="rows share a key"):
        row_entries([rows[0], rows[0]])


# ---- the spec refuses colliding names, naming the file and the key --------------------------------
def rename_table(old, new):
    return lambda d: d["tables"].__setitem__(new, d["tables"].pop(old))


def add_eval_model_named_majority(d):
    d["eval_models"]["majority"] = dict(d["eval_models"]["tiny-dvmap"])


REFUSALS = [
    # (change of the experiments spec, change of the models spec or None, key path, message part)
    (rename_table("table10", "table2"), None, "tables/table2", "results/table2.csv is Table 2"),
    (rename_table("table10", "table11"), None, "tables/table11", "results/table11.csv is Table 11"),
    (lambda d: d["tables"]["table3"]["rows"].__setitem__("majority_vote_again", {"model": "tiny-dvmap",
                                                                            "variant": "majority_filter"}),
     None, "tables/table3/rows/majority_vote_again", "the same model and variant"),
    (lambda d: d["tables"]["table3"]["rows"].__setitem__("majority", d["tables"]["table3"]["rows"].pop("majority_vote")),
     None, "tables/table3/rows/majority", "row 'majority' is named like a reference predictor"),
    (lambda d: d["tables"]["table3"]["rows"].__setitem__("other", {"model": "majority"}),
     add_eval_model_named_majority, "tables/table3/rows/other/model", "named like a reference predictor"),
    (lambda d: d["scale"]["sizes"][0].__setitem__("dvmap", "majority"),
     add_eval_model_named_majority, "scale/sizes/0/dvmap", "named like a reference predictor"),
    (lambda d: d["tables"]["table3"]["rows"].__setitem__("reference:majority", {"model": "tiny-dvmap"}),
     None, "tables/table3/rows", "does not match"),  # the schema: no spec name can be a reference row's key
]


@pytest.mark.parametrize("change,models_change,key_path,message", REFUSALS, ids=[r[2] for r in REFUSALS])
def test_experiments_spec_refuses_colliding_names(tmp_path, monkeypatch, change, models_change, key_path, message):
    monkeypatch.chdir(ROOT)
    paths = {**DEFAULT_PATHS, "experiments": write_spec(tmp_path, "experiments", change)}
    if models_change:
        paths["models"] = write_spec(tmp_path, "models", models_change)
    with pytest.raises(SpecError) as err:
        load_all(paths)
    assert (str(err.value.file), err.value.key_path) == (paths["experiments"], key_path)
    assert message in str(err.value)


def test_spec_refusal_stops_the_dag_before_any_job(workflow):
    """When the DAG is built: the error names the spec file and the key."""
    from conftest import snakemake

    path = workflow / "specs/experiments.yaml"
    data = read_yaml(path)
    data["tables"]["table2"] = data["tables"].pop("table10")
    (workflow / "specs/experiments_clash.yaml").write_text(yaml.safe_dump(data))
    proc = snakemake(workflow, "-n", "--config", "specs={'experiments': 'specs/experiments_clash.yaml'}", check=False)
    assert proc.returncode != 0
    assert "specs/experiments_clash.yaml: tables/table2: results/table2.csv is Table 2" in proc.stdout + proc.stderr


def test_eval_model_named_like_a_reference_predictor_stops_the_dag(workflow):
    """Table 2 (the main tables) files rows by name: the config may not show an evaluated model named
    like a reference predictor."""
    from conftest import snakemake

    models = read_yaml(workflow / "specs/models.yaml")
    add_eval_model_named_majority(models)
    (workflow / "specs/models_clash.yaml").write_text(yaml.safe_dump(models))
    proc = snakemake(workflow, "-n", "--config", "eval_models=[tiny-base,majority]",
                     "specs={'models': 'specs/models_clash.yaml'}", check=False)
    assert proc.returncode != 0
    assert "eval_models: majority named like a reference predictor" in proc.stdout + proc.stderr
