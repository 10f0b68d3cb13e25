"""Snakemake adapter: accuracy gain per group against a distance (dvmap.analyses.group_gain). Figure 9
(rule country_gain, params.group country): countries and their distance on the cultural map. Table 12
(rule question_gain, params.group q_id): cross-value questions and their semantic distance to the
training ones."""
import pandas as pd

from dvmap.analyses.group_gain import gain_tables
from dvmap.analyses.model_figures import country_gain_figure, empty_figure, question_gain_figure
from dvmap.analyses.model_stats import map_distances, semantic_distances
from dvmap.files import logged

sm = snakemake  # noqa: F821
with logged(sm.log[0]) as log:
    by = sm.params.group
    samples = pd.read_parquet(sm.input.dataset)
    if by == "country":
        places = map_distances(sm.params.countries, sm.params.countries_file)
    else:
        places = semantic_distances(pd.read_parquet(sm.input.embeddings), list(dict.fromkeys(samples["q_id"])),
                                    sm.params.training_questions)
    rows = {name: (kind, files) for name, _template, kind, files in sm.params.rows}
    gain_table, corr_table = gain_tables(samples, rows, sm.params.comparisons, by, places, sm.params.resamples,
                                         sm.params.seed, log)
    gain_table.round(4).to_csv(sm.output.gains, index=False)
    corr_table.round(4).to_csv(sm.output.correlations, index=False)
    plot_table = gain_table.rename(columns={by: "group"})
    if not len(plot_table):
        empty_figure("Figure 9" if by == "country" else "Table 12", "no comparison: no DVMap/base pair among the "
                     "rows and no uniform reference predictor", sm.output.figure)
    elif by == "country":
        country_gain_figure(plot_table, corr_table, sm.output.figure)
    else:
        question_gain_figure(plot_table, corr_table, sm.output.figure)
