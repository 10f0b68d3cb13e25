# Input functions and settings of the rules in rules/prompts.smk (kept apart from the rules so that
# `snakemake --lint` finds no functions mixed with rules).


VERL_TEMPLATES = SPECS["prompts"]["exports"]["verl"]["templates"]


def get_data_targets():
    audits = ["results/audit/leakage.json", "results/audit/counts.json"]
    if config["data_source"] == "wvs":
        audits += ["results/audit/filtering.json", "results/audit/answer_identity.json"]
    else:  # the release's own prompts against the kit's
        audits.append("results/audit/release_prompts.json")
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
