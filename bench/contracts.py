"""Benchmark: what the survey's data contract (dvmap.contracts.check_survey) costs on the full-size
synthetic WVS-7 file (bench/data_stage.py makes it under bench/out/), in one process: reading the
needed columns with the contract and with it swapped for a no-op, alternating, and the contract
alone on the read columns.

    python bench/contracts.py [--repeat 4]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=4)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from bench.data_stage import SURVEY, load_specs, make_survey
    from dvmap.contracts import check_survey
    from dvmap.data import wvs_io

    if not SURVEY.exists():
        make_survey()
    specs = load_specs()
    os.chdir(ROOT)
    raw, _ = wvs_io.read_survey_columns(SURVEY, specs)
    real = wvs_io.check_survey
    with_contract, without, alone = [], [], []
    for _ in range(args.repeat):
        wvs_io.check_survey = real
        start = time.perf_counter()
        wvs_io.read_survey_columns(SURVEY, specs)
        with_contract.append(time.perf_counter() - start)
        wvs_io.check_survey = lambda *a, **k: None
        start = time.perf_counter()
        wvs_io.read_survey_columns(SURVEY, specs)
        without.append(time.perf_counter() - start)
        start = time.perf_counter()
        check_survey(raw, specs, str(SURVEY))
        alone.append(time.perf_counter() - start)
    wvs_io.check_survey = real
    print(f"{len(raw)} rows x {raw.shape[1]} columns; best of {args.repeat}: read with the contract "
          f"{min(with_contract):.2f} s, without {min(without):.2f} s; the contract alone {min(alone):.2f} s "
          f"(median {sorted(alone)[len(alone) // 2]:.2f} s)")


if __name__ == "__main__":
    main()
