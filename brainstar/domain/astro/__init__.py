"""Astronomy: SDSS spectra, Kepler light curves and Gaia photometry to served models (no Dagster)."""
