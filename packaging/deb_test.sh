#!/usr/bin/env bash
# packaging/deb_test.sh: the Debian package on this machine, end to end (a
# step of ./test.sh; needs root). Builds the .deb from the binaries already
# in .bazel/bin (packaging/build-deb.sh --no-build: lintian must report no
# error), installs it with `apt-get install ./scopedfs_*.deb` and checks what
# it installed: files, RUNPATH and ldd (libfuse3.so.4 from /usr/lib/scopedfs,
# the system's libfuse3 untouched), the scopedfs group, the state dir, the
# units (disabled; systemctl cat where systemd runs, systemd-analyze verify
# otherwise), --check-config of the installed configuration, a real mount
# served by the installed daemon and administered with scopedctl, man pages
# if any, bash completion. Then `apt-get remove` (configuration and state
# dir stay) and `apt-get purge` (nothing of the package stays but the state
# dir with the daemon's files).
# The machine is left as it was found: the trap removes what the test made,
# the packages apt installed for it (fuse3, recommended), the group.
# It refuses to run where scopedfs is installed or its paths exist (it would
# change them): SKIPPED loudly, or FAIL under CI.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export DEBIAN_FRONTEND=noninteractive
fail() { echo "deb_test: FAIL: $*" >&2; exit 1; }
skip() {
  if [ "${CI:-}" = true ]; then fail "cannot run: $*"; fi
  echo "*** deb_test: SKIPPED: $* ***"; exit 0
}
note() { echo "deb_test: $*"; }
[ "$(id -u)" -eq 0 ] || skip "needs root (apt-get install)"

CONF=/etc/scopedfs STATE=/var/lib/scopedfs SRC=/srv/shared MNT=/mnt/shared
if dpkg-query -W -f='${Status}' scopedfs 2>/dev/null | grep -qv "not-installed"; then
  skip "the scopedfs package is installed here ($(dpkg-query -W -f='${Status}' scopedfs))"
fi
for p in "$CONF" "$STATE" "$SRC" "$MNT"; do
  if [ -e "$p" ] || [ -L "$p" ]; then skip "$p exists: the test would change it"; fi
done

work=$(mktemp -d /tmp/sfs-deb.XXXXXX)
chmod 0755 "$work"   # apt's downloader (_apt) reads the local .deb
pkgs_before="$work/pkgs.before"
dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' | awk '$1 ~ /^.i/ {print $2}' | sort >"$pkgs_before"
group_before=0; getent group scopedfs >/dev/null && group_before=1
made_src=0 made_mnt=0

cleanup() {
  local rc=$?
  set +e
  local pid
  pid=$(cat "$STATE/scopedfsd.pid" 2>/dev/null)
  if mountpoint -q "$MNT" 2>/dev/null; then umount "$MNT" || umount -l "$MNT"; fi
  if [ -n "$pid" ]; then
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill "$pid"
  fi
  if dpkg-query -W -f='${Status}' scopedfs 2>/dev/null | grep -qv "not-installed"; then
    apt-get -o DPkg::Lock::Timeout=300 purge -y -qq scopedfs >/dev/null 2>&1
  fi
  # Packages apt installed for the test (the recommended fuse3 and its
  # libfuse3-3), in the state they were: absent.
  dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' | awk '$1 ~ /^.i/ {print $2}' | sort >"$work/pkgs.now"
  new=$(comm -13 "$pkgs_before" "$work/pkgs.now")
  if [ -n "$new" ]; then
    # shellcheck disable=SC2086
    apt-get -o DPkg::Lock::Timeout=300 purge -y -qq $new >/dev/null 2>&1 || echo "deb_test: could not purge $new" >&2
  fi
  rm -rf "$STATE"
  rmdir "$CONF" 2>/dev/null
  [ "$made_src" = 1 ] && rm -rf "$SRC"
  [ "$made_mnt" = 1 ] && rmdir "$MNT"
  if [ "$group_before" = 0 ] && getent group scopedfs >/dev/null; then
    delgroup --quiet --system scopedfs >/dev/null 2>&1 || groupdel scopedfs
  fi
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT

# --- build -------------------------------------------------------------------
build_flag=--no-build
if [ ! -x .bazel/bin/daemon/scopedfsd ] || [ ! -x .bazel/bin/tools/scopedctl ]; then
  note "no binaries in .bazel/bin: building them"
  build_flag=""
fi
packaging/build-deb.sh $build_flag --out="$work/out" >"$work/build.log" 2>&1 \
  || { tail -40 "$work/build.log"; fail "packaging/build-deb.sh failed"; }
sed -n '/^build-deb.sh: lintian/,$p' "$work/build.log"
deb=$(ls "$work"/out/scopedfs_*.deb)
note "built $(basename "$deb") ($(du -k "$deb" | cut -f1) KB)"

# The package's own files, and which of them were there before (shared
# directories such as /usr/bin): after the purge every other one is gone.
dpkg-deb --fsys-tarfile "$deb" | tar -t | sed -e 's|^\./|/|' -e 's|/$||' -e 's|^$|/|' | sort -u >"$work/deb.files"
: >"$work/preexisting"
while read -r f; do
  if [ -e "$f" ] || [ -L "$f" ]; then echo "$f" >>"$work/preexisting"; fi
done <"$work/deb.files"

# --- install -----------------------------------------------------------------
note "apt-get install ./$(basename "$deb")"
(cd "$work/out" && apt-get -o DPkg::Lock::Timeout=300 install -y -q "./$(basename "$deb")") >"$work/install.log" 2>&1 \
  || { cat "$work/install.log"; fail "apt-get install"; }
dpkg-query -W -f='${Status}\n' scopedfs | grep -q "install ok installed" || fail "not installed"
dpkg -L scopedfs | sed "s|^/\.$|/|" | sort -u >"$work/dpkg.files"
for f in /usr/sbin/scopedfsd /usr/bin/scopedctl /usr/lib/scopedfs/libfuse3.so.4 \
         /lib/systemd/system/scopedfsd.service /lib/systemd/system/scopedfsd@.service \
         /etc/scopedfs/scopedfs.textproto /usr/share/bash-completion/completions/scopedctl \
         /usr/share/doc/scopedfs/README.md /usr/share/doc/scopedfs/copyright \
         /usr/share/doc/scopedfs/changelog.gz; do
  [ -e "$f" ] || fail "$f not installed"
  grep -qxF "$f" "$work/dpkg.files" || fail "$f is not in dpkg -L scopedfs"
done
ls /usr/share/doc/scopedfs/README.Debian* >/dev/null 2>&1 || fail "no README.Debian"
dpkg-query -W -f='${Conffiles}\n' scopedfs | grep -q ' /etc/scopedfs/scopedfs.textproto ' \
  || fail "the configuration is not a conffile"
grep -qx 'admin_group: "scopedfs"' /etc/scopedfs/scopedfs.textproto \
  || fail "the configuration does not set admin_group: \"scopedfs\""
# Nothing of the package in the linker's own directories, no ld.so.conf.d entry.
! grep -E '^/(usr/)?lib/(x86_64-linux-gnu/)?[^/]+\.so' "$work/dpkg.files" || fail "a library in a public directory"
! grep -q '^/etc/ld.so.conf.d' "$work/dpkg.files" || fail "the package adds a linker path"
note "files: ok ($(grep -c . "$work/dpkg.files") paths)"

# --- the private libfuse -----------------------------------------------------
runpath=$(readelf -d /usr/sbin/scopedfsd | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')
[ "$runpath" = /usr/lib/scopedfs ] || fail "scopedfsd RUNPATH is '$runpath', expected /usr/lib/scopedfs"
! readelf -d /usr/sbin/scopedfsd | grep -q '(RPATH)' || fail "scopedfsd has an RPATH"
! readelf -d /usr/bin/scopedctl | grep -Eq '\((RUNPATH|RPATH)\)' || fail "scopedctl has a RUNPATH"
# (Captured first: with pipefail, grep -q closing the pipe early can kill ldd.)
deps=$(env -u LD_LIBRARY_PATH ldd /usr/sbin/scopedfsd)
! grep -q 'not found' <<<"$deps" || fail "scopedfsd: $(grep 'not found' <<<"$deps")"
grep -q '^\s*libfuse3.so.4 => /usr/lib/scopedfs/libfuse3.so.4 ' <<<"$deps" \
  || fail "scopedfsd does not load libfuse3.so.4 from /usr/lib/scopedfs: $(grep fuse <<<"$deps")"
[ "$(grep -c fuse <<<"$deps")" = 1 ] || fail "scopedfsd loads more than one libfuse: $(grep fuse <<<"$deps")"
ctl_deps=$(env -u LD_LIBRARY_PATH ldd /usr/bin/scopedctl)
! grep -q 'not found' <<<"$ctl_deps" || fail "scopedctl: $(grep 'not found' <<<"$ctl_deps")"
! ldconfig -p | grep -q '/usr/lib/scopedfs' || fail "the linker cache knows /usr/lib/scopedfs"
if dpkg-query -W -f='${Status}' libfuse3-3 2>/dev/null | grep -q "install ok installed"; then
  dpkg --verify libfuse3-3 || fail "the system's libfuse3-3 was changed"
  syslib=$(ldconfig -p | sed -n 's/.*libfuse3.so.3 .*=> //p' | head -1)
  [ -n "$syslib" ] && dpkg -S "$syslib" | grep -q '^libfuse3-3' \
    || fail "the system's libfuse3.so.3 is not libfuse3-3's: '$syslib'"
  note "libfuse: ok (scopedfsd: /usr/lib/scopedfs/libfuse3.so.4; system: $syslib from libfuse3-3 $(dpkg-query -W -f='${Version}' libfuse3-3), verified)"
else
  note "libfuse: ok (scopedfsd: /usr/lib/scopedfs/libfuse3.so.4; no system libfuse3-3 installed)"
fi

# --- group, state dir --------------------------------------------------------
gid=$(getent group scopedfs | cut -d: -f3) || fail "no scopedfs group"
[ "$gid" -lt 1000 ] || fail "scopedfs is not a system group (gid $gid)"
[ "$(stat -c '%U:%G %a' "$STATE")" = "root:scopedfs 710" ] \
  || fail "$STATE is $(stat -c '%U:%G %a' "$STATE"), expected root:scopedfs 710"
note "group scopedfs (gid $gid), $STATE root:scopedfs 0710: ok"

# --- units -------------------------------------------------------------------
for unit in scopedfsd.service scopedfsd@.service; do
  u=/lib/systemd/system/$unit
  ! grep -n '@[A-Z]*@' "$u" || fail "$unit has unexpanded placeholders"
  grep -q '^ExecStart=/usr/sbin/scopedfsd ' "$u" || fail "$unit ExecStart"
  grep -q '^Documentation=file:///usr/share/doc/scopedfs/README.md$' "$u" || fail "$unit Documentation"
done
state=$(systemctl --root=/ is-enabled scopedfsd.service 2>&1 || true)
[ "$state" = disabled ] || fail "scopedfsd.service is '$state' after install, expected disabled"
if [ -d /run/systemd/system ]; then
  systemctl cat scopedfsd.service >/dev/null || fail "systemd does not know scopedfsd.service"
  systemctl cat scopedfsd@x.service >/dev/null || fail "systemd does not know scopedfsd@.service"
  ! systemctl is-active -q scopedfsd.service || fail "scopedfsd.service was started by the install"
  note "units: known to systemd, disabled, not started"
elif command -v systemd-analyze >/dev/null; then
  ln -s scopedfsd@.service "$work/scopedfsd@deb.service"
  for u in /lib/systemd/system/scopedfsd.service "$work/scopedfsd@deb.service"; do
    out=$(SYSTEMD_LOG_LEVEL=notice systemd-analyze verify "$u" 2>&1 \
          | grep -v -e 'sysinit.target not found' -e 'Failed to connect to bus' \
                    -e 'System has not been booted with systemd' || true)
    [ -z "$out" ] || fail "systemd-analyze verify $(basename "$u"): $out"
  done
  note "units: disabled; systemd-analyze verify ok (systemd is not PID 1 here)"
else
  note "units: disabled (no systemd here to verify them)"
fi

# --- the installed tools -----------------------------------------------------
scopedctl --help >"$work/help" 2>&1 || fail "scopedctl --help: $(cat "$work/help")"
grep -q '^Usage: scopedctl' "$work/help" || fail "scopedctl --help: $(head -3 "$work/help")"
scopedctl completion bash | cmp -s - /usr/share/bash-completion/completions/scopedctl \
  || fail "the installed completion is not scopedctl's"
help=$(scopedfsd --help 2>&1 || true)
grep -q '^usage: scopedfsd' <<<"$help" || fail "scopedfsd --help: $help"
# The configuration as installed is valid once its directories exist.
mkdir "$SRC" && made_src=1
mkdir "$MNT" && made_mnt=1
scopedfsd --config=/etc/scopedfs/scopedfs.textproto --check-config >"$work/check" 2>&1 \
  || fail "--check-config of the installed configuration: $(cat "$work/check")"
note "scopedctl --help, completion, scopedfsd --check-config: ok"

# A real mount by the installed daemon (its libfuse through RUNPATH), and
# the admin socket as the package's configuration gives it.
if [ -c /dev/fuse ]; then
  echo hello >"$SRC/hello.txt"
  scopedfsd --config=/etc/scopedfs/scopedfs.textproto >"$work/start" 2>&1 \
    || fail "the installed scopedfsd did not start: $(cat "$work/start")"
  [ "$(cat "$MNT/hello.txt")" = hello ] || fail "the mount does not serve $SRC"
  [ "$(stat -c '%U:%G %a' "$STATE/admin.sock")" = "root:scopedfs 660" ] \
    || fail "admin.sock is $(stat -c '%U:%G %a' "$STATE/admin.sock"), expected root:scopedfs 660"
  [ "$(stat -c '%U:%G %a' "$STATE")" = "root:scopedfs 710" ] || fail "$STATE mode changed"
  scopedctl status >"$work/status" 2>&1 || fail "scopedctl status: $(cat "$work/status")"
  pid=$(cat "$STATE/scopedfsd.pid")
  umount "$MNT"
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  ! kill -0 "$pid" 2>/dev/null || fail "scopedfsd did not exit after the unmount"
  [ -f "$STATE/audit.db" ] || fail "no audit.db in $STATE"
  note "the installed daemon served $SRC at $MNT; scopedctl status through the admin socket (root:scopedfs 0660): ok"
else
  note "NOTE: no /dev/fuse: the installed daemon was not started"
fi

# --- man pages ---------------------------------------------------------------
mans=$(grep -E '^/usr/share/man/man[1-8]/.*\.[1-8](\.gz)?$' "$work/dpkg.files" || true)
if [ -n "$mans" ]; then
  for m in $mans; do
    err=$(MANWIDTH=80 man --warnings -l "$m" 2>&1 >"$work/man.txt") || fail "man -l $m: $err"
    [ -z "$err" ] || fail "man -l $m: $err"
    [ -s "$work/man.txt" ] || fail "man -l $m printed nothing"
  done
  note "man pages render: $(tr '\n' ' ' <<<"$mans")"
else
  note "NOTE: the package has no man pages (no packaging/man/build.sh when it was built)"
fi

# --- remove: the configuration and the state dir stay ------------------------
apt-get -o DPkg::Lock::Timeout=300 remove -y -q scopedfs >"$work/remove.log" 2>&1 || { cat "$work/remove.log"; fail "apt-get remove"; }
dpkg-query -W -f='${db:Status-Abbrev}' scopedfs | grep -q '^rc' || fail "not in state config-files after remove"
for f in /usr/sbin/scopedfsd /usr/bin/scopedctl /usr/lib/scopedfs /lib/systemd/system/scopedfsd.service; do
  [ ! -e "$f" ] || fail "$f left after remove"
done
[ -f /etc/scopedfs/scopedfs.textproto ] || fail "remove deleted the configuration"
[ -d "$STATE" ] || fail "remove deleted the state dir"
note "apt-get remove: binaries gone; configuration and state dir kept: ok"

# --- purge: nothing but the state dir ----------------------------------------
apt-get -o DPkg::Lock::Timeout=300 purge -y -q scopedfs >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; fail "apt-get purge"; }
! dpkg-query -W -f='${db:Status-Abbrev}' scopedfs 2>/dev/null | grep -q '^.[^n]' || fail "scopedfs still known to dpkg after purge"
left=()
while read -r f; do
  grep -qxF "$f" "$work/preexisting" && continue
  if [ -e "$f" ] || [ -L "$f" ]; then left+=("$f"); fi
done < <(sort -u "$work/dpkg.files" "$work/deb.files")
[ ${#left[@]} -eq 0 ] || fail "left after purge: ${left[*]}"
for f in /etc/systemd/system/multi-user.target.wants/scopedfsd.service \
         /var/lib/systemd/deb-systemd-helper-enabled/scopedfsd.service.dsh-also \
         /var/lib/systemd/deb-systemd-helper-masked/scopedfsd.service; do
  [ ! -e "$f" ] || fail "$f left after purge"
done
[ ! -e "$CONF" ] || fail "$CONF left after purge: $(ls -A "$CONF")"
if [ -c /dev/fuse ]; then
  [ -f "$STATE/audit.db" ] || fail "purge deleted the state dir (the audit trail)"
fi
getent group scopedfs >/dev/null || fail "purge removed the scopedfs group (it is kept: README.Debian)"
note "apt-get purge: no file of the package left; $STATE kept ($(ls "$STATE" | tr '\n' ' ')), group scopedfs kept: ok"
echo "deb_test: PASS"
