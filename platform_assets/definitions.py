"""The single entry point of the brainstar code location.

Each domain exports its own ``Definitions``; this module merges them and adds what is
shared: the resources every domain uses. Domain modules are imported, not their
``defs`` objects, because Dagster's loader refuses two Definitions at module scope.
"""

import dagster as dg

from platform_assets.astro import definitions as astro
from platform_assets.cortex import definitions as cortex
from platform_assets.neuro import definitions as neuro
from resources import default_resources

defs = dg.Definitions.merge(
    neuro.defs,
    cortex.defs,
    astro.defs,
    dg.Definitions(resources=default_resources()),
)
