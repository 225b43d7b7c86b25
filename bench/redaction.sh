#!/usr/bin/env bash
# bench/redaction.sh: the cost of the redacted view, side by side.
#
#  - sequential read (1 MiB blocks, warm) of a 1 GiB MP4 by a caller the
#    policy gives the redacted view (served by the daemon, ranges zeroed),
#    next to the same read through libfuse's passthrough_hp --nopassthrough
#    (also served by a daemon) and the native file;
#  - the cost of the first redacted open (ranges computed) and of a later
#    one (ranges cached) of a 5 MB JPEG and of the 1 GiB MP4.
# With --xfs the data sits on a loop-mounted xfs image made for the run
# (reflink=1), and the redacted view is measured both ways:
#  - redacted-reflink: scopedfsd --reflink_views=true, the view served by
#    kernel passthrough over a reflinked copy whose ranges are zeroed;
#  - redacted-daemon: scopedfsd --reflink_views=false, the view served by
#    the daemon (without --xfs, the only way);
# next to native (the xfs) and passthrough_hp --nopassthrough, with the
# reflink goals as PASS/FAIL lines. A scopedfsd that has no --reflink_views
# runs the redacted-daemon column only, without the flag (said in the output).
# Usage: bench/redaction.sh [--quick] [--xfs] [--dir=DIR] [--scopedfsd=PATH]
#   (as root; ~1.2 GiB free, --xfs about as much again; --quick: 64 MiB MP4;
#    --scopedfsd: another scopedfsd binary than the one built here)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DATA=${SCOPEDFS_BENCH_DIR:-/var/tmp/scopedfs-bench}/redact
MB=1024
XFS=0
SFSD_OVERRIDE=""
for arg in "$@"; do
  case "$arg" in
    --quick) MB=64 ;;
    --xfs) XFS=1 ;;
    --dir=*) DATA=${arg#*=}/redact ;;
    --scopedfsd=*) SFSD_OVERRIDE=${arg#*=} ;;
    *) echo "usage: bench/redaction.sh [--quick] [--xfs] [--dir=DIR] [--scopedfsd=PATH]" >&2; exit 2 ;;
  esac
done
die() { echo "redaction.sh: $*" >&2; exit 1; }
APP=1001  # The redacted caller.
[ "$(id -u)" -eq 0 ] || die "must run as root (mounts, drop_caches)"
command -v ffmpeg >/dev/null && command -v exiftool >/dev/null && command -v convert >/dev/null \
  || die "needs ffmpeg, exiftool and ImageMagick (./setup.sh)"
if [ "$XFS" = 1 ]; then
  command -v mkfs.xfs >/dev/null && command -v losetup >/dev/null \
    || die "--xfs needs mkfs.xfs (xfsprogs) and losetup"
fi
OUT="$ROOT/bench/out"; mkdir -p "$OUT/logs"
if ! (cd "$ROOT" && bazel build -c opt //daemon:scopedfsd //bench:fsbench //tools:scopedctl) \
    >"$OUT/logs/build-redaction.log" 2>&1; then
  tail -30 "$OUT/logs/build-redaction.log" >&2
  die "the build failed (bench/out/logs/build-redaction.log)"
fi
BIN=$(cd "$ROOT" && bazel info -c opt bazel-bin 2>/dev/null)
SFSD=${SFSD_OVERRIDE:-$BIN/daemon/scopedfsd}
[ -x "$SFSD" ] || die "$SFSD is not executable"
PTHP="$ROOT/third_party/libfuse/prefix/bin/passthrough_hp"

mkdir -p "$DATA"
DATA=$(cd "$DATA" && pwd -P)
RUN=$(mktemp -d /tmp/sfs-redbench.XXXXXX)
chmod 755 "$RUN"
# --xfs: the image lives in the data dir (a sparse file; /tmp may be small),
# one per run, deleted on exit.
IMG="$DATA/xfs-${RUN##*.}.img"
XFS_MNT="$RUN/xfs"
PIDS=()
CLEANED=0
cleanup() {
  [ "$CLEANED" = 1 ] && return
  CLEANED=1
  trap '' INT TERM
  local p m i dev alive
  # The daemons first (both unmount on SIGTERM): while one runs it holds
  # files on the xfs open, and the xfs would not unmount.
  for p in ${PIDS[@]+"${PIDS[@]}"}; do kill -TERM "$p" 2>/dev/null || true; done
  for i in $(seq 50); do
    alive=0
    for p in ${PIDS[@]+"${PIDS[@]}"}; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for m in "$RUN"/mnt-*; do
    mountpoint -q "$m" 2>/dev/null || continue
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
  for p in ${PIDS[@]+"${PIDS[@]}"}; do kill -KILL "$p" 2>/dev/null || true; done
  for p in ${PIDS[@]+"${PIDS[@]}"}; do wait "$p" 2>/dev/null || true; done
  if mountpoint -q "$XFS_MNT" 2>/dev/null; then
    for i in $(seq 20); do
      umount "$XFS_MNT" 2>/dev/null && break
      sleep 0.25
    done
    # Last resort: detached now, gone when its last user is; the loop
    # device, detached below with autoclear, follows it.
    if mountpoint -q "$XFS_MNT" 2>/dev/null; then
      echo "redaction.sh: WARNING: $XFS_MNT busy; lazy unmount" >&2
      umount -l "$XFS_MNT" 2>/dev/null || true
    fi
  fi
  # Every loop device on our image, also one attached just before an
  # interruption (before LOOP was set).
  if [ -e "$IMG" ]; then
    for dev in $(losetup -j "$IMG" 2>/dev/null | cut -d: -f1); do
      losetup -d "$dev" 2>/dev/null || echo "redaction.sh: WARNING: losetup -d $dev failed" >&2
    done
    rm -f "$IMG"
  fi
  if awk -v p="$RUN/" 'index($5, p) == 1 { f = 1 } END { exit !f }' /proc/self/mountinfo; then
    echo "redaction.sh: WARNING: something is still mounted under $RUN; not deleting it" >&2
  else
    rm -rf "$RUN"
  fi
}
trap cleanup EXIT
trap 'echo "redaction.sh: interrupted" >&2; exit 130' INT
trap 'echo "redaction.sh: terminated" >&2; exit 143' TERM

# ---- data (once): media/big-<MB>M.bin is an MP4: ftyp, a real moov with a
# location (from ffmpeg), and an mdat of MB MiB of random bytes.
mkdir -p "$DATA/media"
BIG="$DATA/media/big-${MB}M.bin"
if [ ! -f "$BIG" ]; then
  ffmpeg -nostdin -y -loglevel error -f lavfi -i testsrc=duration=1:size=64x48:rate=10 \
    -metadata location=+48.8584+002.2945/ -movflags +faststart "$RUN/clip.mp4"
  python3 - "$RUN/clip.mp4" "$BIG.tmp" "$MB" <<'PY'
import os, struct, sys
clip, out, mb = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(clip, 'rb').read()
boxes, i = {}, 0
while i < len(data):
    size, kind = struct.unpack('>I4s', data[i:i + 8]); boxes[kind] = data[i:i + size]; i += size
with open(out, 'wb') as f:
    f.write(boxes[b'ftyp']); f.write(boxes[b'moov'])
    f.write(struct.pack('>I4s', mb * 1024 * 1024 + 8, b'mdat'))
    chunk = os.urandom(1024 * 1024)
    for _ in range(mb): f.write(chunk)
PY
  mv "$BIG.tmp" "$BIG"
fi
JPG="$DATA/media/photo5mb.jpg"
if [ ! -f "$JPG" ]; then
  convert -size 1800x1400 xc: +noise Random -quality 98 "$RUN/p.jpg"
  exiftool -q -overwrite_original -GPSLatitude=48.8584 -GPSLatitudeRef=N \
    -GPSLongitude=2.2945 -GPSLongitudeRef=E -XMP-photoshop:City=Paris "$RUN/p.jpg"
  mv "$RUN/p.jpg" "$JPG"
fi
chmod a+rX "$DATA" "$DATA/media" "$BIG" "$JPG"

# ---- --xfs: a fresh xfs with reflink on a loop device, the data copied in.
# SRC is the directory every column serves.
SRC=$DATA
LOOP=""
if [ "$XFS" = 1 ]; then
  # Images of runs that were SIGKILLed: no loop device on them any more.
  for old in "$DATA"/xfs-*.img; do
    [ -e "$old" ] && [ "$old" != "$IMG" ] || continue
    [ -z "$(losetup -j "$old" 2>/dev/null)" ] && rm -f "$old"
  done
  # Sparse; room for the data, the reflinked copies' zeroed blocks, the log.
  avail_mb=$(df -Pm "$DATA" | awk 'NR == 2 { print $4 }')
  [ "$avail_mb" -ge $((MB + 512)) ] || die "$DATA: ${avail_mb} MiB free, --xfs needs $((MB + 512))"
  truncate -s $((2 * MB + 1024))M "$IMG"
  mkfs.xfs -q -m reflink=1 "$IMG"
  LOOP=$(losetup --find --show "$IMG")
  mkdir -p "$XFS_MNT"
  mount "$LOOP" "$XFS_MNT"
  mkdir -p "$XFS_MNT/media"
  cp "$BIG" "$JPG" "$XFS_MNT/media/"
  chmod a+rX "$XFS_MNT" "$XFS_MNT/media" "$XFS_MNT/media/"*
  # Written back now: FICLONE flushes a file's dirty pages first, and the
  # first reflinked open would otherwise pay for writing the fresh copy out,
  # which a photo that has been on the device for a while never does.
  sync -f "$XFS_MNT"
  SRC=$XFS_MNT
fi

cp "$BIN/bench/fsbench" "$RUN/fsbench"
cat >"$RUN/policy.textproto" <<EOP
apps { name: "app" uids: $APP }
redaction_profiles { name: "location" exif_gps: true xmp_location: true video_location: true }
rules { id: "media-redacted" apps: "app" paths: "media/" operations: READ action: ALLOW_REDACTED redaction_profile: "location" }
rules { id: "media-read-only" apps: "app" paths: "media/" operations: [WRITE, SETATTR, DELETE, RENAME, CREATE] action: DENY }
default_action: ALLOW
EOP
printf 'default_action: ALLOW\n' >"$RUN/allow_all.textproto"

# start_fs NAME CMD...: starts a FUSE daemon (its last argument is the mount
# point) and waits for the mount; on failure shows its log and returns 1.
declare -A STATE=()
start_fs() {
  local name=$1; shift
  local mnt="${*: -1}" log="$OUT/logs/redaction-$name.log" pid i
  mkdir -p "$mnt"
  "$@" >"$log" 2>&1 &
  pid=$!; PIDS+=("$pid")
  for i in $(seq 200); do
    case "$(stat -f -c %T "$mnt" 2>/dev/null)" in fuse|fuseblk) return 0 ;; esac
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "redaction.sh: $name did not mount; last lines of bench/out/logs/redaction-$name.log:" >&2
  tail -20 "$log" >&2
  return 1
}
# start_sfs NAME FLAGS...: scopedfsd over SRC with a state dir of its own.
start_sfs() {
  local name=$1; shift
  STATE[$name]="$RUN/state-$name"
  start_fs "$name" "$SFSD" --foreground --state_dir="${STATE[$name]}" "$@" \
    "$SRC" "$RUN/mnt-$name"
}

declare -A DIR=([native]="$SRC" [pthp-nopt]="$RUN/mnt-pthp")
REFLINK_NOTE=""
if [ "$XFS" = 1 ]; then
  # Does this scopedfsd know --reflink_views? It checks flags before it
  # handles --help: an unknown flag is exit 2, a known one ends in the help.
  rc=0
  "$SFSD" --reflink_views=true --help >/dev/null 2>"$RUN/probe.err" || rc=$?
  if [ "$rc" = 2 ] && grep -q reflink_views "$RUN/probe.err"; then
    REFLINK_NOTE="this scopedfsd rejects --reflink_views ($(head -1 "$RUN/probe.err")):"
    REFLINK_NOTE+=" no redacted-reflink column; redacted-daemon runs without the flag"
    echo "redaction.sh: $REFLINK_NOTE" >&2
    start_sfs redacted-daemon --policy="$RUN/policy.textproto" || die "scopedfsd did not mount"
    COLS=(native redacted-daemon pthp-nopt)
  else
    start_sfs redacted-reflink --policy="$RUN/policy.textproto" --reflink_views=true \
      || die "scopedfsd --reflink_views=true did not mount"
    start_sfs redacted-daemon --policy="$RUN/policy.textproto" --reflink_views=false \
      || die "scopedfsd --reflink_views=false did not mount"
    COLS=(native redacted-reflink redacted-daemon pthp-nopt)
    DIR[redacted-reflink]="$RUN/mnt-redacted-reflink"
  fi
  DIR[redacted-daemon]="$RUN/mnt-redacted-daemon"
  REDACTED=("${COLS[@]:1:${#COLS[@]}-2}")  # the scopedfs columns
else
  start_sfs redacted --policy="$RUN/policy.textproto" || die "scopedfsd did not mount"
  # The same daemon without passthrough and without redaction: what the view
  # costs on top of a daemon-served file.
  start_sfs sfs-nopt --policy="$RUN/allow_all.textproto" --passthrough=false \
    || die "scopedfsd --passthrough=false did not mount"
  COLS=(native redacted sfs-nopt pthp-nopt)
  DIR[redacted]="$RUN/mnt-redacted"; DIR[sfs-nopt]="$RUN/mnt-sfs-nopt"
  REDACTED=(redacted)
fi
start_fs pthp-nopt "$PTHP" --foreground --nopassthrough -o allow_other "$SRC" "$RUN/mnt-pthp" \
  || die "passthrough_hp did not mount"

as_app() { setpriv --reuid=$APP --regid=$APP --clear-groups "$@"; }
# First and second open of a file as the app, in microseconds.
open_us() {
  as_app /usr/bin/python3 -c '
import os, sys, time
t = time.perf_counter(); fd = os.open(sys.argv[1], os.O_RDONLY); t1 = time.perf_counter(); os.close(fd)
t2 = time.perf_counter(); fd = os.open(sys.argv[1], os.O_RDONLY); t3 = time.perf_counter(); os.close(fd)
print("%.0f %.0f" % ((t1 - t) * 1e6, (t3 - t2) * 1e6))' "$1"
}
# The first opens, before anything else touches the files through a mount.
declare -A JPG_FIRST JPG_AGAIN MP4_FIRST MP4_AGAIN JPG_NEW
for c in "${REDACTED[@]}"; do
  read -r "JPG_FIRST[$c]" "JPG_AGAIN[$c]" < <(open_us "${DIR[$c]}/media/photo5mb.jpg")
  read -r "MP4_FIRST[$c]" "MP4_AGAIN[$c]" < <(open_us "${DIR[$c]}/media/big-${MB}M.bin")
done
read -r pt_first pt_again < <(open_us "$RUN/mnt-pthp/media/photo5mb.jpg")
# One open is one sample: also the median of 9 first opens of a new
# version each (the owner touches the photo: a new version to plan, and on
# xfs a new copy to make), the path's directories already looked up.
new_version_open_us() {  # mount -> median us
  local vals=() v
  for _ in $(seq 9); do
    touch "$SRC/media/photo5mb.jpg"
    v=$(as_app /usr/bin/python3 -c '
import os, sys, time
os.stat(os.path.dirname(sys.argv[1]))
t = time.perf_counter(); fd = os.open(sys.argv[1], os.O_RDONLY); t1 = time.perf_counter(); os.close(fd)
print("%.0f" % ((t1 - t) * 1e6))' "$1/media/photo5mb.jpg")
    vals+=("$v")
  done
  printf '%s\n' "${vals[@]}" | sort -n | sed -n 5p
}
for c in "${REDACTED[@]}"; do JPG_NEW[$c]=$(new_version_open_us "${DIR[$c]}"); done

seqread() {  # dir -> GiB/s (median of the fsbench passes)
  as_app "$RUN/fsbench" --dir="$1/media" --workload=seqread --file_size_mb="$MB" --passes=5 |
    awk '$1 == "seqread.median" {print $2}'
}
# Which copy of the file the kernel caches first gets smaller folios and
# reads back measurably slower (seen here: 7.6 vs 11.3 GiB/s for the same
# daemon), so every round drops the caches and fills the columns in a
# rotated order; the table shows the median over the rounds.
declare -A VALS
n=${#COLS[@]}
for round in 0 1 2 3; do
  sync; echo 3 >/proc/sys/vm/drop_caches
  for ((i = 0; i < n; i++)); do
    c=${COLS[$(( (i + round) % n ))]}
    as_app dd if="${DIR[$c]}/media/big-${MB}M.bin" of=/dev/null bs=1M status=none
  done
  for c in "${COLS[@]}"; do VALS[$c]+="$(seqread "${DIR[$c]}") "; done
done
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "n/a"; else printf "%.3f", a / b }'; }
declare -A MED
for c in "${COLS[@]}"; do MED[$c]=$(median "${VALS[$c]}"); done

# The real coordinates (48.8584, 2.2945) and city; a zeroed MP4 location box
# still parses as 0,0, which exiftool reports and which is no leak.
declare -A LEAK STATS
for c in "${REDACTED[@]}"; do
  LEAK[$c]=$(as_app exiftool -a -s -n "${DIR[$c]}/media/photo5mb.jpg" "${DIR[$c]}/media/big-${MB}M.bin" |
             grep -cE "48\.85|2\.29|Paris" || true)
  # Counters that this scopedfsd may not have are reported as absent; the
  # other counters of the reflinked copies are shown as they are named.
  STATS[$c]=$("$BIN/tools/scopedctl" --state_dir="${STATE[$c]}" stats 2>/dev/null | awk '
    { v[$1] = $2; if ($1 ~ /reflink|cop(y|ies)|renewal/ && $1 != "redacted_copy_opens") extra = extra $1 "=" $2 " " }
    END { n = split("redacted_copy_opens opens_redacted redacted_reads opens_passthrough", k, " ")
          for (i = 1; i <= n; i++) printf "%s=%s ", k[i], (k[i] in v) ? v[k[i]] : "absent"
          printf "%s", extra }')
done

if [ "$XFS" = 1 ]; then
  REPORT="$OUT/redaction-xfs-latest.txt"
else
  REPORT="$OUT/redaction-latest.txt"
fi
# goal DESC OK: one PASS/FAIL line (OK empty: n/a).
goal() { printf '  [%s] %s\n' "$([ -z "$2" ] && echo 'n/a ' || { [ "$2" = 1 ] && echo PASS || echo FAIL; })" "$1"; }
{
  echo "scopedfs redaction benchmark  $(date -u +%FT%TZ)  git $(cd "$ROOT" && git rev-parse --short HEAD)"
  echo "file ${MB} MiB ISO-BMFF (moov with location + random mdat), 5 MB JPEG with EXIF/XMP GPS; caller uid $APP gets the redacted view"
  if [ "$XFS" = 1 ]; then
    echo "data on a loop-mounted xfs (mkfs.xfs -m reflink=1, $LOOP, image $IMG), made for this run"
    [ -n "$REFLINK_NOTE" ] && echo "NOTE: $REFLINK_NOTE"
  fi
  title="sequential read 1 MiB blocks, warm (GiB/s)"
  if [ "$XFS" = 1 ]; then
    RATIOS=()
    for r in redacted-reflink/native redacted-daemon/native redacted-reflink/redacted-daemon; do
      [ -n "${DIR[${r%/*}]:-}" ] && RATIOS+=("$r")
    done
  else
    RATIOS=("redacted/pthp-nopt" "redacted/sfs-nopt")
  fi
  printf '%-44s' "$title"
  for c in "${COLS[@]}"; do printf ' %*s' $(( ${#c} > 8 ? ${#c} : 8 )) "$c"; done
  for r in "${RATIOS[@]}"; do printf ' %*s' "${#r}" "$r"; done
  echo
  printf '%-44s' ""
  for c in "${COLS[@]}"; do printf ' %*s' $(( ${#c} > 8 ? ${#c} : 8 )) "${MED[$c]}"; done
  for r in "${RATIOS[@]}"; do printf ' %*s' "${#r}" "$(div "${MED[${r%/*}]:-}" "${MED[${r#*/}]:-}")"; done
  echo
  printf 'per round (rotated fill order):'
  for c in "${COLS[@]}"; do printf ' %s %s|' "$c" "${VALS[$c]}"; done
  echo
  if [ "$XFS" = 1 ]; then
    echo "(native: the file on the xfs; redacted-reflink: scopedfsd --reflink_views=true, the view a reflinked,"
    echo " zeroed copy the kernel reads by passthrough; redacted-daemon: --reflink_views=false, the daemon serves"
    echo " the view; pthp-nopt: passthrough_hp --nopassthrough, which turns on the FUSE writeback cache when"
    echo " passthrough is off — a mode scopedfs never uses)"
  else
    echo "(sfs-nopt: scopedfsd --passthrough=false, no redaction; pthp-nopt: passthrough_hp --nopassthrough,"
    echo " which turns on the FUSE writeback cache when passthrough is off — a mode scopedfs never uses)"
  fi
  for c in "${REDACTED[@]}"; do
    echo "first redacted open ($c): 5 MB JPEG ${JPG_FIRST[$c]} us (again, ranges cached: ${JPG_AGAIN[$c]} us;" \
         "first open of a new version, median of 9: ${JPG_NEW[$c]} us); ${MB} MiB MP4 ${MP4_FIRST[$c]} us (again: ${MP4_AGAIN[$c]} us)"
  done
  echo "for comparison, open through passthrough_hp --nopassthrough: ${pt_first} us (again: ${pt_again} us)"
  for c in "${REDACTED[@]}"; do
    echo "$c: real location values exiftool finds through the redacted view: ${LEAK[$c]}; daemon: ${STATS[$c]}"
  done
  if [ "$XFS" = 1 ]; then
    if [ -n "${DIR[redacted-reflink]:-}" ]; then
      case " ${STATS[redacted-reflink]} " in
        *" redacted_copy_opens=0 "*|*" redacted_copy_opens=absent "*)
          echo "NOTE: no open of the reflink column went to a reflinked copy: the daemon served them all" ;;
      esac
    fi
    echo
    echo "Goals (--xfs):"
    r=$(div "${MED[redacted-reflink]:-}" "${MED[native]}")
    ok=""; [ "$r" != n/a ] && ok=$(awk -v r="$r" 'BEGIN { print (r >= 0.9) ? 1 : 0 }')
    goal "redacted sequential read with reflink >= 0.9x native: $([ "$r" = n/a ] \
      && echo "n/a (no redacted-reflink column)" \
      || echo "${MED[redacted-reflink]} vs ${MED[native]} GiB/s = ${r}x")" "$ok"
    first=${JPG_NEW[redacted-reflink]:-}
    ok=""; [ -n "$first" ] && ok=$(( first <= 2000 ? 1 : 0 ))
    goal "first redacted open of the 5 MB JPEG <= 2 ms (reflink; median of 9 new versions): $([ -z "$first" ] \
      && echo "n/a (no redacted-reflink column)" || echo "$first us (the mount's very first: ${JPG_FIRST[redacted-reflink]} us)")" "$ok"
    for c in "${REDACTED[@]}"; do
      goal "no real location through the view ($c): ${LEAK[$c]} found" "$([ "${LEAK[$c]}" = 0 ] && echo 1 || echo 0)"
    done
  fi
} | tee "$REPORT"
