#!/usr/bin/env bash
# bench/audit.sh: what the audit trail costs (issue 5's benchmark).
#
# Mounts, over one backing directory: scopedfs with the audit trail on (the
# default), scopedfs with --audit=false, and libfuse's passthrough_hp; then
#   1. open+close latency, single-threaded (fsbench openclose), on native,
#      audit on, audit off and passthrough_hp, interleaved over rounds with
#      the order rotated; medians of p50 and mean;
#   2. sustained audited opens per second: CLIENTS parallel fsbench openclose
#      processes against each scopedfs mount; opens/s from the wall time,
#      audited opens/s from the daemon's stored-event counter (drops must be
#      0 for the number to count).
# Prints a table and writes it to bench/out/audit.txt, the raw values to
# bench/out/audit.raw.tsv and audit.throughput.tsv, and a chart of them to
# bench/out/audit.png (bench/chart.py; needs gnuplot). Mounts are removed on
# every exit.
#
# Usage: bench/audit.sh [--rounds=N] [--iters=N] [--clients=N] [--no-build]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT_DIR="$ROOT/bench/out"
PTHP_BIN="$ROOT/third_party/libfuse/prefix/bin/passthrough_hp"
ROUNDS=5
ITERS=50000
CLIENTS=4
DO_BUILD=1
for arg in "$@"; do
  case "$arg" in
    --rounds=*) ROUNDS=${arg#*=} ;;
    --iters=*) ITERS=${arg#*=} ;;
    --clients=*) CLIENTS=${arg#*=} ;;
    --no-build) DO_BUILD=0 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "audit.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done
die() { echo "audit.sh: $*" >&2; exit 1; }
log() { echo "audit.sh: $*" >&2; }
[ "$(id -u)" -eq 0 ] || die "must run as root (mounts FUSE file systems)"
[ -x "$PTHP_BIN" ] || die "$PTHP_BIN missing; run ./setup.sh"

if [ "$DO_BUILD" = 1 ]; then
  log "bazel build //bench:fsbench //daemon:scopedfsd"
  (cd "$ROOT" && bazel build //bench:fsbench //daemon:scopedfsd) >/dev/null 2>&1 \
    || die "build failed (run: bazel build //bench:fsbench //daemon:scopedfsd)"
fi
RUN=$(mktemp -d /var/tmp/scopedfs-audit-bench.XXXXXX)
mkdir -p "$OUT_DIR" "$RUN/bin"
cp "$ROOT/.bazel/bin/bench/fsbench" "$ROOT/.bazel/bin/daemon/scopedfsd" "$RUN/bin/"
FSBENCH="$RUN/bin/fsbench"
SCOPEDFSD=(env "LD_LIBRARY_PATH=$ROOT/third_party/libfuse/prefix/lib" "$RUN/bin/scopedfsd")
BACKING="$RUN/backing"
mkdir -p "$BACKING"
"$FSBENCH" --dir="$BACKING" --workload=prepare --file_size_mb=1 --entries=10 >/dev/null
printf 'default_action: ALLOW\n' >"$RUN/allow_all.textproto"

declare -A MNT=() PID=() STATE=()
cleanup() {
  trap '' INT TERM
  local c
  for c in "${!PID[@]}"; do kill -TERM "${PID[$c]}" 2>/dev/null || true; done
  sleep 0.5
  for c in "${!MNT[@]}"; do
    if awk -v m="${MNT[$c]}" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo; then
      umount -l "${MNT[$c]}" 2>/dev/null || true
    fi
  done
  for c in "${!PID[@]}"; do wait "${PID[$c]}" 2>/dev/null || true; done
  awk -v p="$RUN/" 'index($5, p) == 1 { f = 1 } END { exit !f }' /proc/self/mountinfo \
    || rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mount_fs() {  # NAME CMD... (last argument: the mount point)
  local name=$1; shift
  local mnt="${*: -1}" i
  mkdir -p "$mnt"
  "$@" >"$RUN/$name.log" 2>&1 &
  PID[$name]=$!
  MNT[$name]=$mnt
  for i in $(seq 200); do
    awk -v m="$mnt" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo && return 0
    kill -0 "${PID[$name]}" 2>/dev/null || break
    sleep 0.05
  done
  tail -5 "$RUN/$name.log" >&2
  die "$name did not mount"
}
for c in audit_on audit_off; do
  STATE[$c]="$RUN/state-$c"
  flag=--audit=true
  [ "$c" = audit_off ] && flag=--audit=false
  mount_fs "$c" "${SCOPEDFSD[@]}" --foreground --state_dir="${STATE[$c]}" \
    --policy="$RUN/allow_all.textproto" "$flag" "$BACKING" "$RUN/mnt-$c"
done
mount_fs passthrough_hp "$PTHP_BIN" --foreground "$BACKING" "$RUN/mnt-passthrough_hp"
declare -A DIR_OF=([native]="$BACKING" [audit_on]="$RUN/mnt-audit_on"
                   [audit_off]="$RUN/mnt-audit_off" [passthrough_hp]="$RUN/mnt-passthrough_hp")
CANDS=(native audit_on audit_off passthrough_hp)

# A counter of a scopedfs mount (SIGUSR1 dumps them to STATE/stats).
counter() {  # NAME COUNTER
  local c=$1 name=$2 seq0 i
  seq0=$(awk '$1 == "sequence" { print $2 }' "${STATE[$c]}/stats" 2>/dev/null || echo 0)
  kill -USR1 "${PID[$c]}"
  for i in $(seq 100); do
    [ "$(awk '$1 == "sequence" { print $2 }' "${STATE[$c]}/stats" 2>/dev/null || echo 0)" != "$seq0" ] && break
    sleep 0.02
  done
  awk -v n="$name" '$1 == n { print $2 }' "${STATE[$c]}/stats"
}

RAW="$RUN/latency.tsv"
: >"$RAW"
n=${#CANDS[@]}
for ((r = 0; r < ROUNDS; r++)); do
  for ((k = 0; k < n; k++)); do
    c=${CANDS[$(((k + r) % n))]}
    log "open+close round $((r + 1))/$ROUNDS: $c"
    "$FSBENCH" --dir="${DIR_OF[$c]}" --workload=openclose --iters="$ITERS" |
      awk -v c="$c" '!/^#/ && NF == 3 { print c "\t" $1 "\t" $2 }' >>"$RAW"
  done
done

THR="$RUN/throughput.tsv"
: >"$THR"
for c in audit_on audit_off; do
  stored0=$(counter "$c" audit_events_stored)
  t0=$(date +%s.%N)
  pids=()
  for ((i = 0; i < CLIENTS; i++)); do
    "$FSBENCH" --dir="${DIR_OF[$c]}" --workload=openclose --iters="$ITERS" >/dev/null &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  t1=$(date +%s.%N)
  # Let the writer catch up, then read the counters.
  for i in $(seq 100); do
    [ "$(counter "$c" audit_queue_depth)" = 0 ] && break
    sleep 0.05
  done
  t2=$(date +%s.%N)  # audited/s counts the catch-up time too
  stored1=$(counter "$c" audit_events_stored)
  dropped=$(counter "$c" 'audit_events_dropped{reason="queue_full"}')
  opens=$((CLIENTS * (ITERS + ITERS / 10)))  # fsbench warms up with iters/10
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$opens" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
    "$(awk -v a="$t0" -v b="$t2" 'BEGIN { print b - a }')" "$((stored1 - stored0))" "$dropped" >>"$THR"
done

python3 - "$RAW" "$THR" "$ROUNDS" "$ITERS" "$CLIENTS" <<'PY' | tee "$OUT_DIR/audit.txt"
import statistics, subprocess, sys
raw, thr, rounds, iters, clients = sys.argv[1:]
vals = {}
for line in open(raw):
    c, m, v = line.split("\t")
    vals.setdefault((c, m), []).append(float(v))
med = lambda c, m: statistics.median(vals[(c, m)])
cands = ["native", "audit_on", "audit_off", "passthrough_hp"]
print(f"scopedfs audit benchmark  {subprocess.getoutput('date -u +%FT%TZ')}  "
      f"git {subprocess.getoutput('git rev-parse --short HEAD')}  "
      f"kernel {subprocess.getoutput('uname -r')}, {subprocess.getoutput('nproc')} CPUs")
print(f"open+close of one file, single-threaded, {iters} iterations x {rounds} rounds (median of rounds), us")
print(f"{'metric':<16}" + "".join(f"{c:>16}" for c in cands) + f"{'on/off':>10}{'on/pthp':>10}")
for m in ("openclose.p50", "openclose.mean", "openclose.p99"):
    row = [med(c, m) for c in cands]
    print(f"{m:<16}" + "".join(f"{v:>16.2f}" for v in row) +
          f"{row[1] / row[2]:>10.3f}{row[1] / row[3]:>10.3f}")
print()
print(f"sustained opens: {clients} parallel clients x {iters}+{int(iters) // 10} open+close each")
print(f"{'mount':<12}{'opens':>10}{'seconds':>10}{'opens/s':>12}{'stored':>10}{'audited/s':>12}{'dropped':>9}")
for line in open(thr):
    c, opens, secs, secs_stored, stored, dropped = line.split()
    opens, secs, secs_stored, stored = int(opens), float(secs), float(secs_stored), int(stored)
    print(f"{c:<12}{opens:>10}{secs:>10.2f}{opens / secs:>12.0f}{stored:>10}"
          f"{stored / secs_stored:>12.0f}{dropped:>9}")
PY

# The chart: bench/out/audit.png (bench/chart.py; needs gnuplot, else skipped).
cp "$RAW" "$OUT_DIR/audit.raw.tsv"
cp "$THR" "$OUT_DIR/audit.throughput.tsv"
rm -f "$OUT_DIR/audit.png"
if ! command -v gnuplot >/dev/null 2>&1; then
  log "WARNING: gnuplot not found (apt-get install gnuplot-nox, or ./setup.sh); no chart"
elif python3 "$ROOT/bench/chart.py" --audit --throughput="$OUT_DIR/audit.throughput.tsv" \
     --header-from="$OUT_DIR/audit.txt" -o "$OUT_DIR/audit.png" "$OUT_DIR/audit.raw.tsv"; then
  log "chart written to bench/out/audit.png"
else
  log "WARNING: bench/chart.py failed; no chart"
fi
