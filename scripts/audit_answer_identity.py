"""Snakemake adapter: no cross-value question may repeat a training question's answers (a WVS
variable read twice). Writes the report, then fails the job naming both questions."""

from dvmap.data.audit import assert_no_identical_answers, identical_answers_report
from dvmap.files import logged, read_parquets, write_json

sm = snakemake  # noqa: F821
with logged(sm.log[0]) as log:
    questions = sm.params.questions
    respondents = read_parquets(sm.input, columns=[q["id"] for q in questions])
    report = identical_answers_report(respondents, questions, sm.params.min_shared)
    write_json(report, sm.output[0])
    log.info("answer identity audit: %s", "ok" if report["ok"] else report["identical"])
    assert_no_identical_answers(report)
