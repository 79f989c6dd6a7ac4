"""Recommendation: rating prediction and top-K ranking over user-item interaction logs."""
