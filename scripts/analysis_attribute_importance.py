"""Snakemake adapter: Figure 1c, MDI and permutation importance of the 11 attributes per question."""
import pandas as pd

from dvmap.analyses.attribute_importance import attribute_importance, rank_agreement
from dvmap.analyses.data_figures import importance_heatmap
from dvmap.files import logged

sm = snakemake  # noqa: F821
with logged(sm.log[0]) as log:
    p = sm.params
    table = attribute_importance(pd.read_parquet(sm.input[0]), p.attribute_names, p.questions, p.countries, p.spec,
                                 p.seed, p.resamples, n_jobs=sm.threads, log=log.info)
    table.to_csv(sm.output.table, index=False)
    agreement = rank_agreement(table)
    agreement.to_csv(sm.output.agreement, index=False)
    overall = agreement[agreement["q_id"] == "all"].iloc[0]
    log.info("rank agreement MDI vs permutation over the questions' mean: Spearman %.3f, Kendall %.3f",
             overall["spearman_rho"], overall["kendall_tau"])
    importance_heatmap(table, {q["id"]: q["concept"] for q in p.questions}, sm.output.figure, p.figure_method)
