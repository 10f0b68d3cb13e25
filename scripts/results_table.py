"""Snakemake adapter: one dataset's results table, accuracy per group, paired tests, figure."""
import json

import pandas as pd

from dvmap.io import logged
from dvmap.metrics import parse_predictions
from dvmap.tables import grouped_bar_figure, paired_table, per_group_table, results_table

sm = snakemake  # noqa: F821
with logged(sm.log[0]):
    dataset = sm.wildcards.dataset
    samples = pd.read_parquet(sm.input.dataset)
    rows = [tuple(r) for r in sm.params.rows]
    scores = {(name, kind): json.loads(open(path).read()) for (name, _, kind), path in zip(rows, sm.input.scores)}
    parsed = {name: parse_predictions(pd.read_parquet(path), samples) for (name, _, _), path in zip(rows, sm.input.predictions)}
    results_table(scores).to_csv(sm.output.table, index=False)
    group = "q_id" if dataset == "cross_value" else "country"
    per_group = per_group_table(parsed, group)
    per_group.to_csv(sm.output.per_group, index=False)
    paired_table(parsed, sm.params.comparisons, dataset).to_csv(sm.output.paired, index=False)
    references = [name for name, _, kind in rows if kind == "reference predictor"]
    label = "question" if group == "q_id" else "country"
    grouped_bar_figure(per_group, group, f"{dataset}: accuracy per {label} (n = {len(samples)})", sm.output.figure,
                       references)
