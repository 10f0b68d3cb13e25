"""Snakemake adapter: dataset + prompts -> verl's RL parquet."""
from pathlib import Path

import pandas as pd

from dvmap.data.exports import verl_rows
from dvmap.files import logged, write_parquet

sm = snakemake  # noqa: F821
with logged(sm.log[0]):
    rows = verl_rows(pd.read_parquet(sm.input.dataset), pd.read_parquet(sm.input.prompts), Path(sm.input.dataset).stem,
                     sm.params.verl["data_source"], sm.params.verl["ability"])
    write_parquet(rows, sm.output[0])
