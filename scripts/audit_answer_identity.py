"""Snakemake adapter: no cross-value question may repeat a training question's answers (a WVS
variable read twice). Writes the report, then fails the job naming both questions."""
import pandas as pd

from dvmap.audit import assert_no_identical_answers, identical_answers_report
from dvmap.io import logged, write_json

sm = snakemake  # noqa: F821
with logged(sm.log[0]) as log:
    questions = sm.params.questions
    respondents = pd.concat([pd.read_parquet(p, columns=[q["id"] for q in questions]) for p in sm.input],
                            ignore_index=True)
    report = identical_answers_report(respondents, questions, sm.params.min_shared)
    write_json(report, sm.output[0])
    log.info("answer identity audit: %s", "ok" if report["ok"] else report["identical"])
    assert_no_identical_answers(report)
