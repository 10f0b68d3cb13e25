"""Snakemake adapter: dataset + structured-CoT prompts -> a Hugging Face datasets folder."""
import pandas as pd

from dvmap.data.exports import save_hf_dataset
from dvmap.files import logged

sm = snakemake  # noqa: F821
with logged(sm.log[0]):
    save_hf_dataset(pd.read_parquet(sm.input.dataset), pd.read_parquet(sm.input.prompts), sm.output[0])
