"""Snakemake adapter: dataset + prompts -> verl's RL parquet."""
import pandas as pd

from dvmap.exports import verl_rows
from dvmap.io import logged, write_parquet

sm = snakemake  # noqa: F821
with logged(sm.log[0]):
    rows = verl_rows(pd.read_parquet(sm.input.dataset), pd.read_parquet(sm.input.prompts), sm.wildcards.dataset,
                     sm.params.verl["data_source"], sm.params.verl["ability"])
    write_parquet(rows, sm.output[0])
