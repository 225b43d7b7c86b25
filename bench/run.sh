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
#                    ("none": only the --as-app section)
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
APP_UID=1010001
APP_WORKLOADS="openclose,stat,statat,readdir"
DO_BUILD=1
SCOPEDFSD_OVERRIDE=""
SCOPEDFSD_FLAGS=""

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
    --no-build) DO_BUILD=0 ;;
    --scopedfsd=*) SCOPEDFSD_OVERRIDE=${arg#*=} ;;
    --scopedfsd_flags=*) SCOPEDFSD_FLAGS=${arg#*=} ;;
    -h|--help) usage 0 ;;
    *) echo "run.sh: unknown argument: $arg" >&2; usage 2 ;;
  esac
done

if [ "$QUICK" = 1 ]; then
  FILE_MB=64; ENTRIES=1000; WRITE_MB=64; PHOTOS=1000
  ROUNDS=${ROUNDS:-1}; PASSES=${PASSES:-2}
  ITERS_OPENCLOSE=5000; ITERS_STAT=20000; ITERS_RANDREAD=20000
else
  FILE_MB=1024; ENTRIES=10000; WRITE_MB=512; PHOTOS=10000
  ROUNDS=${ROUNDS:-5}
  ITERS_OPENCLOSE=50000; ITERS_STAT=200000; ITERS_RANDREAD=200000
fi
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "--rounds must be a positive integer"
[ -z "$PASSES" ] || [[ "$PASSES" =~ ^[1-9][0-9]*$ ]] || die "--passes must be a positive integer"
[ -z "$THREADS" ] || [[ "$THREADS" =~ ^[1-9][0-9]*$ ]] || die "--threads must be a positive integer"
WL=()
[ "$WORKLOADS" = none ] || IFS=, read -r -a WL <<<"$WORKLOADS"
for w in ${WL[@]+"${WL[@]}"}; do
  case "$w" in seqread|randread|mmapread|seqwrite|openclose|stat|readdir) ;;
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

RUN=$(mktemp -d "$DATA_DIR/run.XXXXXX")
declare -A MNT=() PID=()
CLEANED=0
cleanup() {
  [ "$CLEANED" = 1 ] && return
  CLEANED=1
  trap '' INT TERM
  local c
  for c in "${!MNT[@]}"; do
    unmount_one "${MNT[$c]}" "${PID[$c]:-}"
  done
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
    log "bazel build //daemon:scopedfsd"
    if (cd "$ROOT" && bazel build //daemon:scopedfsd) >"$OUT_DIR/logs/build-scopedfsd.log" 2>&1 9>&-; then
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

# -------------------------------------------------------------------- data
need_mb=$((WRITE_MB + 64))
[ -f "$BACKING/big-${FILE_MB}M.bin" ] || need_mb=$((need_mb + FILE_MB))
avail_mb=$(df -Pm "$DATA_DIR" | awk 'NR == 2 { print $4 }')
[ "$avail_mb" -ge "$need_mb" ] || die "$DATA_DIR: ${avail_mb} MiB free, need ${need_mb} MiB"
log "preparing data in $BACKING (${FILE_MB} MiB file, ${ENTRIES} entries)"
"$FSBENCH" --dir="$BACKING" --workload=prepare --file_size_mb="$FILE_MB" \
    --entries="$ENTRIES" 9>&- | sed 's/^# /  /' >&2
# Leftover write targets of an interrupted earlier run.
rm -f "$BACKING"/seqwrite-*.tmp
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
  local mnt="${*: -1}" logf="$OUT_DIR/logs/$name.log" i
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
  log "ERROR: $name did not mount; last lines of bench/out/logs/$name.log:"
  tail -20 "$logf" >&2 || true
  return 1
}

CANDS=(native)
declare -A DIR_OF=([native]="$BACKING")
# Column order: native, scopedfs, passthrough_hp, [scopedfs_nopt], [scopedfs_policy].
extra=()
[ -n "$SCOPEDFSD_FLAGS" ] && read -r -a extra <<<"$SCOPEDFSD_FLAGS"
# The scopedfs columns allow everything (the backing dir's own permissions
# still apply): they measure the file system, not a policy.
printf 'default_action: ALLOW\n' >"$RUN/allow_all.textproto"
ALLOW_ALL=(--policy="$RUN/allow_all.textproto")
if [ "$HAVE_SCOPEDFS" = 1 ]; then
  args=(--foreground --state_dir="$RUN/state-scopedfs" "${ALLOW_ALL[@]}")
  [ -n "$THREADS" ] && args+=(--threads="$THREADS")
  args+=(${extra[@]+"${extra[@]}"})
  mkdir -p "$RUN/state-scopedfs"
  if mount_fs scopedfs "${SCOPEDFSD[@]}" "${args[@]}" --passthrough=true \
      "$BACKING" "$RUN/mnt-scopedfs"; then
    CANDS+=(scopedfs); DIR_OF[scopedfs]="$RUN/mnt-scopedfs"
  else
    log "WARNING: skipping the scopedfs column"
  fi
fi
args=(--foreground)
[ -n "$THREADS" ] && args+=(--num-threads "$THREADS")
# The app's uid must get in too (passthrough_hp has no default_permissions:
# it serves every caller as root; the workloads there only read).
[ "$AS_APP" = 1 ] && args+=(-o allow_other)
mount_fs passthrough_hp "$PTHP_BIN" "${args[@]}" "$BACKING" "$RUN/mnt-passthrough_hp" \
  || die "passthrough_hp failed to mount"
CANDS+=(passthrough_hp); DIR_OF[passthrough_hp]="$RUN/mnt-passthrough_hp"
if [ "$WITH_NOPT" = 1 ]; then
  if [ "$HAVE_SCOPEDFS" = 1 ]; then
    args=(--foreground --state_dir="$RUN/state-scopedfs_nopt" "${ALLOW_ALL[@]}")
    [ -n "$THREADS" ] && args+=(--threads="$THREADS")
    args+=(${extra[@]+"${extra[@]}"})
    mkdir -p "$RUN/state-scopedfs_nopt"
    if mount_fs scopedfs_nopt "${SCOPEDFSD[@]}" "${args[@]}" --passthrough=false \
        "$BACKING" "$RUN/mnt-scopedfs_nopt"; then
      CANDS+=(scopedfs_nopt); DIR_OF[scopedfs_nopt]="$RUN/mnt-scopedfs_nopt"
    else
      log "WARNING: skipping the scopedfs_nopt column"
    fi
  else
    log "WARNING: --nopassthrough ignored: no scopedfsd binary"
  fi
fi

if [ "$WITH_POLICY" = 1 ] && [ "$HAVE_SCOPEDFS" = 1 ]; then
  args=(--foreground --state_dir="$RUN/state-scopedfs_policy")
  [ -n "$POLICY_FILE" ] && args+=(--policy="$POLICY_FILE")
  [ -n "$THREADS" ] && args+=(--threads="$THREADS")
  args+=(${extra[@]+"${extra[@]}"})
  mkdir -p "$RUN/state-scopedfs_policy"
  if mount_fs scopedfs_policy "${SCOPEDFSD[@]}" "${args[@]}" \
      "$BACKING" "$RUN/mnt-scopedfs_policy"; then
    CANDS+=(scopedfs_policy); DIR_OF[scopedfs_policy]="$RUN/mnt-scopedfs_policy"
  else
    log "WARNING: skipping the scopedfs_policy column"
  fi
fi

# The app section's columns (cands app_*, in this order): native,
# passthrough_hp, the allow-all scopedfs mount, and a scopedfsd with the
# Android default policy, once through the shared mount and once through the
# app's view MNT/.apps/UID (when this scopedfsd has one).
APP_CANDS=()
VIEW_NOTE=""
if [ "$AS_APP" = 1 ]; then
  APP_CANDS=(app_native app_passthrough_hp)
  DIR_OF[app_native]=$BACKING
  DIR_OF[app_passthrough_hp]=${DIR_OF[passthrough_hp]}
  if [ -n "${DIR_OF[scopedfs]:-}" ]; then
    APP_CANDS+=(app_allow_all); DIR_OF[app_allow_all]=${DIR_OF[scopedfs]}
  fi
  VIEW_NOTE="n/a (no scopedfsd)"
  if [ "$HAVE_SCOPEDFS" = 1 ]; then
    args=(--foreground --state_dir="$RUN/state-scopedfs_android")
    [ -n "$POLICY_FILE" ] && args+=(--policy="$POLICY_FILE")
    [ -n "$THREADS" ] && args+=(--threads="$THREADS")
    args+=(${extra[@]+"${extra[@]}"})
    mkdir -p "$RUN/state-scopedfs_android"
    if mount_fs scopedfs_android "${SCOPEDFSD[@]}" "${args[@]}" \
        "$BACKING" "$RUN/mnt-scopedfs_android"; then
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
    else
      log "WARNING: skipping the Android default policy columns (shared, view)"
      VIEW_NOTE="n/a (scopedfsd with the default policy did not mount)"
    fi
  fi
fi

# -------------------------------------------------------------------- runs
RAW="$RUN/results.tsv"
: >"$RAW"
common=(--file_size_mb="$FILE_MB" --entries="$ENTRIES" --write_mb="$WRITE_MB")
# Timed passes per fsbench run: cheap passes (a warm 1 GiB read() takes ~50 ms)
# get more of them, which makes their median steadier.
passes_for() {
  if [ -n "$PASSES" ]; then echo "$PASSES"; return; fi
  case "$1" in
    seqread) echo 15 ;;
    mmapread) echo 7 ;;
    readdir) echo 30 ;;
    *) echo 5 ;;
  esac
}
iters_for() {
  case "$1" in
    openclose) echo "--iters=$ITERS_OPENCLOSE" ;;
    stat) echo "--iters=$ITERS_STAT" ;;
    randread) echo "--iters=$ITERS_RANDREAD" ;;
    readdir) echo "--iters=$(passes_for readdir)" ;;
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

# ------------------------------------------------------------------- table
HEADER="scopedfs benchmark  $(date -u '+%Y-%m-%d %H:%M:%SZ')  git $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$ROOT" && git diff --quiet HEAD 2>/dev/null || echo '+dirty')
kernel $(uname -r), $(nproc) CPUs; mode $([ "$QUICK" = 1 ] && echo quick || echo full): file ${FILE_MB} MiB, dir ${ENTRIES} entries, write ${WRITE_MB} MiB, ${ROUNDS} round(s)${PASSES:+ x $PASSES pass(es)}, ${ELAPSED}s
load average before $LOAD_START, after $LOAD_END (the benchmark itself adds ~1-2)
data $BACKING; passthrough_hp: $PTHP_BIN (libfuse 3.18.3)${THREADS:+; threads $THREADS}${SCOPEDFSD_FLAGS:+; scopedfsd flags: $SCOPEDFSD_FLAGS}"
if [ "$AS_APP" = 1 ]; then
  HEADER+="
app section: uid $APP_UID gid $APP_UID over $PHOTOS photos in DCIM/Camera; policy $([ -n "$POLICY_FILE" ] && echo "$POLICY_FILE" || echo "embedded Android default")"
fi
cp "$RAW" "$OUT_DIR/latest.raw.tsv"
python3 - "$RAW" "${CANDS[*]}" "$HAVE_SCOPEDFS" "$HEADER" "${APP_CANDS[*]}" "$APP_UID" \
    "$VIEW_NOTE" "$AS_APP" >"$OUT_DIR/latest.txt" <<'PY'
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

ROWS = [  # metric, label, higher_is_better
    ("seqread.median", "seqread 1MiB warm", True),
    ("randread.median", "randread 4KiB warm", True),
    ("mmapread.median", "mmapread warm", True),
    ("seqwrite.buffered", "seqwrite 1MiB (no fsync)", True),
    ("seqwrite.fsync", "seqwrite 1MiB + fsync", True),
    ("openclose.p50", "open+close p50", False),
    ("openclose.mean", "open+close mean", False),
    ("stat.p50", "stat p50", False),
    ("stat.mean", "stat mean", False),
    ("readdir.median", "readdir (listing)", False),
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


value_cols = ["native", "scopedfs", "passthrough_hp"]
if "scopedfs_nopt" in cands:
    value_cols.append("scopedfs_nopt")
with_policy = "scopedfs_policy" in cands
if with_policy:
    value_cols.append("scopedfs_policy")
cols = (["workload", "unit", "better"] + value_cols +
        ["scopedfs/native", "scopedfs/passthrough_hp", "passthrough_hp/native"] +
        (["policy/scopedfs"] if with_policy else []) + ["spread"])
table = []
for metric, label, higher in ROWS:
    if not any((c, metric) in vals for c in cands):
        continue
    row = [label, units[metric], "higher" if higher else "lower"]
    row += [fmt(get(c, metric)) for c in value_cols]
    s, n, p = get("scopedfs", metric), get("native", metric), get("passthrough_hp", metric)
    row += [ratio(s, n), ratio(s, p), ratio(p, n)]
    if with_policy:
        row.append(ratio(get("scopedfs_policy", metric), s))
    spreads = [x for x in (spread(c, metric) for c in value_cols[:3]) if x is not None]
    row.append(f"{100 * max(spreads):.0f}%" if spreads else "n/a")
    table.append(row)

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
if have_scopedfs != "1" or "scopedfs" not in cands:
    print("NOTE: scopedfsd was not available; scopedfs columns are n/a.")
if table:
    print()
    print_table(cols, table)

    print()
    print("Done-when goals (scopedfs with passthrough; per-round ratios pair the back-to-back runs):")
    for m, name in (("seqread.median", "sequential read"), ("mmapread.median", "mmap read")):
        s, n = get("scopedfs", m), get("native", m)
        r = None if s is None or n is None else s / n
        pr = paired("scopedfs", "native", m)
        goal(f"{name} >= 0.97x native: " + ("n/a" if r is None else f"{r:.3f}x"),
             None if r is None else r >= 0.97, sum(x >= 0.97 for x in pr), len(pr),
             None if r is None else
             f"scopedfs {per_round('scopedfs', m)} | native {per_round('native', m)} {units[m]}"
             f" | ratio {' '.join(f'{x:.3f}' for x in pr)}")
    for m in ("openclose.p50", "openclose.mean"):
        s, p = get("scopedfs", m), get("passthrough_hp", m)
        pr = paired("scopedfs", "passthrough_hp", m)
        goal(f"open+close {m.split('.')[1]} <= passthrough_hp's: "
             + ("n/a" if s is None or p is None else f"{s:.3g} us vs {p:.3g} us"),
             None if s is None or p is None else s <= p, sum(x <= 1 for x in pr), len(pr),
             None if s is None or p is None else
             f"scopedfs {per_round('scopedfs', m)} | passthrough_hp {per_round('passthrough_hp', m)} us"
             f" | time ratio {' '.join(f'{x:.3f}' for x in pr)}")

# ------------------------------------------------ the app section (--as-app)
if not as_app:
    sys.exit(0)
APP_COLS = [  # cand, column title
    ("app_native", "native"),
    ("app_passthrough_hp", "passthrough_hp"),
    ("app_allow_all", "allow-all"),
    ("app_shared", "shared"),
    ("app_view", "view"),
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
]
NAMES = dict(APP_COLS)
print()
print(f"Done-when goals, media app uid {app_uid} under the Android default policy "
      "(medians; per-round ratios pair the back-to-back runs):")
for desc, a, b, m, limit in APP_GOALS:
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
