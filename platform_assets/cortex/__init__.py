"""Cortex wiring: a Potjans & Diesmann (2014) column configured, simulated, trained, validated, promoted.

``run_config.py`` (the run config, generated from ``brainstar.domain.cortex.config.ColumnConfig``),
``layout.py`` (warehouse files), ``assets.py``, ``checks.py`` and ``definitions.py``; the domain
code they call is ``brainstar.domain.cortex``.
"""
