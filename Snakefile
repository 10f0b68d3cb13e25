# DVMap reproducibility kit: specs + a WVS-7 file (or the embedded synthetic one) -> corpus,
# benchmarks, prompts and exports. See README.md; the file contracts are in rules/*.smk.
from snakemake.utils import min_version

min_version("9.0")


configfile: "specs/config.yaml"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/prompts.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"


rule all:
    input:
        get_data_targets(),
        get_model_targets(),
        get_eval_targets(),
    default_target: True


rule data:
    """The corpus, benchmarks, audits, prompts and exports only (no training)."""
    input:
        get_data_targets(),
