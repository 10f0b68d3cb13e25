"""Test and benchmark support (outside the package): a folder in the released DVMap corpus's layout
made from a built corpus, so the release route (`data_source: release`) runs on the demo's own data.

    python -m tools.release_folder results/ /tmp/release train dev test
"""
from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from dvmap.data.splits import CORPUS_SPLITS, DATASETS


def release_frame(samples: pd.DataFrame, attribute_names: Sequence[str], prompts: Sequence[str] | str = ""
                  ) -> pd.DataFrame:
    """Built samples in the released corpus's column layout (`prompt`: the built structured CoT
    prompts when given, as the release holds its own, else empty)."""
    return pd.DataFrame({"Q_id": samples["q_id"], **{a: samples[a] for a in attribute_names},
                         "frequency": samples["frequency"], "Category": samples["category"],
                         "Question": samples["question"], "prompt": prompts,
                         "Options": samples["options"].map(", ".join),
                         "answer": samples["answer"], "data_source": "wvs"})


def attribute_columns(samples: pd.DataFrame) -> list[str]:
    """The 11 attribute columns of a built split (between `country` and `question`)."""
    columns = list(samples.columns)
    return columns[columns.index("country") + 1:columns.index("question")]


def write_release_folder(results: Path, dest: Path, splits: Sequence[str] = DATASETS, hf: Sequence[str] = ()) -> Path:
    """`dest/{split}.parquet` for each split (a `datasets.save_to_disk` folder `dest/{split}/` for
    those in `hf`), from a built `results/` folder."""
    dest.mkdir(parents=True, exist_ok=True)
    for split in splits:
        folder = "corpus" if split in CORPUS_SPLITS else "benchmarks"
        samples = pd.read_parquet(Path(results) / folder / f"{split}.parquet")
        rendered = Path(results) / "prompts/structured_cot" / f"{split}.parquet"
        prompts = pd.read_parquet(rendered)["prompt"].to_numpy() if rendered.is_file() else ""
        frame = release_frame(samples, attribute_columns(samples), prompts)
        if split in hf:
            import datasets

            datasets.Dataset.from_pandas(frame, preserve_index=False).save_to_disk(str(dest / split))
        else:
            frame.to_parquet(dest / f"{split}.parquet", index=False)
    return dest


if __name__ == "__main__":
    write_release_folder(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:] or DATASETS)
