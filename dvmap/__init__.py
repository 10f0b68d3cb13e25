"""DVMap reproducibility kit: WVS-7 to the DVMap corpus, prompts, training and evaluation."""
import warnings

import pandas as pd

# The kit's tables are label-heavy and much of their handling is per-label Python (hashing,
# templating, merges on labels); NumPy object strings are several times faster there than
# pandas 3's default Arrow-backed strings (bench/data_stage.py). Parquet stores both as the same
# string type. pandas is pinned to 3.x, where the option still exists (deprecated for 4.0).
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    pd.set_option("future.infer_string", False)
