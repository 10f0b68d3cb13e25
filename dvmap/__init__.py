"""DVMap reproducibility kit: WVS-7 to the DVMap corpus, prompts, training and evaluation."""
