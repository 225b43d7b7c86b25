#!/usr/bin/env bash
# Builds the libFuzzer targets of //fuzz with clang-14 (ASan + UBSan) in their
# own Bazel output base, then runs each for a while on a copy of its seed
# corpus. Exits non-zero if any target crashes, leaks, times out or breaks an
# invariant; the reproducer command of each finding is printed at the end.
#
#   fuzz/run.sh                      every target, 30 s each, one at a time
#   fuzz/run.sh --seconds=3600 --jobs=2
#   fuzz/run.sh --targets=policy_fuzz,png_fuzz --seconds=120
#
# Options:
#   --seconds=N    run time per target [30]
#   --jobs=N       targets fuzzed at the same time (one process each) [1]
#   --targets=A,B  a subset [all]
#   --out=DIR      where corpora, logs and crash artifacts go [a new temp dir]
#   --no-build     use the binaries already built
# Environment: SCOPEDFS_FUZZ_OUTPUT_BASE (Bazel output base for the clang
# build) [$HOME/.cache/bazel-fuzz].
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

ALL_TARGETS=(policy_fuzz redact_fuzz jpeg_fuzz png_fuzz exif_fuzz xmp_fuzz
             isobmff_fuzz audit_filter_fuzz admin_fuzz)
SECONDS_PER_TARGET=30
JOBS=1
TARGETS=("${ALL_TARGETS[@]}")
OUT=""
BUILD=1
for arg in "$@"; do
  case "$arg" in
    --seconds=*) SECONDS_PER_TARGET=${arg#*=} ;;
    --jobs=*) JOBS=${arg#*=} ;;
    --targets=*) IFS=, read -r -a TARGETS <<<"${arg#*=}" ;;
    --out=*) OUT=${arg#*=} ;;
    --no-build) BUILD=0 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$SECONDS_PER_TARGET" =~ ^[0-9]+$ && "$JOBS" =~ ^[1-9][0-9]*$ ]] || {
  echo "run.sh: --seconds and --jobs take numbers" >&2; exit 2; }
for t in "${TARGETS[@]}"; do
  [ -d "fuzz/corpus/$t" ] || { echo "run.sh: unknown target $t" >&2; exit 2; }
done

OUTPUT_BASE=${SCOPEDFS_FUZZ_OUTPUT_BASE:-$HOME/.cache/bazel-fuzz}
# Its own server, which goes away after 10 idle minutes.
BAZEL=(bazel --output_base="$OUTPUT_BASE" --max_idle_secs=600)
if [ "$BUILD" = 1 ]; then
  echo "run.sh: building //fuzz with clang-14 in $OUTPUT_BASE"
  "${BAZEL[@]}" build --config=fuzz //fuzz:all_targets
fi
BIN="$("${BAZEL[@]}" info --config=fuzz bazel-bin 2>/dev/null)/fuzz"

[ -n "$OUT" ] || OUT=$(mktemp -d "${TMPDIR:-/tmp}/scopedfs-fuzz.XXXXXX")
mkdir -p "$OUT"
echo "run.sh: ${#TARGETS[@]} targets, ${SECONDS_PER_TARGET}s each, $JOBS at a time; output in $OUT"

# Inputs longer than this are not tried (the seeds are all smaller).
max_len() {
  case "$1" in
    audit_filter_fuzz) echo 1024 ;;
    policy_fuzz|admin_fuzz) echo 8192 ;;
    *) echo 65536 ;;
  esac
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
[ -x /usr/lib/llvm-14/bin/llvm-symbolizer ] &&
  export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-/usr/lib/llvm-14/bin/llvm-symbolizer}

run_one() {
  local t=$1
  local corpus="$OUT/corpus/$t" artifacts="$OUT/artifacts/$t" log="$OUT/logs/$t.log"
  mkdir -p "$corpus" "$artifacts" "$OUT/logs" "$OUT/tmp/$t"
  # A copy: libFuzzer adds the inputs it finds to the first corpus directory.
  cp -r "$ROOT/fuzz/corpus/$t/." "$corpus/"
  local rc=0
  TMPDIR="$OUT/tmp/$t" "$BIN/$t" \
      -max_total_time="$SECONDS_PER_TARGET" -max_len="$(max_len "$t")" \
      -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$artifacts/" "$corpus" >"$log" 2>&1 || rc=$?
  local execs
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  if [ "$rc" = 0 ]; then
    echo "run.sh: $t ok (${execs:-?} runs, corpus $(ls "$corpus" | wc -l) files)"
  else
    echo "run.sh: $t FAILED (exit $rc); log: $log"
    grep -m3 -E 'ERROR: |runtime error|FUZZ_CHECK|SUMMARY' "$log" | sed 's/^/    /' || true
  fi
  return "$rc"
}

failed=()
pids=()
names=()
for t in "${TARGETS[@]}"; do
  run_one "$t" &
  pids+=($!)
  names+=("$t")
  # At most $JOBS at a time: wait for the oldest.
  if [ "${#pids[@]}" -ge "$JOBS" ]; then
    wait "${pids[0]}" || failed+=("${names[0]}")
    pids=("${pids[@]:1}")
    names=("${names[@]:1}")
  fi
done
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || failed+=("${names[$i]}")
done

if [ "${#failed[@]}" -eq 0 ]; then
  echo "run.sh: all ${#TARGETS[@]} targets ran ${SECONDS_PER_TARGET}s without a finding (output: $OUT)"
  exit 0
fi
echo
echo "run.sh: ${#failed[@]} target(s) failed: ${failed[*]}"
for t in "${failed[@]}"; do
  echo "  $t: log $OUT/logs/$t.log"
  for a in "$OUT/artifacts/$t"/*; do
    [ -e "$a" ] || continue
    echo "    artifact: $a"
    echo "    reproduce: $BIN/$t $a"
  done
done
echo "(binaries from: ${BAZEL[*]} build --config=fuzz //fuzz:all_targets; see fuzz/README.md)"
exit 1
