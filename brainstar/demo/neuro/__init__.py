"""Synthetic neuro sessions in the real formats, with known ground truth. Demo and tests only."""
