"""The astro models and the pipeline's code version, apart from the numerical modules.

The Dagster wiring builds one asset and one set of checks per modality when the code
location loads; reading these names from here keeps that load free of torch and pandas.
"""

MODALITIES = ("spectral", "lightcurve", "sed")
CODE_VERSION = "astro-1"  # recorded in each model card; bump when training changes
