"""Benchmarks: ``python -m benchmarks [NAME ...]`` (``make bench``) runs them and prints tables.

Each module ``benchmarks/<domain>_<what>.py`` exposes ``run() -> Table`` and compares
our implementation with a reference implementation in the same run, as a ratio.
"""
