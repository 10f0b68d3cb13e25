# Input functions and settings of the rules in rules/model_analyses.smk (kept apart from the rules so that
# `snakemake --lint` finds no functions mixed with rules).


# ---- model analyses (rules/model_analyses.smk) ---------------------------------------------------
MODEL_ANALYSES = SPECS["model_analyses"]


ROBUSTNESS_USED = ["income_flip", "option_order", *(["repeat"] if MODEL_ANALYSES["repeat_control"] else [])]


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


# The embedding job's resources from the spec (gpu 0 by default: the demo's packaged MiniLM on CPU);
# on a GPU (the paper's Qwen3-8B) it runs in the GPU stack of generation, envs/eval-vllm.yaml.
EMBEDDING_RESOURCES = {"gpu": 0, **MODEL_ANALYSES["embedding"].get("resources", {})}


EMBEDDING_ENV = (
    "../envs/eval-vllm.yaml" if MODEL_ANALYSES["embedding"]["device"].startswith("cuda") else "../envs/analyses.yaml"
)


def get_embedding_inputs(wildcards):
    """A local embedding model built by the DAG (e.g. results/models/tiny) is an input."""
    model = MODEL_ANALYSES["embedding"].get("model", "")
    return (
        [model] if MODEL_ANALYSES["embedding"]["backend"] == "hf_hidden_states" and model.startswith("results/") else []
    )


def get_model_analysis_targets(wildcards=None):
    """Every model-analysis output (CSVs and figures), taken from the rules above; the `analyses`
    target takes them."""
    analyses = (
        (rules.entropy_accuracy, "cross_demographic"),
        (rules.value_flip, "cross_demographic"),
        (rules.country_gain, "cross_country"),
        (rules.question_gain, "cross_value"),
    )
    # with the released corpus, those whose benchmark the folder has (rules/common.smk: EVAL_DATASETS)
    runs = [r for r, d in analyses if config["data_source"] == "wvs" or (MAIN_ENTRIES and d in EVAL_DATASETS)]
    return [path for rule in runs for path in rule.output]
