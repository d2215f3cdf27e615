"""Floor 3, the Dagster wiring: one sub-package per domain plus operations, merged in ``definitions.py``.

Each domain package holds only wiring (assets, checks, jobs, partitions, its warehouse
layout); the numerics, formats and models they call live in ``brainstar.domain``.
"""

import os

from brainstar.core import environments

# Before any submodule reads a setting (some do at import: the workflow's cron, the success
# notifier's default status): a deployment's BRAINSTAR_ENV profile fills in what its
# environment leaves unset (deploy/environments.yaml).
environments.apply_named(os.environ)
