"""Neuroimaging: landed diffusion-MRI sessions to connectomes.

Domain modules here (``phantom``, ``dwi_session``) know nothing of Dagster; the
wiring lives in ``assets.py``, ``checks.py`` and ``definitions.py``.
"""
