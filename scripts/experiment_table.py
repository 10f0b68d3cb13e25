"""Snakemake adapter: one ablation table of the experiments spec and its per-seed values."""
import json
from pathlib import Path

import pandas as pd

from dvmap.evaluate.metrics import parse_predictions
from dvmap.evaluate.tables import aggregate_scores, experiment_table, seeds_table
from dvmap.files import logged

sm = snakemake  # noqa: F821
with logged(sm.log[0]) as log:
    spec, rows = sm.params.table, sm.params.rows
    samples = {Path(p).stem: pd.read_parquet(p) for p in sm.input.datasets}
    score_files, prediction_files = iter(sm.input.scores), iter(sm.input.predictions)
    per_seed, scores, parsed = {}, {}, {}
    for dataset in spec["datasets"]:  # inputs: per dataset, the rows' files in order, one per seed
        for row in rows:  # filed by the row's key (dvmap.experiments.row_entries), never by a bare name
            key = (dataset, row["row"])
            per_seed[key] = [json.loads(open(next(score_files)).read()) for _ in row["files"]]
            scores[key] = aggregate_scores(per_seed[key])
            parsed[key] = [parse_predictions(pd.read_parquet(next(prediction_files)), samples[dataset])
                           for _ in row["files"]]
    table = experiment_table(sm.wildcards.table, spec, rows, scores, parsed, sm.params.paper, sm.params.seed)
    table.to_csv(sm.output.table, index=False)
    pd.concat([seeds_table(rows, {r["row"]: per_seed[(d, r["row"])] for r in rows}, d, key="row")
               for d in spec["datasets"]], ignore_index=True).to_csv(sm.output.seeds, index=False)
    log.info("%s: %d rows", sm.wildcards.table, len(table))
