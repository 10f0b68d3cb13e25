# GRPO per model. backend verl: upstream verl as a cluster job (profiles/slurm/), one job per model
# size. backend local: the embedded demo, a tiny model built here and trained with TRL on CPU.
# Checkpoints live under results/checkpoints/{model}/, never among a rule's outputs, so a job
# killed at its walltime leaves them and a rerun resumes.


rule tiny_base_model:
    """Tokenizer trained on the corpus, a tiny Qwen3 and the value-free format warm-up."""
    input:
        train="results/corpus/train.parquet",
        prompts=get_model_file("prompts", "train"),
    output:
        directory("results/models/{model}-base"),
    wildcard_constraints:
        model="|".join(LOCAL_MODELS) or "no-local-model",
    params:
        local=get_local_config,
    log:
        "logs/train/{model}-base.log",
    benchmark:
        "benchmarks/train/{model}-base.tsv"
    threads: 2
    conda:
        "../envs/data.yaml"
    script:
        "../scripts/tiny_base_model.py"


rule train_local:
    """GRPO with TRL on CPU (progress bar, JSONL log, resume from results/checkpoints/{model})."""
    input:
        base="results/models/{model}-base",
        train="results/corpus/train.parquet",
        train_prompts=get_model_file("prompts", "train"),
        dev="results/corpus/dev.parquet",
        dev_prompts=get_model_file("prompts", "dev"),
    output:
        directory("results/models/{model}"),
    wildcard_constraints:
        model="|".join(LOCAL_MODELS) or "no-local-model",
    params:
        local=get_local_config,
        checkpoint_dir=get_checkpoint_dir,
    log:
        "logs/train/{model}.log",
    benchmark:
        "benchmarks/train/{model}.tsv"
    threads: 2
    conda:
        "../envs/data.yaml"
    script:
        "../scripts/train_local.py"


rule train_verl:
    """Upstream verl GRPO (python -m verl.trainer.main_ppo), then the merged Hugging Face model."""
    input:
        train=get_model_file("verl", "train"),
        val=get_model_file("verl", "dev"),
    output:
        directory("results/models/{model}"),
    wildcard_constraints:
        model="|".join(VERL_MODELS) or "no-verl-model",
    params:
        overrides=get_verl_overrides,
        checkpoint_dir=get_checkpoint_dir,
    resources:
        nodes=get_resource("nodes"),
        gpu=get_total_gpus,
        runtime=get_resource("runtime"),
        mem_mb=get_resource("mem_mb"),
        cpus_per_gpu=get_resource("cpus_per_gpu"),
    log:
        "logs/train/{model}.log",
    conda:
        "../envs/train-verl.yaml"
    script:
        "../scripts/train_verl.py"
