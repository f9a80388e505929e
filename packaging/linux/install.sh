#!/bin/sh
# Install QwQ Desktop for this user (no root, no Python needed):
#   the app in ~/.local/opt/qwq-desktop, the `qwq-desktop` command in ~/.local/bin,
#   a menu entry in ~/.local/share/applications and the icon in the hicolor theme.
# Usage: ./install.sh [--uninstall]      PREFIX=/some/prefix ./install.sh  (default ~/.local)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
prefix=${PREFIX:-$HOME/.local}
dest="$prefix/opt/qwq-desktop"
entry="$prefix/share/applications/qwq-desktop.desktop"
icon="$prefix/share/icons/hicolor/scalable/apps/qwq-desktop.svg"

refresh_menus() {
    command -v update-desktop-database >/dev/null 2>&1 &&
        update-desktop-database "$prefix/share/applications" >/dev/null 2>&1 || true
}

if [ "${1:-}" = "--uninstall" ]; then
    rm -rf "$dest" "$entry" "$icon"
    [ -L "$prefix/bin/qwq-desktop" ] && rm -f "$prefix/bin/qwq-desktop"
    refresh_menus
    echo "QwQ Desktop removed (your conversations and models stay where they were)."
    exit 0
fi

mkdir -p "$prefix/opt" "$prefix/bin" "$(dirname "$entry")" "$(dirname "$icon")"
# Copy beside the old install, then swap: an interrupted install never leaves a broken one.
rm -rf "$dest.new"
cp -R "$here/QwQDesktop" "$dest.new"
rm -rf "$dest"
mv "$dest.new" "$dest"
ln -sf "$dest/qwq-desktop" "$prefix/bin/qwq-desktop"
sed "s|^Exec=qwq-desktop|Exec=\"$dest/qwq-desktop\"|" "$here/qwq-desktop.desktop" > "$entry.new"
mv "$entry.new" "$entry"
cp "$here/qwq-desktop.svg" "$icon"
refresh_menus
echo "QwQ Desktop installed in $dest"
echo "Start it from your applications menu, or run: $prefix/bin/qwq-desktop"
case ":$PATH:" in *":$prefix/bin:"*) ;; *) echo "(add $prefix/bin to PATH to type qwq-desktop)";; esac
