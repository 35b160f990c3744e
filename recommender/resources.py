"""Where Segue's shipped files (the network's weights, the icons) are when they are not in
``resources/`` beside the source tree: a wheel (``pip install .``) puts them in
``share/segue`` under the install scheme's data directory, which differs between a venv
(``sys.prefix``), ``pip install --user`` (``site.USER_BASE``) and Debian's system pip
(``/usr/local``)."""

from __future__ import annotations

import site
import sys
import sysconfig
from pathlib import Path


def share_dirs() -> list[Path]:
    """Each place a wheel may have put ``share/segue``, the most likely first."""
    bases: list[str] = []
    for scheme_path in (sysconfig.get_path("data"), site.USER_BASE, sys.prefix, "/usr/local"):
        if scheme_path and scheme_path not in bases:
            bases.append(scheme_path)
    return [Path(base) / "share" / "segue" for base in bases]


def installed(relative: str) -> Path | None:
    """The first installed copy of ``share/segue/<relative>``, if any."""
    for folder in share_dirs():
        if (folder / relative).exists():
            return folder / relative
    return None
