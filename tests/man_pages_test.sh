#!/usr/bin/env bash
# The man pages as packaging/man/build.sh makes them: they render without a
# single groff warning, and they say what the programs do. Every command
# and flag the --help texts list, and every field and enum value of the
# policy schema, must appear in its page: the lists come from the programs
# and from proto/scopedfs/v1/policy.proto, so the test fails when a page
# falls behind. The example policy of scopedfs-policy(5) must pass
# scopedfsd --check_config.
set -euo pipefail
R="$TEST_SRCDIR/scopedfs"
skip() { echo "*** SKIPPED: $* ***" >&2; exit 0; }
fail() { echo "FAIL: $*" >&2; FAILED=1; }
FAILED=0
for tool in scdoc groff; do
  command -v "$tool" >/dev/null || skip "man_pages_test: $tool is not installed (setup.sh installs it)"
done

tmp=$(mktemp -d /tmp/sfs-man.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# BINDIR: the runfiles, which hold daemon/scopedfsd and tools/scopedctl.
bash "$R/packaging/man/build.sh" "$tmp/man" "$R"
SCOPEDFSD="$R/daemon/scopedfsd"
SCOPEDCTL="$R/tools/scopedctl"

# Every warning groff has (-ww), and man-db's view of the same.
for page in scopedfsd.8 scopedctl.8 scopedfs-policy.5; do
  [ -s "$tmp/man/$page" ] || { fail "$page was not written"; continue; }
  groff -man -ww -z "$tmp/man/$page" 2>"$tmp/warnings" || fail "groff failed on $page"
  if [ -s "$tmp/warnings" ]; then fail "groff warns about $page: $(cat "$tmp/warnings")"; fi
  if command -v man >/dev/null; then
    man --warnings -l -Tutf8 "$tmp/man/$page" >/dev/null 2>"$tmp/warnings" ||
      fail "man failed on $page"
    if [ -s "$tmp/warnings" ]; then fail "man warns about $page: $(cat "$tmp/warnings")"; fi
  fi
  # As plain text: no hyphenation and long lines, so every word stays whole.
  groff -man -Tascii -rHY=0 -rLL=300n -P-cbou "$tmp/man/$page" 2>/dev/null >"$tmp/$page.txt"
done
# The generated pages escape every dash of their text ('-' is a hyphen to
# groff, which does not paste as an option's dash).
for page in scopedfsd.8 scopedctl.8; do
  if grep -vn '^\.' "$tmp/man/$page" | grep -E '(^[0-9]+:|[^\\])-' >"$tmp/dashes"; then
    fail "$page has unescaped dashes: $(head -3 "$tmp/dashes")"
  fi
done

# has PAGE TEXT: the rendered PAGE contains TEXT verbatim.
has() { grep -qF -- "$2" "$tmp/$1.txt" || fail "$1 does not mention '$2'"; }

# scopedfsd(8): its synopses, -o/-f/-d and every flag of --help.
help=$("$SCOPEDFSD" --help 2>&1 || true)
flags=$(sed -n 's/^    --\([a-z0-9_]*\) (.*/\1/p' <<<"$help")
[ "$(wc -l <<<"$flags")" -ge 20 ] || fail "found too few flags in scopedfsd --help: $help"
for flag in $flags; do has scopedfsd.8 "--$flag"; done
for option in $(sed -n 's/^  \(-[a-z]\) .*/\1/p' <<<"$help"); do has scopedfsd.8 "$option"; done
while read -r synopsis; do
  has scopedfsd.8 "$synopsis"
done < <(sed -n 's/^\(usage:\|      \) \(scopedfsd .*\)/\2/p' <<<"$help")

# scopedctl(8): every command's usage line from the overview, the global
# flags, and each command's own flags from its --help.
overview=$("$SCOPEDCTL" --help)
usages=$(sed -n '/^Commands:$/,/^Flags:$/s/^  \([a-z].*\)/\1/p' <<<"$overview")
[ "$(wc -l <<<"$usages")" -ge 20 ] || fail "found too few commands in scopedctl --help"
while read -r usage; do
  has scopedctl.8 "scopedctl $usage"
  command=$(grep -oE '^[a-z]+( [a-z]+)*' <<<"$usage")
  [ "$command" = "completion bash" ] && command=completion  # Its argument is a word.
  # shellcheck disable=SC2086  # The words of the command.
  command_help=$("$SCOPEDCTL" $command --help)
  for flag in $(sed -n '/^Flags:$/,/^$/s/^  \(-[a-z], \)\{0,1\}--\([a-z_-]*\).*/\2/p' <<<"$command_help"); do
    has scopedctl.8 "--$flag"
  done
done <<<"$usages"
for flag in $(sed -n '/^Flags:$/,/^$/s/^  --\([a-z_-]*\).*/\1/p' <<<"$overview"); do
  has scopedctl.8 "--$flag"
done

# scopedfs-policy(5): every field of Policy, App, Rule and RedactionProfile,
# and every value of the enums they use but *_UNSPECIFIED.
proto="$R/proto/scopedfs/v1/policy.proto"
words=()
for message in Policy App Rule RedactionProfile; do
  words+=($(sed -n "/^message $message {/,/^}/s/^ *\(optional \|repeated \)\{0,1\}[A-Za-z0-9_.]* \([a-z0-9_]*\) = [0-9]*;.*/\2/p" "$proto"))
done
for enum in Action Operation FileClass Ownership RedactionMode; do
  words+=($(sed -n "/^enum $enum {/,/^}/s/^ *\([A-Z0-9_]*\) = [0-9]*;.*/\1/p" "$proto" | grep -v UNSPECIFIED))
done
[ "${#words[@]}" -ge 50 ] || fail "found too few fields and enum values in $proto: ${words[*]}"
for word in "${words[@]}"; do
  grep -qw -- "$word" "$tmp/scopedfs-policy.5.txt" || fail "scopedfs-policy.5 does not mention $word"
done

# Its example policy (the first literal block) is one the daemon accepts.
awk '/^```$/ { n++; next } n == 1' "$R/packaging/man/scopedfs-policy.5.scd" >"$tmp/example.textproto"
grep -q '^default_action:' "$tmp/example.textproto" || fail "no example policy in scopedfs-policy.5.scd"
mkdir "$tmp/src" "$tmp/mnt"
"$SCOPEDFSD" --check_config --policy="$tmp/example.textproto" --state_dir="$tmp/state" \
  "$tmp/src" "$tmp/mnt" >"$tmp/check" 2>&1 ||
  fail "scopedfsd --check_config rejects the example policy: $(cat "$tmp/check")"

[ "$FAILED" = 0 ] || exit 1
echo "man_pages_test: all pages render cleanly and are complete"
