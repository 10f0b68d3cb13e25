# Input functions and settings of the rules in rules/prompts.smk (kept apart from the rules so that
# `snakemake --lint` finds no functions mixed with rules).


VERL_TEMPLATES = SPECS["prompts"]["exports"]["verl"]["templates"]


def get_data_targets():
    audits = [rules.audit_leakage.output[0], rules.audit_counts.output[0]]
    if config["data_source"] == "wvs":
        audits += [rules.audit_filtering.output[0], rules.audit_answer_identity.output[0]]
    else:  # the release's own prompts against the kit's
        audits.append(rules.audit_release_prompts.output[0])
    return [
        *get_all_datasets(),
        *audits,
        *expand(rules.prompts.output[0], template=TEMPLATES, dataset=AVAILABLE_DATASETS),
        *expand(rules.export_verl.output[0], template=VERL_TEMPLATES, dataset=AVAILABLE_DATASETS),
        *expand(rules.export_hf.output[0], dataset=AVAILABLE_DATASETS),
    ]


def get_audit_gates(wildcards):
    """The audits a dataset's prompts wait for: no profile shared between datasets, and for the
    cross-value benchmark built from a survey, no cross-value question repeating a training
    question's answers. `ancient`: they run first whenever a dataset changes, but rewriting a
    report does not rerun the prompts of datasets that did not change."""
    gates = [rules.audit_leakage.output[0]]
    if config["data_source"] == "wvs" and wildcards.dataset == "cross_value":
        gates.append(rules.audit_answer_identity.output[0])
    return [ancient(g) for g in gates]
