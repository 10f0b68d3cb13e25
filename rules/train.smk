# GRPO per model. backend verl: upstream verl as a cluster job (profiles/slurm/), one job per model
# size. backend local: the embedded demo, a tiny model built here and trained with TRL on CPU.
# Checkpoints live under results/checkpoints/{model}/, never among a rule's outputs, so a job
# killed at its walltime leaves them and a rerun resumes.


include: "inputs/train.smk"


rule tiny_base_model:
    """Tokenizer trained on the corpus, a tiny Qwen3 and the value-free format warm-up."""
    input:
        train=dataset_path("train"),
        prompts=get_model_prompts("train"),
    output:
        directory("results/models/{model}-base"),
    log:
        "logs/train/{model}-base.log",
    benchmark:
        "benchmarks/train/{model}-base.tsv"
    wildcard_constraints:
        model="|".join(LOCAL_MODELS) or "no-local-model",
    conda:
        "../envs/train-local.yaml"
    threads: 2
    params:
        local=get_base_config,
    script:
        "../scripts/tiny_base_model.py"


rule train_local:
    """GRPO with TRL on CPU for one run (model, variant, seed): progress bar, JSONL log, model
    selection on dev, resume from results/checkpoints/{run}."""
    input:
        base=get_run_base,
        train=get_run_file("corpus", "train"),
        train_prompts=get_run_file("prompts", "train"),
        dev=get_run_file("corpus", "dev"),
        dev_prompts=get_run_file("prompts", "dev"),
    output:
        directory("results/models/{run}"),
    log:
        "logs/train/{run}.log",
    benchmark:
        "benchmarks/train/{run}.tsv"
    wildcard_constraints:
        run="|".join(map(re.escape, LOCAL_RUNS)) or "no-local-run",
    conda:
        "../envs/train-local.yaml"
    threads: 2
    params:
        local=get_run_local_config,
        checkpoint_dir=get_checkpoint_dir,
    script:
        "../scripts/train_local.py"


rule train_verl:
    """Upstream verl GRPO (python -m verl.trainer.main_ppo) for one run, then the merged Hugging
    Face model."""
    input:
        train=get_run_file("verl", "train"),
        val=get_run_file("verl", "dev"),
    output:
        # train_local's folder again (a run is trained by one of the two): written out, since an
        # output taken from rules.train_local.output loses its directory() flag
        directory("results/models/{run}"),
    log:
        "logs/train/{run}.log",
    benchmark:
        "benchmarks/train/{run}.tsv"
    wildcard_constraints:
        run="|".join(map(re.escape, VERL_RUNS)) or "no-verl-run",
    conda:
        "../envs/train-verl.yaml"
    resources:
        nodes=get_resource("nodes"),
        gpu=get_total_gpus,
        runtime=get_resource("runtime"),
        mem_mb=get_resource("mem_mb"),
        cpus_per_gpu=get_resource("cpus_per_gpu"),
    params:
        overrides=get_verl_overrides,
        checkpoint_dir=get_checkpoint_dir,
    script:
        "../scripts/train_verl.py"
