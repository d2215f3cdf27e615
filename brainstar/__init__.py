"""brainstar: everything that is not Dagster wiring, one sub-package per floor.

``core`` (floor 1), ``domain`` and ``demo`` (floor 2), ``cli`` (floor 4); the Dagster wiring
(floor 3) is the top-level ``platform_assets``, ``resources`` and ``sensors``. See
docs/ARCHITECTURE.md. Importing this package must stay cheap: the command line starts here.
"""
