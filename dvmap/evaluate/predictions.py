"""Predictions are paid for once: every finished sample is appended (and fsynced) to a JSONL log
outside the rule's outputs, so a crashed or killed run resumes without redoing or duplicating
finished samples. The final parquet is written from the log when every sample is done.

Each record carries a key of the prompt it answered: when a dataset changes (a country added, a
question reworded), the samples whose prompts did not change keep their predictions and only the
new or changed ones are generated."""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

PREDICTION_COLUMNS = ["sample_id", "response", "parsed", "status", "option_probs", "error"]
FINAL_STATUSES = ("ok", "parse_error")  # api_error samples are retried on the next run


def prompt_key(messages: list[dict], options: list[str]) -> str:
    """A digest of what the model was asked: the chat messages and the options the answer is parsed against."""
    text = json.dumps({"messages": messages, "options": list(options)}, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def prompt_keys(requests: Iterable) -> dict[str, str]:
    """sample id -> prompt_key of each request (anything with sample_id, messages and options)."""
    return {r.sample_id: prompt_key(r.messages, r.options) for r in requests}


class PredictionLog:
    """Append-only JSONL of prediction records; the last record of a sample wins.

    With `prompt_keys` (sample id -> prompt_key), records are stamped with their prompt's key and a
    record answering another prompt than the current one is not taken as done."""

    def __init__(self, path: str | Path, prompt_keys: Mapping[str, str] | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.prompt_keys = dict(prompt_keys or {})

    def load(self) -> dict[str, dict]:
        records: dict[str, dict] = {}
        if not self.path.exists():
            return records
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:  # a line torn by a crash: that sample is redone
                    continue
                sid = record["sample_id"]
                if self.prompt_keys and record.get("prompt_key") != self.prompt_keys.get(sid):
                    continue  # answered another prompt (the dataset changed since): redone
                records[sid] = record
        return records

    def append(self, records: Iterable[Mapping]) -> int:
        n = 0
        with open(self.path, "a", encoding="utf-8") as fh:
            for record in records:
                if self.prompt_keys:
                    record = {**record, "prompt_key": self.prompt_keys[record["sample_id"]]}
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
                n += 1
        return n


def pending(sample_ids: Iterable[str], done: Mapping[str, dict]) -> list[str]:
    """Samples still to generate: never done, or failed with an API error."""
    return [s for s in sample_ids if done.get(s, {}).get("status") not in FINAL_STATUSES]


def predictions_frame(sample_ids: list[str], records: Mapping[str, dict]) -> pd.DataFrame:
    """The final predictions in sample order; every sample must have a record."""
    missing = [s for s in sample_ids if s not in records]
    if missing:
        raise ValueError(f"{len(missing)} samples have no prediction yet, e.g. {missing[:3]}")
    rows = [records[s] for s in sample_ids]
    return pd.DataFrame({c: [r.get(c) for r in rows] for c in PREDICTION_COLUMNS})
