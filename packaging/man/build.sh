#!/bin/sh
# Writes the man pages into OUTDIR:
#   scopedfsd.8        from `scopedfsd --help_man`: the usage text and flags
#                      its --help shows (daemon/flags.cc)
#   scopedctl.8        from `scopedctl help --man`: its command table
#                      (tools/help.cc), as its --help texts are
#   scopedfs-policy.5  from scopedfs-policy.5.scd beside this script (scdoc)
# The first two come from the programs themselves, so they cannot describe
# flags or commands the programs do not have.
#
#   packaging/man/build.sh OUTDIR [BINDIR]
#
# BINDIR holds daemon/scopedfsd and tools/scopedctl (default: the
# repository's .bazel/bin), or scopedfsd and scopedctl themselves.
# SOURCE_DATE_EPOCH, if set (else the last commit's time, in a git
# checkout), dates all three pages. Needs scdoc (Debian package scdoc).
set -eu

usage() {
  echo "usage: $0 OUTDIR [BINDIR]" >&2
  exit 2
}
[ $# -ge 1 ] && [ $# -le 2 ] || usage
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=$1
BIN=${2:-$ROOT/.bazel/bin}

find_binary() {  # find_binary SUBDIR NAME
  for candidate in "$BIN/$1/$2" "$BIN/$2"; do
    [ -x "$candidate" ] && { echo "$candidate"; return; }
  done
  echo "$0: no $2 in $BIN (build it: bazel build //daemon:scopedfsd //tools:scopedctl)" >&2
  exit 1
}
SCOPEDFSD=$(find_binary daemon scopedfsd)
SCOPEDCTL=$(find_binary tools scopedctl)
command -v scdoc >/dev/null 2>&1 || {
  echo "$0: scdoc is missing (apt-get install scdoc)" >&2
  exit 1
}

mkdir -p "$OUT"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# run PAGE COMMAND...: COMMAND's output as OUTDIR/PAGE, whole or not at all.
# A binary copied out of bazel-bin loses the RUNPATH that finds its libfuse
# 3.18; the repository's own build of it is then used, as bench/run.sh does.
run() {
  page=$1
  shift
  if ! "$@" >"$TMP/$page" 2>"$TMP/err"; then
    if grep -q "error while loading shared libraries" "$TMP/err" &&
       [ -d "$ROOT/third_party/libfuse/prefix/lib" ]; then
      LD_LIBRARY_PATH="$ROOT/third_party/libfuse/prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
        "$@" >"$TMP/$page"
    else
      cat "$TMP/err" >&2
      echo "$0: $* failed" >&2
      exit 1
    fi
  fi
}
run scopedfsd.8 "$SCOPEDFSD" --help_man
run scopedctl.8 "$SCOPEDCTL" help --man
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
  SOURCE_DATE_EPOCH=$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || true)
fi
if [ -n "$SOURCE_DATE_EPOCH" ]; then
  export SOURCE_DATE_EPOCH
  # The generated pages leave the date of .TH empty; scdoc's carries it.
  date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)
  sed -i "s/^\(\.TH [A-Z]* [0-9]\) \"\"/\1 \"$date\"/" "$TMP/scopedfsd.8" "$TMP/scopedctl.8"
fi
scdoc <"$HERE/scopedfs-policy.5.scd" >"$TMP/scopedfs-policy.5"

for page in scopedfsd.8 scopedctl.8 scopedfs-policy.5; do
  grep -q '^\.TH ' "$TMP/$page" || { echo "$0: $page has no .TH" >&2; exit 1; }
  cp "$TMP/$page" "$OUT/$page"
done
