"""Stage 4: the paper's data and model analyses and their figures."""
