# DVMap reproducibility kit: specs + a WVS-7 file (or the embedded synthetic one, or the authors'
# released splits) -> corpus, benchmarks, prompts and exports -> GRPO training -> evaluation ->
# the paper's tables, figures and analyses -> the claims judged on them. See README.md; the file
# contracts are in rules/*.smk.
from snakemake.utils import min_version

min_version("9.0")


configfile: "specs/config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/report.smk"
include: "rules/data.smk"
include: "rules/prompts.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/experiments.smk"
include: "rules/analyses.smk"
include: "rules/model_analyses.smk"
include: "rules/general_utility.smk"
include: "rules/claims.smk"  # last: it checks that a rule makes every claim's output


rule all:
    default_target: True
    input:
        get_data_targets(),
        get_model_targets(),
        get_eval_targets(),
        rules.claims.output.table,  # judged on the outputs above (rules/claims.smk)


rule data:
    """The corpus, benchmarks, audits, prompts and exports only (no training)."""
    input:
        get_data_targets(),


rule analyses:
    """The data analyses (Figure 1a-1c) and the tables rendered from the specs (no model needed), and the
    model analyses (Figures 5, 8, 9, Table 12: predictions of every evaluated model and reference predictor)."""
    input:
        get_analysis_targets(),
        get_model_analysis_targets(),  # rules/model_analyses.smk: Figures 5, 8, 9 and Table 12


rule paper:
    """Every table and figure of the paper the specs declare: the data with its audits (corpus sizes),
    Table 2 and the benchmark tables, the ablation Tables 3, 4, 5, 10 and the scale figures
    (specs/experiments.yaml), Table 11 (general utility), the analyses and the claims judged on them."""
    input:
        get_data_targets(),
        get_eval_targets(),
        get_experiment_targets(),
        get_general_utility_targets(),
        get_analysis_targets(),
        get_model_analysis_targets(),
        rules.claims.output.table,  # judged on the outputs above


onsuccess:
    # The headline, without opening a file: the main table's rows and the claims' verdicts, from
    # the files that exist. A summary never fails a finished run.
    try:
        from dvmap.claims import headline

        _lines = headline()
    except Exception as error:
        _lines = [f"(no summary: {error})"]
    if _lines:
        print("\n".join(["", "DVMap: run finished.", *_lines]), flush=True)
