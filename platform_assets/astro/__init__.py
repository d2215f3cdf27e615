"""Astro wiring: SDSS spectra, Kepler light curves and Gaia photometry to promoted models.

``assets.py``, ``checks.py``, ``layout.py`` (warehouse files) and ``definitions.py``; the domain
code they call is ``brainstar.domain.astro``.
"""
