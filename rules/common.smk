# Config validation and input functions. Every spec is validated (JSON Schema, then cross-field
# checks) when the DAG is built, so a bad spec stops the run before any job.
import re
import sys
from pathlib import Path

from snakemake.utils import validate

from dvmap.evaluate.backends import needs_vllm
from dvmap.data.coding import coding_spec
from dvmap.errors import DVMapError
from dvmap.experiments import (
    MAIN,
    TrainedRun,
    all_runs,
    main_rows,
    run_names,
    scale_rows,
    table_rows,
    variant_spec,
    variant_template,
)
from dvmap.specs import load_config
from dvmap.data.splits import BENCHMARKS, CORPUS_SPLITS, DATASETS
from dvmap.analyses.robustness import ROBUSTNESS_DATASETS
from dvmap.train.verl_config import REWARD_PLACEHOLDER, verl_overrides
from dvmap.data.release import find_release_split
from dvmap.data.wvs_io import check_survey_file

try:
    # load_config names a wrong key (file and key path); snakemake's validate then fills in the
    # schema's defaults for keys a --configfile left out.
    SPECS = load_config(config, workflow.basedir)  # schemas/ and templates/ beside the Snakefile
    validate(config, str(Path(workflow.basedir) / "schemas/config.schema.yaml"), set_default=True)
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
EVAL_MODELS = config["eval_models"]
REFERENCE_PREDICTORS = SPECS["models"]["reference_predictors"]
# Any model of the spec can be built when a target needs it; train_models only picks `all`'s targets.
LOCAL_MODELS = [m for m in MODELS if MODELS[m]["backend"] == "local"]
VERL_MODELS = [m for m in MODELS if MODELS[m]["backend"] == "verl"]
EXPERIMENTS = SPECS["experiments"]
SEEDS = EXPERIMENTS["seeds"]
FILTER_VARIANTS = [v for v, spec in EXPERIMENTS["variants"].items() if "filter" in spec]
VERL_TEMPLATES = SPECS["prompts"]["exports"]["verl"]["templates"]
SYNTHETIC_SURVEY = f"results/synthetic/wvs7_synthetic_{config['synthetic_size']}.sav"
# Countries and questions in the slices the data rules get: each per-country job sees only its
# country, and only what codes the answers (not the wording), so adding a country or editing a
# question's text reruns only what it changes.
COUNTRIES = {c["iso3"]: c for c in SPECS["countries"]["countries"]}
TRAIN_COUNTRIES = [c for c, spec in COUNTRIES.items() if spec["role"] == "train"]
CROSS_COUNTRIES = [c for c, spec in COUNTRIES.items() if spec["role"] == "cross_country"]
QUESTIONS = SPECS["questions"]["questions"]
TRAIN_QUESTIONS = [q for q in QUESTIONS if q["role"] == "train"]
VALUE_QUESTIONS = [q for q in QUESTIONS if q["role"] == "cross_value"]
QUESTION_CODING = [coding_spec(q) for q in QUESTIONS]
QUESTION_ROLES = [{"id": q["id"], "role": q["role"]} for q in QUESTIONS]
# The synthetic file's answers follow each question's concept and neighbour, not its text.
SYNTHETIC_QUESTIONS = {"questions": [{k: v for k, v in q.items() if k not in ("text", "category")} for q in QUESTIONS]}
SURVEY_VARIABLES = {  # what read_survey reads: the variables, not what they mean
    "attributes": {
        "attributes": [
            {"wvs_var": a["wvs_var"]} for a in SPECS["attributes"]["attributes"] if not a.get("from_countries")
        ]
    },
    "questions": {"questions": [{"wvs_var": q["wvs_var"]} for q in QUESTIONS]},
    "filter": {"use_weight": SPECS["filter"]["use_weight"]},
}


wildcard_constraints:
    dataset="|".join([*DATASETS, *ROBUSTNESS_DATASETS]),  # robustness: results/robustness/ (model_analyses.smk)
    template="|".join([*TEMPLATES, "reference"]),  # "reference": the predictions of reference predictors
    corpus_split="|".join(CORPUS_SPLITS),
    benchmark="|".join(BENCHMARKS),
    country="|".join(COUNTRIES),


def dataset_path(dataset):
    if dataset in ROBUSTNESS_DATASETS:
        return f"results/robustness/{dataset}.parquet"
    folder = "corpus" if dataset in CORPUS_SPLITS else "benchmarks"
    return f"results/{folder}/{dataset}.parquet"


def get_survey_file(wildcards=None):
    return config["survey_file"] or SYNTHETIC_SURVEY


def country_files(kind, countries):
    """Per-country data files (respondents, archetypes, pools, sampling) of some countries."""
    ext = "json" if kind == "sampling" else "parquet"
    return [f"results/data/countries/{c}/{kind}.{ext}" for c in countries]


def get_country(wildcards):
    """A country's slice of the countries spec that its coded data depends on (not its role, nor
    its analysis fields)."""
    return {k: COUNTRIES[wildcards.country][k] for k in ("iso3", "iso_numeric", "name")}


def get_country_role(wildcards):
    """What decides a country's pools: its codes and its role."""
    return {k: COUNTRIES[wildcards.country][k] for k in ("iso3", "iso_numeric", "role")}


def get_dataset(wildcards):
    return dataset_path(wildcards.dataset)


def get_all_datasets(wildcards=None):
    return [dataset_path(d) for d in AVAILABLE_DATASETS]


def get_release_split(wildcards):
    """The release's file of a dataset. A split the folder lacks is never taken from an earlier
    build from the survey (that file may still be in results/): a target needing it is an error."""
    found = find_release_split(config["release_dir"], wildcards.dataset)
    if found is None:
        needs = {
            "dev": " (training selects its checkpoint on dev: add dev.parquet, or set train_models: [] and "
            "eval_models: [] for the reference rows only)",
            "train": " (training and the reference predictors)",
        }
        raise DVMapError(
            f"release_dir {config['release_dir']}: no {wildcards.dataset} split ({wildcards.dataset}.parquet "
            f"or a datasets folder {wildcards.dataset}/), which a requested target needs"
            f"{needs.get(wildcards.dataset, '')}; the folder has {', '.join(AVAILABLE_DATASETS)}"
        )
    return str(found)


def get_sampling_record(wildcards=None):
    return country_files("sampling", COUNTRIES) if config["data_source"] == "wvs" else []


def get_template_files(wildcards):
    t = TEMPLATES[wildcards.template]
    return [f"templates/{t['user']}", f"templates/{t['system']}"]


def get_data_targets():
    audits = ["results/audit/leakage.json", "results/audit/counts.json"]
    if config["data_source"] == "wvs":
        audits += ["results/audit/filtering.json", "results/audit/answer_identity.json"]
    return [
        *get_all_datasets(),
        *audits,
        *expand("results/prompts/{template}/{dataset}.parquet", template=TEMPLATES, dataset=AVAILABLE_DATASETS),
        *expand("results/verl/{template}/{dataset}.parquet", template=VERL_TEMPLATES, dataset=AVAILABLE_DATASETS),
        *expand("results/hf/{dataset}", dataset=AVAILABLE_DATASETS),
    ]


def get_audit_gates(wildcards):
    """The audits a dataset's prompts wait for: no profile shared between datasets, and for the
    cross-value benchmark built from a survey, no cross-value question repeating a training
    question's answers. `ancient`: they run first whenever a dataset changes, but rewriting a
    report does not rerun the prompts of datasets that did not change."""
    gates = ["results/audit/leakage.json"]
    if config["data_source"] == "wvs" and wildcards.dataset == "cross_value":
        gates.append("results/audit/answer_identity.json")
    return [ancient(g) for g in gates]


def get_template_spec(wildcards):
    return TEMPLATES[wildcards.template]


# ---- training -------------------------------------------------------------------------------
def get_model_file(folder, split):
    """Input function: results/{folder}/{the model's template}/{split}.parquet."""

    def model_file(wildcards):
        return f"results/{folder}/{MODELS[wildcards.model]['template']}/{split}.parquet"

    return model_file


# Trained runs: (model, variant, seed), each trained once however many tables show it. The main
# tables (Table 2, results/tables/) show `eval_models` of the config under the main recipe with
# the experiments' seeds; the ablation tables and the scale figures add their own rows.
MAIN_ROWS = main_rows(EXPERIMENTS, SPECS["models"], EVAL_MODELS, SEEDS)
TABLE_ROWS = {t: table_rows(EXPERIMENTS, SPECS["models"], t) for t in EXPERIMENTS["tables"]}
SCALE_ROWS = scale_rows(EXPERIMENTS, SPECS["models"])
EVERY_ROW = [
    *MAIN_ROWS,
    *(r for rows in TABLE_ROWS.values() for r in rows),
    *(r for _, base, dvmap in SCALE_ROWS for r in (base, dvmap)),
]
RUNS = {
    **{n: TrainedRun(m, MAIN, s) for m in config["train_models"] for n, s in zip(run_names(m, MAIN, SEEDS), SEEDS)},
    **all_runs(EVERY_ROW),
}
LOCAL_RUNS = [n for n, r in RUNS.items() if MODELS[r.model]["backend"] == "local"]
VERL_RUNS = [n for n, r in RUNS.items() if MODELS[r.model]["backend"] == "verl"]
# predictions folder -> (evaluated model, trained run or None): `tiny-dvmap__s0`, `tiny-base`, ...
EVAL_RUNS = {
    pred: (row.eval_model, run)
    for row in EVERY_ROW
    for pred, run in zip(row.predictions, row.runs or (None,) * len(row.predictions))
}


def corpus_root(variant):
    """Where a variant's training data lives: its own folder when it filters differently."""
    return f"results/variants/{variant}" if "filter" in variant_spec(EXPERIMENTS, variant) else "results"


def run_template(run):
    return variant_template(EXPERIMENTS, run.variant, MODELS[run.model]["template"])


def get_run_file(folder, split):
    """Input function: a trained run's corpus split, or its template's prompts or verl file."""

    def run_file(wildcards):
        run = RUNS[wildcards.run]
        root = corpus_root(run.variant)
        if folder == "corpus":
            return f"{root}/corpus/{split}.parquet"
        return f"{root}/{folder}/{run_template(run)}/{split}.parquet"

    return run_file


def get_run_base(wildcards):
    return f"results/models/{RUNS[wildcards.run].model}-base"


def get_checkpoint_dir(wildcards):
    return f"results/checkpoints/{wildcards.run}"


def get_local_config(wildcards):
    """The base model's settings (tokenizer, architecture, warm-up): the same for every run."""
    return MODELS[wildcards.model]["local"]


def get_run_reward(run):
    base = (
        MODELS[run.model]["local"]["reward"] if MODELS[run.model]["backend"] == "local" else SPECS["models"]["reward"]
    )
    return {**base, **variant_spec(EXPERIMENTS, run.variant).get("reward", {})}


def get_run_local_config(wildcards):
    """A local run's training settings: the model's recipe with the run's seed and reward."""
    run = RUNS[wildcards.run]
    return {**MODELS[run.model]["local"], "seed": run.seed, "reward": get_run_reward(run)}


def get_verl_overrides(wildcards):
    run = RUNS[wildcards.run]
    model = MODELS[run.model]
    return verl_overrides(
        wildcards.run,
        model,
        SPECS["models"]["presets"][model["preset"]],
        get_run_reward(run),
        get_run_file("verl", "train")(wildcards),
        get_run_file("verl", "dev")(wildcards),
        seed=run.seed,
        reward_file=REWARD_PLACEHOLDER,
    )  # paths relative to the workflow


def get_filter_variant(wildcards):
    return {**SPECS["filter"], **variant_spec(EXPERIMENTS, wildcards.variant)["filter"]}


def get_resource(key):
    def resource(wildcards):
        return MODELS[RUNS[wildcards.run].model]["resources"][key]

    return resource


def get_total_gpus(wildcards):
    res = MODELS[RUNS[wildcards.run].model]["resources"]
    return res["nodes"] * res["gpus_per_node"]


def get_model_targets():
    """`all` trains `train_models` under the main recipe, one run per seed."""
    return [f"results/models/{n}" for m in config["train_models"] for n in run_names(m, MAIN, SEEDS)]


# ---- evaluation -----------------------------------------------------------------------------
def get_eval_model(wildcards):
    return EVAL_SPECS[EVAL_RUNS[wildcards.model][0]]


def get_sampling(wildcards):
    return SPECS["models"]["protocols"][get_eval_model(wildcards)["protocol"]]


def get_weights_reference(wildcards):
    """Local folder of the weights (a trained run or a local base) or the hub id."""
    eval_model, run = EVAL_RUNS[wildcards.model]
    if run is not None:
        return f"results/models/{run.name}"
    weights = EVAL_SPECS[eval_model]["weights"]
    if "base_of" in weights:
        return f"results/models/{weights['base_of']}-base"
    return weights["hub"]


def get_eval_weights(wildcards):
    weights = get_eval_model(wildcards)["weights"]
    return [] if "hub" in weights else [get_weights_reference(wildcards)]


def get_eval_gpus(wildcards):
    """GPUs of a generation job: vLLM, offline or as a local server, runs on GPUs; the rest on CPUs."""
    model = get_eval_model(wildcards)
    return model.get("gpus", 1) if needs_vllm(model) else 0


def eval_runs_where(predicate):
    """Predictions-folder names whose evaluated model satisfies predicate (wildcard constraints)."""
    return "|".join(re.escape(n) for n, (m, _) in EVAL_RUNS.items() if predicate(EVAL_SPECS[m])) or "no-eval-model"


def row_entries(rows, references=True):
    """A table's rows for a script's params: name, kind, template, variant, overrides and the
    predictions folders (one per seed); reference predictors last."""
    entries = [
        {
            "name": r.name,
            "model": r.eval_model,
            "kind": r.kind,
            "template": r.template,
            "variant": r.variant,
            "overrides": dict(r.overrides),
            "files": list(r.predictions),
            "seeds": [run.seed for run in r.runs],
        }
        for r in rows
    ]
    if references:
        entries += [
            {
                "name": p,
                "model": p,
                "kind": "reference predictor",
                "template": "reference",
                "variant": MAIN,
                "overrides": {},
                "files": [p],
                "seeds": [],
            }
            for p in REFERENCE_PREDICTORS
        ]
    return entries


def row_files(entries, kind, dataset):
    folder, ext = ("scores", "json") if kind == "scores" else ("predictions", "parquet")
    return [f"results/{folder}/{f}/{e['template']}/{dataset}.{ext}" for e in entries for f in e["files"]]


MAIN_ENTRIES = row_entries(MAIN_ROWS)  # the main tables' rows, reference predictors last


def get_table_rows(wildcards=None):
    """(name, template, kind) of every row of a results table, language models first."""
    return [(e["name"], e["template"], e["kind"]) for e in MAIN_ENTRIES]


def get_row_predictions(name, template, dataset):
    """Prediction files of one table row on one dataset: one per seed for a trained model (its mean
    over seeds is the row), a single file for an untrained model or a reference predictor."""
    entry = next(e for e in MAIN_ENTRIES if e["name"] == name and e["template"] == template)
    return row_files([entry], "predictions", dataset)


def get_scores(wildcards):
    return row_files(MAIN_ENTRIES, "scores", wildcards.dataset)


def get_predictions(wildcards):
    return row_files(MAIN_ENTRIES, "predictions", wildcards.dataset)


def get_experiment_inputs(kind):
    """Input function: scores or predictions of every row of an ablation table on its datasets."""

    def files(wildcards):
        entries = row_entries(TABLE_ROWS[wildcards.table])
        return [f for d in EXPERIMENTS["tables"][wildcards.table]["datasets"] for f in row_files(entries, kind, d)]

    return files


def get_experiment_rows(wildcards):
    return row_entries(TABLE_ROWS[wildcards.table])


def get_experiment_spec(wildcards):
    return EXPERIMENTS["tables"][wildcards.table]


def get_paper_numbers(wildcards):
    return SPECS["paper_numbers"]["tables"].get(wildcards.table, {})


def get_experiment_datasets(wildcards):
    return [dataset_path(d) for d in EXPERIMENTS["tables"][wildcards.table]["datasets"]]


def get_scale_inputs(wildcards):
    entries = row_entries([r for _, base, dvmap in SCALE_ROWS for r in (base, dvmap)])
    return row_files(entries, "scores", wildcards.dataset)


def get_experiment_targets():
    """Every ablation table and scale figure of the experiments spec."""
    tables = [f"results/{t}.csv" for t in EXPERIMENTS["tables"]]
    scale = (
        expand("results/figures/scale_{dataset}.png", dataset=EXPERIMENTS["scale"]["datasets"]) if SCALE_ROWS else []
    )
    return [*tables, *scale]


# Benchmarks to evaluate on: with the released corpus as the source, those its folder has.
EVAL_DATASETS = [d for d in config["eval_datasets"] if d in AVAILABLE_DATASETS]


def note_skipped_benchmarks():
    """With the released corpus as the source, a benchmark its folder lacks is not evaluated (a
    split a target needs, such as dev for training, stops the run in get_release_split)."""
    skipped = [d for d in config["eval_datasets"] if d not in EVAL_DATASETS]
    if skipped:
        print(f"DVMap: release_dir has no {', '.join(skipped)} split: not evaluated", file=sys.stderr)


note_skipped_benchmarks()


def get_eval_targets():
    table2 = ["results/table2.csv"] if "cross_demographic" in EVAL_DATASETS else []
    return [*table2, *expand("results/tables/{dataset}.csv", dataset=EVAL_DATASETS)]


# ---- analyses ---------------------------------------------------------------------------------
def get_analysis_targets(wildcards=None):
    """Every output of the `analyses` target: the data analyses and spec tables of rules/analyses.smk
    (DATA_ANALYSIS_OUTPUTS, SPEC_TABLES). The survey analyses need respondents, so a run on the
    released corpus (data_source: release) gets the spec tables only. Extend this list for more."""
    tables = [
        f"results/analysis/{name}.{ext}" for names in SPEC_TABLES.values() for name in names for ext in ("csv", "md")
    ]
    data = DATA_ANALYSIS_OUTPUTS if config["data_source"] == "wvs" else []
    return [*data, *tables]


# ---- model analyses (rules/model_analyses.smk) ---------------------------------------------------
MODEL_ANALYSES = SPECS["model_analyses"]
ROBUSTNESS_USED = ["income_flip", "option_order", *(["repeat"] if MODEL_ANALYSES["repeat_control"] else [])]
MODEL_ANALYSIS_OUTPUTS = {
    "entropy_accuracy": [
        "results/analysis/fig5_entropy_accuracy.csv",
        "results/analysis/fig5_entropy_accuracy_points.csv",
        "results/figures/fig5_entropy_accuracy.png",
    ],
    "value_flip": ["results/analysis/fig8_value_flip.csv", "results/figures/fig8_value_flip.png"],
    "country_gain": [
        "results/analysis/fig9_country_gain.csv",
        "results/analysis/fig9_country_gain_distance.csv",
        "results/figures/fig9_country_gain.png",
    ],
    "question_gain": [
        "results/analysis/table12_question_gain.csv",
        "results/analysis/table12_gain_distance.csv",
        "results/figures/table12_gain_distance.png",
    ],
}


def get_model_analysis_targets(wildcards=None):
    """Every model-analysis output (CSVs and figures); the `analyses` target takes them."""
    return [path for paths in MODEL_ANALYSIS_OUTPUTS.values() for path in paths]


def row_prediction_files(dataset):
    """Per table row: (name, template, kind, [prediction files, one per seed]) on one dataset."""
    return [
        (name, template, kind, get_row_predictions(name, template, dataset))
        for name, template, kind in get_table_rows()
    ]


def get_row_prediction_inputs(*datasets):
    """Input function: every prediction file of every table row on the given datasets."""

    def inputs(wildcards):
        return [f for d in datasets for *_, files in row_prediction_files(d) for f in files]

    return inputs


def get_embedding_inputs(wildcards):
    """A local embedding model built by the DAG (e.g. results/models/tiny) is an input."""
    model = MODEL_ANALYSES["embedding"].get("model", "")
    return (
        [model] if MODEL_ANALYSES["embedding"]["backend"] == "hf_hidden_states" and model.startswith("results/") else []
    )
