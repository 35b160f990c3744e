"""The app's look: Fusion with the system palette (light or dark), plus a few touches in
a stylesheet that only refers to palette roles, so both themes stay consistent."""

from __future__ import annotations

from PySide6.QtGui import QColor, QGuiApplication, QPalette

from player.ui.icons import muted_text

QSS = """
QWidget#Sidebar, QListWidget#SidebarList { background: %(side)s; border: none; }
QListWidget#SidebarList { padding: 8px 6px; outline: none; }
QListWidget#SidebarList::item { padding: 6px 10px; border-radius: 6px; }
QListWidget#SidebarList::item:selected { background: %(sel)s; color: palette(highlighted-text); }
QListWidget#SidebarList::item:hover:!selected { background: %(hover)s; }
QFrame#NowPlayingBar { background: %(side)s; border-top: 1px solid %(line)s; }
QWidget#UpNext { background: %(side)s; }
QListWidget#UpNextList { background: transparent; border: none; outline: none; }
QListWidget#UpNextList::item { border-radius: 6px; margin: 1px 0; }
QListWidget#UpNextList::item:selected { background: %(sel)s; }
QListWidget#UpNextList QScrollBar:vertical, QListWidget#SidebarList QScrollBar:vertical {
    background: transparent; width: 10px; margin: 2px 0; border: none; }
QListWidget#UpNextList QScrollBar::handle:vertical,
QListWidget#SidebarList QScrollBar::handle:vertical {
    background: %(line)s; border-radius: 4px; min-height: 28px; margin: 0 2px; }
QListWidget#UpNextList QScrollBar::handle:vertical:hover,
QListWidget#SidebarList QScrollBar::handle:vertical:hover { background: %(dim)s; }
QListWidget#UpNextList QScrollBar::add-line, QListWidget#UpNextList QScrollBar::sub-line,
QListWidget#SidebarList QScrollBar::add-line, QListWidget#SidebarList QScrollBar::sub-line {
    height: 0; width: 0; border: none; background: none; }
QListWidget#UpNextList QScrollBar::add-page, QListWidget#UpNextList QScrollBar::sub-page,
QListWidget#SidebarList QScrollBar::add-page, QListWidget#SidebarList QScrollBar::sub-page {
    background: none; }
QLabel#PanelTitle, QLabel#ViewTitle { font-size: %(big)dpt; font-weight: 600; }
QLabel#Section { font-weight: 600; margin-top: 10px; }
QLabel#NowTitle { font-size: %(mid)dpt; font-weight: 600; }
QLabel#NowArtist, QLabel#Small, QLabel#Time { color: %(dim)s; }
QLabel#Empty { color: %(dim)s; padding: 24px; }
QLabel#PlaybackNote { color: %(warn)s; }
QLabel#Cover { border-radius: 6px; }
QLineEdit#Search { padding: 6px 10px; border-radius: 8px; border: 1px solid %(line)s;
                   background: palette(base); }
QTableView#Songs { border: none; gridline-color: transparent;
                   selection-background-color: %(sel)s;
                   selection-color: palette(highlighted-text); }
QTableView#Songs::item { padding: 0 6px; }
QHeaderView::section { border: none; border-bottom: 1px solid %(line)s; padding: 6px;
                       background: palette(base); color: %(dim)s; font-weight: 600; }
QListView#Albums, QListView#Artists { border: none; background: palette(base); }
QPushButton#Chip { border-radius: 11px; padding: 3px 10px; background: %(sel)s;
                   color: palette(highlighted-text); border: none; }
QFrame#NowPlayingBar QToolButton:checked { background: %(hover)s; border: none;
                                          border-radius: 6px; }
QToolButton#PlayButton { border-radius: 22px; padding: 6px; background: %(accent)s; }
QSplitter::handle { background: %(line)s; }
QStatusBar { border-top: 1px solid %(line)s; }
QStatusBar QLabel { color: %(dim)s; }
"""


def stylesheet() -> str:
    pal = QGuiApplication.palette()
    window = pal.color(QPalette.ColorRole.Window)
    base = pal.color(QPalette.ColorRole.Base)
    dark = window.lightness() < 128
    side = window.darker(112) if not dark else window.lighter(118)
    if not dark:
        side = base.darker(104)
    hover = side.darker(108) if not dark else side.lighter(125)
    line = window.darker(118) if not dark else window.lighter(150)
    accent = pal.color(QPalette.ColorRole.Highlight)
    sel = accent
    dim = muted_text(pal)
    font = QGuiApplication.font()
    size = font.pointSizeF() if font.pointSizeF() > 0 else 10.0
    return QSS % {
        "side": side.name(),
        "hover": hover.name(),
        "line": line.name(),
        "sel": sel.name(),
        "accent": accent.lighter(110).name() if dark else accent.name(),
        "dim": dim.name(),
        "warn": "#d9822b",
        "big": round(size * 1.45),
        "mid": round(size * 1.15),
    }


def dark_palette() -> QPalette:
    """A dark palette, for platforms that report a dark scheme without providing one."""
    pal = QPalette()
    colours = {
        QPalette.ColorRole.Window: "#242529",
        QPalette.ColorRole.WindowText: "#e6e6e9",
        QPalette.ColorRole.Base: "#1c1d20",
        QPalette.ColorRole.AlternateBase: "#2a2b30",
        QPalette.ColorRole.Text: "#e6e6e9",
        QPalette.ColorRole.Button: "#2e2f34",
        QPalette.ColorRole.ButtonText: "#e6e6e9",
        QPalette.ColorRole.Highlight: "#3d8fd6",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.ToolTipBase: "#2e2f34",
        QPalette.ColorRole.ToolTipText: "#e6e6e9",
        QPalette.ColorRole.PlaceholderText: "#8a8b92",
        QPalette.ColorRole.Link: "#6ab0f3",
        QPalette.ColorRole.Mid: "#3a3b41",
        QPalette.ColorRole.Dark: "#141518",
        QPalette.ColorRole.Light: "#3c3d43",
        QPalette.ColorRole.Midlight: "#34353b",
        QPalette.ColorRole.Shadow: "#000000",
    }
    for role, colour in colours.items():
        pal.setColor(role, QColor(colour))
    for role in (
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
    ):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6d6e75"))
    return pal
