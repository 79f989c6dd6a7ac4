"""Problem logic written once and shared by every domain that has the problem: image classification (vision,
medical), dense segmentation (medical, driving), object detection (vision, driving; the ``detection`` package).
Domains import from here; this package imports no domain."""
