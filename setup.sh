#!/usr/bin/env bash
# One-time (idempotent) machine setup for scopedfs on Debian 12 (bookworm).
#   - Debian packages: toolchain, Bazel (bazel-bootstrap), gRPC/protobuf, Abseil,
#     GoogleTest, SQLite, benchmark tools; debhelper, lintian, patchelf and
#     man-db for the Debian package (packaging/build-deb.sh, deb_test.sh).
#   - libfuse 3.18.3 from Debian unstable's *source* package (bookworm ships 3.14,
#     which has no passthrough API; 3.18 adds the fuse-over-io-uring transport),
#     built with meson into third_party/libfuse/prefix, examples included
#     (bench/ compares against its passthrough_hp).
# Fast when already done: each step checks a stamp before doing work.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo

PKGS=(build-essential pkg-config git ca-certificates dpkg-dev
      bazel-bootstrap meson ninja-build python3
      libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
      libabsl-dev libsqlite3-dev libgtest-dev libgmock-dev libbenchmark-dev
      fio psmisc attr openssl libsystemd-dev sudo bubblewrap xfsprogs
      imagemagick libimage-exiftool-perl ffmpeg gnuplot-nox
      clang-14 libclang-rt-14-dev libfuzzer-14-dev llvm-14
      liburing-dev libnuma-dev
      scdoc groff-base  # packaging/man/build.sh and its test
      debhelper lintian patchelf man-db)  # packaging/build-deb.sh, deb_test.sh

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- libfuse 3.18.3 from unstable's source package ---------------------------
FUSE_VER=3.18.3
FUSE_DEB_VER=3.18.3-1
TP="$ROOT/third_party/libfuse"
PREFIX="$TP/prefix"
# Bump BUILD_ID when the build options below change: it forces a rebuild.
BUILD_ID=2
STAMP="$PREFIX/.built-$FUSE_VER-$BUILD_ID"
if [ ! -f "$STAMP" ]; then
  # Source packages only: unstable's binaries need a newer glibc.
  SRCLIST=/etc/apt/sources.list.d/scopedfs-unstable-src.sources
  if [ ! -f "$SRCLIST" ]; then
    echo "setup: adding a deb-src entry for unstable (source packages only)"
    $SUDO tee "$SRCLIST" >/dev/null <<'EOS'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: unstable
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOS
    $SUDO apt-get update -qq
  fi
  rm -rf "$TP/src" && mkdir -p "$TP/src"
  (cd "$TP/src" && apt-get source -qq --download-only "fuse3=$FUSE_DEB_VER" >/dev/null 2>&1)
  (cd "$TP/src" && dpkg-source -x --skip-patches ./fuse3_*.dsc fuse3 >/dev/null 2>&1)
  got=$(grep -m1 -o "version: *'[0-9.]*'" "$TP/src/fuse3/meson.build" | grep -o "[0-9.]*[0-9]")
  echo "setup: building libfuse ${got:-?} into $PREFIX"
  # IGNORE_MTAB: libfuse's meson ignores its disable-mtab option, and without
  # it every mount and unmount by root forks /bin/mount to update an
  # /etc/mtab that is a symlink to /proc/mounts anyway. io-uring: the
  # fuse-over-io-uring transport (liburing, libnuma).
  rm -rf "$TP/build" "$PREFIX.new"
  meson setup "$TP/build" "$TP/src/fuse3" --prefix="$PREFIX" --libdir=lib \
      --buildtype=release -Dexamples=true -Dutils=false -Dtests=false \
      -Dc_args=-DIGNORE_MTAB -Dudevrulesdir="$PREFIX/udev" -Duseroot=false \
      -Denable-io-uring=true >/dev/null
  ninja -C "$TP/build" >/dev/null
  DESTDIR="$TP/stage" ninja -C "$TP/build" install >/dev/null
  mkdir -p "$TP/stage$PREFIX/bin"
  cp "$TP/build/example/passthrough_hp" "$TP/stage$PREFIX/bin/"
  touch "$TP/stage$PREFIX/.built-$FUSE_VER-$BUILD_ID"
  # Swap the finished install in whole: a half-built prefix is never used.
  rm -rf "$PREFIX" && mv "$TP/stage$PREFIX" "$PREFIX" && rm -rf "$TP/stage"
fi
echo "setup: ok (libfuse $FUSE_VER in $PREFIX)"
