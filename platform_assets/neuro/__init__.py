"""Neuro wiring: landed diffusion-MRI sessions to connectomes, one partition per session.

``assets.py``, ``checks.py``, ``jobs.py``, ``partitions.py``, ``layout.py`` (warehouse files)
and ``definitions.py``; the domain code they call is ``brainstar.domain.neuro``.
"""
