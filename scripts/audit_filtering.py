"""Snakemake adapter: entropy and coverage before vs after the archetype filter."""
import pandas as pd

from dvmap.data.audit import filtering_report
from dvmap.files import logged, write_json

sm = snakemake  # noqa: F821
with logged(sm.log[0]) as log:
    report = filtering_report(pd.read_parquet(sm.input.respondents), pd.read_parquet(sm.input.archetypes),
                              sm.params.attribute_names, sm.params.filter,
                              sm.params.corpus_countries, sm.params.corpus_questions)
    write_json(report, sm.output[0])
    log.info("respondents sharing a profile: %.1f%%; answers removed: %.1f%% (the corpus's countries and "
             "questions: %.1f%%, %.1f%%)", 100 * report["respondents_sharing_a_profile"],
             100 * report["answers_removed_share"], 100 * report["corpus"]["respondents_sharing_a_profile"],
             100 * report["corpus"]["answers_removed_share"])
