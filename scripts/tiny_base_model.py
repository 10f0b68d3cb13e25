"""Snakemake adapter: tokenizer, tiny Qwen3 and the value-free format warm-up."""
import pandas as pd
import torch
from tqdm import tqdm

from dvmap.data.prompts import with_prompts
from dvmap.files import logged
from dvmap.train.local import build_base_model

sm = snakemake  # noqa: F821
with logged(sm.log[0]) as log:
    torch.set_num_threads(sm.threads)
    train = with_prompts(pd.read_parquet(sm.input.train), pd.read_parquet(sm.input.prompts))
    bar = tqdm(total=sm.params.local["warmup"]["steps"], desc="format warm-up", unit="step")

    def progress(step, loss):
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.3f}")

    record = build_base_model(train, sm.params.local, sm.output[0], progress)
    bar.close()
    log.info("base model: %s", record)
