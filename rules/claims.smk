# The paper's claims (specs/claims.yaml; verdict rules in docs/claims.md) judged on what a target
# builds: the default target `all` writes results/claims.csv and results/claims.md, the targets
# `data`, `analyses` and `paper` results/claims/{target}.csv and .md. A claims job reads only the
# outputs its target builds (TARGET_FILES, computed from the plan in rules/inputs/claims.smk), so
# judging never trains or evaluates a model the target would not; a claim whose output the target
# does not build is `not run`, with the target that builds it. Included last: the targets' files
# come from every stage.


include: "inputs/claims.smk"


localrules:
    claims,
    target_claims,


rule claims:
    """The paper's claims judged on the default target's outputs: paper's value, kit's value with CI and n, verdict."""
    input:
        get_claims_inputs,
    output:
        table=report(
            "results/claims.csv",
            caption="../report/claims/claims.rst",
            category=REPORT_CATEGORIES["claims"],
        ),
        markdown="results/claims.md",
        report_table="results/report/claims.csv",  # the table as the report shows it: spec text escaped
    log:
        "logs/claims.log",
    benchmark:
        "benchmarks/claims.tsv"
    conda:
        "../envs/data.yaml"
    params:
        claims=CLAIMS["claims"],
        stand_ins=CLAIMS.get("stand_ins", {}),
        not_run=get_claims_not_run,
        evidence=claims_evidence(),
        paper_models=CLAIMS.get("paper_models", []),
    script:
        "../scripts/claims.py"


use rule claims as target_claims with:
    output:
        table=report(
            "results/claims/{target}.csv",
            caption="../report/claims/claims.rst",
            category=REPORT_CATEGORIES["claims"],
        ),
        markdown="results/claims/{target}.md",
        report_table="results/report/claims_{target}.csv",
    log:
        "logs/claims_{target}.log",
    benchmark:
        "benchmarks/claims_{target}.tsv"
    wildcard_constraints:
        target="|".join(CLAIMS_TARGETS),
