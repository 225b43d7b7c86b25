#!/usr/bin/env bash
# bench/run.sh: the one command for the scopedfs benchmark (see bench/README.md).
#
# Builds //bench:fsbench and //daemon:scopedfsd, prepares the data once in a
# backing directory, mounts scopedfs and libfuse's passthrough_hp over that
# same directory, runs every workload on native / scopedfs / passthrough_hp
# back to back (interleaved, rotating the order every round), prints a table
# and writes it to bench/out/latest.txt, and draws it as bench/out/latest.png
# (bench/chart.py; needs gnuplot). Mounts are always removed on exit.
# With --as-app it also runs read-only workloads as a media app's uid over a
# camera roll (DCIM/Camera): native, passthrough_hp, scopedfs allow-all, and
# scopedfs with the Android default policy on the shared mount and in the
# app's own view (MNT/.apps/UID).
#
# Usage: bench/run.sh [--quick] [--dir=DIR] [--rounds=N] [--passes=N]
#                     [--nopassthrough] [--threads=N] [--workloads=a,b,...]
#                     [--as-app[=UID]] [--app-workloads=a,b,...]
#                     [--transport=dev,uring] [--load[=N]] [--shadow[=FILE]]
#                     [--no-build] [--scopedfsd=PATH] [--scopedfsd_flags="..."]
#   --quick          smoke run: 64 MiB file, 1k entries, 64 MiB writes, 1 round
#   --dir=DIR        data directory (default $SCOPEDFS_BENCH_DIR or
#                    /var/tmp/scopedfs-bench); needs ~1.6 GiB free for a full run
#   --rounds=N       interleaved rounds per workload (default 5; quick 1);
#                    the table shows the median over rounds
#   --passes=N       timed passes inside each fsbench run, all workloads
#                    (default: per workload, see passes_for; quick 2)
#   --nopassthrough  extra column: scopedfsd --passthrough=false
#   --with-policy    extra column: scopedfsd with the embedded Android-style
#                    default policy (the scopedfs column allows everything,
#                    so it measures the file system; this one adds the cost
#                    of policy decisions and of per-caller visibility)
#   --policy_file=F  use policy F for the --with-policy column instead
#   --threads=N      pass --threads=N to scopedfsd and --num-threads N to
#                    passthrough_hp (default: each daemon's own default)
#   --workloads=...  subset of: seqread,randread,mmapread,seqwrite,openclose,stat,readdir
#                    (the default: all of these), and metamix (a create/write/
#                    stat/rename/unlink/mkdir/rmdir/readdir mix, ops/s; only
#                    when listed) ("none": only the --as-app section)
#   --as-app[=UID]   add the app section: prepare DCIM/Camera with 10k photos
#                    (quick: 1k) and run the app workloads as UID (gid = UID;
#                    default 1010001, com.example.gallery of the embedded
#                    default policy: media + media_location) on native,
#                    passthrough_hp, scopedfs allow-all, and scopedfsd with the
#                    Android default policy (--policy_file if given): shared
#                    mount (MNT/DCIM/...) and the app's view (MNT/.apps/UID/...,
#                    n/a when this scopedfsd has none). Makes the data dir,
#                    the backing dir and the run dir world-searchable
#   --app-workloads=...  subset of: openclose,stat,statat,readdir (default all)
#   --shadow[=FILE]  with --as-app: one more column, "shadow": a second
#                    scopedfsd with the same policy as "shared" and a shadow
#                    policy installed (FILE; default: the enforced policy
#                    itself, so every decision is decided twice and none
#                    differs), and the goals shadow <= 1.1x shared for
#                    open+close and stat p50. The shadow's report (decisions
#                    compared) is printed after the run
#   --transport=LIST comma list of dev,uring: every scopedfs column and the
#                    passthrough_hp column run once per transport, side by
#                    side in the same rounds, named scopedfs/dev,
#                    scopedfs/uring, pthp/dev, pthp/uring (scopedfsd
#                    --transport=T; passthrough_hp -o io_uring for uring).
#                    Each mount is checked to use the transport it claims;
#                    with both, the table adds uring/dev ratios and the
#                    io_uring goals. Sets the fuse module's enable_uring to Y
#                    and restores it on exit. Default: each daemon's own
#                    default transport (/dev/fuse), columns named as before.
#                    The --as-app section uses the first transport listed
#   --load[=N]       run the workloads on a loaded machine: N (default
#                    2 x nproc) background workers compile a small generated
#                    C file with gcc -O2 -c in a loop, as a parallel build does
#                    (fork/exec, CPU, small file I/O); stopped on exit
#   --no-build       do not run bazel; use the binaries already in .bazel/bin
#   --scopedfsd=PATH use this scopedfsd binary instead of the Bazel-built one
#   --scopedfsd_flags="F..."  extra flags for scopedfsd (e.g. "--timeout=86400")
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT_DIR="$ROOT/bench/out"
PTHP_BIN="$ROOT/third_party/libfuse/prefix/bin/passthrough_hp"

DATA_DIR=${SCOPEDFS_BENCH_DIR:-/var/tmp/scopedfs-bench}
QUICK=0
ROUNDS=""
PASSES=""
WITH_NOPT=0
WITH_POLICY=0
POLICY_FILE=""
THREADS=""
WORKLOADS="seqread,randread,mmapread,seqwrite,openclose,stat,readdir"
AS_APP=0
SHADOW=0
SHADOW_FILE=""
APP_UID=1010001
APP_WORKLOADS="openclose,stat,statat,readdir"
DO_BUILD=1
SCOPEDFSD_OVERRIDE=""
SCOPEDFSD_FLAGS=""
TRANSPORT_LIST=""
LOAD=0
LOAD_N=""

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
die() { echo "run.sh: $*" >&2; exit 1; }
log() { echo "run.sh: $*" >&2; }

for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=1 ;;
    --dir=*) DATA_DIR=${arg#*=} ;;
    --rounds=*) ROUNDS=${arg#*=} ;;
    --passes=*) PASSES=${arg#*=} ;;
    --nopassthrough) WITH_NOPT=1 ;;
    --with-policy) WITH_POLICY=1 ;;
    --policy_file=*) POLICY_FILE=$(realpath "${arg#*=}") ;;
    --threads=*) THREADS=${arg#*=} ;;
    --workloads=*) WORKLOADS=${arg#*=} ;;
    --as-app) AS_APP=1 ;;
    --as-app=*) AS_APP=1; APP_UID=${arg#*=} ;;
    --app-workloads=*) APP_WORKLOADS=${arg#*=} ;;
    --shadow) SHADOW=1 ;;
    --shadow=*) SHADOW=1; SHADOW_FILE=$(realpath "${arg#*=}") ;;
    --no-build) DO_BUILD=0 ;;
    --scopedfsd=*) SCOPEDFSD_OVERRIDE=${arg#*=} ;;
    --scopedfsd_flags=*) SCOPEDFSD_FLAGS=${arg#*=} ;;
    --transport=*) TRANSPORT_LIST=${arg#*=} ;;
    --load) LOAD=1 ;;
    --load=*) LOAD=1; LOAD_N=${arg#*=} ;;
    -h|--help) usage 0 ;;
    *) echo "run.sh: unknown argument: $arg" >&2; usage 2 ;;
  esac
done

if [ "$QUICK" = 1 ]; then
  FILE_MB=64; ENTRIES=1000; WRITE_MB=64; PHOTOS=1000
  ROUNDS=${ROUNDS:-1}; PASSES=${PASSES:-2}
  ITERS_OPENCLOSE=5000; ITERS_STAT=20000; ITERS_RANDREAD=20000
  ITERS_METAMIX=5000; META_FILES=500
else
  FILE_MB=1024; ENTRIES=10000; WRITE_MB=512; PHOTOS=10000
  ROUNDS=${ROUNDS:-5}
  ITERS_OPENCLOSE=50000; ITERS_STAT=200000; ITERS_RANDREAD=200000
  ITERS_METAMIX=20000; META_FILES=2000
fi
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "--rounds must be a positive integer"
[ -z "$PASSES" ] || [[ "$PASSES" =~ ^[1-9][0-9]*$ ]] || die "--passes must be a positive integer"
[ -z "$THREADS" ] || [[ "$THREADS" =~ ^[1-9][0-9]*$ ]] || die "--threads must be a positive integer"
WL=()
[ "$WORKLOADS" = none ] || IFS=, read -r -a WL <<<"$WORKLOADS"
for w in ${WL[@]+"${WL[@]}"}; do
  case "$w" in seqread|randread|mmapread|seqwrite|openclose|stat|readdir|metamix) ;;
    *) die "unknown workload: $w" ;;
  esac
done
APP_WL=()
if [ "$AS_APP" = 1 ]; then
  [[ "$APP_UID" =~ ^[1-9][0-9]*$ ]] && [ "$APP_UID" -lt 4294967295 ] \
    || die "--as-app=UID: UID must be a positive integer (not root)"
  IFS=, read -r -a APP_WL <<<"$APP_WORKLOADS"
  for w in "${APP_WL[@]}"; do
    case "$w" in openclose|stat|statat|readdir) ;;
      *) die "unknown app workload: $w (openclose,stat,statat,readdir)" ;;
    esac
  done
fi
[ ${#WL[@]} -gt 0 ] || [ ${#APP_WL[@]} -gt 0 ] || die "--workloads=none needs --as-app"
# TLIST: the transports to run; one empty entry is "each daemon's default",
# which keeps the columns' old names (scopedfs, passthrough_hp).
TLIST=("")
if [ -n "$TRANSPORT_LIST" ]; then
  IFS=, read -r -a TLIST <<<"$TRANSPORT_LIST"
  [ ${#TLIST[@]} -gt 0 ] || die "--transport= needs dev, uring or dev,uring"
  declare -A seen_t=()
  for t in "${TLIST[@]}"; do
    case "$t" in dev|uring) ;; *) die "unknown transport: '$t' (dev, uring)" ;; esac
    [ -z "${seen_t[$t]:-}" ] || die "--transport lists $t twice"
    seen_t[$t]=1
  done
  unset seen_t
fi
HAS_URING=0
for t in "${TLIST[@]}"; do [ "$t" = uring ] && HAS_URING=1; done
if [ "$LOAD" = 1 ]; then
  LOAD_N=${LOAD_N:-$((2 * $(nproc)))}
  [[ "$LOAD_N" =~ ^[1-9][0-9]*$ ]] || die "--load=N: N must be a positive integer"
  command -v gcc >/dev/null || die "--load needs gcc"
fi

[ "$(id -u)" -eq 0 ] || die "must run as root (mounts FUSE file systems)"
[ -c /dev/fuse ] || die "/dev/fuse missing"
[ -x "$PTHP_BIN" ] || die "$PTHP_BIN missing; run ./setup.sh"
DATA_DIR=${DATA_DIR%/}
mkdir -p "$DATA_DIR" "$OUT_DIR"
DATA_DIR=$(cd "$DATA_DIR" && pwd -P)
BACKING="$DATA_DIR/backing"

# ------------------------------------------------------------- mount helpers
# Mount points live in $DATA_DIR/run.*; mountinfo escapes blanks as \040, so
# refuse paths with whitespace rather than mis-detect mounts.
[[ "$DATA_DIR" =~ [[:space:]] ]] && die "data dir must not contain whitespace"

is_mounted() { awk -v m="$1" '$5 == m { found = 1 } END { exit !found }' /proc/self/mountinfo; }

# Unmounts $1 (daemon pid $2, may be empty): SIGTERM first (both daemons
# unmount on SIGTERM), then umount, then a lazy umount as a last resort.
unmount_one() {
  local mnt=$1 pid=${2:-} i
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
  if is_mounted "$mnt"; then
    umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
  fi
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    sleep 0.5
    kill -KILL "$pid" 2>/dev/null || true
  fi
  [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
  if is_mounted "$mnt"; then
    log "WARNING: $mnt is still mounted"
  else
    rmdir "$mnt" 2>/dev/null || true
  fi
}

# One run at a time per data directory (the cleanup below would otherwise
# unmount a concurrent run's file systems).
exec 9>"$DATA_DIR/.lock"
flock -n 9 || die "another bench/run.sh is using $DATA_DIR"

# Leftovers of a run that was SIGKILLed: only our own run.* directories.
for stale in $(awk -v p="$DATA_DIR/run." 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo); do
  log "removing stale mount $stale from an earlier run"
  umount "$stale" 2>/dev/null || umount -l "$stale" 2>/dev/null || true
done
for d in "$DATA_DIR"/run.*; do
  [ -d "$d" ] || continue
  rmdir "$d"/mnt-* 2>/dev/null || true
  # Never rm -rf something that might still contain a mount.
  if ! awk -v p="$d/" 'index($5, p) == 1 { f = 1 } END { exit !f }' /proc/self/mountinfo; then
    rm -rf "$d"
  fi
done

# ------------------------------------------------------- transports, load
# cand BASE T: a column's name. Without --transport (T empty) the old names
# (scopedfs, passthrough_hp, ...); with it BASE/T, passthrough_hp as pthp.
cand() {
  local base=$1 t=${2:-}
  [ -z "$t" ] && { echo "$base"; return; }
  [ "$base" = passthrough_hp ] && base=pthp
  echo "$base/$t"
}
# A column's name as a file name (mount point, state dir, log).
slug() { echo "${1//\//-}"; }

# The kernel offers fuse-over-io-uring only while this parameter is Y.
# scopedfsd sets it itself; passthrough_hp does not, so run.sh does, and puts
# the old value back once its own mounts are gone.
URING_PARAM=/sys/module/fuse/parameters/enable_uring
URING_PARAM_WAS=""
# Processes other than ours that run libfuse ring threads (fuse-ring-N).
other_ring_users() {
  local f pid
  for f in /proc/[0-9]*/task/*/comm; do
    grep -qs '^fuse-ring-' "$f" 2>/dev/null || continue
    pid=${f#/proc/}; echo "${pid%%/*}"
  done | sort -u | tr '\n' ' '
}
restore_uring_param() {
  [ -n "$URING_PARAM_WAS" ] || return 0
  [ "$(cat "$URING_PARAM" 2>/dev/null)" = "$URING_PARAM_WAS" ] && return 0
  # A kernel that checks the parameter on every ring command (before the
  # "once enabled on a connection it can't be disabled" fix) would break
  # another daemon's live io_uring mount: leave Y then.
  local others
  others=$(other_ring_users)
  if [ "$URING_PARAM_WAS" != Y ] && [ -n "$others" ]; then
    log "WARNING: leaving $URING_PARAM at Y (was $URING_PARAM_WAS): other processes" \
        "use fuse-over-io-uring (pids $others)"
    return 0
  fi
  echo "$URING_PARAM_WAS" >"$URING_PARAM" 2>/dev/null \
    || log "WARNING: could not restore $URING_PARAM to $URING_PARAM_WAS"
}

# --load: background compilers. Each worker is a subshell looping over gcc;
# SIGTERM ends it once its current gcc is done (a fraction of a second).
LOAD_PIDS=()
start_load() {
  local i d
  for ((i = 0; i < LOAD_N; i++)); do
    d="$RUN/load/w$i"
    mkdir -p "$d"
    (
      trap 'exit 0' TERM
      n=0
      while :; do
        gen_c_unit "$i" "$n" >"$d/unit.c"
        gcc -O2 -c "$d/unit.c" -o "$d/unit.o" || exit 1
        n=$((n + 1))
      done
    ) >"$d/log" 2>&1 9>&- &
    LOAD_PIDS+=($!)
  done
}
stop_load() {
  local p
  for p in ${LOAD_PIDS[@]+"${LOAD_PIDS[@]}"}; do kill -TERM "$p" 2>/dev/null || true; done
  for p in ${LOAD_PIDS[@]+"${LOAD_PIDS[@]}"}; do wait "$p" 2>/dev/null || true; done
  LOAD_PIDS=()
}
# A C file like one of a project's many small units: a few headers and a
# dozen functions with loops and branches for the optimizer (~0.1 s at -O2).
gen_c_unit() {
  local w=$1 n=$2 k
  printf '#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n'
  printf 'static const int seed = %d;\n' "$((w * 100003 + n))"
  for k in $(seq 12); do
    cat <<EOC
struct rec$k { int key; double w; char name[24]; };
static int cmp$k(const void* a, const void* b) {
  const struct rec$k* x = a; const struct rec$k* y = b;
  return (x->key > y->key) - (x->key < y->key);
}
double work$k(struct rec$k* r, int n) {
  double acc = seed;
  for (int i = 0; i < n; ++i) {
    r[i].key = (i * $k + seed) % 97;
    r[i].w = r[i].key * 0.5 + acc / (i + 1);
    snprintf(r[i].name, sizeof r[i].name, "r%d-%d", $k, i);
    if (strlen(r[i].name) > 5 && r[i].key & 1) acc += r[i].w; else acc -= r[i].w / 3;
  }
  qsort(r, n, sizeof *r, cmp$k);
  for (int i = 1; i < n; ++i) acc += r[i].key != r[i - 1].key ? r[i].w : -r[i].w;
  return acc;
}
EOC
  done
}

RUN=$(mktemp -d "$DATA_DIR/run.XXXXXX")
declare -A MNT=() PID=()
CLEANED=0
cleanup() {
  [ "$CLEANED" = 1 ] && return
  CLEANED=1
  trap '' INT TERM
  local c
  stop_load
  for c in "${!MNT[@]}"; do
    unmount_one "${MNT[$c]}" "${PID[$c]:-}"
  done
  restore_uring_param
  if awk -v p="$RUN/" 'index($5, p) == 1 { f = 1 } END { exit !f }' /proc/self/mountinfo; then
    log "WARNING: something is still mounted under $RUN; not deleting it"
  else
    rm -rf "$RUN"
  fi
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM
trap 'exit 129' HUP

# ------------------------------------------------------------------- build
BIN="$RUN/bin"
mkdir -p "$BIN" "$OUT_DIR/logs"
HAVE_SCOPEDFS=0
if [ "$DO_BUILD" = 1 ]; then
  log "bazel build //bench:fsbench"
  if ! (cd "$ROOT" && bazel build //bench:fsbench) >"$OUT_DIR/logs/build-fsbench.log" 2>&1 9>&-; then
    grep -v 'linux-sandbox' "$OUT_DIR/logs/build-fsbench.log" | tail -30 >&2
    die "building //bench:fsbench failed"
  fi
  if [ -z "$SCOPEDFSD_OVERRIDE" ]; then
    log "bazel build //daemon:scopedfsd //tools:scopedctl"
    if (cd "$ROOT" && bazel build //daemon:scopedfsd //tools:scopedctl) \
        >"$OUT_DIR/logs/build-scopedfsd.log" 2>&1 9>&-; then
      HAVE_SCOPEDFS=1
    else
      log "WARNING: //daemon:scopedfsd does not build; the scopedfs column is skipped" \
          "(see bench/out/logs/build-scopedfsd.log)"
    fi
  fi
else
  [ -z "$SCOPEDFSD_OVERRIDE" ] && [ -x "$ROOT/.bazel/bin/daemon/scopedfsd" ] && HAVE_SCOPEDFS=1
fi
[ -x "$ROOT/.bazel/bin/bench/fsbench" ] || die "fsbench binary missing (drop --no-build)"
# Private copies: a concurrent rebuild must not swap binaries mid-run.
cp "$ROOT/.bazel/bin/bench/fsbench" "$BIN/fsbench"
if [ -n "$SCOPEDFSD_OVERRIDE" ]; then
  [ -x "$SCOPEDFSD_OVERRIDE" ] || die "--scopedfsd=$SCOPEDFSD_OVERRIDE is not executable"
  cp "$SCOPEDFSD_OVERRIDE" "$BIN/scopedfsd"
  HAVE_SCOPEDFS=1
elif [ "$HAVE_SCOPEDFS" = 1 ]; then
  cp "$ROOT/.bazel/bin/daemon/scopedfsd" "$BIN/scopedfsd"
fi
FSBENCH="$BIN/fsbench"
# The copy loses Bazel's $ORIGIN-relative RUNPATH to libfuse; point the loader
# at the same libfuse build directly.
SCOPEDFSD=(env "LD_LIBRARY_PATH=$ROOT/third_party/libfuse/prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
           "$BIN/scopedfsd")
# scopedctl reads a mount's counters (the transport check); a copy would lose
# its RUNPATH as well, and a rebuild mid-run changes nothing it reads.
SCOPEDCTL="$ROOT/.bazel/bin/tools/scopedctl"
if [ "$HAVE_SCOPEDFS" = 1 ] && [ -n "$TRANSPORT_LIST" ] && [ ! -x "$SCOPEDCTL" ]; then
  die "--transport needs $SCOPEDCTL (to check each mount's transport); drop --no-build"
fi

# -------------------------------------------------------------------- data
# metamix makes its own scratch directory: a run of it alone prepares nothing.
NEED_DATA=0
for w in ${WL[@]+"${WL[@]}"}; do [ "$w" = metamix ] || NEED_DATA=1; done
if [ "$NEED_DATA" = 1 ]; then
  need_mb=$((WRITE_MB + 64))
  [ -f "$BACKING/big-${FILE_MB}M.bin" ] || need_mb=$((need_mb + FILE_MB))
else
  need_mb=64
fi
avail_mb=$(df -Pm "$DATA_DIR" | awk 'NR == 2 { print $4 }')
[ "$avail_mb" -ge "$need_mb" ] || die "$DATA_DIR: ${avail_mb} MiB free, need ${need_mb} MiB"
mkdir -p "$BACKING"
if [ "$NEED_DATA" = 1 ]; then
  log "preparing data in $BACKING (${FILE_MB} MiB file, ${ENTRIES} entries)"
  "$FSBENCH" --dir="$BACKING" --workload=prepare --file_size_mb="$FILE_MB" \
      --entries="$ENTRIES" 9>&- | sed 's/^# /  /' >&2
fi
# Leftover write targets and metamix scratch directories of an interrupted
# earlier run.
rm -f "$BACKING"/seqwrite-*.tmp
rm -rf "$BACKING"/metamix-[0-9]*
if [ "$AS_APP" = 1 ]; then
  log "preparing $PHOTOS photos in $BACKING/DCIM/Camera"
  "$FSBENCH" --dir="$BACKING" --workload=prepare_photos --entries="$PHOTOS" 9>&- \
    | sed 's/^# /  /' >&2
  # The app (another uid) walks through the data dir to the backing dir, and
  # through the run dir to the mount points (mktemp made it 0700).
  chmod a+rX "$DATA_DIR" "$BACKING" "$RUN"
fi
# as_app CMD...: fsbench as the app (it drops to the app's uid and gid itself).
as_app() { "$FSBENCH" --as_uid="$APP_UID" --as_gid="$APP_UID" "$@" 9>&-; }
# as_app_in_view CMD...: the same inside a private mount namespace where the
# app's view of the Android-policy mount is bound at $RUN/sdcard, as a
# sandbox (bubblewrap, unshare) runs an app (README, "Per-app views").
as_app_in_view() {
  unshare -m --propagation private sh -c 'mount --bind "$1" "$2" && shift 2 && exec "$@"' \
    sh "$RUN/mnt-scopedfs_android/.apps/$APP_UID" "$RUN/sdcard" \
    "$FSBENCH" --as_uid="$APP_UID" --as_gid="$APP_UID" "$@" 9>&-
}
if [ "$AS_APP" = 1 ] && ! as_app --dir="$BACKING" --workload=stat \
    --stat_path=DCIM/Camera/IMG_00001.jpg --iters=1 >/dev/null; then
  die "uid $APP_UID cannot stat $BACKING/DCIM/Camera/IMG_00001.jpg: every parent" \
      "of $DATA_DIR must be searchable by others (chmod o+x), or use --dir="
fi

# ------------------------------------------------------------------ mounts
# mount_fs NAME CMD...: starts CMD (a foreground FUSE daemon whose last
# argument is the mount point) and waits until the mount shows up.
mount_fs() {
  local name=$1; shift
  local mnt="${*: -1}" logf="$OUT_DIR/logs/$(slug "$name").log" i
  mkdir -p "$mnt"
  "$@" >"$logf" 2>&1 9>&- &  # 9: the lock; daemons must not keep it
  PID[$name]=$!
  MNT[$name]=$mnt
  for i in $(seq 200); do
    if is_mounted "$mnt"; then
      log "mounted $name at $mnt (pid ${PID[$name]})"
      return 0
    fi
    if ! kill -0 "${PID[$name]}" 2>/dev/null; then
      break
    fi
    sleep 0.05
  done
  log "ERROR: $name did not mount; last lines of bench/out/logs/$(slug "$name").log:"
  tail -20 "$logf" >&2 || true
  return 1
}

# ring_threads PID: libfuse's io_uring queue threads (named fuse-ring-N) in
# the daemon; it starts them only when the kernel granted io_uring in INIT.
ring_threads() { cat /proc/"$1"/task/*/comm 2>/dev/null | grep -c '^fuse-ring-' || true; }
# ring_cqes PID: completions so far on all the daemon's io_uring instances
# (the CqTail of each in fdinfo). Over io_uring every FUSE request is one.
ring_cqes() {
  local pid=$1 fd t n=0
  for fd in /proc/"$pid"/fd/*; do
    [ "$(readlink "$fd" 2>/dev/null)" = "anon_inode:[io_uring]" ] || continue
    t=$(awk '$1 == "CqTail:" { print $2 }' "/proc/$pid/fdinfo/${fd##*/}" 2>/dev/null)
    n=$((n + ${t:-0}))
  done
  echo "$n"
}
# check_transport CAND T KIND: stops the run unless the mount CAND (KIND
# scopedfs or pthp) uses transport T. scopedfsd says so in its
# transport_io_uring gauge; passthrough_hp says nothing, but its ring threads
# exist only once io_uring is up (and libfuse logs "failed to start io-uring"
# when it falls back). Both are checked for both daemons.
declare -A TNOTE=() KIND_OF=() T_OF=()
check_transport() {
  local c=$1 t=$2 kind=$3 pid=${PID[$1]} want threads gauge="" note
  [ -n "$t" ] || return 0
  KIND_OF[$c]=$kind; T_OF[$c]=$t
  # The root's attributes come after INIT, when the transport is settled.
  stat "${MNT[$c]}" >/dev/null || die "$c: stat of its mount point failed"
  want=$([ "$t" = uring ] && echo 1 || echo 0)
  threads=$(ring_threads "$pid")
  if [ "$kind" = scopedfs ]; then
    gauge=$("$SCOPEDCTL" --state_dir="$RUN/state-$(slug "$c")" stats 2>/dev/null \
            | awk '$1 == "transport_io_uring" { print $2 }')
    [ -n "$gauge" ] || die "$c: 'scopedctl stats' has no transport_io_uring (a scopedfsd" \
                           "without it cannot be checked)"
    [ "$gauge" = "$want" ] || die "$c: asked for $t, but its transport_io_uring is $gauge"
    note="transport_io_uring=$gauge, $threads fuse-ring threads"
  else
    if grep -q 'failed to start io-uring' "$OUT_DIR/logs/$(slug "$c").log"; then
      die "$c: passthrough_hp logged 'failed to start io-uring' (see bench/out/logs/$(slug "$c").log)"
    fi
    note="$threads fuse-ring threads"
  fi
  if [ "$want" = 1 ] && [ "$threads" -eq 0 ]; then
    die "$c: asked for io_uring, but the daemon has no fuse-ring threads"
  elif [ "$want" = 0 ] && [ "$threads" -gt 0 ]; then
    die "$c: asked for /dev/fuse, but the daemon runs $threads fuse-ring threads"
  fi
  TNOTE[$c]=$note
  log "$c: transport $t confirmed ($note)"
}

CANDS=(native)
declare -A DIR_OF=([native]="$BACKING")
# Column order: native, scopedfs, passthrough_hp, [scopedfs_nopt],
# [scopedfs_policy]; with --transport each of them once per transport, in
# the order given, next to each other.
extra=()
[ -n "$SCOPEDFSD_FLAGS" ] && read -r -a extra <<<"$SCOPEDFSD_FLAGS"
if [ "$HAS_URING" = 1 ]; then
  [ -e "$URING_PARAM" ] || die "--transport=uring: $URING_PARAM missing (a kernel without" \
                               "CONFIG_FUSE_IO_URING, or the fuse module is not loaded)"
  URING_PARAM_WAS=$(cat "$URING_PARAM")
  if [ "$URING_PARAM_WAS" != Y ]; then
    echo Y >"$URING_PARAM" || die "cannot set $URING_PARAM to Y"
    log "set $URING_PARAM to Y (was $URING_PARAM_WAS; restored on exit)"
  fi
fi
# The scopedfs columns allow everything (the backing dir's own permissions
# still apply): they measure the file system, not a policy.
printf 'default_action: ALLOW\n' >"$RUN/allow_all.textproto"
ALLOW_ALL=(--policy="$RUN/allow_all.textproto")
# mount_scopedfs BASE T FLAGS...: a scopedfsd column (BASE: scopedfs,
# scopedfs_nopt, scopedfs_policy) on transport T; a failure skips the column.
mount_scopedfs() {
  local base=$1 t=$2; shift 2
  local c s
  c=$(cand "$base" "$t"); s=$(slug "$c")
  args=(--foreground --state_dir="$RUN/state-$s" "$@")
  [ -n "$THREADS" ] && args+=(--threads="$THREADS")
  [ -n "$t" ] && args+=(--transport="$t")
  args+=(${extra[@]+"${extra[@]}"})
  mkdir -p "$RUN/state-$s"
  if mount_fs "$c" "${SCOPEDFSD[@]}" "${args[@]}" "$BACKING" "$RUN/mnt-$s"; then
    check_transport "$c" "$t" scopedfs
    CANDS+=("$c"); DIR_OF[$c]="$RUN/mnt-$s"
  else
    log "WARNING: skipping the $c column"
  fi
}
if [ "$HAVE_SCOPEDFS" = 1 ]; then
  for t in "${TLIST[@]}"; do
    mount_scopedfs scopedfs "$t" "${ALLOW_ALL[@]}" --passthrough=true
  done
fi
for t in "${TLIST[@]}"; do
  c=$(cand passthrough_hp "$t")
  args=(--foreground)
  [ -n "$THREADS" ] && args+=(--num-threads "$THREADS")
  # The app's uid must get in too (passthrough_hp has no default_permissions:
  # it serves every caller as root; the workloads there only read).
  [ "$AS_APP" = 1 ] && args+=(-o allow_other)
  [ "$t" = uring ] && args+=(-o io_uring)
  # libfuse also turns io_uring on from the environment; dev means dev.
  mount_fs "$c" env -u FUSE_URING_ENABLE "$PTHP_BIN" "${args[@]}" \
      "$BACKING" "$RUN/mnt-$(slug "$c")" || die "$c (passthrough_hp) failed to mount"
  check_transport "$c" "$t" pthp
  CANDS+=("$c"); DIR_OF[$c]="$RUN/mnt-$(slug "$c")"
done
if [ "$WITH_NOPT" = 1 ]; then
  if [ "$HAVE_SCOPEDFS" = 1 ]; then
    for t in "${TLIST[@]}"; do
      mount_scopedfs scopedfs_nopt "$t" "${ALLOW_ALL[@]}" --passthrough=false
    done
  else
    log "WARNING: --nopassthrough ignored: no scopedfsd binary"
  fi
fi

if [ "$WITH_POLICY" = 1 ] && [ "$HAVE_SCOPEDFS" = 1 ]; then
  for t in "${TLIST[@]}"; do
    if [ -n "$POLICY_FILE" ]; then
      mount_scopedfs scopedfs_policy "$t" --policy="$POLICY_FILE"
    else
      mount_scopedfs scopedfs_policy "$t"
    fi
  done
fi

# The app section's columns (cands app_*, in this order): native,
# passthrough_hp, the allow-all scopedfs mount, and a scopedfsd with the
# Android default policy, once through the shared mount and once through the
# app's view MNT/.apps/UID (when this scopedfsd has one). With --transport,
# all on the first transport listed.
APP_T=${TLIST[0]}
APP_CANDS=()
VIEW_NOTE=""
if [ "$AS_APP" = 1 ]; then
  APP_CANDS=(app_native app_passthrough_hp)
  DIR_OF[app_native]=$BACKING
  DIR_OF[app_passthrough_hp]=${DIR_OF[$(cand passthrough_hp "$APP_T")]}
  if [ -n "${DIR_OF[$(cand scopedfs "$APP_T")]:-}" ]; then
    APP_CANDS+=(app_allow_all); DIR_OF[app_allow_all]=${DIR_OF[$(cand scopedfs "$APP_T")]}
  fi
  VIEW_NOTE="n/a (no scopedfsd)"
  if [ "$HAVE_SCOPEDFS" = 1 ]; then
    args=(--foreground --state_dir="$RUN/state-scopedfs_android")
    [ -n "$POLICY_FILE" ] && args+=(--policy="$POLICY_FILE")
    [ -n "$THREADS" ] && args+=(--threads="$THREADS")
    [ -n "$APP_T" ] && args+=(--transport="$APP_T")
    args+=(${extra[@]+"${extra[@]}"})
    mkdir -p "$RUN/state-scopedfs_android"
    if mount_fs scopedfs_android "${SCOPEDFSD[@]}" "${args[@]}" \
        "$BACKING" "$RUN/mnt-scopedfs_android"; then
      check_transport scopedfs_android "$APP_T" scopedfs
      APP_CANDS+=(app_shared); DIR_OF[app_shared]="$RUN/mnt-scopedfs_android"
      # The view, as the app sees it; a scopedfsd without views answers
      # ENOENT or EACCES for .apps.
      if as_app --dir="$RUN/mnt-scopedfs_android" --workload=stat \
          --stat_path=".apps/$APP_UID" --iters=1 >/dev/null 2>&1; then
        # Measured as a sandbox gives it to the app: bound at a path of its
        # own in a private mount namespace (as_app_in_view), so path walks
        # start at the view's root. Through MNT/.apps/UID/... every walk
        # would also pass the mount root, whose ACL the kernel never caches
        # (README, "Per-app views").
        mkdir -p "$RUN/sdcard"
        APP_CANDS+=(app_view); DIR_OF[app_view]="$RUN/sdcard"
        VIEW_NOTE=""
      else
        VIEW_NOTE="n/a (no .apps view in this scopedfsd)"
        log "the app view column is $VIEW_NOTE"
      fi
      # The same daemon again, with a shadow policy: what deciding every
      # request twice costs.
      if [ "$SHADOW" = 1 ]; then
        sargs=("${args[@]}")
        sargs[1]=--state_dir="$RUN/state-scopedfs_shadow"
        mkdir -p "$RUN/state-scopedfs_shadow"
        if mount_fs scopedfs_shadow "${SCOPEDFSD[@]}" "${sargs[@]}" \
            "$BACKING" "$RUN/mnt-scopedfs_shadow"; then
          ctl=("$SCOPEDCTL" --state_dir="$RUN/state-scopedfs_shadow")
          sfile=$SHADOW_FILE
          if [ -z "$sfile" ]; then
            sfile="$RUN/shadow.textproto"
            "${ctl[@]}" policy get >"$sfile" || die "cannot read the shadow mount's policy"
          fi
          "${ctl[@]}" policy shadow "$sfile" >&2 || die "cannot install the shadow policy"
          APP_CANDS+=(app_shadow); DIR_OF[app_shadow]="$RUN/mnt-scopedfs_shadow"
        else
          log "WARNING: the shadow column did not mount"
        fi
      fi
    else
      log "WARNING: skipping the Android default policy columns (shared, view)"
      VIEW_NOTE="n/a (scopedfsd with the default policy did not mount)"
    fi
  fi
fi

# -------------------------------------------------------------------- runs
RAW="$RUN/results.tsv"
: >"$RAW"
common=(--file_size_mb="$FILE_MB" --entries="$ENTRIES" --write_mb="$WRITE_MB"
        --meta_files="$META_FILES")
# Timed passes per fsbench run: cheap passes (a warm 1 GiB read() takes ~50 ms)
# get more of them, which makes their median steadier.
passes_for() {
  if [ -n "$PASSES" ]; then echo "$PASSES"; return; fi
  case "$1" in
    seqread) echo 15 ;;
    mmapread) echo 7 ;;
    readdir) echo 30 ;;
    metamix) echo 3 ;;
    *) echo 5 ;;
  esac
}
iters_for() {
  case "$1" in
    openclose) echo "--iters=$ITERS_OPENCLOSE" ;;
    stat) echo "--iters=$ITERS_STAT" ;;
    randread) echo "--iters=$ITERS_RANDREAD" ;;
    readdir) echo "--iters=$(passes_for readdir)" ;;
    metamix) echo "--iters=$ITERS_METAMIX" ;;
    *) echo "--passes=$(passes_for "$1")" ;;
  esac
}
n=${#CANDS[@]}
START=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
case "$LOAD_START" in
  0.[0-4]*) ;;
  *) log "WARNING: load average is $LOAD_START; other work on this machine skews the results" ;;
esac
# Ring completions before the workloads, per transport-checked mount: the
# footer shows how many requests went through io_uring during them.
declare -A CQE0=()
for c in "${!T_OF[@]}"; do CQE0[$c]=$(ring_cqes "${PID[$c]}"); done
if [ "$LOAD" = 1 ]; then
  log "starting $LOAD_N background gcc -O2 -c workers (--load)"
  start_load
  sleep 2  # Let them reach a steady state before the first measurement.
fi
# ext4 without a journal (this VM's root file system) skips, for every new
# inode, the free inodes deleted in the last dirty_expire_centisecs (30 s),
# reading each one's inode block (fs/ext4/ialloc.c, recently_deleted): while
# files are being deleted, every create (native or through a daemon) costs
# ~0.3-1 ms, and how much depends on what ran before. metamix then measures
# that more than the file systems: say so.
METAMIX_NOTE=""
if [[ " ${WL[*]-} " == *" metamix "* ]] &&
   [ "$(findmnt -no FSTYPE -T "$BACKING" 2>/dev/null)" = ext4 ]; then
  bdev=$(findmnt -no SOURCE -T "$BACKING" 2>/dev/null)
  if [ "$(cat "/sys/fs/ext4/${bdev##*/}/journal_task" 2>/dev/null)" = "<none>" ]; then
    log "WARNING: metamix on $BACKING: ext4 without a journal scans recently deleted" \
        "inodes on every create (bench/README.md, metamix); for the daemons' own cost" \
        "use --dir= on tmpfs or a journaled file system"
    METAMIX_NOTE="metamix: the data is on ext4 without a journal: creates scan recently deleted inodes (bench/README.md)"
  fi
fi
for w in ${WL[@]+"${WL[@]}"}; do
  for ((r = 0; r < ROUNDS; r++)); do
    for ((k = 0; k < n; k++)); do
      c=${CANDS[$(((k + r) % n))]}   # rotate the order every round
      log "$w round $((r + 1))/$ROUNDS: $c"
      if ! out=$("$FSBENCH" --dir="${DIR_OF[$c]}" --workload="$w" "${common[@]}" \
                 --passes="$(passes_for "$w")" "$(iters_for "$w")" 9>&-); then
        die "fsbench --workload=$w failed on $c (${DIR_OF[$c]})"
      fi
      awk -v c="$c" -v r="$r" '!/^#/ && NF == 3 { print c "\t" r "\t" $1 "\t" $2 "\t" $3 }' \
          <<<"$out" >>"$RAW"
    done
  done
done
# The app section: read-only workloads on the camera roll, as the app. A
# failure on a scopedfs column (a policy or view that refuses the app) is
# reported and leaves that cell empty; on native or passthrough_hp it is a
# setup error.
APP_ITERS_READDIR=$(passes_for readdir)
for w in ${APP_WL[@]+"${APP_WL[@]}"}; do
  m=${#APP_CANDS[@]}
  for ((r = 0; r < ROUNDS; r++)); do
    for ((k = 0; k < m; k++)); do
      c=${APP_CANDS[$(((k + r) % m))]}
      log "app $w round $((r + 1))/$ROUNDS: ${c#app_} (uid $APP_UID)"
      case "$w" in
        openclose) it=$ITERS_OPENCLOSE ;;
        stat|statat) it=$ITERS_STAT ;;
        readdir) it=$APP_ITERS_READDIR ;;
      esac
      runner=as_app
      [ "$c" = app_view ] && runner=as_app_in_view
      if ! out=$($runner --dir="${DIR_OF[$c]}" --workload="$w" --photos \
                 --entries="$PHOTOS" --iters="$it"); then
        case "$c" in
          app_native|app_passthrough_hp)
            die "fsbench --workload=$w as uid $APP_UID failed on ${c#app_} (${DIR_OF[$c]})" ;;
        esac
        log "WARNING: app $w failed on ${c#app_} (${DIR_OF[$c]}); its cell stays empty"
        continue
      fi
      awk -v c="$c" -v r="$r" '!/^#/ && NF == 3 { print c "\t" r "\t" $1 "\t" $2 "\t" $3 }' \
          <<<"$out" >>"$RAW"
    done
  done
done
ELAPSED=$(($(date +%s) - START))
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
if [ "$LOAD" = 1 ]; then
  stop_load
  # A worker that stopped early (gcc failed) would have left the run unloaded.
  for ((i = 0; i < LOAD_N; i++)); do
    [ -s "$RUN/load/w$i/log" ] && log "WARNING: load worker $i: $(tail -1 "$RUN/load/w$i/log")"
  done
fi
# The transport footer: what each checked mount showed, and its io_uring
# completions during the workloads (0 on /dev/fuse, where it has no ring).
TRANSPORT_NOTE=""
for c in ${CANDS[@]+"${CANDS[@]}"} scopedfs_android; do
  [ -n "${T_OF[$c]:-}" ] || continue
  cqes=$(($(ring_cqes "${PID[$c]}") - ${CQE0[$c]:-0}))
  line="$c: ${TNOTE[$c]}; $cqes io_uring completions during the workloads"
  if [ "${T_OF[$c]}" = uring ] && [ "$cqes" -le 0 ]; then
    line+=" -- WRONG: no request went through its ring"
  elif [ "${T_OF[$c]}" = dev ] && [ "$cqes" -ne 0 ]; then
    line+=" -- WRONG: a /dev/fuse mount with ring completions"
  fi
  TRANSPORT_NOTE+="$line"$'\n'
done

# ------------------------------------------------------------------- table
HEADER="scopedfs benchmark  $(date -u '+%Y-%m-%d %H:%M:%SZ')  git $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$ROOT" && git diff --quiet HEAD 2>/dev/null || echo '+dirty')
kernel $(uname -r), $(nproc) CPUs; mode $([ "$QUICK" = 1 ] && echo quick || echo full): file ${FILE_MB} MiB, dir ${ENTRIES} entries, write ${WRITE_MB} MiB, ${ROUNDS} round(s)${PASSES:+ x $PASSES pass(es)}, ${ELAPSED}s${TRANSPORT_LIST:+; transports $TRANSPORT_LIST}
load average before $LOAD_START, after $LOAD_END$([ "$LOAD" = 1 ] && echo ": LOADED by $LOAD_N gcc -O2 -c workers in a loop (like a parallel build)" || echo " (the benchmark itself adds ~1-2)")
data $BACKING; passthrough_hp: $PTHP_BIN (libfuse 3.18.3)${THREADS:+; threads $THREADS}${SCOPEDFSD_FLAGS:+; scopedfsd flags: $SCOPEDFSD_FLAGS}${METAMIX_NOTE:+
$METAMIX_NOTE}"
if [ "$AS_APP" = 1 ]; then
  HEADER+="
app section: uid $APP_UID gid $APP_UID over $PHOTOS photos in DCIM/Camera; policy $([ -n "$POLICY_FILE" ] && echo "$POLICY_FILE" || echo "embedded Android default")${APP_T:+; transport $APP_T}"
fi
cp "$RAW" "$OUT_DIR/latest.raw.tsv"
python3 - "$RAW" "${CANDS[*]}" "$HAVE_SCOPEDFS" "$HEADER" "${APP_CANDS[*]}" "$APP_UID" \
    "$VIEW_NOTE" "$AS_APP" "$TRANSPORT_LIST" "$LOAD" "$TRANSPORT_NOTE" \
    >"$OUT_DIR/latest.txt" <<'PY'
import statistics
import sys

raw, cands, have_scopedfs, header = sys.argv[1], sys.argv[2].split(), sys.argv[3], sys.argv[4]
app_cands, app_uid, view_note, as_app = sys.argv[5].split(), sys.argv[6], sys.argv[7], sys.argv[8] == "1"
vals = {}  # (cand, metric) -> values, one per round, in round order
units = {}
for line in open(raw):
    c, rnd, metric, value, unit = line.rstrip("\n").split("\t")
    vals.setdefault((c, metric), []).append((int(rnd), float(value)))
    units[metric] = unit
vals = {k: [v for _, v in sorted(rv)] for k, rv in vals.items()}
rounds = max((len(v) for v in vals.values()), default=0)

transports = [t for t in sys.argv[9].split(",") if t]
loaded = sys.argv[10] == "1"
transport_note = sys.argv[11].strip()
named = bool(transports)  # --transport: columns named BASE/T
T = transports or [""]


def cn(base, t):
    """A column's name (bench/run.sh's cand): BASE/T, passthrough_hp as pthp."""
    if not t:
        return base
    return ("pthp" if base == "passthrough_hp" else base) + "/" + t


ROWS = [  # metric, label, higher_is_better
    ("seqread.median", "seqread 1MiB warm", True),
    ("randread.median", "randread 4KiB warm", True),
    ("mmapread.median", "mmapread warm", True),
    ("seqwrite.buffered", "seqwrite 1MiB (no fsync)", True),
    ("seqwrite.fsync", "seqwrite 1MiB + fsync", True),
    ("openclose.p50", "open+close p50", False),
    ("openclose.p99", "open+close p99", False),
    ("openclose.mean", "open+close mean", False),
    ("stat.p50", "stat p50", False),
    ("stat.mean", "stat mean", False),
    ("readdir.median", "readdir (listing)", False),
    ("metamix.ops", "metamix ops/s", True),
    ("metamix.ops_no_rmdir", "metamix ops/s w/o rmdir", True),
    ("metamix.create.mean", "metamix create+write mean", False),
    ("metamix.stat.mean", "metamix stat mean", False),
    ("metamix.rename.mean", "metamix rename mean", False),
    ("metamix.unlink.mean", "metamix unlink mean", False),
    ("metamix.mkdir.mean", "metamix mkdir mean", False),
    ("metamix.rmdir.mean", "metamix rmdir mean", False),
    ("metamix.readdir.mean", "metamix readdir mean", False),
]


def get(c, m):
    v = vals.get((c, m))
    return statistics.median(v) if v else None


def spread(c, m):
    """(max - min) / median over rounds, or None with fewer than 2 rounds."""
    v = vals.get((c, m))
    if not v or len(v) < 2:
        return None
    med = statistics.median(v)
    return (max(v) - min(v)) / med if med else None


def fmt(v):
    if v is None:
        return "n/a"
    return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"


def ratio(a, b):
    return "n/a" if a is None or b is None or b == 0 else f"{a / b:.3f}"


SFS = [cn("scopedfs", t) for t in T]
PTHP = [cn("passthrough_hp", t) for t in T]
core_cols = ["native"] + SFS + PTHP  # the spread is taken over these
value_cols = list(core_cols)
for base in ("scopedfs_nopt", "scopedfs_policy"):
    value_cols += [cn(base, t) for t in T if cn(base, t) in cands]
with_policy = any(cn("scopedfs_policy", t) in cands for t in T)
ratio_cols = []  # title, numerator, denominator
for t in T:
    s, p = cn("scopedfs", t), cn("passthrough_hp", t)
    pre = f"{t}: " if named else ""
    ratio_cols += [(pre + "scopedfs/native", s, "native"),
                   (pre + ("scopedfs/pthp" if named else "scopedfs/passthrough_hp"), s, p),
                   (pre + ("pthp/native" if named else "passthrough_hp/native"), p, "native")]
    if with_policy:
        ratio_cols.append((pre + "policy/scopedfs", cn("scopedfs_policy", t), s))
# uring/dev: each daemon's column on io_uring over the same on /dev/fuse.
both_t = "dev" in transports and "uring" in transports
tr_cols = []
if both_t:
    for base in ("scopedfs", "passthrough_hp", "scopedfs_nopt", "scopedfs_policy"):
        u, d = cn(base, "uring"), cn(base, "dev")
        if base in ("scopedfs", "passthrough_hp") or (u in cands and d in cands):
            tr_cols.append((u.split("/")[0] + " uring/dev", u, d))


def spread_cell(cols, m):
    spreads = [x for x in (spread(c, m) for c in cols) if x is not None]
    return f"{100 * max(spreads):.0f}%" if spreads else "n/a"


def build(cols_ratios, with_values):
    """Rows of a table: values of value_cols and/or the given ratios."""
    out = []
    for metric, label, higher in ROWS:
        if not any((c, metric) in vals for c in cands):
            continue
        row = [label, units[metric], "higher" if higher else "lower"]
        if with_values:
            row += [fmt(get(c, metric)) for c in value_cols]
        row += [ratio(get(a, metric), get(b, metric)) for _, a, b in cols_ratios]
        row.append(spread_cell(core_cols, metric))
        out.append(row)
    return out


head = ["workload", "unit", "better"]
if named:
    # Values and ratios in tables of their own: one would be too wide.
    cols = head + value_cols + ["spread"]
    table = build([], True)
    ratio_table = build(ratio_cols, False)
    ratio_head = head + [t for t, _, _ in ratio_cols] + ["spread"]
else:
    cols = head + value_cols + [t for t, _, _ in ratio_cols] + ["spread"]
    table = build(ratio_cols, True)
tr_table = build(tr_cols, False) if tr_cols else []


def line(r, widths):
    return " | ".join(str(x).ljust(w) if i < 3 else str(x).rjust(w)
                      for i, (x, w) in enumerate(zip(r, widths)))


def print_table(cols, table):
    widths = [max(len(str(r[i])) for r in [cols] + table) for i in range(len(cols))]
    print(line(cols, widths))
    print("-+-".join("-" * w for w in widths))
    for r in table:
        print(line(r, widths))


def per_round(c, m):
    return " ".join(fmt(v) for v in vals.get((c, m), [])) or "n/a"


def paired(a, b, m):
    """Per-round ratios a/b: each round ran a and b back to back."""
    va, vb = vals.get((a, m), []), vals.get((b, m), [])
    return [x / y for x, y in zip(va, vb) if y]


def goal(desc, ok, rounds_ok, rounds_total, detail):
    state = "n/a " if ok is None else ("PASS" if ok else "FAIL")
    note = ""
    if ok is not None and rounds_total > 1:
        note = f"  ({rounds_ok}/{rounds_total} rounds pass"
        if 0 < rounds_ok < rounds_total:
            note += ": within noise, rerun with more --rounds"
        note += ")"
    print(f"  [{state}] {desc}{note}")
    if detail:
        print(f"         per round: {detail}")


print(header)
if not table:
    print(f"Values: median over {rounds} round(s).")
else:
    print(f"Values: median over {rounds} round(s). Ratios are value ratios in the row's unit:")
    print("  'higher' rows (throughput): ratio > 1 means scopedfs is faster;")
    print("  'lower' rows (latency/time): time ratio, < 1 means scopedfs is faster.")
    print("spread = largest (max-min)/median over rounds among native, scopedfs and")
    print("  passthrough_hp: the noise level; smaller ratio differences are not significant.")
    if named:
        print("Columns BASE/T: that daemon on transport T (dev: /dev/fuse read/write; uring:")
        print("  fuse-over-io-uring); pthp is passthrough_hp. All ran in the same rounds.")
if loaded:
    print("LOADED: background gcc -O2 -c workers compiled in a loop during every workload.")
if have_scopedfs != "1" or SFS[0] not in cands:
    print("NOTE: scopedfsd was not available; scopedfs columns are n/a.")
if table:
    print()
    print_table(cols, table)
    if named:
        print()
        print("Ratios per transport (each column against the same transport's):")
        print_table(ratio_head, ratio_table)
    if tr_table:
        print()
        print("Transport: uring/dev, the same daemon on fuse-over-io-uring over /dev/fuse")
        print("  ('lower' rows: < 1 means io_uring is faster; 'higher' rows: > 1 means it is):")
        print_table(head + [t for t, _, _ in tr_cols] + ["spread"], tr_table)

    print()
    print("Done-when goals (scopedfs with passthrough; per-round ratios pair the back-to-back runs):")
    for t in T:
        s, p = cn("scopedfs", t), cn("passthrough_hp", t)
        pre = f"[{t}] " if named else ""
        pname = "pthp" if named else "passthrough_hp"
        for m, name in (("seqread.median", "sequential read"), ("mmapread.median", "mmap read")):
            sv, nv = get(s, m), get("native", m)
            r = None if sv is None or nv is None else sv / nv
            pr = paired(s, "native", m)
            goal(f"{pre}{name} >= 0.97x native: " + ("n/a" if r is None else f"{r:.3f}x"),
                 None if r is None else r >= 0.97, sum(x >= 0.97 for x in pr), len(pr),
                 None if r is None else
                 f"{s} {per_round(s, m)} | native {per_round('native', m)} {units[m]}"
                 f" | ratio {' '.join(f'{x:.3f}' for x in pr)}")
        for m in ("openclose.p50", "openclose.mean"):
            sv, pv = get(s, m), get(p, m)
            pr = paired(s, p, m)
            goal(f"{pre}open+close {m.split('.')[1]} <= {pname}'s: "
                 + ("n/a" if sv is None or pv is None else f"{sv:.3g} us vs {pv:.3g} us"),
                 None if sv is None or pv is None else sv <= pv, sum(x <= 1 for x in pr), len(pr),
                 None if sv is None or pv is None else
                 f"{s} {per_round(s, m)} | {p} {per_round(p, m)} us"
                 f" | time ratio {' '.join(f'{x:.3f}' for x in pr)}")
    if both_t:
        # The issue's io_uring target: open+close p50 at most 0.8x /dev/fuse's
        # on a quiet machine and 0.6x loaded, p99 lower in both.
        limit, other = (0.6, "0.8x on a quiet machine: run without --load") if loaded else \
            (0.8, "0.6x loaded: run with --load")
        where = "loaded" if loaded else "quiet"
        print()
        print(f"io_uring goals ({where} machine; the other goal is {other}):")
        u, d = cn("scopedfs", "uring"), cn("scopedfs", "dev")
        for m, lim, strict, what in (("openclose.p50", limit, False, f"<= {limit}x"),
                                     ("openclose.p99", 1.0, True, "lower than")):
            uv, dv = get(u, m), get(d, m)
            r = None if uv is None or dv is None or dv == 0 else uv / dv
            pr = paired(u, d, m)
            passes = (lambda x: x < lim) if strict else (lambda x: x <= lim + 1e-9)
            goal(f"scopedfs io_uring open+close {m.split('.')[1]} {what} /dev/fuse's ({where}): "
                 + ("n/a" if r is None else f"{fmt(uv)} vs {fmt(dv)} us = {r:.3f}x"),
                 None if r is None else passes(r), sum(passes(x) for x in pr), len(pr),
                 None if r is None else
                 f"{u} {per_round(u, m)} | {d} {per_round(d, m)} us"
                 f" | time ratio {' '.join(f'{x:.3f}' for x in pr)}")
        pu, pd = cn("passthrough_hp", "uring"), cn("passthrough_hp", "dev")
        print("         for reference (not a goal), passthrough_hp uring/dev: open+close p50 "
              f"{ratio(get(pu, 'openclose.p50'), get(pd, 'openclose.p50'))}x, p99 "
              f"{ratio(get(pu, 'openclose.p99'), get(pd, 'openclose.p99'))}x")
if transport_note:
    print()
    print("Transport check: scopedfsd reports its transport in the transport_io_uring gauge")
    print("  (scopedctl stats); passthrough_hp reports it nowhere, so for both daemons the")
    print("  evidence is also libfuse's io_uring threads (fuse-ring-N, started only when the")
    print("  kernel granted io_uring in INIT) and the completions on their rings")
    print("  (CqTail in /proc/PID/fdinfo): one per FUSE request over io_uring.")
    for l in transport_note.splitlines():
        print(f"  {l}")

# ------------------------------------------------ the app section (--as-app)
if not as_app:
    sys.exit(0)
APP_COLS = [  # cand, column title
    ("app_native", "native"),
    ("app_passthrough_hp", "passthrough_hp"),
    ("app_allow_all", "allow-all"),
    ("app_shared", "shared"),
    ("app_view", "view"),
    ("app_shadow", "shadow"),
]
APP_ROWS = [  # metric, label (all: lower is better)
    ("openclose.p50", "open+close p50"),
    ("openclose.mean", "open+close mean"),
    ("stat.p50", "stat p50 (full path)"),
    ("stat.mean", "stat mean (full path)"),
    ("statat.p50", "statat p50 (dir fd)"),
    ("statat.mean", "statat mean (dir fd)"),
    ("readdir.median", "readdir DCIM/Camera"),
]
APP_RATIOS = [  # title, numerator, denominator
    ("view/native", "app_view", "app_native"),
    ("view/passthrough_hp", "app_view", "app_passthrough_hp"),
    ("view/allow-all", "app_view", "app_allow_all"),
    ("shared/native", "app_shared", "app_native"),
    ("shared/allow-all", "app_shared", "app_allow_all"),
    ("shadow/shared", "app_shadow", "app_shared"),
]


def cell(c, m):
    if c not in app_cands:
        return "n/a"
    v = get(c, m)
    return "error" if v is None else fmt(v)


app_table = []
for metric, label in APP_ROWS:
    if not any((c, metric) in vals for c in app_cands):
        continue
    row = [label, units[metric], "lower"] + [cell(c, metric) for c, _ in APP_COLS]
    row += [ratio(get(a, metric), get(b, metric)) for _, a, b in APP_RATIOS]
    spreads = [x for x in (spread(c, metric) for c in app_cands) if x is not None]
    row.append(f"{100 * max(spreads):.0f}%" if spreads else "n/a")
    app_table.append(row)

print()
print(f"As a media app: uid {app_uid}, read-only, on DCIM/Camera (the photos are")
print("  DCIM/Camera/IMG_*.jpg; open+close, stat and statat on IMG_00001.jpg).")
print("  native, passthrough_hp, allow-all (scopedfsd allowing everything) and shared (scopedfsd")
print("  with the Android default policy) use MNT/DCIM/...; view is the same scopedfsd's")
print(f"  per-app view MNT/.apps/{app_uid}, bound at a path of its own in a private mount")
print("  namespace, as a sandbox runs the app. stat resolves the whole path each call;")
print("  statat is fstatat(fd of DCIM/Camera, name), how scanners (find, fts) stat.")
print("  Ratios are time ratios (< 1: the first is faster); spread over all app columns.")
if view_note:
    print(f"  view: {view_note}")
print()
app_cols = (["workload", "unit", "better"] + [t for _, t in APP_COLS] +
            [t for t, _, _ in APP_RATIOS] + ["spread"])
print_table(app_cols, app_table)

APP_GOALS = [  # description, candidate, reference, metric, limit
    ("per-app view: stat p50 <= 1.3x native", "app_view", "app_native", "stat.p50", 1.3),
    ("per-app view: listing <= 1.0x passthrough_hp's", "app_view", "app_passthrough_hp",
     "readdir.median", 1.0),
    ("per-app view: open+close p50 <= allow-all's", "app_view", "app_allow_all",
     "openclose.p50", 1.0),
    ("shared mount: stat p50 <= 3x native", "app_shared", "app_native", "stat.p50", 3.0),
    ("shared mount: listing <= 3x native", "app_shared", "app_native", "readdir.median", 3.0),
    ("shared mount: open+close p50 <= 1.1x allow-all's", "app_shared", "app_allow_all",
     "openclose.p50", 1.1),
    ("shadow policy: open+close p50 <= 1.1x without", "app_shadow", "app_shared",
     "openclose.p50", 1.1),
    ("shadow policy: stat p50 <= 1.1x without", "app_shadow", "app_shared", "stat.p50", 1.1),
    ("shadow policy: statat p50 <= 1.1x without", "app_shadow", "app_shared",
     "statat.p50", 1.1),
]
NAMES = dict(APP_COLS)
print()
print(f"Done-when goals, media app uid {app_uid} under the Android default policy "
      "(medians; per-round ratios pair the back-to-back runs):")
for desc, a, b, m, limit in APP_GOALS:
    if a == "app_shadow" and a not in app_cands:
        continue  # no --shadow
    va, vb = get(a, m), get(b, m)
    r = None if va is None or vb is None or vb == 0 else va / vb
    why = ""
    if r is None:
        why = view_note if a == "app_view" and view_note else "no value"
    pr = paired(a, b, m)
    detail = None
    if r is not None:
        detail = (f"{NAMES[a]} {per_round(a, m)} | {NAMES[b]} {per_round(b, m)} {units[m]}"
                  f" | time ratio {' '.join(f'{x:.3f}' for x in pr)}")
        if m == "stat.p50" and get(a, "statat.p50") is not None and get(b, "statat.p50"):
            detail += (f"\n         (not the goal: statat p50 {fmt(get(a, 'statat.p50'))} vs "
                       f"{fmt(get(b, 'statat.p50'))} us = "
                       f"{get(a, 'statat.p50') / get(b, 'statat.p50'):.3f}x)")
    goal(f"{desc}: " + (why if r is None else
                        f"{fmt(va)} vs {fmt(vb)} {units[m]} = {r:.3f}x"),
         None if r is None else r <= limit + 1e-9, sum(x <= limit + 1e-9 for x in pr), len(pr),
         detail)
PY
if [ -n "${DIR_OF[app_shadow]:-}" ]; then
  {
    echo
    echo "The shadow column's report (every decision it made was decided twice):"
    "$SCOPEDCTL" --state_dir="$RUN/state-scopedfs_shadow" policy shadow report --top=3 |
      sed 's/^/  /'
  } >>"$OUT_DIR/latest.txt"
fi
echo
cat "$OUT_DIR/latest.txt"
echo
log "table written to bench/out/latest.txt (raw per-round values: bench/out/latest.raw.tsv)"

# ------------------------------------------------------------------- chart
# bench/chart.py draws latest.raw.tsv as bench/out/latest.png with gnuplot; a
# missing gnuplot costs the chart only, never the benchmark.
rm -f "$OUT_DIR/latest.png"
if ! command -v gnuplot >/dev/null 2>&1; then
  log "WARNING: gnuplot not found (apt-get install gnuplot-nox, or ./setup.sh); no chart"
elif python3 "$ROOT/bench/chart.py" --header="$HEADER" -o "$OUT_DIR/latest.png" \
     "$OUT_DIR/latest.raw.tsv" 9>&-; then
  log "chart written to bench/out/latest.png"
else
  log "WARNING: bench/chart.py failed; no chart"
fi
