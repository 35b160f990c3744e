"""The Segue desktop app (Qt Widgets). The only package that imports Qt widgets."""
