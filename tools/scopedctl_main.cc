// scopedctl: the admin tool of scopedfs. It talks to scopedfsd's Admin gRPC
// service on STATE_DIR/admin.sock. The commands, their flags, help texts and
// the bash completion script come from one table, tools/help.cc.
//
// Flags are absl flags, parsed here rather than by absl::ParseCommandLine so
// that every mistake is one line and exit code 2, that "--expect-generation"
// and "--expect_generation" both work, and that a command rejects the flags
// of other commands.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "google/protobuf/stubs/logging.h"
#include "grpc/support/log.h"
#include "audit/filter_text.h"
#include "tools/audit_commands.h"
#include "tools/client.h"
#include "tools/commands.h"
#include "tools/grant_commands.h"
#include "tools/handle_commands.h"
#include "tools/help.h"
#include "tools/output.h"
#include "tools/owner_commands.h"
#include "tools/rule_commands.h"
#include "tools/shadow_commands.h"

ABSL_FLAG(std::string, state_dir, "/var/lib/scopedfs",
          "State directory of the daemon (scopedfsd --state_dir); its socket is "
          "DIR/admin.sock.");
ABSL_FLAG(std::string, socket, "", "The admin socket; overrides --state_dir.");
ABSL_FLAG(bool, json, false, "Print JSON instead of tables.");
ABSL_FLAG(double, timeout, 5, "Seconds to wait for the daemon.");
ABSL_FLAG(uint64_t, expect_generation, 0,
          "policy apply: apply only if this generation is running (0: any).");
ABSL_FLAG(std::string, app, "", "explain: the caller is this app; handles: this app's.");
ABSL_FLAG(uint32_t, uid, 0,
          "explain: the caller's uid; owner set: the new owner; grant: the grantee; "
          "handles: this uid's.");
ABSL_FLAG(uint32_t, gid, 0, "explain: the caller's gid; owner set: the owner's app's gid.");
ABSL_FLAG(std::string, path, "",
          "explain: the path, relative to the mount root; handles: at or below it.");
ABSL_FLAG(std::string, op, "", "explain: lookup|read|write|create|delete|rename|setattr.");
ABSL_FLAG(bool, owner, false, "explain: the caller's app created the file.");
ABSL_FLAG(bool, follow, false, "audit tail: keep printing new events (also -f).");
ABSL_FLAG(uint32_t, lines, 10, "audit tail: stored events shown first (also -n).");
ABSL_FLAG(uint64_t, after, 0, "audit tail: resume after this event id.");
ABSL_FLAG(uint32_t, limit, 100, "audit query: at most this many events (0: all).");
ABSL_FLAG(bool, newest, false, "audit query: newest first.");
ABSL_FLAG(bool, prometheus, false, "status: Prometheus text format.");
ABSL_FLAG(bool, revoke, false,
          "policy apply: refuse while an unrevocable handle would keep its access.");
ABSL_FLAG(std::string, for, "", "policy shadow, grant: how long (30s, 10m, 1h, 2d).");
ABSL_FLAG(uint32_t, top, 10, "policy shadow report: paths shown.");
ABSL_FLAG(std::string, ops, "read", "grant: read,write,create,delete,rename,setattr.");
ABSL_FLAG(bool, redacted, false, "grant: reads get the redacted view.");
ABSL_FLAG(std::string, profile, "", "grant: the redaction profile (with --redacted).");
ABSL_FLAG(bool, shadow, false, "audit tail/query: only decisions the shadow policy differs on.");
ABSL_FLAG(bool, man, false, "help: the man page scopedctl(8), in roff.");
ABSL_FLAG(std::string, color, "auto",
          "Colour: auto (on a terminal, unless NO_COLOR is set), always, never.");

namespace scopedfs::tools {
namespace {

// sizeof(sockaddr_un::sun_path), with the terminating NUL.
constexpr size_t kMaxSocketPath = 108;

// The flags each command takes besides the global ones: from the command
// table (tools/help.cc), like the help texts and the completion script.
std::set<std::string> CommandFlags(const std::string& command) {
  return CommandFlagNames(command);
}

// A flag of the table must also be an ABSL_FLAG above.
bool IsFlagName(const std::string& name) {
  return IsKnownFlagName(name) && absl::FindCommandLineFlag(name) != nullptr;
}

// What a command's one argument is called: the first word of its synopsis
// ("FILE", "PATH", "ID").
std::string ArgumentName(const CommandDoc& doc) {
  const std::string word = doc.synopsis.substr(0, doc.synopsis.find(' '));
  if (!word.empty() && word.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") == std::string::npos) {
    return word;
  }
  return doc.args == ValueKind::kFile ? "FILE" : "PATH";
}

// Single-letter flags: -f, -n.
std::string LongName(const std::string& name) { return LongFlagName(name); }

std::string Dashed(const std::string& name) {
  return "--" + absl::StrReplaceAll(name, {{"_", "-"}});
}

struct CommandLine {
  std::vector<std::string> words;  // Positional arguments.
  std::set<std::string> set;       // Flags given (underscore names).
  bool help = false;
};

// Returns -1 to go on, else the exit code.
int Parse(int argc, char** argv, CommandLine* cl) {
  bool flags_done = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (flags_done || arg.size() < 2 || arg[0] != '-') {
      cl->words.push_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    std::string body = arg.substr(absl::StartsWith(arg, "--") ? 2 : 1);
    std::string value;
    const size_t eq = body.find('=');
    const bool has_value = eq != std::string::npos;
    if (has_value) {
      value = body.substr(eq + 1);
      body.resize(eq);
    }
    std::string name = LongName(absl::StrReplaceAll(body, {{"-", "_"}}));
    if (name == "help" || name == "h" || name == "helpfull" || name == "helpshort") {
      cl->help = true;
      continue;
    }
    if (!IsFlagName(name) && absl::StartsWith(name, "no") && IsFlagName(name.substr(2)) &&
        absl::FindCommandLineFlag(name.substr(2))->IsOfType<bool>()) {
      if (has_value) return UsageError(absl::StrCat(arg, " takes no value"));
      name = name.substr(2);
      value = "false";
    } else if (!IsFlagName(name)) {
      return UsageError(absl::StrCat("unknown flag ", arg.substr(0, arg.find('='))));
    } else if (absl::FindCommandLineFlag(name)->IsOfType<bool>()) {
      if (!has_value) value = "true";
    } else if (name == "color" && !has_value) {
      value = "always";  // As ls and grep take --color.
    } else if (!has_value) {
      if (i + 1 >= argc) return UsageError(absl::StrCat(Dashed(name), " needs a value"));
      value = argv[++i];
    }
    std::string error;
    if (!absl::FindCommandLineFlag(name)->ParseFrom(value, &error)) {
      return UsageError(absl::StrCat("invalid value '", value, "' for ", Dashed(name)));
    }
    cl->set.insert(name);
  }
  return -1;
}

// `scopedctl [COMMAND] --help`, `scopedctl help [COMMAND]`.
int Help(const CommandLine& cl) {
  std::vector<std::string> topic = cl.words;
  if (!topic.empty() && topic[0] == "help") topic.erase(topic.begin());
  if (absl::GetFlag(FLAGS_man)) {
    if (!topic.empty()) return UsageError("help --man takes no COMMAND: the page has them all");
    Print(ManPage());
    return kExitOk;
  }
  if (topic.empty()) {
    Print(OverviewHelp());
    return kExitOk;
  }
  if (IsCommandGroup(topic[0])) {
    if (topic.size() < 2) {
      Print(GroupHelp(topic[0]));
      return kExitOk;
    }
    if (const CommandDoc* c = FindCommand(topic[0] + " " + topic[1])) {
      // "policy shadow report": the longer command if there is one.
      const CommandDoc* longer =
          topic.size() > 2 ? FindCommand(c->name + " " + topic[2]) : nullptr;
      Print(CommandHelp(longer != nullptr ? *longer : *c));
      return kExitOk;
    }
    return UsageError(absl::StrCat("unknown ", topic[0], " verb '", topic[1], "': use ",
                                   JoinOr(GroupVerbs(topic[0]))));
  }
  if (const CommandDoc* c = FindCommand(topic[0])) {
    Print(CommandHelp(*c));
    return kExitOk;
  }
  return UsageError(absl::StrCat("unknown command '", topic[0], "'"));
}

int Run(int argc, char** argv) {
  CommandLine cl;
  if (int code = Parse(argc, argv, &cl); code >= 0) return code;
  if (cl.help || (!cl.words.empty() && cl.words[0] == "help")) return Help(cl);
  if (cl.words.empty()) return UsageError("no command given");

  // The command: one word, or a group ("policy", "audit") and a verb; then
  // its arguments. All from the command table (tools/help.cc).
  const std::vector<std::string>& w = cl.words;
  std::string command = w[0];
  size_t first_arg = 1;
  if (IsCommandGroup(command)) {
    const std::string verbs = JoinOr(GroupVerbs(command));
    if (w.size() < 2) return UsageError(absl::StrCat(command, " needs a verb: ", verbs));
    if (FindCommand(command + " " + w[1]) == nullptr) {
      return UsageError(absl::StrCat("unknown ", command, " verb '", w[1], "': use ", verbs));
    }
    command += " " + w[1];
    first_arg = 2;
    // A verb of the verb ("policy shadow report"); any other word is the
    // argument ("policy shadow FILE": a file named report is ./report).
    if (w.size() > 2 && FindCommand(command + " " + w[2]) != nullptr) {
      command += " " + w[2];
      first_arg = 3;
    }
  }
  const CommandDoc* doc = FindCommand(command);
  if (doc == nullptr || command == "help") {
    return UsageError(absl::StrCat("unknown command '", command, "'"));
  }
  size_t nargs = 0;  // Positional arguments after the command words.
  switch (doc->args) {
    case ValueKind::kFilter:
      nargs = w.size() - first_arg;
      break;
    case ValueKind::kChoice:  // completion SHELL
      nargs = 1;
      if (w.size() <= first_arg) {
        return UsageError(absl::StrCat(command, " needs a shell: ", JoinOr(doc->args_choices)));
      }
      if (std::find(doc->args_choices.begin(), doc->args_choices.end(), w[first_arg]) ==
          doc->args_choices.end()) {
        return UsageError(absl::StrCat("unknown shell '", w[first_arg], "': use ",
                                       JoinOr(doc->args_choices)));
      }
      break;
    case ValueKind::kNone:
      break;
    default:  // One FILE, PATH or ID.
      nargs = 1;
      if (command == "grant") {
        // APP PATH, or --uid=UID PATH.
        const bool uid = cl.set.count("uid") > 0;
        const size_t given = w.size() - first_arg;
        if (uid && given >= 2) return UsageError("grant takes an APP or --uid, not both");
        if (given < (uid ? 1u : 2u)) {
          return UsageError(uid ? "grant needs a PATH"
                                : "grant needs an APP and a PATH (or --uid=UID and a PATH)");
        }
        if (!uid) nargs = 2;
      } else if (w.size() <= first_arg) {
        const std::string arg = ArgumentName(*doc);
        const bool vowel = std::string("AEIOU").find(arg[0]) != std::string::npos;
        return UsageError(absl::StrCat(command, " needs ", vowel ? "an " : "a ", arg));
      }
  }
  if (w.size() > first_arg + nargs) {
    return UsageError(absl::StrCat("unexpected argument '", w[first_arg + nargs], "' for '",
                                   command, "'"));
  }
  const std::set<std::string> allowed = CommandFlags(command);
  for (const std::string& name : cl.set) {
    if (!GlobalFlagNames().count(name) && !allowed.count(name)) {
      return UsageError(absl::StrCat(Dashed(name), " does not apply to '", command, "'"));
    }
  }

  const std::string color_mode = absl::GetFlag(FLAGS_color);
  if (color_mode != "auto" && color_mode != "always" && color_mode != "never") {
    return UsageError(absl::StrCat("invalid value '", color_mode,
                                   "' for --color: use auto, always or never"));
  }
  if (command == "completion") {
    Print(BashCompletionScript());
    return kExitOk;
  }

  const double timeout = absl::GetFlag(FLAGS_timeout);
  if (!(timeout > 0) || !std::isfinite(timeout)) {
    return UsageError("--timeout must be a positive number of seconds");
  }
  std::string socket = absl::GetFlag(FLAGS_socket);
  if (!cl.set.count("socket")) {
    std::string dir = absl::GetFlag(FLAGS_state_dir);
    if (dir.empty()) return UsageError("--state_dir is empty");
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    socket = dir == "/" ? "/admin.sock" : dir + "/admin.sock";
  }
  if (socket.empty()) return UsageError("--socket is empty");
  if (socket.size() >= kMaxSocketPath) {
    return Fail(absl::StrCat("cannot reach scopedfsd at unix:", socket, ": socket path is ",
                             socket.size(), " bytes long (at most ", kMaxSocketPath - 1,
                             ")"));
  }

  ExplainArgs explain;
  if (command == "explain") {
    const bool app = cl.set.count("app"), uid = cl.set.count("uid");
    if (app == uid) {
      return UsageError(app ? "--app and --uid exclude each other"
                            : "explain needs --app or --uid");
    }
    if (app) {
      explain.app = absl::GetFlag(FLAGS_app);
      if (explain.app->empty()) return UsageError("--app is empty");
    } else {
      explain.uid = absl::GetFlag(FLAGS_uid);
    }
    explain.gid = absl::GetFlag(FLAGS_gid);
    if (!cl.set.count("path")) return UsageError("explain needs --path");
    explain.path = absl::GetFlag(FLAGS_path);
    if (!cl.set.count("op")) return UsageError("explain needs --op");
    explain.operation = ParseOperation(absl::GetFlag(FLAGS_op));
    if (explain.operation == v1::OPERATION_UNSPECIFIED) {
      return UsageError(absl::StrCat("unknown --op '", absl::GetFlag(FLAGS_op),
                                     "': use lookup, read, write, create, delete, "
                                     "rename or setattr"));
    }
    explain.caller_is_owner = absl::GetFlag(FLAGS_owner);
  }

  std::optional<uint32_t> owner_gid;
  if (command == "owner set") {
    if (!cl.set.count("uid")) return UsageError("owner set needs --uid");
    if (cl.set.count("gid")) owner_gid = absl::GetFlag(FLAGS_gid);
  }

  v1::AuditFilter filter;
  if (absl::StartsWith(command, "audit ")) {
    auto parsed = audit::ParseFilter(
        std::vector<std::string>(w.begin() + first_arg, w.end()), absl::Now());
    if (!parsed.ok()) return UsageError(parsed.status().message());
    filter = *std::move(parsed);
    filter.set_shadow_differs(absl::GetFlag(FLAGS_shadow));
  }

  // --for: policy shadow, grant (0: no end).
  uint64_t duration_seconds = 0;
  if (cl.set.count("for")) {
    absl::StatusOr<uint64_t> seconds = ParseDurationSeconds(absl::GetFlag(FLAGS_for));
    if (!seconds.ok()) return UsageError(seconds.status().message());
    duration_seconds = *seconds;
  }

  GrantArgs grant;
  if (command == "grant") {
    if (cl.set.count("uid")) {
      grant.uid = absl::GetFlag(FLAGS_uid);
      grant.path = w[first_arg];
    } else {
      grant.app = w[first_arg];
      if (grant.app->empty()) return UsageError("grant: APP is empty");
      grant.path = w[first_arg + 1];
    }
    if (grant.path.empty()) return UsageError("grant: PATH is empty");
    absl::StatusOr<std::vector<v1::Operation>> ops =
        ParseGrantOperations(absl::GetFlag(FLAGS_ops));
    if (!ops.ok()) return UsageError(ops.status().message());
    grant.operations = *std::move(ops);
    grant.duration_seconds = duration_seconds;
    grant.redacted = absl::GetFlag(FLAGS_redacted);
    if (cl.set.count("profile")) {
      if (!grant.redacted) return UsageError("--profile needs --redacted");
      grant.profile = absl::GetFlag(FLAGS_profile);
      if (grant.profile.empty()) return UsageError("--profile is empty");
    }
  }

  HandlesArgs handles;
  if (command == "handles") {
    handles.app = absl::GetFlag(FLAGS_app);
    if (cl.set.count("app") && handles.app.empty()) return UsageError("--app is empty");
    if (cl.set.count("uid")) handles.uid = absl::GetFlag(FLAGS_uid);
    handles.path = absl::GetFlag(FLAGS_path);
  }

  AdminClient client(socket, absl::Seconds(timeout));
  const bool json = absl::GetFlag(FLAGS_json);
  const OutputOptions out{json, ShouldColor(color_mode, json, isatty(STDOUT_FILENO) == 1,
                                            std::getenv("NO_COLOR"), std::getenv("TERM"))};
  if (command == "policy get") return PolicyGet(client, out);
  if (command == "policy validate") return PolicyValidate(client, out, w[2]);
  if (command == "policy apply") {
    return PolicyApply(client, out, w[2], absl::GetFlag(FLAGS_expect_generation),
                       absl::GetFlag(FLAGS_revoke));
  }
  if (command == "policy diff") return PolicyDiff(client, out, w[2]);
  if (command == "policy shadow") return PolicyShadowSet(client, out, w[2], duration_seconds);
  if (command == "policy shadow report") {
    return PolicyShadowReport(client, out, absl::GetFlag(FLAGS_top));
  }
  if (command == "policy shadow stop") return PolicyShadowStop(client, out);
  if (command == "policy rules") return PolicyRules(client, out);
  if (command == "grant") return GrantAdd(client, out, grant);
  if (command == "revoke") return GrantRevoke(client, out, w[first_arg]);
  if (command == "grants") return GrantsList(client, out);
  if (command == "handles") return Handles(client, out, handles);
  if (command == "explain") return Explain(client, out, explain);
  if (command == "status") return Status(client, out, absl::GetFlag(FLAGS_prometheus));
  if (command == "audit tail") {
    AuditTailArgs args;
    args.filter = filter;
    args.follow = absl::GetFlag(FLAGS_follow);
    args.lines = absl::GetFlag(FLAGS_lines);
    if (cl.set.count("after")) args.after_id = absl::GetFlag(FLAGS_after);
    return AuditTail(client, out, args);
  }
  if (command == "owner get") return OwnerGet(client, out, w[first_arg]);
  if (command == "owner set") {
    return OwnerSet(client, out, w[first_arg], absl::GetFlag(FLAGS_uid), owner_gid);
  }
  if (command == "owner clear") return OwnerClear(client, out, w[first_arg]);
  if (command == "audit query") {
    AuditQueryArgs args;
    args.filter = filter;
    args.limit = absl::GetFlag(FLAGS_limit);
    args.newest_first = absl::GetFlag(FLAGS_newest);
    return AuditQuery(client, out, args);
  }
  return Stats(client, out);
}

}  // namespace
}  // namespace scopedfs::tools

int main(int argc, char** argv) {
  // gRPC's own log lines would break "one line on stderr"; GRPC_VERBOSITY
  // brings them back for debugging.
  if (std::getenv("GRPC_VERBOSITY") == nullptr) {
    gpr_set_log_function([](gpr_log_func_args*) {});
    // Nor protobuf's (e.g. about a field that does not parse): scopedctl
    // reports the failed call itself.
    google::protobuf::SetLogHandler(nullptr);
  }
  const int code = scopedfs::tools::Run(argc, argv);
  std::fflush(stdout);
  if (std::ferror(stdout)) {
    std::fprintf(stderr, "scopedctl: error: cannot write to standard output\n");
    return scopedfs::tools::kExitFailure;
  }
  return code;
}
