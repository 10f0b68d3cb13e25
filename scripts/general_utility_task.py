"""Snakemake adapter: write one of the kit's local lm-eval tasks (task YAML + JSONL items)."""
import pandas as pd

from dvmap.evaluate.general_utility import listed_option_items, task_config, write_local_task
from dvmap.files import logged

sm = snakemake  # noqa: F821
with logged(sm.log[0]) as log:
    spec = sm.params.task
    items = listed_option_items(pd.read_parquet(sm.input.samples), pd.read_parquet(sm.input.prompts),
                                sm.params.option_lists, spec["n_items"], spec["n_choices"], spec["seed"])
    if len(items) < spec["n_items"]:
        log.warning("%s has %d samples: %d items instead of %d", sm.input.samples, len(items), len(items),
                    spec["n_items"])
    write_local_task(items, task_config(sm.wildcards.gu_task, sm.output.data, spec), sm.output.yaml, sm.output.data)
    log.info("%s: %d items, %d choices each", sm.wildcards.gu_task, len(items), spec["n_choices"])
