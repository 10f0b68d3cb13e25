"""Where a training run keeps its resumable checkpoints: a folder per run fingerprint, so a rerun
with the same config and inputs resumes, and a changed one starts afresh instead of loading
checkpoints of another run."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path


def run_fingerprint(config: Mapping | list, files: Iterable[str | Path]) -> str:
    """Short hash of the training config and the content of its input files (folders: every file)."""
    digest = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode())
    for path in files:
        path = Path(path)
        for f in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if f.is_file():
                digest.update(f.name.encode())
                digest.update(f.read_bytes())
    return digest.hexdigest()[:16]


def run_checkpoint_dir(root: str | Path, config: Mapping | list, files: Iterable[str | Path]) -> Path:
    return Path(root) / run_fingerprint(config, files)
