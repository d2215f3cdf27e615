"""Cortex: a Potjans & Diesmann (2014) cortical column, simulated, trained and validated (no Dagster)."""
