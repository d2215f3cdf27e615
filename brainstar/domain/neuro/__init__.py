"""Neuroimaging: diffusion-MRI sessions to tensor maps and connectomes (no Dagster)."""
