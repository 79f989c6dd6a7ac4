"""Driving perception: road-user detection and road-scene segmentation on the shared trainer."""
