"""Cortex: a configurable Potjans & Diesmann (2014) cortical column, simulated, trained and validated.

Domain modules (``params``, ``network``, ``engine_numba``, ``engine_torch``, ``metrics``,
``plasticity``, ``training``, ``report``) know nothing of Dagster; the wiring lives in
``assets.py``, ``checks.py`` and ``definitions.py``.
"""
