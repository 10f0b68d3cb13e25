"""Snakemake adapter: embeddings of every question's text, offline (HF_HUB_OFFLINE=1)."""
import os

os.environ["HF_HUB_OFFLINE"] = "1"  # before anything imports huggingface_hub: nothing is fetched at run time

import pandas as pd  # noqa: E402

from dvmap.analyses.embeddings import embed, model_location, question_texts  # noqa: E402
from dvmap.files import logged, write_parquet  # noqa: E402

sm = snakemake  # noqa: F821
with logged(sm.log[0]) as log:
    spec, questions = sm.params.embedding, sm.params.questions
    location = model_location(spec)
    texts = question_texts(questions, spec["text"])
    vectors = embed(texts, location, spec["max_length"], spec["batch_size"], spec["device"],
                    spec["dtype"])
    write_parquet(pd.DataFrame({"q_id": [q["id"] for q in questions], "role": [q["role"] for q in questions],
                                "text": texts, "embedding": [v.tolist() for v in vectors]}), sm.output[0])
    log.info("%d questions embedded with %s (%s, %s), dimension %d", len(texts), location, spec["backend"],
             spec["device"], vectors.shape[1])
