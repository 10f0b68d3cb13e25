"""Snakemake adapter: survey file -> the needed WVS codes of every respondent (all countries of the
file) and the file's value labels. The study's countries are picked later, one job per country."""
from dvmap.data.wvs_io import read_survey_columns, survey_codes
from dvmap.files import logged, write_json, write_parquet

sm = snakemake  # noqa: F821
with logged(sm.log[0]) as log:
    survey = str(sm.input.survey)
    raw, value_labels = read_survey_columns(survey, sm.params.variables)
    codes = survey_codes(raw, survey)
    write_parquet(codes, sm.output.codes)
    write_json({"file": survey, "value_labels": value_labels}, sm.output.labels)
    log.info("%s: %d respondents in %d countries, %d variables", survey, len(codes),
             codes["B_COUNTRY"].nunique(), codes.shape[1] - 2)
