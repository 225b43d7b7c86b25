#!/usr/bin/env bash
# Runs the README's five-minute tour (the block between <!-- tour:begin -->
# and <!-- tour:end -->) command by command, as a newcomer would, and checks
# what it prints. The build line is the only one replaced: Bazel built the
# binaries this test runs.
set -uo pipefail
R="$TEST_SRCDIR/scopedfs"
skip() { echo "*** SKIPPED: $* ***" >&2; exit 0; }
fail() { echo "FAIL: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || skip "needs root"
[ -c /dev/fuse ] || skip "no /dev/fuse"
for tool in sudo exiftool convert useradd; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (./setup.sh installs it)"
done
T=/tmp/scopedfs-tour
A=/tmp/scopedfs-admin  # the second block's
for d in "$T" "$A"; do
  if grep -q " $d/mnt " /proc/self/mountinfo; then
    fail "$d/mnt is mounted (a tour left running?): umount it first"
  fi
  rm -rf "$d"
done
work=$(mktemp -d /tmp/sfs-tour-test.XXXXXX)
cleanup() {
  for d in "$T" "$A"; do
    grep -q " $d/mnt " /proc/self/mountinfo && umount -l "$d/mnt"
    pkill -f -- "--state_dir=$d/state" 2>/dev/null
  done
  rm -rf "$work" "$T" "$A"
}
trap cleanup EXIT
# The checkout layout the tour expects: .bazel/bin/{daemon,tools}.
mkdir -p "$work/.bazel/bin/daemon" "$work/.bazel/bin/tools"
ln -s "$R/daemon/scopedfsd" "$work/.bazel/bin/daemon/scopedfsd"
ln -s "$R/tools/scopedctl" "$work/.bazel/bin/tools/scopedctl"
# The README block between <!-- NAME:begin --> and <!-- NAME:end --> (the
# ```sh fence dropped), as $work/NAME.sh, with at least MIN_LINES lines.
extract_block() {
  sed -n "/<!-- $1:begin -->/,/<!-- $1:end -->/p" "$R/README.md" |
    sed '1,2d;$d' | sed '$d' >"$work/$1.sh"
  [ "$(grep -c . "$work/$1.sh")" -gt "$2" ] || fail "README block $1 not found"
}
# Runs $work/NAME.sh from the fake checkout, shows its output and keeps it
# in $work/NAME.out; a failing line fails the test.
run_block() {
  (cd "$work" && bash -e "$work/$1.sh") >"$work/$1.out" 2>&1
  local status=$?
  cat "$work/$1.out"
  [ "$status" = 0 ] || fail "README block $1 failed (exit $status); output above"
}
extract_block tour 15
grep -q '^bazel build ' "$work/tour.sh" || fail "no build line in the tour"
sed -i 's/^bazel build /: bazel build /' "$work/tour.sh"
run_block tour
out=$(cat "$work/tour.out")
# Step 3: real position for the gallery, zeros for the social app.
n=$(grep -c "GPS Position *: 48 deg 51' 30.24\" N, 2 deg 17' 40.20\" E" <<<"$out")
[ "$n" = 2 ] || fail "expected the real position twice (gallery; social after step 5), got $n"
# The social app's exiftool prints no position at all: the line after the
# gallery's is already the audit table's header.
first=$(grep -n -m1 "GPS Position" <<<"$out" | cut -d: -f1)
next_line=$(sed -n "$((first + 1))p" <<<"$out")
[[ "$next_line" == ID\ * ]] || fail "the social app saw location data: $next_line"
grep -q "$(printf '/exiftool ')" <<<"$out" || fail "audit rows lack the process name"
# Step 4: the audit trail names both apps and the deciding rules.
grep -Eq "com.example.gallery +read +allow +media-read +DCIM/Camera/beach.jpg" <<<"$out" \
  || fail "audit row of the gallery's open missing"
grep -Eq "com.example.social +read +allow_redacted +media-redact +DCIM/Camera/beach.jpg" <<<"$out" \
  || fail "audit row of the social app's redacted open missing"
# Step 5: the apply printed a new generation; step 6 ended the daemon.
grep -Eq "generation.* 2|^2$" <<<"$out" || fail "policy apply did not report generation 2"
# The daemon ends a moment after umount returns: it commits the queued audit
# rows, stops the admin API and, under ASan, checks for leaks. On a loaded CI
# machine under ASan that took more than 5 s once, so the bound is generous;
# a daemon that hangs still fails, with its threads' wait channels and its
# last log lines to say where.
for i in $(seq 300); do pgrep -f -- "--state_dir=$T/state" >/dev/null || break; sleep 0.1; done
if pid=$(pgrep -f -- "--state_dir=$T/state"); then
  for p in $pid; do
    for t in /proc/$p/task/*; do echo "thread ${t##*/}: $(cat "$t/comm") in $(cat "$t/wchan")"; done
  done
  tail -n +"$(($(wc -l <<<"$out") + 1))" "$work/tour.out"
  fail "the daemon still runs 30 s after umount"
fi
echo "daemon ended $((i / 10)).$((i % 10)) s after umount returned"

# The second block: shadow policy, rule hits, a grant, handles, revocation.
extract_block admin-tour 20
run_block admin-tour
a=$(cat "$work/admin-tour.out")
expect() { grep -Eq -- "$1" <<<"$a" || fail "admin tour: $2"; }
expect "cannot access .*/DCIM/Camera': Permission denied" \
  "the shadow changed enforcement: the notes app listed DCIM/Camera"
expect "\(default\) +-> +media-lookup +deny -> allow +[1-9]" \
  "the shadow report lacks the (default) -> media-lookup pair"
expect "com.example.notes +lookup +deny +- +DCIM shadow=allow/media-lookup" \
  "no audit row with the shadow verdict"
expect "^media-read +allow +0 +0 +0 +0 +never +never matched" \
  "policy rules does not flag an unused rule"
expect "^\(default\) +deny +0 +0 +[1-9]" "policy rules: the default action's denials"
expect "^Image Size +: 64x64" "the granted photo could not be read"
grep -q "GPS Position" <<<"$a" && fail "admin tour: the redacted grant showed the location"
expect "party.jpg: Permission denied" "the grant opened a photo it does not name"
expect "^rule +grant:g1 " "explain does not name the grant"
expect "com.example.notes +read +daemon-cached +yes +yes +no .*DCIM/Camera/beach.jpg" \
  "handles does not list the held photo as revocable"
expect "^revoked 1 open handle" "revoke did not find the held handle"
expect "^cat: -: Permission denied" "the held handle kept reading after the revoke"
echo PASS
