"""Exports read by other tools: verl's RL parquet schema and Hugging Face `datasets` folders."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pyarrow as pa

from dvmap.data.prompts import with_prompts


def verl_rows(samples: pd.DataFrame, prompts: pd.DataFrame, split: str, data_source: str, ability: str) -> pd.DataFrame:
    """Rows in verl's RL dataset schema: data_source, prompt (chat messages), ability,
    reward_model {style, ground_truth}, extra_info (split, index, sample id, options, ...)."""
    merged = with_prompts(samples, prompts)
    return pd.DataFrame({
        "data_source": data_source,
        "prompt": [[{"role": "system", "content": s}, {"role": "user", "content": p}]
                   for s, p in zip(merged["system"], merged["prompt"])],
        "ability": ability,
        "reward_model": [{"style": "rule", "ground_truth": a} for a in merged["answer"]],
        "extra_info": [{"split": split, "index": i, "sample_id": sid, "options": list(opts), "q_id": q,
                        "country": c, "answer_index": int(ai), "frequency": float(f)}
                       for i, (sid, opts, q, c, ai, f) in enumerate(zip(
                           merged["sample_id"], merged["options"], merged["q_id"], merged["country"],
                           merged["answer_index"], merged["frequency"]))],
    })


def save_hf_dataset(samples: pd.DataFrame, prompts: pd.DataFrame | None, out_dir: str | Path) -> None:
    """A `datasets.Dataset` folder (load with datasets.load_from_disk); fingerprint from the content."""
    import datasets  # heavy import, only where used

    table = samples if prompts is None else with_prompts(samples, prompts)
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    digest = hashlib.sha256()
    for batch in arrow.to_batches():
        for col in batch.columns:
            for buf in col.buffers():
                if buf is not None:
                    digest.update(buf)
    ds = datasets.Dataset(arrow, fingerprint=digest.hexdigest()[:16])
    ds.save_to_disk(str(out_dir))
