"""The paper's claims judged on the kit's outputs (specs/claims.yaml, docs/claims.md).

A claim names a number of a kit output (a selector: a JSON key, or a CSV row and column; the
difference or mean of such numbers, or one's absolute value) and the paper's value; its kind says
how the two are compared. The selectors are checked against the outputs' formats (OUTPUTS) and the
specs when the DAG is built, so a claim naming an output, column or row value the kit does not
have stops the run before any job. Verdicts: reproduced, contradicted, inconclusive (the CI covers
both outcomes), undecidable (the paper's band is narrower than the kit's CI can be at this n), not
run (the run lacks the output, the model or the data: the reason says which), error (the output
is not what its format promises: the reason names it). Each verdict names its evidence: the survey
it was judged on and the models (the paper's, or stand-ins); only a verdict on the paper's data and
models speaks for or against the paper.

The package: spec (the outputs' formats, the selectors, the spec's checks), selection (the
kit's numbers), verdicts (each kind's rule, the table of verdicts), headline (the end of a run).
"""
from dvmap.claims.headline import headline
from dvmap.claims.selection import (
    NotRun,
    OutputError,
    SelectionError,
    Value,
    absolute,
    check_value,
    difference,
    mean_of,
    read_output,
    select,
    select_each,
)
from dvmap.claims.spec import (
    OUTPUTS,
    check_claims,
    claim_outputs,
    claim_selectors,
    leaves,
    output_format,
    paper_cells,
    spec_universes,
)
from dvmap.claims.verdicts import (
    JUDGED,
    VERDICTS,
    claims_markdown,
    evidence_counts,
    judge,
    judge_claims,
    report_copy,
    summary_line,
)

__all__ = ["JUDGED", "OUTPUTS", "VERDICTS", "NotRun", "OutputError", "SelectionError", "Value", "absolute",
           "check_claims", "check_value", "claim_outputs", "claim_selectors", "claims_markdown", "difference",
           "evidence_counts", "headline", "judge", "judge_claims", "leaves", "mean_of", "output_format",
           "paper_cells", "read_output", "report_copy", "select", "select_each", "spec_universes", "summary_line"]
