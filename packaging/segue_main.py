"""Entry point of the frozen (PyInstaller) Segue: the ``segue`` executable of the bundle.

Outside a bundle ``segue`` is the console script of ``player.cli:main``; a bundle has no
Python interpreter, so this script stands in for the two ways Segue starts processes:

- multiprocessing workers (the scanner's pool, the analysis workers), started as
  ``segue --multiprocessing-...`` by :func:`multiprocessing.freeze_support`;
- ``python -m player.ui.analysis_runner``, which the desktop app runs with QProcess, and
  ``python -m player.library.lockkeeper`` (``sys.executable -m MODULE``): the bundle runs
  the module itself.
"""

from __future__ import annotations

import multiprocessing
import os
import runpy
import sys
from pathlib import Path

# Modules the app starts as ``sys.executable -m MODULE``; nothing else may be run so.
RUNNABLE_MODULES = frozenset({"player.ui.analysis_runner", "player.library.lockkeeper"})


def _use_bundled_vlc() -> None:
    """Point python-vlc at a libVLC shipped inside the bundle (the Windows and macOS
    builds bundle VLC; the Linux build uses the system's, so this does nothing there)."""
    base = Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent))
    for lib in (base / "libvlc.dll", base / "lib" / "libvlc.dylib"):
        if lib.is_file():
            os.environ.setdefault("PYTHON_VLC_LIB_PATH", str(lib))
            os.environ.setdefault("PYTHON_VLC_MODULE_PATH", str(base / "plugins"))
            os.environ.setdefault("VLC_PLUGIN_PATH", str(base / "plugins"))
            return


def main() -> int:
    multiprocessing.freeze_support()  # a worker process runs its job here and exits
    _use_bundled_vlc()
    argv = sys.argv
    if len(argv) >= 3 and argv[1] == "-m" and argv[2] in RUNNABLE_MODULES:
        sys.argv = [argv[0], *argv[3:]]
        runpy.run_module(argv[2], run_name="__main__", alter_sys=True)
        return 0
    from player.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
