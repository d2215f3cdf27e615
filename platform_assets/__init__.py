"""The brainstar asset graph: one sub-package per domain, merged in ``definitions.py``."""
