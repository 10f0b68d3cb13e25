"""Snakemake adapter: Figure 1b, entropy of (profile, question) pairs before filtering."""
import pandas as pd

from dvmap.analyses.data_figures import entropy_histogram_figure
from dvmap.analyses.data_stats import entropy_distribution
from dvmap.files import logged

sm = snakemake  # noqa: F821
with logged(sm.log[0]) as log:
    p = sm.params
    histogram, summary = entropy_distribution(pd.read_parquet(sm.input[0]), p.spec["country"], p.spec["bin_width"],
                                              p.seed, p.resamples, p.unit)
    histogram.to_csv(sm.output.histogram, index=False)
    summary.to_csv(sm.output.summary, index=False)
    entropy_histogram_figure(histogram, summary, sm.output.figure)
    for row in summary.itertuples():
        log.info("%s, %s: H = 0 for %d of %d pairs (%.1f%%)", row.scope, row.subset, row.n_zero, row.n_pairs,
                 100 * row.share_zero)
