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
include: "rules/claims.smk"  # last: the targets' files (TARGET_FILES) come from every stage


# Each target's files are listed once, in rules/inputs/claims.smk (TARGET_FILES), and so is the file
# of the claims judged on them (claims_file).
rule all:
    """The corpus with its audits, prompts and exports, the trained models, Table 2 and the benchmark
    tables, and the claims judged on them (results/claims.csv)."""
    default_target: True
    input:
        TARGET_FILES["all"],
        claims_file("all"),


rule data:
    """The corpus, benchmarks, audits, prompts and exports only (no training), and the claims judged on them."""
    input:
        TARGET_FILES["data"],
        claims_file("data"),


rule analyses:
    """The data analyses (Figure 1a-1c) and the tables rendered from the specs (no model needed), the
    model analyses (Figures 5, 8, 9, Table 12: predictions of every evaluated model and reference
    predictor), and the claims judged on them."""
    input:
        TARGET_FILES["analyses"],
        claims_file("analyses"),


rule paper:
    """Every table and figure of the paper the specs declare: the data with its audits (corpus sizes),
    Table 2 and the benchmark tables, the ablation Tables 3, 4, 5, 10 and the scale figures
    (specs/experiments.yaml), Table 11 (general utility), the analyses and the claims judged on them."""
    input:
        TARGET_FILES["paper"],
        claims_file("paper"),


onsuccess:
    # The headline, without opening a file: the main table's rows and the claims' verdicts, from
    # the files that exist. A summary never fails a finished run.
    try:
        from dvmap.claims import headline

        _lines = headline(rules.table2.output[0], [claims_file(t) for t in TARGET_FILES])
    except Exception as error:
        _lines = [f"(no summary: {error})"]
    if _lines:
        print("\n".join(["", "DVMap: run finished.", *_lines]), flush=True)
