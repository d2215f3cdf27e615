"""Floor 4, the command line: ``brainstar`` and its sub-commands, over the definitions."""

from brainstar.cli.main import cli

__all__ = ["cli"]
