"""Small file helpers shared by the stages: deterministic JSON and parquet, logging to a file."""
from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from dvmap.errors import DVMapError, OutputError
from dvmap.redact import redact


@contextmanager
def writing(path: str | Path) -> Iterator[Path]:
    """Create `path`'s folder; an OS error while writing (permission denied, read-only or full disk,
    a file where the folder should be) is an OutputError naming the file and its folder."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield path
    except OSError as exc:  # pyarrow raises PermissionError/OSError without the file's name
        raise OutputError(path, exc) from None


def write_json(obj: Any, path: str | Path) -> None:
    with writing(path) as path:
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)


def read_parquets(paths, columns: list[str] | None = None) -> pd.DataFrame:
    """Several parquet files of one schema (the per-country tables) as one table, in the order given."""
    return pd.concat([pd.read_parquet(p, columns=columns) for p in paths], ignore_index=True)


def write_parquet(df: pd.DataFrame, path: str | Path) -> None:
    """Write without the index; the same frame always gives the same bytes."""
    with writing(path) as path:
        tmp = path.with_suffix(path.suffix + ".tmp")
        df.to_parquet(tmp, index=False)
        os.replace(tmp, path)


class RedactingFormatter(logging.Formatter):
    """Log lines (tracebacks included) without API keys or URL credentials (dvmap.redact)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


@contextmanager
def logged(log_path: str | Path | None) -> Iterator[logging.Logger]:
    """Log to `log_path` (and stderr); a DVMapError ends the process with its one-line message, any
    other exception is logged with its traceback (so it reaches the rule's log file) and re-raised."""
    logger = logging.getLogger("dvmap")
    logger.setLevel(logging.INFO)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        try:
            with writing(log_path):
                # emptied, then appended to: a child process writing into the same file (verl, a vLLM
                # server) is not overwritten by what is logged after it
                Path(log_path).write_text("", encoding="utf-8")
                handlers.append(logging.FileHandler(log_path, mode="a", encoding="utf-8"))
        except OutputError as error:
            raise SystemExit(f"ERROR: {error}") from None
    for h in handlers:
        h.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(h)
    try:
        yield logger
    except DVMapError as error:
        logger.error("%s", error)
        raise SystemExit(f"ERROR: {redact(str(error))}") from None
    except PermissionError as exc:  # any other writer (a CSV, a figure, a model folder) that may not write
        if exc.filename is None:
            raise
        where = Path(exc.filename)
        error = DVMapError(f"permission denied on {where} (in the folder {where.parent}): this user cannot write or "
                           f"read it; check the folder's permissions, or build in another folder")
        logger.error("%s", error)
        raise SystemExit(f"ERROR: {error}") from None
    except Exception:
        logger.exception("failed")
        raise
    finally:
        for h in handlers:
            logger.removeHandler(h)
            h.close()
