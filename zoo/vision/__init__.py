"""Vision: image classification."""
