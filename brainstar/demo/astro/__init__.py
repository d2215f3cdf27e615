"""Synthetic survey files in the archives' formats, with known ground truth. Demo and tests only."""
