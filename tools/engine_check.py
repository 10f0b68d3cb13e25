"""Material for checking generation engines against each other without the data pipeline: samples
drawn from the specs (profiles of attribute labels, questions with their options) rendered with a
prompt template, and the demo's tiny model built and format-warmed on them in seconds (the
architecture of `specs/models.yaml`, nothing from a hub). Used by tests/test_vllm_cpu.py and
bench/engines.py."""
from __future__ import annotations

import random
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from dvmap.data.prompts import chat_messages, render_prompts
from dvmap.evaluate.backends import Request
from dvmap.train import tiny_model


def synthetic_samples(specs: Mapping, n: int, seed: int) -> pd.DataFrame:
    """`n` samples (sample_id, the attribute labels, question, options) with labels and questions
    drawn uniformly from the specs: inputs for prompts, not survey answers."""
    rng = random.Random(seed)
    countries = [c["name"] for c in specs["countries"]["countries"]]
    attributes = specs["attributes"]["attributes"]
    questions = specs["questions"]["questions"]
    rows = []
    for i in range(n):
        row = {"sample_id": f"s{i:05d}"}
        for a in attributes:
            if a.get("from_countries"):
                choices = countries
            elif "labels" in a:
                choices = list(a["labels"].values())
            else:
                choices = [b["label"] for b in a["bins"]]
            row[a["name"]] = rng.choice(choices)
        q = rng.choice(questions)
        row["question"], row["options"] = q["text"], list(q["options"])
        rows.append(row)
    return pd.DataFrame(rows)


def engine_requests(specs: Mapping, template: str, n: int, seed: int) -> list[Request]:
    """Chat requests of `n` synthetic samples rendered with one of the specs' prompt templates."""
    samples = synthetic_samples(specs, n, seed)
    names = [a["name"] for a in specs["attributes"]["attributes"]]
    prompts = render_prompts(samples, names, specs["prompts"]["templates"][template])
    return [Request(sid, msgs, list(opts))
            for sid, msgs, opts in zip(prompts["sample_id"], chat_messages(prompts), samples["options"])]


def build_tiny_model(out_dir: str | Path, requests: list[Request], local: Mapping, warmup_steps: int,
                     vocab_size: int | None = None) -> Path:
    """The demo's tiny model (`local`: a `backend: local` model's spec) with a tokenizer trained on
    the requests' texts and `warmup_steps` steps of the value-free format warm-up, saved as a
    Hugging Face model directory."""
    texts = [m["content"] for r in requests for m in r.messages]
    tok = tiny_model.train_tokenizer(texts, vocab_size or local["tokenizer"]["vocab_size"])
    model = tiny_model.build_model(tok, local["architecture"], seed=local["seed"])
    warm = local["warmup"]
    tiny_model.format_warmup(model, tok, [r.messages for r in requests], [r.options for r in requests],
                             steps=warmup_steps, batch_size=warm["batch_size"], lr=warm["lr"], seed=local["seed"])
    out = Path(out_dir)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out
