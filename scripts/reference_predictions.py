"""Snakemake adapter: a reference predictor's predictions on one dataset."""
import pandas as pd

from dvmap.evaluate.baselines import reference_predictions
from dvmap.files import logged, write_parquet

sm = snakemake  # noqa: F821
with logged(sm.log[0]) as log:
    frame = reference_predictions(sm.wildcards.model, pd.read_parquet(sm.input.train), pd.read_parquet(sm.input.dataset),
                                  sm.params.attribute_names, sm.params.seed)
    write_parquet(frame, sm.output[0])
    log.info("%s on %s: sources %s", sm.wildcards.model, sm.wildcards.dataset, frame["source"].value_counts().to_dict())
