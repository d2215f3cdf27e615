"""One dynamic partition per landed session, keyed ``sub-<label>_ses-<label>``."""

import dagster as dg

neuro_sessions = dg.DynamicPartitionsDefinition(name="neuro_sessions")
