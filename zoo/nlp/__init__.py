"""Text classification: transformers and fast baselines, tokenizers trained from scratch, text datasets."""
