"""Stage 1: WVS-7 file to the corpus, benchmarks, audits, prompts and exports."""
