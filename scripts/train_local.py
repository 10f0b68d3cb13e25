"""Snakemake adapter: GRPO with TRL on CPU for a local model."""
import pandas as pd
import torch

from dvmap.data.prompts import with_prompts
from dvmap.files import logged
from dvmap.train.checkpoints import run_checkpoint_dir
from dvmap.train.local import grpo_train

sm = snakemake  # noqa: F821
with logged(sm.log[0]) as log:
    torch.set_num_threads(sm.threads)
    train = with_prompts(pd.read_parquet(sm.input.train), pd.read_parquet(sm.input.train_prompts))
    dev = with_prompts(pd.read_parquet(sm.input.dev), pd.read_parquet(sm.input.dev_prompts))
    checkpoints = run_checkpoint_dir(sm.params.checkpoint_dir, sm.params.local, list(sm.input))
    log.info("checkpoints: %s", checkpoints)
    history = grpo_train(sm.input.base, train, dev, sm.params.local, sm.output[0], checkpoints)
    dev_points = [h for h in history if "dev" in h]
    log.info("dev accuracy: %s -> %s", dev_points[0]["dev"], dev_points[-1]["dev"])
