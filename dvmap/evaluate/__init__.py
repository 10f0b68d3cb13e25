"""Stage 3: generation engines, predictions, metrics, reference predictors and result tables."""
