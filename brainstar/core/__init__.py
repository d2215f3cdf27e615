"""Floor 1, the core: settings, atomic writes, the landing layout, devices, message transport.

It imports neither Dagster nor any domain; everything above may import it.
"""
