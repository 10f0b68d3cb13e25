"""Stage 2: GRPO training (TRL on CPU for the demo, verl on the cluster) and its reward."""
