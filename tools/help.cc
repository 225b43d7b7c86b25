#include "tools/help.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/fill.h"
#include "base/roff.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "scopedfs/v1/policy.pb.h"
#include "tools/output.h"

namespace scopedfs::tools {
namespace {

// The operations of `explain --op`, from the proto enum: lookup, read, ...
std::vector<std::string> OperationNames() {
  std::vector<std::string> names;
  const google::protobuf::EnumDescriptor* d = v1::Operation_descriptor();
  for (int i = 0; i < d->value_count(); ++i) {
    if (d->value(i)->number() == v1::OPERATION_UNSPECIFIED) continue;
    names.push_back(absl::AsciiStrToLower(d->value(i)->name()));
  }
  return names;
}

// What scopedctl is: the overview's first line and the man page's NAME.
constexpr char kPurpose[] = "administers a running scopedfsd through its admin socket";
constexpr char kDefaultStateDir[] = "/var/lib/scopedfs";
constexpr char kWhoMayUse[] = "Only root and the daemon's admin uids may use the socket.";
constexpr char kDashesNote[] =
    "Multi-word flags take '-' or '_' (--expect-generation, --expect_generation).";
constexpr char kStdinNote[] = "FILE \"-\" is standard input.";

// scopedctl's exit codes (tools/output.h), for the overview and the man page.
struct ExitStatusDoc {
  int code;
  const char* meaning;
};
constexpr ExitStatusDoc kExitStatuses[] = {
    {kExitOk, "success"},
    {kExitFailure,
     "failure (one line \"scopedctl: error: ...\" on stderr), an invalid policy (validate) or "
     "a difference (diff)"},
    {kExitUsage, "a command line mistake"},
};

// The FILTER section of the audit commands (audit/filter_text.h).
constexpr char kFilterHelp[] =
    R"(FILTER terms (all must hold; commas give alternatives):
  app=NAME[,NAME]   uid=N[,N]   path=DIR/OR/FILE (it and below)
  op=lookup|read|write|create|delete|rename|setattr|open (read,write)
  decision=allow|redacted|deny|hide
  since=TIME  until=TIME   (RFC 3339, @UNIXSECONDS, or a duration
                            before now: 90s, 10m, 2h, 1d)
)";

std::vector<CommandDoc>* BuildCommands() {
  auto* c = new std::vector<CommandDoc>;
  c->push_back(CommandDoc{
      "policy get", "", "print the running policy",
      R"(The running policy in protobuf text format, headed by "# generation N"
(a comment, so the output is itself a policy file).)",
      {},
      ValueKind::kNone,
      {},
      {"scopedctl policy get > policy.textproto     # note N in \"# generation N\"",
       "scopedctl policy get --json",
       "scopedctl --state_dir=/tmp/demo/state policy get"}});
  c->push_back(CommandDoc{
      "policy validate", "FILE", "check a policy file without applying it",
      R"(Has the daemon check FILE without applying it. Prints "policy FILE is
valid", or one "FILE: FIELD: MESSAGE" line per error and exits 1.
FILE "-" is standard input.)",
      {},
      ValueKind::kFile,
      {},
      {"scopedctl policy validate policy.textproto",
       "scopedctl policy validate - < policy.textproto",
       "scopedctl policy validate policy.textproto --json"}});
  c->push_back(CommandDoc{
      "policy apply", "FILE [--expect-generation=N] [--revoke]", "apply a policy file",
      R"(Applies FILE. With N, only if generation N is still the running one
(otherwise nothing changes and scopedctl exits 1). Prints the new
generation. FILE "-" is standard input.

Files open through the mount that lose their access under the new policy
are revoked (their next read or write fails with EACCES): scopedctl
prints "revoked N open handles". Files the kernel serves itself
(passthrough) cannot be revoked and stay open: each is listed as "kept
open (passthrough, not revocable): pid P (COMM) uid U app A path P".
--revoke: apply only if no such file would keep an access the policy
removes (otherwise nothing changes, scopedctl exits 1 and the error lists
them; see scopedctl handles).)",
      {{"expect-generation", "", "N",
        "apply only if generation N is running (0, the default: any)", ValueKind::kText, {}},
       {"revoke", "", "",
        "refuse to apply while an open file that cannot be revoked would keep an access the "
        "policy removes",
        ValueKind::kNone, {}}},
      ValueKind::kFile,
      {},
      {"scopedctl policy get > policy.textproto     # note N in \"# generation N\"",
       "scopedctl policy apply policy.textproto --expect-generation=N",
       "scopedctl policy apply policy.textproto     # whatever generation runs",
       "scopedctl policy apply policy.textproto --revoke"}});
  c->push_back(CommandDoc{
      "policy diff", "FILE", "diff the running policy against a file",
      R"(Unified diff from the running policy to FILE, both normalized (comments,
layout and field order do not count). Exit 0: the same policy; 1: they
differ (like diff(1)).)",
      {},
      ValueKind::kFile,
      {},
      {"scopedctl policy diff policy.textproto",
       "scopedctl policy diff policy.textproto && echo unchanged",
       "scopedctl policy diff policy.textproto --color=always | less -R"}});
  c->push_back(CommandDoc{
      "policy shadow", "FILE [--for=DURATION]", "try a policy beside the running one",
      R"(Installs FILE as the shadow policy: every decision is also made by it,
while the running policy alone is enforced. Where the two differ it is
counted (scopedctl policy shadow report) and stored in the audit trail
with the shadow verdict (scopedctl audit query --shadow). Replaces an
installed shadow policy and starts a new report. Prints since and until
when it is installed. --for: removed on its own after DURATION (30s, 10m,
1h, 2d, 1h30m; at least 1s); without it, until scopedctl policy shadow
stop. FILE "-" is standard input (a file named report or stop: write
./report or ./stop).)",
      {{"for", "", "DURATION", "remove it after this long (30s, 10m, 1h, 2d)",
        ValueKind::kText, {}}},
      ValueKind::kFile,
      {},
      {"scopedctl policy shadow candidate.textproto --for=1h",
       "scopedctl policy shadow candidate.textproto    # until policy shadow stop",
       "scopedctl policy shadow report"}});
  c->push_back(CommandDoc{
      "policy shadow report", "[--top=N]", "what the shadow policy would decide differently",
      R"txt(The shadow policy's report so far: whether one is installed, since and
until when, how many decisions both made and how many differ; then the
differing decisions by rule pair (enforced rule -> shadow rule, both
verdicts, count; "(default)" is a default action), most frequent first;
then the N paths (default 10) with the most differing decisions.)txt",
      {{"top", "", "N", "the N paths with the most differing decisions (default 10)",
        ValueKind::kText, {}}},
      ValueKind::kNone,
      {},
      {"scopedctl policy shadow report",
       "scopedctl policy shadow report --top=50",
       "scopedctl policy shadow report --json"}});
  c->push_back(CommandDoc{
      "policy shadow stop", "", "remove the shadow policy",
      R"(Removes the shadow policy and prints its final report (as policy shadow
report does). Its differing decisions stay in the audit trail.)",
      {},
      ValueKind::kNone,
      {},
      {"scopedctl policy shadow stop", "scopedctl policy shadow stop --json"}});
  c->push_back(CommandDoc{
      "policy rules", "", "decisions per rule, and rules that never match",
      R"txt(One row per rule of the running policy, grants first (NOTE: grant) and
the default action last ("(default)"): its action, the decisions it made
by what the caller got (allowed, redacted, denied, hidden), when it last
matched ("never"), and "never matched since TIME" for a rule that made
no decision since it was applied: a rule written wrong, or one to
remove. Counts start again when a rule's body changes.)txt",
      {},
      ValueKind::kNone,
      {},
      {"scopedctl policy rules", "scopedctl policy rules --json"}});
  c->push_back(CommandDoc{
      "explain", "(--app=APP | --uid=UID [--gid=GID]) --path=PATH --op=OP [--owner]",
      "how the running policy decides one request",
      R"(How the running policy decides one request, without touching any file:
action, deciding rule, reason, app, generation. PATH is relative to the
mount root (a full path under the mountpoint works too); OP is one of
lookup, read, write, create, delete, rename, setattr.)",
      {{"app", "", "APP", "the caller is this app (or --uid)", ValueKind::kText, {}},
       {"uid", "", "UID", "the caller's uid (or --app)", ValueKind::kText, {}},
       {"gid", "", "GID", "the caller's gid (with --uid; default 0)", ValueKind::kText, {}},
       {"path", "", "PATH", "the path, relative to the mount root", ValueKind::kText, {}},
       {"op", "", "OP", "the operation", ValueKind::kChoice, OperationNames()},
       {"owner", "", "", "the caller's app created the file", ValueKind::kNone, {}}},
      ValueKind::kNone,
      {},
      {"scopedctl explain --app=gallery --path=DCIM/Camera/a.jpg --op=read",
       "scopedctl explain --uid=10123 --path=Download/x.pdf --op=write --owner --json",
       "scopedctl explain --app=camera --path=/mnt/shared/DCIM/b.jpg --op=create"}});
  c->push_back(CommandDoc{
      "status", "[--prometheus]", "health, counters and latency histograms",
      R"(Whether the daemon is serving, mountpoint, source, passthrough, policy
generation, uptime, its counters (decisions by operation and outcome,
audit queue, drops, database size, ...) and latency histograms. With
--prometheus: all of it in the Prometheus text format (for
node_exporter's textfile collector), with the decisions per rule
(scopedfs_rule_hits_total{rule,outcome}) and when each rule last
matched (scopedfs_rule_last_hit_timestamp_seconds{rule}).)",
      {{"prometheus", "", "", "the Prometheus text format", ValueKind::kNone, {}}},
      ValueKind::kNone,
      {},
      {"scopedctl status",
       "scopedctl status --json",
       "scopedctl status --prometheus > /var/lib/node_exporter/scopedfs.prom"}});
  c->push_back(CommandDoc{
      "audit tail", "[-f] [-n N] [--after=ID] [--shadow] [FILTER...]", "the latest audit events",
      R"(The last N (default 10) audit events, oldest first; with -f, then every
new one as it is stored, until interrupted. --after=ID: every stored
event after ID, then new ones (resume where a previous tail stopped).
Decisions are coloured on a terminal (allow green, deny and hide red,
redacted yellow). An event a shadow policy (scopedctl policy shadow)
decided differently ends with "shadow=VERDICT/RULE"; --shadow: only
those.)",
      {{"follow", "f", "", "keep printing new events", ValueKind::kNone, {}},
       {"lines", "n", "N", "stored events shown first (default 10)", ValueKind::kText, {}},
       {"after", "", "ID", "every event after this id, then new ones", ValueKind::kText, {}},
       {"shadow", "", "", "only decisions the shadow policy would have made differently",
        ValueKind::kNone, {}}},
      ValueKind::kFilter,
      {},
      {"scopedctl audit tail -f app=gallery decision=deny,hide",
       "scopedctl audit tail",
       "scopedctl audit tail -n 50 uid=10123 op=open",
       "scopedctl audit tail --after=4711 --json      # resume after event 4711"}});
  c->push_back(CommandDoc{
      "audit query", "[--limit=N] [--newest] [--shadow] [FILTER...]",
      "search the stored audit events",
      R"txt(Stored audit events, oldest first (--newest: newest first), at most N
(default 100; 0: all). --shadow: only decisions a shadow policy
(scopedctl policy shadow) would have made differently; each ends with
"shadow=VERDICT/RULE" ("(default)": its default action).)txt",
      {{"limit", "", "N", "at most N events (default 100; 0: all)", ValueKind::kText, {}},
       {"newest", "", "", "newest first", ValueKind::kNone, {}},
       {"shadow", "", "", "only decisions the shadow policy would have made differently",
        ValueKind::kNone, {}}},
      ValueKind::kFilter,
      {},
      {"scopedctl audit query since=1h path=DCIM op=open --json",
       "scopedctl audit query decision=deny,hide since=1d --newest --limit=20",
       "scopedctl audit query app=gallery since=2026-11-25T10:00:00Z until=30m --limit=0",
       "scopedctl audit query --shadow since=1h"}});
  c->push_back(CommandDoc{
      "owner get", "PATH", "who owns a file (the owner store)",
      R"(The owner store's record of the file at PATH: the uid and app that own
it, when that was recorded, and the inode it is for; "none" if nobody
owns it. PATH is relative to the mount root (a full path under the
mountpoint works too), in the escaped form the audit trail shows names
in (\x0a for a newline, \\ for a backslash); no ".." and no symlinks on
the way.)",
      {},
      ValueKind::kText,
      {},
      {"scopedctl owner get DCIM/Camera/a.jpg",
       "scopedctl owner get /mnt/shared/Download/x.pdf --json",
       "scopedctl owner get 'Download/new\\x0aline.txt'"}});
  c->push_back(CommandDoc{
      "owner set", "PATH --uid=UID [--gid=GID]", "make a uid the owner of a file",
      R"(Makes UID, and the app the policy identifies it as, the owner of the
file now at PATH (that very inode, as if UID had created it), replacing
any record. Rules with `owner: CALLER` then treat UID's app as the
creator. Audited: an event with your uid, op setattr and rule
admin:owner-set:UID. PATH as for owner get.)",
      {{"uid", "", "UID", "the new owner's uid (required)", ValueKind::kText, {}},
       {"gid", "", "GID",
        "the gid its app is looked up with (default: the uid's primary group, else the uid)",
        ValueKind::kText, {}}},
      ValueKind::kText,
      {},
      {"scopedctl owner set DCIM/Camera/a.jpg --uid=1010001",
       "scopedctl owner set Download/x.pdf --uid=1010002 --gid=1010002 --json"}});
  c->push_back(CommandDoc{
      "owner clear", "PATH", "make a file owned by nobody",
      R"(Removes the owner store's record of PATH: nobody owns the file (a
record is removed even if no file is left there). Audited: an event with
your uid, op setattr and rule admin:owner-clear. PATH as for owner get.)",
      {},
      ValueKind::kText,
      {},
      {"scopedctl owner clear DCIM/Camera/a.jpg",
       "scopedctl owner clear Download/x.pdf --json"}});
  c->push_back(CommandDoc{
      "grant",
      "(APP | --uid=UID) PATH [--ops=OPS] [--for=DURATION] [--redacted [--profile=NAME]]",
      "give one app or uid access to one file or directory",
      R"(Adds a grant: APP (an app of the policy), or with --uid=UID instead of
APP every caller with that uid, may do OPS on PATH, whatever the policy's
rules say (grants are decided first). A directory's grant covers
everything below it; the directories on the way to PATH become visible
to the grantee, nothing else in them. PATH is relative to the mount root
(a full path under the mountpoint works too). OPS: a comma list of read,
write, create, delete, rename, setattr (default read; lookup is
implied). --redacted: reads get the redacted view (with --profile=NAME,
that redaction profile; else the strict allowlist). --for: the grant
expires after DURATION (30s, 10m, 1h, 2d); without it, when revoked.
Prints the grant (its ID is for scopedctl revoke) and the new
generation. Audited (op setattr, rule admin:grant-add:ID).)",
      {{"uid", "", "UID", "grant to this uid instead of an APP", ValueKind::kText, {}},
       {"ops", "", "OPS",
        "comma list of read, write, create, delete, rename, setattr (default read)",
        ValueKind::kText, {}},
       {"for", "", "DURATION", "the grant expires after this long (30s, 10m, 1h, 2d)",
        ValueKind::kText, {}},
       {"redacted", "", "", "reads get the redacted view (location metadata removed)",
        ValueKind::kNone, {}},
       {"profile", "", "NAME", "with --redacted: the redaction profile (default: strict)",
        ValueKind::kText, {}}},
      ValueKind::kText,
      {},
      {"scopedctl grant gallery DCIM/Camera --for=1h",
       "scopedctl grant camera Download/report.pdf --ops=read,write --for=30m",
       "scopedctl grant --uid=1010001 /mnt/shared/Pictures --redacted --profile=gps-only",
       "scopedctl grants                              # the ID to revoke"}});
  c->push_back(CommandDoc{
      "revoke", "ID", "remove a grant",
      R"(Removes grant ID (see scopedctl grants). Prints it, the new generation
and the open files that lost their access: revoked ones (their next read
or write fails with EACCES) and ones the kernel serves (passthrough),
which stay open. Audited (op setattr, rule admin:grant-revoke:ID).)",
      {},
      ValueKind::kText,
      {},
      {"scopedctl revoke g3", "scopedctl revoke g3 --json"}});
  c->push_back(CommandDoc{
      "grants", "", "the grants in force",
      R"(One row per grant: ID, who (app or uid), path (a directory with a
trailing /), operations, whether reads are redacted, when it expires
("never": when revoked) and the uid that added it.)",
      {},
      ValueKind::kNone,
      {},
      {"scopedctl grants", "scopedctl grants --json"}});
  c->push_back(CommandDoc{
      "handles", "[--app=APP] [--uid=UID] [--path=PATH]", "the files open through the mount",
      R"(One row per file open through the mount: handle id, pid and process
name, uid, app, mode (read or write), how its I/O is served (passthrough:
by the kernel; daemon or daemon-cached: by scopedfsd), whether it reads a
redacted view, whether a policy change can revoke it ("not revocable":
served by the kernel), whether it was revoked, when it was opened, and
its path. --path: that path and everything below it, relative to the
mount root (a full path under the mountpoint works too).)",
      {{"app", "", "APP", "only this app's", ValueKind::kText, {}},
       {"uid", "", "UID", "only this uid's", ValueKind::kText, {}},
       {"path", "", "PATH", "only files at or below PATH", ValueKind::kText, {}}},
      ValueKind::kNone,
      {},
      {"scopedctl handles",
       "scopedctl handles --app=gallery --path=DCIM",
       "scopedctl handles --uid=10123 --json"}});
  c->push_back(CommandDoc{"stats", "", "the counters only",
                          "The daemon's counters only (the command of old scopedctl versions).",
                          {},
                          ValueKind::kNone,
                          {},
                          {"scopedctl stats", "scopedctl stats --json"}});
  c->push_back(CommandDoc{
      "completion", "bash", "print the shell completion script",
      R"(Prints the bash completion script for scopedctl: commands, verbs, the
flags of each command, files for policy validate/apply/diff, and the
filter keys and their values for audit tail/query. Install it as
/usr/share/bash-completion/completions/scopedctl (system-wide), or
source it from ~/.bashrc.)",
      {},
      ValueKind::kChoice,
      {"bash"},
      {"scopedctl completion bash > /usr/share/bash-completion/completions/scopedctl",
       "source <(scopedctl completion bash)           # this shell only"},
      false});
  c->push_back(CommandDoc{
      "help", "[COMMAND]", "the overview, or one command's help",
      R"(Without COMMAND the overview (scopedctl --help); with one, the same as
scopedctl COMMAND --help. For packagers: --man prints all of it as the
man page scopedctl(8), in roff.)",
      {{"man", "", "", "the man page scopedctl(8) in roff (for packagers)", ValueKind::kNone,
        {}}},
      ValueKind::kNone,
      {},
      {"scopedctl help", "scopedctl help audit query", "scopedctl help policy",
       "scopedctl help --man | man -l -                # read it as a man page"},
      false});
  return c;
}

std::string Indent(absl::string_view text, int n) {
  const std::string pad(n, ' ');
  std::string out;
  absl::ConsumeSuffix(&text, "\n");
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    absl::StrAppend(&out, line.empty() ? "" : pad, line, "\n");
  }
  return out;
}

std::string FlagUsage(const FlagDoc& f) {
  std::string s = "--" + f.name;
  if (!f.value.empty()) absl::StrAppend(&s, "=", f.value);
  if (!f.short_name.empty()) {
    s = absl::StrCat("-", f.short_name, f.value.empty() ? "" : " " + f.value, ", ", s);
  }
  return s;
}

// A flag's help, with its choices if the help does not name them.
std::string FlagHelp(const FlagDoc& f) {
  std::string help = f.help;
  if (f.kind == ValueKind::kChoice && !f.choices.empty() &&
      !absl::StrContains(help, f.choices[0])) {
    absl::StrAppend(&help, " (", absl::StrJoin(f.choices, ", "), ")");
  }
  return help;
}

std::string FlagTable(const std::vector<FlagDoc>& flags) {
  size_t width = 0;
  for (const FlagDoc& f : flags) width = std::max(width, FlagUsage(f).size());
  std::string out;
  for (const FlagDoc& f : flags) {
    const std::string usage = FlagUsage(f);
    absl::StrAppend(&out, "  ", usage, std::string(width - usage.size() + 2, ' '),
                    FillWords(FlagHelp(f), width + 4, width + 4), "\n");
  }
  return out;
}

std::string Usage(const CommandDoc& c) {
  return absl::StrCat(c.name, c.synopsis.empty() ? "" : " ", c.synopsis);
}

// Bash: a single-quoted word list.
std::string Words(const std::vector<std::string>& words) {
  return absl::StrCat("'", absl::StrJoin(words, " "), "'");
}

// "--expect-generation|--expect_generation" for a case pattern.
std::string FlagPattern(const FlagDoc& f) {
  std::vector<std::string> forms = {"--" + f.name};
  const std::string dashed = "--" + absl::StrReplaceAll(f.name, {{"_", "-"}});
  const std::string underscored = "--" + absl::StrReplaceAll(f.name, {{"-", "_"}});
  for (const std::string& form : {dashed, underscored}) {
    if (std::find(forms.begin(), forms.end(), form) == forms.end()) forms.push_back(form);
  }
  if (!f.short_name.empty()) forms.push_back("-" + f.short_name);
  return absl::StrJoin(forms, "|");
}

// The completions offered for a flag: "--name" or "--name=" (takes a value).
std::vector<std::string> FlagWords(const std::vector<FlagDoc>& flags) {
  std::vector<std::string> words;
  for (const FlagDoc& f : flags) words.push_back("--" + f.name + (f.value.empty() ? "" : "="));
  return words;
}

// The command after which the overview and the man page explain FILTER.
const CommandDoc* LastFilterCommand() {
  const CommandDoc* last = nullptr;
  for (const CommandDoc& c : Commands()) {
    if (c.args == ValueKind::kFilter) last = &c;
  }
  return last;
}

// The overview's flags: the global ones and --help.
std::vector<FlagDoc> OverviewFlags() {
  std::vector<FlagDoc> flags = GlobalFlags();
  flags.push_back({"help", "", "",
                   "this text; after a command (scopedctl COMMAND --help): that command's usage, "
                   "flags and examples",
                   ValueKind::kNone, {}});
  return flags;
}

// The overview's examples: one per command that talks to the daemon, none
// twice, and one with --state_dir.
std::vector<std::string> OverviewExamples() {
  std::vector<std::string> examples;
  std::set<std::string> shown;
  for (const CommandDoc& c : Commands()) {
    if (!c.needs_daemon) continue;
    for (const std::string& e : c.examples) {
      if (shown.insert(e).second) {
        examples.push_back(e);
        break;
      }
    }
  }
  examples.push_back("scopedctl --state_dir=/tmp/demo/state status --json");
  return examples;
}

}  // namespace

std::string JoinOr(const std::vector<std::string>& words) {
  if (words.size() <= 1) return absl::StrJoin(words, "");
  return absl::StrCat(
      absl::StrJoin(std::vector<std::string>(words.begin(), words.end() - 1), ", "), " or ",
      words.back());
}

const std::vector<CommandDoc>& Commands() {
  static const std::vector<CommandDoc>* commands = BuildCommands();
  return *commands;
}

const CommandDoc* FindCommand(const std::string& name) {
  for (const CommandDoc& c : Commands()) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::vector<std::string> CommandWords() {
  std::vector<std::string> words;
  for (const CommandDoc& c : Commands()) {
    const std::string first = c.name.substr(0, c.name.find(' '));
    if (std::find(words.begin(), words.end(), first) == words.end()) words.push_back(first);
  }
  return words;
}

bool IsCommandGroup(const std::string& word) {
  for (const CommandDoc& c : Commands()) {
    if (absl::StartsWith(c.name, word + " ")) return true;
  }
  return false;
}

std::vector<std::string> GroupVerbs(const std::string& group) {
  std::vector<std::string> verbs;
  for (const CommandDoc& c : Commands()) {
    if (!absl::StartsWith(c.name, group + " ")) continue;
    // "policy shadow report" is a verb of "policy shadow", not of "policy".
    std::string verb = c.name.substr(group.size() + 1);
    verb = verb.substr(0, verb.find(' '));
    if (std::find(verbs.begin(), verbs.end(), verb) == verbs.end()) verbs.push_back(verb);
  }
  return verbs;
}

std::vector<std::string> SubVerbs(const std::string& command) {
  std::vector<std::string> verbs;
  for (const CommandDoc& c : Commands()) {
    if (!absl::StartsWith(c.name, command + " ")) continue;
    const std::string verb = c.name.substr(command.size() + 1);
    if (verb.find(' ') == std::string::npos) verbs.push_back(verb);
  }
  return verbs;
}

const std::vector<FlagDoc>& GlobalFlags() {
  static const auto* flags = new std::vector<FlagDoc>{
      {"state_dir", "", "DIR",
       absl::StrCat("the daemon's state directory (default ", kDefaultStateDir,
                    "); the socket is DIR/admin.sock"),
       ValueKind::kDir, {}},
      {"socket", "", "PATH", "the admin socket itself (overrides --state_dir)", ValueKind::kFile,
       {}},
      {"json", "", "",
       "one JSON object on stdout instead of a table (proto field names; 64-bit numbers as "
       "strings)",
       ValueKind::kNone, {}},
      {"timeout", "", "SECONDS", "how long to wait for the daemon (default 5)", ValueKind::kText,
       {}},
      {"color", "", "WHEN",
       "colour: auto (the default: if stdout is a terminal and NO_COLOR is not set), "
       "always or never; --json is never coloured",
       ValueKind::kChoice, {"auto", "always", "never"}},
  };
  return *flags;
}

const std::vector<FilterKeyDoc>& FilterKeys() {
  static const auto* keys = [] {
    std::vector<std::string> ops = OperationNames();
    ops.push_back("open");
    return new std::vector<FilterKeyDoc>{
        {"app", "NAME[,NAME]", {}},
        {"uid", "N[,N]", {}},
        {"path", "DIR/OR/FILE", {}},
        {"op", "OP[,OP]", ops},
        {"decision", "D[,D]", {"allow", "redacted", "deny", "hide"}},
        {"since", "TIME", {}},
        {"until", "TIME", {}},
    };
  }();
  return *keys;
}

std::set<std::string> GlobalFlagNames() {
  std::set<std::string> names;
  for (const FlagDoc& f : GlobalFlags()) names.insert(absl::StrReplaceAll(f.name, {{"-", "_"}}));
  return names;
}

std::set<std::string> CommandFlagNames(const std::string& command) {
  std::set<std::string> names;
  if (const CommandDoc* c = FindCommand(command)) {
    for (const FlagDoc& f : c->flags) names.insert(absl::StrReplaceAll(f.name, {{"-", "_"}}));
  }
  return names;
}

bool IsKnownFlagName(const std::string& absl_name) {
  if (GlobalFlagNames().count(absl_name)) return true;
  for (const CommandDoc& c : Commands()) {
    if (CommandFlagNames(c.name).count(absl_name)) return true;
  }
  return false;
}

std::string LongFlagName(const std::string& name) {
  for (const CommandDoc& c : Commands()) {
    for (const FlagDoc& f : c.flags) {
      if (!f.short_name.empty() && f.short_name == name) {
        return absl::StrReplaceAll(f.name, {{"-", "_"}});
      }
    }
  }
  return name;
}

std::string OverviewHelp() {
  std::string out = absl::StrCat(
      "scopedctl: ", kPurpose, ".\n\n",
      "Usage: scopedctl [FLAGS] COMMAND [ARGS]      (flags may come anywhere)\n"
      "       scopedctl COMMAND --help              (one command: its flags and examples)\n\n"
      "Commands:\n");
  const CommandDoc* last_filter = LastFilterCommand();
  for (const CommandDoc& c : Commands()) {
    absl::StrAppend(&out, "  ", Usage(c), "\n", Indent(c.description, 6));
    if (&c == last_filter) absl::StrAppend(&out, Indent(kFilterHelp, 6));
  }
  absl::StrAppend(&out, "\nFlags:\n", FlagTable(OverviewFlags()), "  ", kDashesNote, "\n  ",
                  kStdinNote, "\n\nExamples:\n");
  for (const std::string& e : OverviewExamples()) absl::StrAppend(&out, "  ", e, "\n");
  std::vector<std::string> codes;
  for (const ExitStatusDoc& e : kExitStatuses) {
    codes.push_back(absl::StrCat(e.code, " ", e.meaning));
  }
  absl::StrAppend(
      &out,
      "\nMore: scopedctl COMMAND --help (e.g. scopedctl audit tail --help); bash\n"
      "completion: scopedctl completion bash (see scopedctl completion --help).\n\n",
      FillWords(absl::StrCat("Exit status: ", absl::StrJoin(codes, "; "), ". ", kWhoMayUse), 0, 0, 74),
      "\n");
  return out;
}

std::string CommandHelp(const CommandDoc& c) {
  std::string out = absl::StrCat("scopedctl ", c.name, ": ", c.summary, ".\n\n",
                                 "Usage: scopedctl ", Usage(c), "\n\n", Indent(c.description, 2));
  if (c.args == ValueKind::kFilter) absl::StrAppend(&out, "\n", Indent(kFilterHelp, 2));
  if (!c.flags.empty()) absl::StrAppend(&out, "\nFlags:\n", FlagTable(c.flags));
  if (c.needs_daemon) {
    std::vector<std::string> global;
    for (const FlagDoc& f : GlobalFlags()) global.push_back(FlagUsage(f));
    absl::StrAppend(&out, "\nGlobal flags (see scopedctl --help):\n  ",
                    absl::StrJoin(global, " "), "\n");
  }
  if (!c.examples.empty()) {
    absl::StrAppend(&out, "\nExamples:\n");
    for (const std::string& e : c.examples) absl::StrAppend(&out, "  ", e, "\n");
  }
  return out;
}

std::string GroupHelp(const std::string& group) {
  std::string out =
      absl::StrCat("scopedctl ", group, " COMMAND: ", JoinOr(GroupVerbs(group)), ".\n");
  for (const CommandDoc& c : Commands()) {
    if (absl::StartsWith(c.name, group + " ")) {
      absl::StrAppend(&out, "\n", std::string(72, '-'), "\n", CommandHelp(c));
    }
  }
  return out;
}

std::string BashCompletionScript() {
  std::vector<std::string> command_words = CommandWords();
  std::vector<FlagDoc> all_flags = GlobalFlags();
  for (const CommandDoc& c : Commands()) {
    for (const FlagDoc& f : c.flags) {
      bool seen = false;
      for (const FlagDoc& g : all_flags) seen |= g.name == f.name;
      if (!seen) all_flags.push_back(f);
    }
  }

  std::string s = R"(# bash completion for scopedctl.
# Generated by `scopedctl completion bash` from scopedctl's command table:
# regenerate it rather than edit it. Install it system-wide with
#   scopedctl completion bash > /usr/share/bash-completion/completions/scopedctl
# or for one shell: source <(scopedctl completion bash)

# _scopedctl_values FLAG VALUE: the completions of FLAG's value.
_scopedctl_values() {
  case $1 in
)";
  for (const FlagDoc& f : all_flags) {
    switch (f.kind) {
      case ValueKind::kChoice:
        absl::StrAppend(&s, "    ", FlagPattern(f), ") compgen -W ", Words(f.choices),
                        " -- \"$2\" ;;\n");
        break;
      case ValueKind::kFile:
        absl::StrAppend(&s, "    ", FlagPattern(f), ") compgen -f -- \"$2\" ;;\n");
        break;
      case ValueKind::kDir:
        absl::StrAppend(&s, "    ", FlagPattern(f), ") compgen -d -- \"$2\" ;;\n");
        break;
      default:
        break;
    }
  }
  s += R"(  esac
}

# _scopedctl_path_flag FLAG: whether FLAG's value is a file or directory name.
_scopedctl_path_flag() {
  case $1 in
)";
  std::vector<std::string> path_patterns;
  for (const FlagDoc& f : all_flags) {
    if (f.kind == ValueKind::kFile || f.kind == ValueKind::kDir) {
      path_patterns.push_back(FlagPattern(f));
    }
  }
  absl::StrAppend(&s, "    ", absl::StrJoin(path_patterns, "|"), ") return 0 ;;\n");
  s += R"(  esac
  return 1
}

# _scopedctl_filter WORD: audit filter terms KEY=VALUE[,VALUE...].
_scopedctl_filter() {
  local key value head=""
  if [[ $1 != *=* ]]; then
)";
  std::vector<std::string> keys;
  for (const FilterKeyDoc& k : FilterKeys()) keys.push_back(k.key + "=");
  absl::StrAppend(&s, "    compgen -W ", Words(keys), " -- \"$1\"\n");
  s += R"(    return
  fi
  key=${1%%=*} value=${1#*=}
  [[ $value == *,* ]] && head=${value%,*}, value=${value##*,}
  case $key in
)";
  for (const FilterKeyDoc& k : FilterKeys()) {
    if (k.choices.empty()) continue;
    absl::StrAppend(&s, "    ", k.key, ") compgen -W ", Words(k.choices),
                    " -P \"$key=$head\" -- \"$value\" ;;\n");
  }
  s += R"(  esac
}

_scopedctl() {
  local word=${COMP_WORDS[COMP_CWORD]}
  (($# >= 2)) && word=$2
  # The whole word up to the cursor: bash splits "op=re" and "--op=re" at
  # the '=', and completes only the part after it.
  local cur=$word prefix
  if [[ -n ${COMP_LINE-} ]]; then
    cur=${COMP_LINE:0:${COMP_POINT:-${#COMP_LINE}}}
    cur=${cur##*[[:space:]]}
    [[ $cur == *"$word" ]] || cur=$word
  fi
  prefix=${cur%"$word"}

  # The positional words before the cursor (flags and their values left out).
  local -a pos=()
  local i w skip=0 helping=0
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    if ((skip)); then skip=0; continue; fi
    case $w in
      =) skip=1 ;;
)";
  std::vector<std::string> value_patterns;
  for (const FlagDoc& f : all_flags) {
    if (!f.value.empty()) value_patterns.push_back(FlagPattern(f));
  }
  absl::StrAppend(&s, "      ", absl::StrJoin(value_patterns, "|"),
                  ") [[ ${COMP_WORDS[i+1]-} == = ]] || skip=1 ;;\n");
  s += R"(      -*) ;;
      *) pos+=("$w") ;;
    esac
  done
  if [[ ${pos[0]-} == help ]]; then
    helping=1
    pos=("${pos[@]:1}")
  fi
  local command=${pos[0]-} nargs=$((${#pos[@]} - 1))
  case $command in
)";
  std::vector<std::string> groups;
  for (const std::string& w : command_words) {
    if (IsCommandGroup(w)) groups.push_back(w);
  }
  absl::StrAppend(&s, "    ", absl::StrJoin(groups, "|"),
                  ") ((${#pos[@]} >= 2)) && command+=\" ${pos[1]}\"; nargs=$((${#pos[@]} - 2)) ;;\n");
  // Verbs of a verb: "policy shadow report".
  std::vector<std::string> third;
  for (const CommandDoc& c : Commands()) {
    if (std::count(c.name.begin(), c.name.end(), ' ') == 2) third.push_back("\"" + c.name + "\"");
  }
  if (!third.empty()) {
    absl::StrAppend(&s, "  esac\n  case \"$command ${pos[2]-}\" in\n    ",
                    absl::StrJoin(third, "|"),
                    ") command+=\" ${pos[2]}\"; nargs=$((nargs - 1)) ;;\n");
  }
  s += R"(  esac

  local flags=""
  case $command in
)";
  for (const CommandDoc& c : Commands()) {
    if (c.flags.empty()) continue;
    absl::StrAppend(&s, "    \"", c.name, "\") flags=", Words(FlagWords(c.flags)), " ;;\n");
  }
  absl::StrAppend(&s, "  esac\n  local global=", Words(FlagWords(GlobalFlags())), "\n");
  s += R"(
  COMPREPLY=()
  local prev=""
  ((COMP_CWORD >= 1)) && prev=${COMP_WORDS[COMP_CWORD-1]}
  if [[ $cur == --*=* ]]; then
    _scopedctl_path_flag "${cur%%=*}" && compopt -o filenames 2>/dev/null
    mapfile -t COMPREPLY < <(_scopedctl_values "${cur%%=*}" "${cur#*=}")
    ((${#COMPREPLY[@]})) && COMPREPLY=("${COMPREPLY[@]/#/"${cur%%=*}="}")
  elif [[ $cur != -* && $prev == -* && $word != = ]] &&
       [[ -n $(_scopedctl_values "$prev" "") ]]; then
    prefix=""
    _scopedctl_path_flag "$prev" && compopt -o filenames 2>/dev/null
    mapfile -t COMPREPLY < <(_scopedctl_values "$prev" "$cur")
  elif [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$global $flags --help" -- "$cur")
  elif ((${#pos[@]} == 0)); then
)";
  absl::StrAppend(&s, "    mapfile -t COMPREPLY < <(compgen -W ", Words(command_words),
                  " -- \"$cur\")\n");
  for (const std::string& g : groups) {
    absl::StrAppend(&s, "  elif [[ ${pos[0]} == ", g, " && ${#pos[@]} == 1 ]]; then\n",
                    "    mapfile -t COMPREPLY < <(compgen -W ", Words(GroupVerbs(g)),
                    " -- \"$cur\")\n");
  }
  for (const CommandDoc& c : Commands()) {
    const std::vector<std::string> verbs = SubVerbs(c.name);
    if (verbs.empty() || std::count(c.name.begin(), c.name.end(), ' ') != 1) continue;
    const bool files = c.args == ValueKind::kFile;
    absl::StrAppend(&s, "  elif [[ ${#pos[@]} == 2 && \"${pos[0]} ${pos[1]}\" == \"", c.name,
                    "\" ]]; then\n");
    if (files) absl::StrAppend(&s, "    ((helping)) || compopt -o filenames 2>/dev/null\n");
    absl::StrAppend(&s, "    mapfile -t COMPREPLY < <(compgen -W ", Words(verbs), " -- \"$cur\"",
                    files ? "; ((helping)) || compgen -f -- \"$cur\"" : "", ")\n");
  }
  s += R"(  elif ((helping)); then
    :
  else
    case $command in
)";
  for (const CommandDoc& c : Commands()) {
    switch (c.args) {
      case ValueKind::kFile:
        absl::StrAppend(&s, "      \"", c.name,
                        "\") ((nargs == 0)) && { compopt -o filenames 2>/dev/null; mapfile -t "
                        "COMPREPLY < <(compgen -f -- \"$cur\"); } ;;\n");
        break;
      case ValueKind::kChoice:
        absl::StrAppend(&s, "      \"", c.name,
                        "\") ((nargs == 0)) && mapfile -t COMPREPLY < <(compgen -W ",
                        Words(c.args_choices), " -- \"$cur\") ;;\n");
        break;
      case ValueKind::kFilter:
        absl::StrAppend(&s, "      \"", c.name,
                        "\") mapfile -t COMPREPLY < <(_scopedctl_filter \"$cur\") ;;\n");
        break;
      default:
        break;
    }
  }
  s += R"(    esac
  fi
  # Back to what bash replaces: the part of the word after its last '='.
  if [[ -n $prefix ]]; then
    COMPREPLY=("${COMPREPLY[@]#"$prefix"}")
  fi
  local c
  for c in "${COMPREPLY[@]}"; do
    [[ $c == *= ]] && compopt -o nospace 2>/dev/null
  done
  return 0
}

complete -F _scopedctl scopedctl
)";
  return s;
}

namespace {

// scopedctl(8) is the command table in man(7) macros, the subset groff,
// mandoc and man-db all read.

std::string Bold(absl::string_view text) { return RoffBold(text); }
std::string Italic(absl::string_view text) { return RoffItalic(text); }

// A synopsis or a flag's value with its ALL-CAPS placeholders (FILE, N,
// UID) in italics.
std::string RoffUsage(absl::string_view text) {
  return RoffByWord(
      text, [](char c) { return absl::ascii_isalnum(c) || c == '_'; },
      [](absl::string_view word) {
        const bool placeholder =
            absl::ascii_isupper(word[0]) &&
            std::none_of(word.begin(), word.end(), [](char c) { return absl::ascii_islower(c); });
        return placeholder ? 'I' : 'R';
      });
}

// Paragraphs separated by blank lines, as roff paragraphs. Leading blanks
// go: in filled text a line starting with one breaks the line.
std::string RoffParagraphs(absl::string_view text) {
  std::vector<std::string> paragraphs;
  for (absl::string_view p : absl::StrSplit(text, "\n\n", absl::SkipWhitespace())) {
    std::vector<std::string> lines;
    for (absl::string_view line : absl::StrSplit(p, '\n', absl::SkipWhitespace())) {
      lines.push_back(Roff(absl::StripAsciiWhitespace(line)));
    }
    paragraphs.push_back(absl::StrCat(".PP\n", absl::StrJoin(lines, "\n"), "\n"));
  }
  return absl::StrJoin(paragraphs, "");
}

std::string RoffFlags(const std::vector<FlagDoc>& flags) {
  std::string out;
  for (const FlagDoc& f : flags) {
    out += ".TP\n";
    if (!f.short_name.empty()) {
      absl::StrAppend(&out, Bold("-" + f.short_name), f.value.empty() ? "" : " ",
                      RoffUsage(f.value), ", ");
    }
    absl::StrAppend(&out, Bold("--" + f.name), f.value.empty() ? "" : "=", RoffUsage(f.value),
                    "\n", Roff(FlagHelp(f)), "\n");
  }
  return out;
}

// Lines kept as they are (command lines, aligned text), indented.
std::string RoffVerbatim(absl::string_view text) {
  return absl::StrCat(".PP\n.RS 4\n.nf\n", Roff(absl::StripSuffix(text, "\n")), "\n.fi\n.RE\n");
}

constexpr char kManDescription[] =
    R"(scopedctl administers a running scopedfsd(8) through the Admin gRPC
service on its admin socket, STATE_DIR/admin.sock: it reads, checks, compares,
tries (as a shadow policy) and applies the policy (scopedfs-policy(5)) while
the daemon serves, explains how the policy decides a request, gives and
revokes grants, lists the files open through the mount, reads the audit
trail and the owner store, and shows the daemon's health and counters.)";

}  // namespace

std::string ManPage() {
  std::string out = absl::StrCat(
      ".\\\" scopedctl(8), generated by `scopedctl help --man` from scopedctl's\n"
      ".\\\" command table (tools/help.cc): regenerate it rather than edit it.\n"
      ".TH SCOPEDCTL 8 \"\" scopedfs\n"
      // No hyphenation, ragged right: commands, flags and paths stay whole.
      ".nh\n.ad l\n"
      ".SH NAME\nscopedctl \\- ", Roff(kPurpose), "\n",
      ".SH SYNOPSIS\n", Bold("scopedctl"), " [", Italic("FLAGS"), "] ", Italic("COMMAND"), " [",
      Italic("ARGS"), "]\n.br\n", Bold("scopedctl"), " ", Italic("COMMAND"), " ", Bold("--help"),
      "\n.SH DESCRIPTION\n", RoffParagraphs(absl::StrCat(kManDescription, " ", kWhoMayUse)),
      RoffParagraphs(absl::StrCat(
          "Flags may come anywhere on the command line. ", kDashesNote, " ", kStdinNote,
          " With --json a command prints one JSON object instead of a table. ",
          "scopedctl COMMAND --help prints one command's usage, flags and examples.")),
      ".SH OPTIONS\nThese apply to every command that talks to the daemon.\n",
      RoffFlags(OverviewFlags()), ".SH COMMANDS\n");
  const CommandDoc* last_filter = LastFilterCommand();
  for (const CommandDoc& c : Commands()) {
    absl::StrAppend(&out, ".SS ", Roff(c.name), "\n", Bold("scopedctl " + c.name),
                    c.synopsis.empty() ? "" : " ", RoffUsage(c.synopsis), "\n",
                    RoffParagraphs(c.description));
    if (&c == last_filter) absl::StrAppend(&out, RoffVerbatim(kFilterHelp));
    absl::StrAppend(&out, RoffFlags(c.flags));
    if (!c.examples.empty()) {
      absl::StrAppend(&out, ".PP\nExamples:\n", RoffVerbatim(absl::StrJoin(c.examples, "\n")));
    }
  }
  // A tagged paragraph: an exit code, a variable, a file.
  const auto item = [&out](absl::string_view tag, absl::string_view text) {
    absl::StrAppend(&out, ".TP\n", Bold(tag), "\n", Roff(text), "\n");
  };
  absl::StrAppend(&out, ".SH \"EXIT STATUS\"\n");
  for (const ExitStatusDoc& e : kExitStatuses) item(absl::StrCat(e.code), e.meaning);
  absl::StrAppend(&out, ".SH ENVIRONMENT\n");
  item("NO_COLOR", "Set and not empty: no colour with --color=auto.");
  item("TERM", "dumb: no colour with --color=auto.");
  item("GRPC_VERBOSITY",
       "Set: gRPC's own log lines on stderr too, for debugging (otherwise scopedctl prints "
       "its one error line only).");
  absl::StrAppend(&out, ".SH FILES\n");
  const std::string state = kDefaultStateDir;
  item(state + "/admin.sock", "The daemon's admin socket (with --state_dir=DIR: DIR/admin.sock).");
  item(state + "/policy.textproto",
       "The running policy, as the daemon stores it (policy apply; policy get prints it).");
  item(state + "/grants.textproto", "The grants in force (grant, revoke, grants).");
  item(state + "/audit.db",
       "The audit trail and the owner store (audit tail, audit query, owner).");
  item("/usr/share/bash-completion/completions/scopedctl",
       "The bash completion script (scopedctl completion bash).");
  absl::StrAppend(&out, ".SH EXAMPLES\n", RoffVerbatim(absl::StrJoin(OverviewExamples(), "\n")),
                  ".SH \"SEE ALSO\"\n.BR scopedfsd (8),\n.BR scopedfs\\-policy (5),\n"
                  ".BR fusermount3 (1),\n.BR mount.fuse3 (8)\n");
  return out;
}

}  // namespace scopedfs::tools
