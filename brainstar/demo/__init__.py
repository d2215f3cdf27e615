"""Synthetic data in the real formats, with known ground truth: the demo landing zone and test fixtures.

Beside the domain floor: it may import the domains' readers and constants (a writer must
write what the reader reads); no production module imports it (``make lint``).
"""
