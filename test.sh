#!/usr/bin/env bash
# Sets the machine up (idempotent, see setup.sh) and runs every test, the way
# CI does (.ci/run):
#   1. bazel test //...                  unit, mount, fault, stress, tour tests,
#                                        over fuse-over-io-uring where the kernel
#                                        has it; then the mount tests again over
#                                        /dev/fuse (SCOPEDFS_TEST_TRANSPORT=dev)
#   2. packaging/deb_test.sh             the Debian package from step 1's binaries:
#                                        built, linted, installed with apt-get,
#                                        checked (a real mount), removed, purged
#   3. bazel test --config=asan //...    the same under ASan+UBSan, with the
#                                        long-running tests shortened
#   4. fuzz/run.sh --seconds=N           each libFuzzer target briefly (clang)
# Mount tests need root (CAP_SYS_ADMIN) and /dev/fuse; elsewhere they report
# SKIPPED loudly instead of passing.
#   ./test.sh [--quick]  (--quick: step 1 only)   extra args go to step 1's bazel
set -euo pipefail
cd "$(dirname "$0")"
QUICK=0
if [ "${1:-}" = "--quick" ]; then QUICK=1; shift; fi
./setup.sh
step() { echo "=== test.sh: $* ($(date -u +%T))"; }
# fuse-over-io-uring where the kernel has it (CONFIG_FUSE_IO_URING), said
# loudly where it does not.
URING=uring
if [ ! -e /sys/module/fuse/parameters/enable_uring ]; then
  echo "*** test.sh: SKIPPED the io_uring transport: this kernel has no fuse-over-io-uring ***"
  URING=dev
fi
step "1/4 bazel test //... (transport $URING)"
bazel test //... --test_env=SCOPEDFS_TEST_TRANSPORT=$URING "$@"
step "1/4 the mount tests again over /dev/fuse"
bazel test --test_env=SCOPEDFS_TEST_TRANSPORT=dev --test_tag_filters=local "$@" -- //...
[ "$QUICK" = 1 ] && exit 0
step "2/4 packaging/deb_test.sh (the .deb: build, lintian, install, remove, purge)"
# Needs root and apt; leaves the machine as it was. Uses the binaries of
# step 1 (.bazel/bin), so no new bazel build.
packaging/deb_test.sh
step "3/4 bazel test --config=asan //..."
# The image and video parser tests (and the exiftool differential test)
# drive ImageMagick/exiftool/ffmpeg and mostly time those; the parsers run
# under ASan+UBSan in the fuzzers below.
bazel test --config=asan \
  --test_env=SCOPEDFS_STRESS_SECONDS=5 --test_env=SCOPEDFS_RANDOM_STEPS=400 \
  --test_env=SCOPEDFS_FAULT_OPENS=20000 --test_env=SCOPEDFS_FAULT_STREAMS=200 \
  --test_env=SCOPEDFS_FAULT_HELD=1000 --test_env=SCOPEDFS_FAULT_DISTINCT=30000 \
  --test_env=SCOPEDFS_AUDIT_QUEUE_SIZE=1048576 \
  -- //... -//tests:redact_image_test -//tests:redact_isobmff_test \
  -//tests:redact_still_test -//tests:redact_container_test -//tests:redact_oracle_test \
  -//tests:redact_jpeg_location_test
step "4/4 fuzz/run.sh --seconds=${SCOPEDFS_FUZZ_SECONDS:-30}"
fuzz/run.sh --seconds="${SCOPEDFS_FUZZ_SECONDS:-30}" --jobs=2
step "all passed"
