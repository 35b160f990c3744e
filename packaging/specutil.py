"""What every Segue PyInstaller spec shares: sources, data, hidden imports, exclusions
and the Qt plugins Segue uses. Imported by ``segue-linux.spec`` and the Windows and
macOS variants (which are untested, see README.md)."""

from __future__ import annotations

from pathlib import Path

from PyInstaller.utils.hooks import collect_submodules

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ENTRY = str(HERE / "segue_main.py")

# The icons the UI draws (player/ui/icons.py looks for <bundle>/resources/...).
DATAS = [
    (str(ROOT / "resources" / "app"), "resources/app"),
    (str(ROOT / "resources" / "icons"), "resources/icons"),
    # The music network's weights (recommender/audio/musicnn.py) and their licence.
    (str(ROOT / "resources" / "models" / "msd_musicnn.npz"), "resources/models"),
    (str(ROOT / "resources" / "models" / "msd_musicnn.onnx"), "resources/models"),
    (str(ROOT / "resources" / "models" / "mtt_musicnn.npz"), "resources/models"),
    (str(ROOT / "resources" / "models" / "mtt_musicnn.onnx"), "resources/models"),
    (str(ROOT / "resources" / "models" / "LICENSE.musicnn"), "resources/models"),
]

# Subcommands and the UI are imported by name (importlib), so PyInstaller cannot see them.
HIDDEN_IMPORTS = collect_submodules("player") + collect_submodules("recommender")

# Never used by Segue; some are optional imports of its dependencies.
EXCLUDES = [
    "tkinter",
    "matplotlib",
    "IPython",
    "pytest",
    "pytestqt",
    "hypothesis",
    "mypy",
    "ruff",
    "implicit",
    "pooch",  # librosa's example-data downloader: Segue never opens a connection
    "PySide6.QtQml",
    "PySide6.QtQuick",
    "PySide6.QtOpenGL",
    "PySide6.QtOpenGLWidgets",
    "PySide6.QtPdf",
    "PySide6.QtSql",
    "PySide6.QtTest",
    "PySide6.QtConcurrent",
    "PySide6.QtXml",
]

# Qt plugin folders Segue needs, and within them the plugins it keeps. A folder that is
# not listed is left out of the bundle (tls, networkinformation, generic, sqldrivers...).
QT_PLUGINS: dict[str, tuple[str, ...] | None] = {
    "platforms": ("qxcb", "qwayland", "qoffscreen", "qminimal", "qwindows", "qcocoa"),
    "platformthemes": None,  # GTK and desktop-portal themes: native dialogs and colours
    "platforminputcontexts": None,  # compose keys and input methods in the search box
    "imageformats": ("qsvg", "qjpeg", "qgif", "qico", "qwebp"),  # covers, icons
    "iconengines": None,  # SVG icons
    "xcbglintegrations": None,
    "wayland-shell-integration": ("xdg-shell",),  # what desktop compositors speak
    "wayland-decoration-client": None,
    "wayland-graphics-integration-client": None,
    "styles": None,  # macOS style
}


def _plugin_kept(dest: str) -> bool:
    parts = Path(dest).parts
    if "plugins" not in parts:
        return True
    i = parts.index("plugins")
    if i == 0 or parts[i - 1] != "Qt" or len(parts) < i + 3:
        return True
    folder, name = parts[i + 1], parts[-1]
    if folder not in QT_PLUGINS:
        return False
    wanted = QT_PLUGINS[folder]
    return wanted is None or any(w in name for w in wanted)


def _translation_kept(dest: str) -> bool:
    parts = Path(dest).parts
    if len(parts) >= 3 and parts[-2] == "translations" and parts[-3] == "Qt":
        return parts[-1].startswith("qtbase_")
    return True


def trim(entries: list) -> list:
    """Drop the Qt plugins and translations Segue does not use from a TOC list."""
    return [e for e in entries if _plugin_kept(e[0]) and _translation_kept(e[0])]


def without_libvlc(entries: list) -> list:
    """Leave out libVLC, which PyInstaller finds through python-vlc's ctypes calls.

    A libVLC without its plugin folder cannot start; the system's VLC (with its plugins
    and codecs) is used instead.
    """
    return [e for e in entries if not Path(e[0]).name.startswith(("libvlc.", "libvlccore."))]
