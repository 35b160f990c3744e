#!/bin/sh
# Installs the system libraries Segue needs (libVLC, and the few libraries Qt's
# offscreen/xcb platforms load) through apt-get, only when something is missing.
# On other systems it prints what to install and carries on: Segue still runs
# with its null playback backend when libVLC is absent.
# With --package it adds what `make package` uses: binutils (PyInstaller reads
# libraries with objdump), appstream and desktop-file-utils (to check the desktop files).
set -eu

PKGS="libvlc5 vlc-plugin-base libegl1 libgl1 libxkbcommon0 libfontconfig1 libglib2.0-0 libdbus-1-3"
# Qt's xcb platform (a real X11 desktop): Qt 6.5+ needs xcb-cursor, which desktops often lack.
PKGS="$PKGS libx11-xcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0"
PKGS="$PKGS libxcb-render-util0 libxcb-shape0 libxkbcommon-x11-0"
if [ "${1:-}" = "--package" ]; then
    PKGS="$PKGS binutils appstream desktop-file-utils"
fi

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-system-deps: not a Debian/Ubuntu system; install VLC yourself (see README)." >&2
    exit 0
fi

missing=""
for p in $PKGS; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
        *"install ok installed"*) ;;
        *) missing="$missing $p" ;;
    esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
echo "install-system-deps: installing$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
