// scopedctl: the admin tool of scopedfs. It talks to scopedfsd's Admin gRPC
// service on STATE_DIR/admin.sock; see kHelp for the commands.
//
// Flags are absl flags, parsed here rather than by absl::ParseCommandLine so
// that every mistake is one line and exit code 2, that "--expect-generation"
// and "--expect_generation" both work, and that a command rejects the flags
// of other commands.
#include <cmath>
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
#include "grpc/support/log.h"
#include "audit/filter_text.h"
#include "tools/audit_commands.h"
#include "tools/client.h"
#include "tools/commands.h"
#include "tools/output.h"

ABSL_FLAG(std::string, state_dir, "/var/lib/scopedfs",
          "State directory of the daemon (scopedfsd --state_dir); its socket is "
          "DIR/admin.sock.");
ABSL_FLAG(std::string, socket, "", "The admin socket; overrides --state_dir.");
ABSL_FLAG(bool, json, false, "Print JSON instead of tables.");
ABSL_FLAG(double, timeout, 5, "Seconds to wait for the daemon.");
ABSL_FLAG(uint64_t, expect_generation, 0,
          "policy apply: apply only if this generation is running (0: any).");
ABSL_FLAG(std::string, app, "", "explain: the caller is this app.");
ABSL_FLAG(uint32_t, uid, 0, "explain: the caller's uid.");
ABSL_FLAG(uint32_t, gid, 0, "explain: the caller's gid.");
ABSL_FLAG(std::string, path, "", "explain: the path, relative to the mount root.");
ABSL_FLAG(std::string, op, "", "explain: lookup|read|write|create|delete|rename|setattr.");
ABSL_FLAG(bool, owner, false, "explain: the caller's app created the file.");
ABSL_FLAG(bool, follow, false, "audit tail: keep printing new events (also -f).");
ABSL_FLAG(uint32_t, lines, 10, "audit tail: stored events shown first (also -n).");
ABSL_FLAG(uint64_t, after, 0, "audit tail: resume after this event id.");
ABSL_FLAG(uint32_t, limit, 100, "audit query: at most this many events (0: all).");
ABSL_FLAG(bool, newest, false, "audit query: newest first.");
ABSL_FLAG(bool, prometheus, false, "status: Prometheus text format.");

namespace scopedfs::tools {
namespace {

constexpr char kHelp[] = R"(scopedctl: administers a running scopedfsd through its admin socket.

Usage: scopedctl [FLAGS] COMMAND [ARGS]      (flags may come anywhere)

Commands:
  policy get
      The running policy in protobuf text format, headed by "# generation N"
      (a comment, so the output is itself a policy file).
  policy validate FILE
      Has the daemon check FILE without applying it. Prints "policy FILE is
      valid", or one "FILE: FIELD: MESSAGE" line per error and exits 1.
  policy apply FILE [--expect-generation=N]
      Applies FILE. With N, only if generation N is still the running one
      (otherwise nothing changes and scopedctl exits 1). Prints the new
      generation.
  policy diff FILE
      Unified diff from the running policy to FILE, both normalized (comments,
      layout and field order do not count). Exit 0: the same policy; 1: they
      differ (like diff(1)).
  explain (--app=APP | --uid=UID [--gid=GID]) --path=PATH --op=OP [--owner]
      How the running policy decides one request, without touching any file:
      action, deciding rule, reason, app, generation. PATH is relative to the
      mount root (a full path under the mountpoint works too); OP is one
      of lookup, read, write, create, delete, rename, setattr; --owner: the
      caller's app created the file.
  status [--prometheus]
      Whether the daemon is serving, mountpoint, source, passthrough, policy
      generation, uptime, its counters (decisions by operation and outcome,
      audit queue, drops, database size, ...) and latency histograms. With
      --prometheus: all of it in the Prometheus text format (for
      node_exporter's textfile collector).
  audit tail [-f] [-n N] [--after=ID] [FILTER...]
      The last N (default 10) audit events, oldest first; with -f, then every
      new one as it is stored, until interrupted. --after=ID: every stored
      event after ID, then new ones (resume where a previous tail stopped).
  audit query [--limit=N] [--newest] [FILTER...]
      Stored audit events, oldest first (--newest: newest first), at most N
      (default 100; 0: all).
      FILTER terms (all must hold; commas give alternatives):
        app=NAME[,NAME]   uid=N[,N]   path=DIR/OR/FILE (it and below)
        op=lookup|read|write|create|delete|rename|setattr|open (read,write)
        decision=allow|redacted|deny|hide
        since=TIME  until=TIME   (RFC 3339, @UNIXSECONDS, or a duration
                                  before now: 90s, 10m, 2h, 1d)
  stats
      The counters only.

Flags:
  --state_dir=DIR   the daemon's state directory (default /var/lib/scopedfs);
                    the socket is DIR/admin.sock
  --socket=PATH     the admin socket itself (overrides --state_dir)
  --json            one JSON object on stdout instead of a table (proto field
                    names; 64-bit numbers as strings)
  --timeout=SECONDS how long to wait for the daemon (default 5)
  --help            this text
  Multi-word flags take '-' or '_' (--expect-generation, --expect_generation).
  FILE "-" is standard input.

Examples:
  scopedctl status
  scopedctl policy get > policy.textproto     # note N in "# generation N"
  scopedctl policy validate policy.textproto
  scopedctl policy diff policy.textproto
  scopedctl policy apply policy.textproto --expect-generation=N
  scopedctl explain --app=gallery --path=DCIM/Camera/a.jpg --op=read
  scopedctl explain --uid=10123 --path=Download/x.pdf --op=write --owner --json
  scopedctl --state_dir=/tmp/demo/state status --json
  scopedctl status --prometheus
  scopedctl audit tail -f app=gallery decision=deny,hide
  scopedctl audit query since=1h path=DCIM op=open --json

Exit status: 0 success; 1 failure (one line "scopedctl: error: ..." on
stderr), an invalid policy (validate) or a difference (diff); 2 a command
line mistake. Only root and the daemon's admin uids may use the socket.
)";

// sizeof(sockaddr_un::sun_path), with the terminating NUL.
constexpr size_t kMaxSocketPath = 108;

const std::set<std::string>& GlobalFlags() {
  static const auto* flags = new std::set<std::string>{"state_dir", "socket", "json", "timeout"};
  return *flags;
}

// The flags each command takes besides the global ones.
std::set<std::string> CommandFlags(const std::string& command) {
  if (command == "policy apply") return {"expect_generation"};
  if (command == "explain") return {"app", "uid", "gid", "path", "op", "owner"};
  if (command == "audit tail") return {"follow", "lines", "after"};
  if (command == "audit query") return {"limit", "newest"};
  if (command == "status") return {"prometheus"};
  return {};
}

bool IsFlagName(const std::string& name) {
  if (GlobalFlags().count(name)) return true;
  for (const char* command : {"policy apply", "explain", "audit tail", "audit query", "status"}) {
    if (CommandFlags(command).count(name)) return true;
  }
  return false;
}

// Single-letter flags: -f, -n.
std::string LongName(const std::string& name) {
  if (name == "f") return "follow";
  if (name == "n") return "lines";
  return name;
}

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

int Run(int argc, char** argv) {
  CommandLine cl;
  if (int code = Parse(argc, argv, &cl); code >= 0) return code;
  if (cl.help || (!cl.words.empty() && cl.words[0] == "help")) {
    Print(kHelp);
    return kExitOk;
  }
  if (cl.words.empty()) return UsageError("no command given");

  // The command: one word, or "policy" and a verb; then its arguments.
  const std::vector<std::string>& w = cl.words;
  std::string command = w[0];
  size_t nargs = 0;  // Positional arguments after the command words.
  size_t first_arg = 1;
  if (command == "policy") {
    if (w.size() < 2) return UsageError("policy needs a verb: get, validate, apply or diff");
    command += " " + w[1];
    first_arg = 2;
    if (w[1] == "get") {
      nargs = 0;
    } else if (w[1] == "validate" || w[1] == "apply" || w[1] == "diff") {
      nargs = 1;
      if (w.size() < 3) return UsageError(absl::StrCat(command, " needs a FILE"));
    } else {
      return UsageError(absl::StrCat("unknown policy verb '", w[1],
                                     "': use get, validate, apply or diff"));
    }
  } else if (command == "audit") {
    if (w.size() < 2) return UsageError("audit needs a verb: tail or query");
    if (w[1] != "tail" && w[1] != "query") {
      return UsageError(absl::StrCat("unknown audit verb '", w[1], "': use tail or query"));
    }
    command += " " + w[1];
    first_arg = 2;
    nargs = w.size() - first_arg;  // Filter terms.
  } else if (command != "explain" && command != "status" && command != "stats") {
    return UsageError(absl::StrCat("unknown command '", command, "'"));
  }
  if (w.size() > first_arg + nargs) {
    return UsageError(absl::StrCat("unexpected argument '", w[first_arg + nargs], "' for '",
                                   command, "'"));
  }
  const std::set<std::string> allowed = CommandFlags(command);
  for (const std::string& name : cl.set) {
    if (!GlobalFlags().count(name) && !allowed.count(name)) {
      return UsageError(absl::StrCat(Dashed(name), " does not apply to '", command, "'"));
    }
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

  v1::AuditFilter filter;
  if (absl::StartsWith(command, "audit ")) {
    auto parsed = audit::ParseFilter(
        std::vector<std::string>(w.begin() + first_arg, w.end()), absl::Now());
    if (!parsed.ok()) return UsageError(parsed.status().message());
    filter = *std::move(parsed);
  }

  AdminClient client(socket, absl::Seconds(timeout));
  const OutputOptions out{absl::GetFlag(FLAGS_json)};
  if (command == "policy get") return PolicyGet(client, out);
  if (command == "policy validate") return PolicyValidate(client, out, w[2]);
  if (command == "policy apply") {
    return PolicyApply(client, out, w[2], absl::GetFlag(FLAGS_expect_generation));
  }
  if (command == "policy diff") return PolicyDiff(client, out, w[2]);
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
  }
  const int code = scopedfs::tools::Run(argc, argv);
  std::fflush(stdout);
  if (std::ferror(stdout)) {
    std::fprintf(stderr, "scopedctl: error: cannot write to standard output\n");
    return scopedfs::tools::kExitFailure;
  }
  return code;
}
