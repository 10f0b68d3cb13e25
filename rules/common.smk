# Config validation and input functions. Every spec is validated (JSON Schema, then cross-field
# checks) when the DAG is built, so a bad spec stops the run before any job.
import re
import sys
from pathlib import Path

from dvmap.errors import DVMapError
from dvmap.specs import load_config
from dvmap.splits import BENCHMARKS, CORPUS_SPLITS, DATASETS
from dvmap.verl_config import verl_overrides
from dvmap.release import find_release_split
from dvmap.wvs_io import check_survey_file

try:
    SPECS = load_config(config)
    if config["data_source"] == "wvs" and config["survey_file"] is not None:
        check_survey_file(config["survey_file"], SPECS)
    if config["data_source"] == "release" and not config["release_dir"]:
        raise DVMapError("specs/config.yaml: release_dir: data_source 'release' needs release_dir")
except DVMapError as error:
    sys.exit(f"DVMap configuration error: {error}")

def _available_datasets():
    if config["data_source"] == "wvs":
        return list(DATASETS)
    found = [d for d in DATASETS if find_release_split(config["release_dir"], d)]
    if not found:
        sys.exit(f"DVMap configuration error: release_dir {config['release_dir']}: no release split found "
                 f"(expected {{dataset}}.parquet or a datasets folder {{dataset}}/ for {', '.join(DATASETS)})")
    return found


AVAILABLE_DATASETS = _available_datasets()
ATTRIBUTE_NAMES = [a["name"] for a in SPECS["attributes"]["attributes"]]
TEMPLATES = SPECS["prompts"]["templates"]
MODELS = SPECS["models"]["models"]
EVAL_SPECS = SPECS["models"]["eval_models"]
EVAL_MODELS = config["eval_models"]
REFERENCE_PREDICTORS = SPECS["models"]["reference_predictors"]
# Any model of the spec can be built when a target needs it; train_models only picks `all`'s targets.
LOCAL_MODELS = [m for m in MODELS if MODELS[m]["backend"] == "local"]
VERL_MODELS = [m for m in MODELS if MODELS[m]["backend"] == "verl"]
VERL_TEMPLATES = SPECS["prompts"]["exports"]["verl"]["templates"]
SYNTHETIC_SURVEY = f"results/synthetic/wvs7_synthetic_{config['synthetic_size']}.sav"


wildcard_constraints:
    dataset="|".join(DATASETS),
    template="|".join([*TEMPLATES, "reference"]),  # "reference": the predictions of reference predictors
    corpus_split="|".join(CORPUS_SPLITS),
    benchmark="|".join(BENCHMARKS),


def dataset_path(dataset):
    folder = "corpus" if dataset in CORPUS_SPLITS else "benchmarks"
    return f"results/{folder}/{dataset}.parquet"


def get_survey_file(wildcards=None):
    return config["survey_file"] or SYNTHETIC_SURVEY


def get_dataset(wildcards):
    return dataset_path(wildcards.dataset)


def get_all_datasets(wildcards=None):
    return [dataset_path(d) for d in AVAILABLE_DATASETS]


def get_release_split(wildcards):
    return str(find_release_split(config["release_dir"], wildcards.dataset))


def get_sampling_record(wildcards=None):
    return ["results/data/sampling.json"] if config["data_source"] == "wvs" else []


def get_template_files(wildcards):
    t = TEMPLATES[wildcards.template]
    return [f"templates/{t['user']}", f"templates/{t['system']}"]


def get_data_targets():
    audits = ["results/audit/leakage.json", "results/audit/counts.json"]
    if config["data_source"] == "wvs":
        audits.append("results/audit/filtering.json")
    return [
        *get_all_datasets(),
        *audits,
        *expand("results/prompts/{template}/{dataset}.parquet", template=TEMPLATES, dataset=AVAILABLE_DATASETS),
        *expand("results/verl/{template}/{dataset}.parquet", template=VERL_TEMPLATES, dataset=AVAILABLE_DATASETS),
        *expand("results/hf/{dataset}", dataset=AVAILABLE_DATASETS),
    ]


def get_template_spec(wildcards):
    return TEMPLATES[wildcards.template]


# ---- training -------------------------------------------------------------------------------
def get_model_file(folder, split):
    """Input function: results/{folder}/{the model's template}/{split}.parquet."""

    def model_file(wildcards):
        return f"results/{folder}/{MODELS[wildcards.model]['template']}/{split}.parquet"

    return model_file


def get_checkpoint_dir(wildcards):
    return f"results/checkpoints/{wildcards.model}"


def get_local_config(wildcards):
    return MODELS[wildcards.model]["local"]


def get_verl_overrides(wildcards):
    model = MODELS[wildcards.model]
    return verl_overrides(wildcards.model, model, SPECS["models"]["presets"][model["preset"]],
                          SPECS["models"]["reward"], str(Path(get_model_file("verl", "train")(wildcards)).resolve()),
                          str(Path(get_model_file("verl", "dev")(wildcards)).resolve()))


def get_resource(key):
    def resource(wildcards):
        return MODELS[wildcards.model]["resources"][key]

    return resource


def get_total_gpus(wildcards):
    res = MODELS[wildcards.model]["resources"]
    return res["nodes"] * res["gpus_per_node"]


def get_model_targets():
    return expand("results/models/{model}", model=config["train_models"])


# ---- evaluation -----------------------------------------------------------------------------
def get_eval_model(wildcards):
    return EVAL_SPECS[wildcards.model]


def get_sampling(wildcards):
    return SPECS["models"]["protocols"][EVAL_SPECS[wildcards.model]["protocol"]]


def get_weights_reference(wildcards):
    """Local folder of the weights (trained or a local base) or the hub id."""
    weights = EVAL_SPECS[wildcards.model]["weights"]
    if "trained" in weights:
        return f"results/models/{weights['trained']}"
    if "base_of" in weights:
        return f"results/models/{weights['base_of']}-base"
    return weights["hub"]


def get_eval_weights(wildcards):
    weights = EVAL_SPECS[wildcards.model]["weights"]
    return [] if "hub" in weights else [get_weights_reference(wildcards)]


def get_eval_gpus(wildcards):
    model = EVAL_SPECS[wildcards.model]
    return model.get("gpus", 1) if model["engine"] == "vllm" else 0


def get_table_rows(wildcards=None):
    """(name, template, kind) of every row of a results table, language models first."""
    return [(m, EVAL_SPECS[m]["template"], "language model") for m in EVAL_MODELS] + [
        (r, "reference", "reference predictor") for r in REFERENCE_PREDICTORS]


def get_scores(wildcards):
    return [f"results/scores/{m}/{t}/{wildcards.dataset}.json" for m, t, _ in get_table_rows()]


def get_predictions(wildcards):
    return [f"results/predictions/{m}/{t}/{wildcards.dataset}.parquet" for m, t, _ in get_table_rows()]


def get_eval_targets():
    return ["results/table2.csv", *expand("results/tables/{dataset}.csv", dataset=config["eval_datasets"])]
