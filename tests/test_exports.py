"""verl's RL parquet schema and Hugging Face datasets folders."""
import hashlib

import datasets
import pandas as pd
import pyarrow.parquet as pq

from dvmap.data import exports

SAMPLES = pd.DataFrame({
    "sample_id": ["p1-Q1", "p2-Q1"], "q_id": ["Q1", "Q1"], "country": ["USA", "USA"],
    "options": [["Yes", "No"], ["Yes", "No"]], "answer": ["No", "Yes"], "answer_index": [1, 0],
    "frequency": [0.5, 0.5]})
PROMPTS = pd.DataFrame({"sample_id": ["p2-Q1", "p1-Q1"], "system": ["sys", "sys"], "prompt": ["u2", "u1"]})


def test_verl_rows_schema(tmp_path):
    rows = exports.verl_rows(SAMPLES, PROMPTS, "train", "wvs", "value_alignment")
    assert list(rows.columns) == ["data_source", "prompt", "ability", "reward_model", "extra_info"]
    rows.to_parquet(tmp_path / "train.parquet", index=False)
    back = pq.read_table(tmp_path / "train.parquet").to_pylist()
    assert back[0]["prompt"] == [{"role": "system", "content": "sys"}, {"role": "user", "content": "u1"}]
    assert back[0]["reward_model"] == {"style": "rule", "ground_truth": "No"}
    assert back[0]["extra_info"]["options"] == ["Yes", "No"] and back[0]["extra_info"]["sample_id"] == "p1-Q1"
    assert back[1]["extra_info"]["index"] == 1 and back[1]["data_source"] == "wvs"


def test_verl_rows_need_a_prompt_per_sample():
    import pytest

    with pytest.raises(ValueError, match="prompts cover 1 of 2"):
        exports.verl_rows(SAMPLES, PROMPTS.head(1), "train", "wvs", "v")


def test_hf_dataset_loads_and_is_byte_identical(tmp_path):
    for name in ("a", "b"):
        exports.save_hf_dataset(SAMPLES, PROMPTS, tmp_path / name)
    ds = datasets.load_from_disk(str(tmp_path / "a"))
    assert ds.num_rows == 2 and ds[0]["prompt"] == "u1" and ds[0]["options"] == ["Yes", "No"]
    digest = lambda d: sorted(hashlib.sha256(p.read_bytes()).hexdigest() for p in d.iterdir())  # noqa: E731
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
