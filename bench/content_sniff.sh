#!/usr/bin/env bash
# bench/content_sniff.sh: what deciding by content costs an open+close.
#
# Under the embedded Android default policy, as the social app (uid
# 1010002: media without media_location, so images are redacted for it) and
# as the gallery (1010001: everything in full), fsbench's openclose (50,000
# open+close of one file, p50/p99) on:
#   txt   DCIM/txt/small.txt, a 4 KiB text file (a document: read in full;
#         the daemon reads its first bytes once per file version, then one
#         fstat per open tells the version);
#   jpeg  DCIM/jpg/small.txt, a JPEG with GPS *named* small.txt (the daemon
#         sees an image and serves the social app its redacted view, planned
#         once per version; the gallery gets the real file).
# Columns: the native directory, and scopedfsd of this checkout ("after");
# with --before=BIN also a scopedfsd built from an earlier revision
# ("before", e.g. one that classed files by name), mounted over the same
# data in the same run.
# Usage: bench/content_sniff.sh [--before=PATH/scopedfsd] [--rounds=3] [--iters=50000]
#   (as root; a "before" binary: git worktree add /tmp/sfs-before REV &&
#    (cd /tmp/sfs-before && ln -s $PWD/third_party/libfuse/prefix third_party/libfuse/ &&
#     bazel build //daemon:scopedfsd))
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BEFORE=""
ROUNDS=3
ITERS=50000
for arg in "$@"; do
  case "$arg" in
    --before=*) BEFORE=${arg#*=} ;;
    --rounds=*) ROUNDS=${arg#*=} ;;
    --iters=*) ITERS=${arg#*=} ;;
    *) echo "usage: bench/content_sniff.sh [--before=PATH/scopedfsd] [--rounds=N] [--iters=N]" >&2; exit 2 ;;
  esac
done
command -v exiftool >/dev/null && command -v convert >/dev/null \
  || { echo "content_sniff.sh: needs exiftool and ImageMagick (./setup.sh)" >&2; exit 1; }
(cd "$ROOT" && bazel build -c opt //daemon:scopedfsd //bench:fsbench >/dev/null 2>&1)
BIN=$(cd "$ROOT" && bazel info bazel-bin 2>/dev/null)

RUN=$(mktemp -d /tmp/sfs-sniffbench.XXXXXX)
chmod 755 "$RUN"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.5
  for m in "$RUN"/mnt-*; do mountpoint -q "$m" 2>/dev/null && umount -l "$m"; done
  rm -rf "$RUN"
}
trap cleanup EXIT INT TERM

DATA="$RUN/data"
mkdir -p "$DATA/DCIM/txt" "$DATA/DCIM/jpg"
head -c 4096 /dev/zero | tr '\0' 'a' >"$DATA/DCIM/txt/small.txt"
convert -size 320x240 gradient:blue-red "$RUN/p.jpg"
exiftool -q -overwrite_original -GPSLatitude=48.8584 -GPSLatitudeRef=N \
  -GPSLongitude=2.2945 -GPSLongitudeRef=E -XMP-photoshop:City=Paris "$RUN/p.jpg"
cp "$RUN/p.jpg" "$DATA/DCIM/jpg/small.txt"
chmod -R a+rX "$DATA"
cp "$BIN/bench/fsbench" "$RUN/fsbench"

COLS=(native after)
declare -A MNT=([native]="$DATA")
mount_one() {  # name binary
  mkdir -p "$RUN/mnt-$1"
  "$2" --foreground --state_dir="$RUN/state-$1" "$DATA" "$RUN/mnt-$1" 2>"$RUN/$1.log" & PIDS+=($!)
  for _ in $(seq 100); do [ "$(stat -f -c %T "$RUN/mnt-$1")" = fuse ] && break; sleep 0.05; done
  MNT[$1]="$RUN/mnt-$1"
}
mount_one after "$BIN/daemon/scopedfsd"
if [ -n "$BEFORE" ]; then mount_one before "$BEFORE"; COLS=(native before after); fi

as() { setpriv --reuid="$1" --regid="$1" --clear-groups "${@:2}"; }
openclose() {  # uid dir -> "p50 p99"
  as "$1" "$RUN/fsbench" --dir="$2" --workload=openclose --iters="$ITERS" |
    awk '$1 == "openclose.p50" {p50 = $2} $1 == "openclose.p99" {p99 = $2} END {print p50, p99}'
}
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }

declare -A P50 P99
for round in $(seq "$ROUNDS"); do
  for who in social gallery; do
    uid=$([ $who = social ] && echo 1010002 || echo 1010001)
    for file in txt jpg; do
      # Rotate the column order each round: no column always goes first.
      n=${#COLS[@]}
      for i in $(seq 0 $((n - 1))); do
        c=${COLS[$(( (i + round) % n ))]}
        read -r p50 p99 < <(openclose "$uid" "${MNT[$c]}/DCIM/$file")
        P50[$who.$file.$c]+="$p50 "; P99[$who.$file.$c]+="$p99 "
      done
    done
  done
done

OUT="$ROOT/bench/out"; mkdir -p "$OUT"
{
  echo "scopedfs content-sniffing benchmark  $(date -u +%FT%TZ)  git $(cd "$ROOT" && git rev-parse --short HEAD)"
  echo "open+close of one file, ${ITERS} times, median over $ROUNDS rounds (us); Android default policy, passthrough"
  printf '%-30s' "caller / file"
  for c in "${COLS[@]}"; do printf ' %13s' "$c p50/p99"; done
  [ -n "$BEFORE" ] && printf ' %13s' "after/before"
  echo
  for who in social gallery; do
    for file in txt jpg; do
      label="$who / $([ $file = txt ] && echo 'text small.txt' || echo 'JPEG named small.txt')"
      printf '%-30s' "$label"
      for c in "${COLS[@]}"; do
        printf ' %13s' "$(median "${P50[$who.$file.$c]}")/$(median "${P99[$who.$file.$c]}")"
      done
      if [ -n "$BEFORE" ]; then
        printf ' %13s' "$(awk -v a="$(median "${P50[$who.$file.after]}")" -v b="$(median "${P50[$who.$file.before]}")" 'BEGIN{printf "%.2f", a/b}')"
      fi
      echo
    done
  done
  stats=$("$BIN/tools/scopedctl" --state_dir="$RUN/state-after" stats 2>/dev/null |
    awk '$1=="content_sniffs"||$1=="opens_redacted"||$1=="opens_passthrough"{printf "%s=%s ", $1, $2}')
  echo "after: ${stats}"
  echo "(the social app's JPEG: 'before' classed it by its name and served the real file, GPS included)"
} | tee "$OUT/content-sniff-latest.txt"
