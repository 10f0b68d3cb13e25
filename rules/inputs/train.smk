# Input functions and settings of the rules in rules/train.smk (kept apart from the rules so that
# `snakemake --lint` finds no functions mixed with rules).


from dvmap.experiments import run_names, variant_spec, variant_template


from dvmap.train.verl_config import REWARD_PLACEHOLDER, verl_overrides

# Any model of the spec can be built when a target needs it; train_models only picks `all`'s targets.
LOCAL_MODELS = [m for m in MODELS if MODELS[m]["backend"] == "local"]


LOCAL_RUNS = [n for n, r in RUNS.items() if MODELS[r.model]["backend"] == "local"]


VERL_RUNS = [n for n, r in RUNS.items() if MODELS[r.model]["backend"] == "verl"]


# ---- training -------------------------------------------------------------------------------
def get_model_prompts(split):
    """Input function: the prompts of a corpus split in the model's template."""

    def model_prompts(wildcards):
        return prompts_path(MODELS[wildcards.model]["template"], split)

    return model_prompts


def own_corpus(variant):
    """Whether a variant trains on a corpus of its own: when it filters differently (from the
    survey's respondents: a target needing it with the released corpus stops before any job)."""
    if "filter" not in variant_spec(EXPERIMENTS, variant):
        return False
    if config["data_source"] == "release":
        sys.exit(
            f"DVMap configuration error: the {variant} variant refilters the survey's respondents, which the "
            f"released corpus (data_source: release) lacks: a target that trains it (Table 3's row) needs a survey file"
        )
    return True


def run_template(run):
    return variant_template(EXPERIMENTS, run.variant, MODELS[run.model]["template"])


def get_run_file(folder, split):
    """Input function: a trained run's corpus split, or its template's prompts or verl file."""

    def run_file(wildcards):
        run = RUNS[wildcards.run]
        fields = {"template": run_template(run), "dataset": split, "corpus_split": split, "variant": run.variant}
        if own_corpus(run.variant):  # the variant's files, as the rules of rules/experiments.smk name them
            made_by = {
                "corpus": VARIANT_CORPUS_FILE,
                "prompts": rules.variant_prompts.output[0],
                "verl": rules.variant_export_verl.output[0],
            }[folder]
        else:
            made_by = {
                "corpus": dataset_path(split),
                "prompts": rules.prompts.output[0],
                "verl": rules.export_verl.output[0],
            }[folder]
        return expand(made_by, **fields)[0]

    return run_file


def get_run_base(wildcards):
    return base_model_dir(RUNS[wildcards.run].model)


def get_checkpoint_dir(wildcards):
    return f"results/checkpoints/{wildcards.run}"


# The slices of a local model's settings each job reads: the base (tokenizer, initialisation,
# warm-up) and a GRPO run (its recipe, seed and reward). A GRPO edit reruns the trained runs, not
# the base; a warm-up edit reruns the base and, through it, everything after.
BASE_KEYS = ("seed", "tokenizer", "architecture", "warmup")


def get_base_config(wildcards):
    """The base model's settings: the same for every run of the model."""
    local = MODELS[wildcards.model]["local"]
    return {k: local[k] for k in BASE_KEYS}


def get_run_reward(run):
    base = (
        MODELS[run.model]["local"]["reward"] if MODELS[run.model]["backend"] == "local" else SPECS["models"]["reward"]
    )
    return {**base, **variant_spec(EXPERIMENTS, run.variant).get("reward", {})}


def get_run_local_config(wildcards):
    """A local run's training settings: the model's GRPO recipe with the run's seed and reward."""
    run = RUNS[wildcards.run]
    return {"grpo": MODELS[run.model]["local"]["grpo"], "seed": run.seed, "reward": get_run_reward(run)}


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


def get_resource(key):
    def resource(wildcards):
        return MODELS[RUNS[wildcards.run].model]["resources"][key]

    return resource


def get_total_gpus(wildcards):
    res = MODELS[RUNS[wildcards.run].model]["resources"]
    return res["nodes"] * res["gpus_per_node"]


def get_model_targets():
    """`all` trains `train_models` under the main recipe, one run per seed."""
    return [trained_model_dir(n) for m in config["train_models"] for n in run_names(m, MAIN, SEEDS)]
