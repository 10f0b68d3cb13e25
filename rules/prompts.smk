# Prompts per template and dataset, and the exports other tools read (verl, Hugging Face datasets).
# Every rule here waits for the audits (get_audit_gates): a leaking corpus never reaches training.


include: "inputs/prompts.smk"


rule prompts:
    """Render one template over one dataset: sample_id, system, prompt."""
    input:
        dataset=get_dataset,
        templates=get_template_files,
        audits=get_audit_gates,
    output:
        "results/prompts/{template}/{dataset}.parquet",
    log:
        "logs/prompts/{template}_{dataset}.log",
    benchmark:
        "benchmarks/prompts/{template}_{dataset}.tsv"
    wildcard_constraints:
        template="|".join(TEMPLATES),
    conda:
        "../envs/data.yaml"
    params:
        template=get_template_spec,
        attribute_names=ATTRIBUTE_NAMES,
    script:
        "../scripts/prompts.py"


rule export_verl:
    """verl's RL parquet schema: data_source, chat prompt, ability, reward_model, extra_info."""
    input:
        dataset=get_dataset,
        prompts=rules.prompts.output[0],
    output:
        "results/verl/{template}/{dataset}.parquet",
    log:
        "logs/export_verl/{template}_{dataset}.log",
    benchmark:
        "benchmarks/export_verl/{template}_{dataset}.tsv"
    wildcard_constraints:
        template="|".join(TEMPLATES),
    conda:
        "../envs/data.yaml"
    params:
        verl=SPECS["prompts"]["exports"]["verl"],
    script:
        "../scripts/export_verl.py"


rule export_hf:
    """A Hugging Face `datasets` folder per dataset (samples plus the structured-CoT prompts)."""
    input:
        dataset=get_dataset,
        prompts=expand(rules.prompts.output[0], template="structured_cot", allow_missing=True),
    output:
        directory("results/hf/{dataset}"),
    log:
        "logs/export_hf/{dataset}.log",
    benchmark:
        "benchmarks/export_hf/{dataset}.tsv"
    conda:
        "../envs/data.yaml"
    script:
        "../scripts/export_hf.py"
