#!/usr/bin/env bash
set -euo pipefail
R="$TEST_SRCDIR/scopedfs"
fail() { echo "FAIL: $*" >&2; exit 1; }
# Runfiles are symlinks; install.sh reads the repo layout from its own dir.
repo=$(mktemp -d /tmp/sfs-install.XXXXXX)
trap 'rm -rf "$repo"' EXIT
mkdir -p "$repo/packaging/systemd"
cp "$R/packaging/install.sh" "$R/packaging/scopedfs.textproto" "$repo/packaging/"
cp "$R"/packaging/systemd/*.in "$repo/packaging/systemd/"
cp "$R/README.md" "$repo/"
libfuse=$(find -L "$TEST_SRCDIR" -name 'libfuse3.so.4' | head -1)
[ -n "$libfuse" ] || fail "no libfuse in runfiles"
stage="$repo/stage"
SCOPEDFSD_BIN="$R/daemon/scopedfsd" SCOPEDCTL_BIN="$R/tools/scopedctl" LIBFUSE_SO="$libfuse" \
  bash "$repo/packaging/install.sh" --no-build --destdir="$stage" --prefix=/opt/sfs
for f in opt/sfs/sbin/scopedfsd opt/sfs/bin/scopedctl opt/sfs/lib/scopedfs/libfuse3.so.4 \
         etc/systemd/system/scopedfsd.service etc/systemd/system/scopedfsd@.service \
         etc/scopedfs/scopedfs.textproto opt/sfs/share/doc/scopedfs/README.md; do
  [ -e "$stage/$f" ] || fail "$f not installed"
done
# The installed daemon finds the installed libfuse by itself.
help=$(env -u LD_LIBRARY_PATH "$stage/opt/sfs/sbin/scopedfsd" --help 2>&1 || true)
grep -q '^usage: scopedfsd' <<<"$help" || fail "installed scopedfsd does not run: $help"
# (Captured first: with pipefail, grep -q closing the pipe early makes ldd
# die of SIGPIPE and the pipeline fail.)
deps=$(ldd "$stage/opt/sfs/sbin/scopedfsd")
grep -q "libfuse3.so.4 => $stage/opt/sfs/sbin/../lib/scopedfs/" <<<"$deps" \
  || fail "scopedfsd does not resolve libfuse from PREFIX/lib/scopedfs: $(grep fuse <<<"$deps")"
for unit in scopedfsd.service scopedfsd@.service; do
  u="$stage/etc/systemd/system/$unit"
  ! grep -n '@[A-Z]*@' "$u" || fail "$unit has unexpanded placeholders"
  grep -q '^Type=notify$' "$u" || fail "$unit is not Type=notify"
  grep -q '^ExecStart=/opt/sfs/sbin/scopedfsd ' "$u" || fail "$unit ExecStart"
  grep -q '^WatchdogSec=' "$u" || fail "$unit has no watchdog"
  # Options that would give the service its own mount namespace would hide
  # the mount from the host.
  ! grep -En '^(ProtectSystem|ProtectHome|PrivateTmp|PrivateDevices|ReadOnlyPaths|ProtectKernelTunables|PrivateMounts)=' "$u" \
    || fail "$unit would hide the mount in a private mount namespace"
done
if command -v systemd-analyze >/dev/null; then
  cp "$stage/etc/systemd/system/scopedfsd@.service" "$stage/etc/systemd/system/scopedfsd@demo.service"
  for unit in scopedfsd.service scopedfsd@demo.service; do
    out=$(SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --root="$stage" \
          "/etc/systemd/system/$unit" 2>&1 | grep -v 'sysinit.target not found' \
          | grep -v 'is not executable: No such file' || true)
    [ -z "$out" ] || fail "systemd-analyze verify $unit: $out"
  done
else
  echo "NOTE: systemd-analyze not installed; unit syntax not verified"
fi
# The default configuration is valid once its directories exist.
work="$repo/work"
mkdir -p "$work/srv" "$work/mnt"
sed -e "s|\"/srv/shared\"|\"$work/srv\"|" -e "s|\"/mnt/shared\"|\"$work/mnt\"|" \
    -e "s|\"/var/lib/scopedfs\"|\"$work/state\"|" \
    "$stage/etc/scopedfs/scopedfs.textproto" >"$work/c.textproto"
"$R/daemon/scopedfsd" --config="$work/c.textproto" --check-config || fail "default config"
# A second install keeps an edited configuration.
echo '# edited' >>"$stage/etc/scopedfs/scopedfs.textproto"
SCOPEDFSD_BIN="$R/daemon/scopedfsd" SCOPEDCTL_BIN="$R/tools/scopedctl" LIBFUSE_SO="$libfuse" \
  bash "$repo/packaging/install.sh" --no-build --destdir="$stage" --prefix=/opt/sfs >/dev/null
grep -q '# edited' "$stage/etc/scopedfs/scopedfs.textproto" || fail "install overwrote the config"
[ -e "$stage/etc/scopedfs/scopedfs.textproto.default" ] || fail "no .default next to the kept config"
echo PASS
