"""Snakemake adapter: one dataset's results table (a trained model's row is the mean over its
seeds), the per-seed values, accuracy per group with CIs and ranks (Figure 3), paired tests, figure."""
import json

import pandas as pd

from dvmap.evaluate.metrics import parse_predictions
from dvmap.evaluate.tables import (
    aggregate_scores,
    grouped_bar_figure,
    paired_table,
    per_group_table,
    results_table,
    seeds_table,
)
from dvmap.files import logged

sm = snakemake  # noqa: F821
with logged(sm.log[0]):
    dataset = sm.wildcards.dataset
    samples = pd.read_parquet(sm.input.dataset)
    rows = sm.params.rows
    score_files, prediction_files = iter(sm.input.scores), iter(sm.input.predictions)
    scores, parsed = {}, {}
    for row in rows:  # the inputs are the rows' files in order, one per seed
        scores[row["name"]] = [json.loads(open(next(score_files)).read()) for _ in row["files"]]
        parsed[row["name"]] = [parse_predictions(pd.read_parquet(next(prediction_files)), samples) for _ in row["files"]]
    results_table({(r["name"], r["kind"]): aggregate_scores(scores[r["name"]]) for r in rows}).to_csv(
        sm.output.table, index=False)
    seeds_table(rows, scores, dataset).to_csv(sm.output.seeds, index=False)
    group = "q_id" if dataset == "cross_value" else "country"
    per_group = per_group_table(parsed, group, {r["name"]: r["kind"] for r in rows}, sm.params.seed)
    per_group.to_csv(sm.output.per_group, index=False)
    paired_table(parsed, sm.params.comparisons, dataset, sm.params.seed).to_csv(sm.output.paired, index=False)
    references = [r["name"] for r in rows if r["kind"] == "reference predictor"]
    label = "question" if group == "q_id" else "country"
    title = f"{dataset}: accuracy per {label} (n = {len(samples)}; 95% CIs; models: mean over seeds)"
    grouped_bar_figure(per_group, group, title, sm.output.figure, references)
