"""Problem logic written once and shared by every domain that has the problem: image classification (vision,
medical), dense segmentation (medical, driving). Domains import from here; this package imports no domain."""
