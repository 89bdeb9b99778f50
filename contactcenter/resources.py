"""The files the hub ships with, found through the installed package.

templates/ and config/ are folders at the top of the source checkout that
install as `contactcenter.templates` and `contactcenter.config` (setup.py). Asking
the import system for them gives the same answer in an editable checkout and in
an installed wheel, whatever the working directory.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def package_folder(package: str) -> Path:
    """The folder on disk of `package` (wheels install unzipped, so it is one)."""
    folder = files(package)
    if not isinstance(folder, Path):
        raise RuntimeError(f"{package} is not installed as a folder on disk ({folder!r})")
    return folder
