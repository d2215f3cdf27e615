"""Floor 3, the Dagster wiring: one sub-package per domain plus operations, merged in ``definitions.py``.

Each domain package holds only wiring (assets, checks, jobs, partitions, its warehouse
layout); the numerics, formats and models they call live in ``brainstar.domain``.
"""
