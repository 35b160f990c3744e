"""Icons drawn from the SVGs in ``resources/``, tinted with the palette's text colour so
they follow light and dark themes, and rendered at the screen's pixel ratio (high DPI)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PySide6.QtCore import QByteArray, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QImage, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer

from recommender import resources

RESOURCES = Path(__file__).resolve().parent.parent.parent / "resources"
if not (RESOURCES / "icons").is_dir():  # a wheel install: pyproject.toml's data-files
    RESOURCES = (resources.installed("icons") or RESOURCES / "icons").parent
ICONS = RESOURCES / "icons"
APP = RESOURCES / "app"


@lru_cache(maxsize=256)
def _svg(name: str) -> str:
    return (ICONS / f"{name}.svg").read_text(encoding="utf-8")


def pixmap(name: str, size: int, color: QColor | str | None = None, ratio: float = 0.0) -> QPixmap:
    if color is None:
        color = QGuiApplication.palette().color(QPalette.ColorRole.WindowText)
    color = QColor(color)
    if not ratio:
        ratio = (
            QGuiApplication.primaryScreen().devicePixelRatio()
            if QGuiApplication.primaryScreen()
            else 1.0
        )
    text = _svg(name).replace("currentColor", color.name())
    renderer = QSvgRenderer(QByteArray(text.encode()))
    px = round(size * ratio)
    img = QImage(px, px, QImage.Format.Format_ARGB32_Premultiplied)
    img.fill(Qt.GlobalColor.transparent)
    painter = QPainter(img)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, px, px))
    painter.end()
    out = QPixmap.fromImage(img)
    out.setDevicePixelRatio(ratio)
    return out


def icon(name: str, color: QColor | str | None = None) -> QIcon:
    ic = QIcon()
    for s in (16, 20, 24, 32):
        ic.addPixmap(pixmap(name, s, color))
    disabled = QGuiApplication.palette().color(
        QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText
    )
    for s in (16, 24):
        ic.addPixmap(pixmap(name, s, disabled), QIcon.Mode.Disabled)
    return ic


def app_icon() -> QIcon:
    ic = QIcon()
    for s in (16, 22, 24, 32, 48, 64, 128, 256, 512):
        path = APP / f"segue-{s}.png"
        if path.exists():
            ic.addFile(str(path), QSize(s, s))
    return ic


def accent() -> QColor:
    return QGuiApplication.palette().color(QPalette.ColorRole.Highlight)


def muted_text(palette: QPalette | None = None, amount: float = 0.58) -> QColor:
    """Secondary text: the text colour blended towards the background (readable in both
    light and dark palettes, unlike the disabled colour)."""
    pal = palette or QGuiApplication.palette()
    fg, bg = pal.color(QPalette.ColorRole.Text), pal.color(QPalette.ColorRole.Base)
    return QColor(
        round(bg.red() + (fg.red() - bg.red()) * amount),
        round(bg.green() + (fg.green() - bg.green()) * amount),
        round(bg.blue() + (fg.blue() - bg.blue()) * amount),
    )
