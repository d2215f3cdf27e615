"""Pieces the ``brainstar`` commands share; click and the standard library only, so ``--help`` stays fast."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click


def existing_file_option(flag: str, dest: str, help_text: str) -> Callable[[Any], Any]:
    """``flag PATH``: an existing file (not a folder), handed to the command as a ``Path`` or ``None``."""
    return click.option(
        flag,
        dest,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help=help_text,
    )


def folder_option(flag: str, dest: str, help_text: str) -> Callable[[Any], Any]:
    """``flag DIR``: a folder (it may not exist yet), handed to the command as a ``Path`` or ``None``."""
    return click.option(
        flag, dest, type=click.Path(file_okay=False, path_type=Path), default=None, help=help_text
    )
