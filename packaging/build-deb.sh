#!/usr/bin/env bash
# packaging/build-deb.sh: builds the Debian package of scopedfs
# (debian/, `dpkg-buildpackage -us -uc -b`) and checks it with lintian.
#
# Usage: packaging/build-deb.sh [--no-build] [--out=DIR]
#   --no-build  use the binaries already built in .bazel/bin (no bazel call)
#   --out=DIR   where the results go [packaging/out]
# Runs ./setup.sh first (idempotent: toolchain, libfuse 3.18, debhelper,
# lintian, patchelf), then `bazel build //daemon:scopedfsd //tools:scopedctl`,
# the man pages if packaging/man/build.sh exists, and dpkg-buildpackage with
# SCOPEDFS_PREBUILT=1. Leaves DIR/scopedfs_VERSION_ARCH.deb (with its
# -dbgsym .deb, .buildinfo and .changes) and fails on any lintian error.
# Install it with: apt install ./packaging/out/scopedfs_*.deb
# (dpkg-buildpackage writes into the checkout's parent directory; the files
# are moved to DIR at once.)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/packaging/out"
BUILD=1
for arg in "$@"; do
  case "$arg" in
    --no-build) BUILD=0 ;;
    --out=*) OUT=${arg#*=} ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-deb.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done
cd "$ROOT"
./setup.sh
if [ "$BUILD" = 1 ]; then
  bazel build //daemon:scopedfsd //tools:scopedctl
fi
VERSION=$(dpkg-parsechangelog -SVersion)
ARCH=$(dpkg --print-architecture)
PARENT=$(dirname "$ROOT")
NAMES=("scopedfs_${VERSION}_${ARCH}.deb" "scopedfs-dbgsym_${VERSION}_${ARCH}.deb"
       "scopedfs_${VERSION}_${ARCH}.buildinfo" "scopedfs_${VERSION}_${ARCH}.changes")
for n in "${NAMES[@]}"; do rm -f "$PARENT/$n"; done
echo "build-deb.sh: dpkg-buildpackage -us -uc -b (SCOPEDFS_PREBUILT=1)"
SCOPEDFS_PREBUILT=1 dpkg-buildpackage -us -uc -b
# Readable by apt's unprivileged downloader (_apt), which opens local .debs.
mkdir -p "$OUT" && chmod 0755 "$OUT"
for n in "${NAMES[@]}"; do
  if [ -e "$PARENT/$n" ]; then mv -f "$PARENT/$n" "$OUT/$n"; fi
done
# The package build dirs: the checkout is as it was (debian/.gitignore
# covers them in between).
debian/rules clean >/dev/null
DEB="$OUT/scopedfs_${VERSION}_${ARCH}.deb"
[ -f "$DEB" ] || { echo "build-deb.sh: $DEB was not built" >&2; exit 1; }
echo "build-deb.sh: lintian $(basename "$DEB") (fails on errors; warnings and info are listed)"
lintian --display-info --fail-on error "$DEB"
echo "build-deb.sh: built $DEB"
echo "build-deb.sh: install it with: apt install $DEB"
