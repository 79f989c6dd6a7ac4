"""Medical imaging: diagnosis from images (binary, multi-class, multi-label) and lesion or organ segmentation."""
