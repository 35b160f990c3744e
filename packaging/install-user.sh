#!/bin/sh
# Put a `segue` launcher in ~/.local/bin (or $BIN_DIR) that runs this checkout's .venv,
# so `segue` works in any terminal without activating the virtualenv.
# Usage: sh packaging/install-user.sh [VENV]   (make install-user runs it)
set -eu
venv=$(cd "${1:-.venv}" && pwd)
bin_dir=${BIN_DIR:-$HOME/.local/bin}
target="$venv/bin/segue"
if [ ! -x "$target" ]; then
    echo "install-user: $target is missing: run 'make install' first" >&2
    exit 1
fi
mkdir -p "$bin_dir"
launcher="$bin_dir/segue"
cat > "$launcher.tmp" <<LAUNCHER
#!/bin/sh
# Segue's launcher, written by 'make install-user' from $(pwd).
exec "$target" "\$@"
LAUNCHER
chmod 755 "$launcher.tmp"
mv "$launcher.tmp" "$launcher"
echo "installed $launcher -> $target"
case ":$PATH:" in
    *":$bin_dir:"*) ;;
    *) echo "note: $bin_dir is not on your PATH; add it (e.g. in ~/.profile):" \
            "export PATH=\"$bin_dir:\$PATH\"" ;;
esac
