"""Cortex: a configurable Potjans & Diesmann (2014) cortical column, simulated, trained and validated.

Domain modules (``config``, ``params``, ``network``, ``engine_numba``, ``engine_torch``,
``metrics``, ``plasticity``, ``training``, ``report``) know nothing of Dagster; the wiring lives in
``settings.py`` (run config generated from ``ColumnConfig``), ``layout.py`` (warehouse files),
``assets.py``, ``checks.py`` and ``definitions.py``.
"""
