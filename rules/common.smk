# Config loading and what several stages share. Every spec is validated (JSON Schema, then
# cross-field checks) when the DAG is built, so a bad spec stops the run before any job. Each
# stage's input functions and settings stand in rules/inputs/<stage>.smk, which its rule file includes.
import re
import sys
from pathlib import Path

from dvmap.configuration import load_config
from dvmap.data.coding import coding_spec
from dvmap.data.release import find_release_split, release_route
from dvmap.data.splits import BENCHMARKS, CORPUS_SPLITS, DATASETS, ROBUSTNESS_DATASETS
from dvmap.data.wvs_io import check_survey_file
from dvmap.errors import DVMapError
from dvmap.experiments import MAIN, plan_experiments, row_entries, row_files
from dvmap.gate import check_config

try:
    # load_config validates the config and every spec it names (a wrong key: file and key path) and
    # fills in the schemas' defaults, for keys a --configfile left out too.
    SPECS = load_config(config, workflow.basedir)  # schemas/ and templates/ beside the Snakefile
    # one gate for every path, URL and secret-bearing value (dvmap/gate.py)
    check_config(config, SPECS, getattr(workflow.config_settings, "config_args", None))
    if config["data_source"] == "wvs" and config["survey_file"] is not None:
        check_survey_file(config["survey_file"], SPECS)
    if config["data_source"] == "release" and not config["release_dir"]:
        raise DVMapError("specs/config.yaml: release_dir: data_source 'release' needs release_dir")
    # Table 2's rows are filed by name: an evaluated model named like a reference predictor would
    # share its row (the ablation tables keep the two apart, dvmap.experiments.REFERENCE_ROW)
    _clash = sorted(set(config["eval_models"]) & set(SPECS["models"]["reference_predictors"]))
    if _clash:
        raise DVMapError(
            f"specs/config.yaml (merged with --config/--configfile): eval_models: {', '.join(_clash)} "
            f"named like a reference predictor (reference_predictors of {config['specs']['models']}): "
            f"its rows in Table 2 would be confused; rename the evaluated model"
        )
except DVMapError as error:
    sys.exit(f"DVMap configuration error: {error}")


def _available_datasets():
    if config["data_source"] == "wvs":
        return list(DATASETS)
    found = [d for d in DATASETS if find_release_split(config["release_dir"], d)]
    if not found:
        sys.exit(
            f"DVMap configuration error: release_dir {config['release_dir']}: no release split found "
            f"(expected {{dataset}}.parquet or a datasets folder {{dataset}}/ for {', '.join(DATASETS)})"
        )
    return found


AVAILABLE_DATASETS = _available_datasets()


ATTRIBUTE_NAMES = [a["name"] for a in SPECS["attributes"]["attributes"]]


TEMPLATES = SPECS["prompts"]["templates"]


MODELS = SPECS["models"]["models"]


EVAL_SPECS = SPECS["models"]["eval_models"]


REFERENCE_PREDICTORS = SPECS["models"]["reference_predictors"]


def _release_route():
    """With the released corpus as the source, what its splits allow (dvmap.data.release.release_route):
    the default target trains and evaluates only the models whose splits the folder has, fits the
    reference predictors only on a released train split, and evaluates the benchmarks it has plus its
    test split. Each thing left out is named once, with the split it lacks; a target named on the
    command line that needs a missing split stops before any job (get_release_split)."""
    route = release_route(
        AVAILABLE_DATASETS,
        config["train_models"],
        config["eval_models"],
        SPECS["models"]["eval_models"],
        REFERENCE_PREDICTORS,
        config["eval_datasets"],
    )
    if getattr(workflow, "is_main_process", True):
        for note in route.notes:
            print(f"DVMap: release_dir {config['release_dir']}: {note}", file=sys.stderr)
    return route


if config["data_source"] == "release":
    ROUTE = _release_route()
    config["train_models"] = list(ROUTE.train_models)  # what `all` trains and evaluates (claims read it too)
    config["eval_models"] = list(ROUTE.eval_models)
    REFERENCE_PREDICTORS = list(ROUTE.reference_predictors)
    EVAL_DATASETS = list(ROUTE.eval_datasets)  # the benchmarks the folder has, and its test split
else:
    EVAL_DATASETS = list(config["eval_datasets"])


EVAL_MODELS = config["eval_models"]


EXPERIMENTS = SPECS["experiments"]


SEEDS = EXPERIMENTS["seeds"]


# Countries and questions in the slices the data rules get: each per-country job sees only its
# country, and only what codes the answers (not the wording), so adding a country or editing a
# question's text reruns only what it changes.
COUNTRIES = {c["iso3"]: c for c in SPECS["countries"]["countries"]}


TRAIN_COUNTRIES = [c for c, spec in COUNTRIES.items() if spec["role"] == "train"]


QUESTIONS = SPECS["questions"]["questions"]


TRAIN_QUESTIONS = [q for q in QUESTIONS if q["role"] == "train"]


QUESTION_CODING = [coding_spec(q) for q in QUESTIONS]


# Trained runs: (model, variant, seed), each trained once however many tables show it. The main
# tables (Table 2, results/tables/) show `eval_models` of the config under the main recipe with
# the experiments' seeds; the ablation tables and the scale figures add their own rows.
PLAN = plan_experiments(EXPERIMENTS, SPECS["models"], config["train_models"], EVAL_MODELS)
RUNS = PLAN.runs
# predictions folder -> (evaluated model, trained run or None): `tiny-dvmap__s0`, `tiny-base`, ...
EVAL_RUNS = PLAN.eval_runs
MAIN_ENTRIES = row_entries(PLAN.main_rows, REFERENCE_PREDICTORS)  # the main tables' rows, reference predictors last


def row_file_pattern(kind):
    """The output pattern of a table row's files, as the score and generate rules write them (called
    once those exist: by input functions, and by the rules included after evaluate.smk)."""
    return {"scores": rules.score.output[0], "predictions": rules.generate.output[0]}[kind]


wildcard_constraints:
    dataset="|".join([*DATASETS, *ROBUSTNESS_DATASETS]),  # robustness: results/robustness/ (model_analyses.smk)
    template="|".join([*TEMPLATES, "reference"]),  # "reference": the predictions of reference predictors
    corpus_split="|".join(CORPUS_SPLITS),
    benchmark="|".join(BENCHMARKS),
    country="|".join(COUNTRIES),


# Every dataset's file, named here once: the rules that write datasets (corpus_datasets and the
# benchmark rules, import_release, robustness_dataset) and every rule that reads one use it.
DATASET_FILE = "results/{folder}/{dataset}.parquet"
# The study's countries' respondents and archetypes in one table each (rules/data.smk writes them;
# the audits and the analyses read them)
STUDY_TABLES = {"respondents": "results/data/respondents.parquet", "archetypes": "results/data/archetypes.parquet"}
# ... and a filter variant's corpus splits (rules/experiments.smk writes them, training reads them)
VARIANT_CORPUS_FILE = "results/variants/{variant}/corpus/{corpus_split}.parquet"


def dataset_folder(dataset):
    if dataset in ROBUSTNESS_DATASETS:
        return "robustness"
    return "corpus" if dataset in CORPUS_SPLITS else "benchmarks"


def dataset_path(dataset):
    return DATASET_FILE.format(folder=dataset_folder(dataset), dataset=dataset)


def get_dataset(wildcards):
    return dataset_path(wildcards.dataset)


def country_files(kind, countries):
    """Per-country data files (respondents, archetypes, missing: country_data; pools, sampling:
    country_pools) of some countries, as those rules name them (called once they are defined)."""
    made_by = rules.country_pools if kind in ("pools", "sampling") else rules.country_data
    return expand(getattr(made_by.output, kind), country=countries)


def base_model_dir(model):
    """A local model's base (tokenizer, initialisation, format warm-up), as tiny_base_model names it."""
    return expand(rules.tiny_base_model.output[0], model=model)[0]


def trained_model_dir(run_name):
    """A trained run's model folder, as train_local and train_verl name it (one pattern for both)."""
    return expand(rules.train_local.output[0], run=run_name)[0]


def prompts_path(template, dataset):
    """The rendered prompts of one template over one dataset, as the prompts rule names them."""
    return expand(rules.prompts.output[0], template=template, dataset=dataset)[0]


def get_template_files(wildcards):
    t = TEMPLATES[wildcards.template]
    return [f"templates/{t['user']}", f"templates/{t['system']}"]


def get_template_spec(wildcards):
    return TEMPLATES[wildcards.template]
