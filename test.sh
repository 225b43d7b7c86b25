#!/usr/bin/env bash
# Sets the machine up (idempotent, see setup.sh) and runs every test.
# Mount tests need root (CAP_SYS_ADMIN) and /dev/fuse; elsewhere they report
# SKIPPED loudly instead of passing.
set -euo pipefail
cd "$(dirname "$0")"
./setup.sh
bazel test //... "$@"
