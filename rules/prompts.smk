# Prompts per template and dataset, and the exports other tools read (verl, Hugging Face datasets).
# Every rule here waits for the audits (get_audit_gates): a leaking corpus never reaches training.


VERL_TEMPLATES = SPECS["prompts"]["exports"]["verl"]["templates"]


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
        prompts="results/prompts/{template}/{dataset}.parquet",
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
        prompts="results/prompts/structured_cot/{dataset}.parquet",
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
