#!/usr/bin/env bash
# packaging/install.sh: installs scopedfs — binaries, the libfuse 3.18 they
# link, systemd units, a default configuration and bash completion.
#
# Usage: packaging/install.sh [--prefix=/usr/local] [--destdir=DIR]
#                             [--confdir=/etc/scopedfs] [--unitdir=/etc/systemd/system]
#                             [--no-build]
#   --prefix   binaries in PREFIX/sbin (scopedfsd) and PREFIX/bin (scopedctl);
#              libfuse in PREFIX/lib/scopedfs (found through scopedfsd's RUNPATH)
#   --destdir  stage everything under DIR (for packaging); nothing is started
#   --no-build use the binaries already built in .bazel/bin
# An existing configuration file is never overwritten (the new default goes
# next to it as scopedfs.textproto.default). Afterwards:
#   systemctl daemon-reload && systemctl enable --now scopedfsd
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=/usr/local
DESTDIR=""
CONFDIR=/etc/scopedfs
UNITDIR=/etc/systemd/system
BUILD=1
for arg in "$@"; do
  case "$arg" in
    --prefix=*) PREFIX=${arg#*=} ;;
    --destdir=*) DESTDIR=${arg#*=} ;;
    --confdir=*) CONFDIR=${arg#*=} ;;
    --unitdir=*) UNITDIR=${arg#*=} ;;
    --no-build) BUILD=0 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done
if [ "$BUILD" = 1 ]; then
  (cd "$ROOT" && bazel build //daemon:scopedfsd //tools:scopedctl)
fi
# The environment may name other builds (the packaging test does).
SCOPEDFSD_BIN=${SCOPEDFSD_BIN:-$ROOT/.bazel/bin/daemon/scopedfsd}
SCOPEDCTL_BIN=${SCOPEDCTL_BIN:-$ROOT/.bazel/bin/tools/scopedctl}
for f in "$SCOPEDFSD_BIN" "$SCOPEDCTL_BIN"; do
  [ -x "$f" ] || { echo "install.sh: $f missing (run without --no-build)" >&2; exit 1; }
done
LIBFUSE=$(readlink -f "${LIBFUSE_SO:-$ROOT/third_party/libfuse/prefix/lib/libfuse3.so.4}")
[ -f "$LIBFUSE" ] || { echo "install.sh: libfuse missing (run ./setup.sh)" >&2; exit 1; }

sbindir="$PREFIX/sbin" bindir="$PREFIX/bin" libdir="$PREFIX/lib/scopedfs"
docdir="$PREFIX/share/doc/scopedfs"
complete_dir="$PREFIX/share/bash-completion/completions"
install -d "$DESTDIR$sbindir" "$DESTDIR$bindir" "$DESTDIR$libdir" "$DESTDIR$docdir" \
           "$DESTDIR$CONFDIR" "$DESTDIR$UNITDIR" "$DESTDIR$complete_dir"
install -m 0755 "$SCOPEDFSD_BIN" "$DESTDIR$sbindir/scopedfsd"
install -m 0755 "$SCOPEDCTL_BIN" "$DESTDIR$bindir/scopedctl"
install -m 0644 "$LIBFUSE" "$DESTDIR$libdir/$(basename "$LIBFUSE")"
ln -sf "$(basename "$LIBFUSE")" "$DESTDIR$libdir/libfuse3.so.4"
install -m 0644 "$ROOT/README.md" "$DESTDIR$docdir/README.md"
for unit in scopedfsd.service scopedfsd@.service; do
  sed -e "s|@SBINDIR@|$sbindir|g" -e "s|@CONFDIR@|$CONFDIR|g" -e "s|@DOCDIR@|$docdir|g" \
      "$ROOT/packaging/systemd/$unit.in" >"$DESTDIR$UNITDIR/$unit"
  chmod 0644 "$DESTDIR$UNITDIR/$unit"
done
config="$DESTDIR$CONFDIR/scopedfs.textproto"
if [ -e "$config" ]; then
  install -m 0644 "$ROOT/packaging/scopedfs.textproto" "$config.default"
  echo "install.sh: kept $config; the new default is $config.default"
else
  install -m 0644 "$ROOT/packaging/scopedfs.textproto" "$config"
fi
if "$DESTDIR$bindir/scopedctl" completion bash >/dev/null 2>&1; then
  "$DESTDIR$bindir/scopedctl" completion bash >"$DESTDIR$complete_dir/scopedctl"
fi
echo "install.sh: installed into ${DESTDIR:-/}$PREFIX (units in $UNITDIR, config in $CONFDIR)"
[ -z "$DESTDIR" ] && echo "install.sh: next: edit $CONFDIR/scopedfs.textproto, then" \
  "systemctl daemon-reload && systemctl enable --now scopedfsd"
exit 0
