"""Snakemake adapter: Figure 1b as the paper draws it, the entropy of every value question of the survey file."""
from dvmap.analyses.data_figures import question_entropy_figure
from dvmap.analyses.data_stats import question_entropy
from dvmap.data.wvs_io import read_value_questions
from dvmap.files import logged
from dvmap.specs import country_codes

sm = snakemake  # noqa: F821
with logged(sm.log[0]) as log:
    p = sm.params
    codes = read_value_questions(sm.input[0], [code for c in p.countries for code in country_codes(c)],
                                 p.spec["first_question"], p.spec["last_question"])
    table, summary = question_entropy(codes, p.countries, p.spec["threshold"], p.spec["min_respondents"],
                                      p.use_weight, p.seed, p.resamples, p.unit,
                                      p.spec["threshold_unit"])
    table.to_csv(sm.output.table, index=False)
    summary.to_csv(sm.output.summary, index=False)
    question_entropy_figure(table, summary, p.spec["bin_width"], sm.output.figure)
    for s in summary.itertuples():
        log.info("%s: %d of %d value questions above H = %g %s (%.3f [%.3f, %.3f])", s.country, s.n_above,
                 s.n_questions, s.threshold, s.unit, s.share_above_threshold, s.share_above_threshold_ci_low,
                 s.share_above_threshold_ci_high)
