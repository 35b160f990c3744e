"""Writes python3-deps.json, the Flatpak module holding Segue's Python dependencies as
pinned wheels (url + sha256), from a pip resolution for the runtime's Python:

    pip install --dry-run --ignore-installed --report report.json --only-binary=:all: \\
        --python-version 3.12 --platform manylinux_2_28_x86_64 \\
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \\
        --platform linux_x86_64 --target /tmp/unused .
    python packaging/flatpak/make_python_deps.py report.json

(the same job as flatpak-pip-generator, with pip's own resolver and hashes).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from urllib.parse import urlparse

SKIP = {"segue", "pip"}
OUT = Path(__file__).resolve().parent / "python3-deps.json"


def pypi_url(url: str, name: str) -> str:
    """A wheel's public PyPI address (a local mirror's file:// address is replaced)."""
    if url.startswith("https://"):
        return url
    filename = Path(urlparse(url).path).name
    return f"https://files.pythonhosted.org/packages/py3/{name[0]}/{name}/{filename}"


def main(report_path: str) -> int:
    report = json.loads(Path(report_path).read_text())
    sources = []
    names = []
    for item in report["install"]:
        name = item["metadata"]["name"]
        if name.lower() in SKIP:
            continue
        info = item["download_info"]
        digest = info["archive_info"]["hash"].split("=", 1)[1]
        sources.append({"type": "file", "url": pypi_url(info["url"], name), "sha256": digest})
        names.append(name)
    module = {
        "name": "python3-deps",
        "buildsystem": "simple",
        "build-commands": [
            "pip3 install --verbose --exists-action=i --no-index --find-links=file://${PWD}"
            " --prefix=${FLATPAK_DEST} --no-build-isolation " + " ".join(sorted(names))
        ],
        "sources": sources,
    }
    OUT.write_text(json.dumps(module, indent=2) + "\n")
    print(f"{OUT.name}: {len(sources)} wheels")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
