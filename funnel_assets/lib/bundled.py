"""Folders the package carries from the repository's top: the data contracts and the instance configurations."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]


def bundled(folder: str) -> Path:
    """`folder` inside the installed package (a built wheel carries it there), else at the top of the clone."""
    installed = PACKAGE / folder
    return installed if installed.is_dir() else PACKAGE.parent / folder
