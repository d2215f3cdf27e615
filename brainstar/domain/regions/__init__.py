"""Brain regions beyond the cortical column, as plain models with their validation gates (no Dagster)."""
