#!/usr/bin/env bash
# Sets the machine up, builds scopedfsd and mounts a demo share until Ctrl-C.
#   ./demo.sh [DEMO_DIR]     (default /tmp/scopedfs-demo)
# The share lives in DEMO_DIR/share (the backing dir), the mount in
# DEMO_DIR/mnt, the daemon's state in DEMO_DIR/state.
set -euo pipefail
cd "$(dirname "$0")"
./setup.sh
bazel build //daemon:scopedfsd //tools:scopedctl
BIN="$(pwd)/.bazel/bin"
DEMO="${1:-/tmp/scopedfs-demo}"
SHARE="$DEMO/share"
MNT="$DEMO/mnt"
mkdir -p "$SHARE" "$MNT" "$DEMO/state"
chmod 0755 "$DEMO"
chmod 1777 "$SHARE"
if [ ! -e "$SHARE/README.txt" ]; then
  mkdir -p "$SHARE"/{DCIM/Camera,Pictures,Music,Documents,Download,Android/data/0/com.example.app,Android/obb/0}
  echo "This is the scopedfs demo share. Every access goes through scopedfsd." > "$SHARE/README.txt"
  printf 'Meeting notes\n- ship scopedfs\n' > "$SHARE/Documents/notes.txt"
  head -c 1048576 /dev/urandom > "$SHARE/DCIM/Camera/IMG_0001.raw"
  echo '{"app":"com.example.app"}' > "$SHARE/Android/data/0/com.example.app/config.json"
  chmod -R a+rX "$SHARE"
  chmod 1777 "$SHARE" "$SHARE/Download"
fi
echo "scopedfs demo: $SHARE is mounted at $MNT"
echo "  try: ls -l $MNT; cat $MNT/README.txt          (root sees everything)"
echo "       setpriv --reuid=1010002 --regid=1010002 --clear-groups ls $MNT $MNT/DCIM/Camera"
echo "                                                  (app com.example.social: media only)"
echo "  admin: $BIN/tools/scopedctl --state_dir=$DEMO/state status | policy get"
echo "  policy: the embedded Android-style default (root sees everything; app uids 10001-10003, see README)"
echo "  Ctrl-C unmounts."
exec "$BIN/daemon/scopedfsd" --foreground --state_dir="$DEMO/state" "$SHARE" "$MNT"
