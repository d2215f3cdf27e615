"""Floor 2, the domains: numerics, file formats and models, one package per domain.

Plain Python over the core; no Dagster. Each domain keeps its synthetic-data writers in
``<domain>/demo/``, which no production module imports.
"""
