#include "daemon/flags.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/fill.h"
#include "base/roff.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "daemon/state_dir.h"

ABSL_FLAG(std::string, config, "",
          "Configuration file (protobuf text format, "
          "proto/scopedfs/v1/config.proto): SOURCE, MOUNTPOINT, mount "
          "options and any of these flags by name. Flags on the command "
          "line override it.");
ABSL_FLAG(bool, check_config, false,
          "Validate the configuration (file, flags, SOURCE and MOUNTPOINT, "
          "the policy that would be loaded, the audit database) and exit: 0 "
          "if it is usable, 2 with the reason if not. Mounts nothing.");
ABSL_FLAG(std::string, log_format, "auto",
          "text (lines on stderr), journal (structured journald entries), or "
          "auto: journal when stderr is connected to the journal.");
ABSL_FLAG(std::string, state_dir, "/var/lib/scopedfs",
          "Directory for the daemon's state: the applied policy, the audit "
          "and owner database (audit.db), the admin socket, pid file and "
          "stats. Created (0700) if missing.");
ABSL_FLAG(bool, audit, true,
          "Store an audit event for every mediated decision in "
          "STATE_DIR/audit.db. With false, decisions are only counted (the "
          "owner store is kept either way).");
ABSL_FLAG(int, audit_queue_size, 262144,
          "Audit events that may wait for the writer thread; when it is "
          "full, events are dropped and counted (a FUSE reply never waits).");
ABSL_FLAG(absl::Duration, audit_max_age, absl::Hours(24 * 30),
          "Audit events older than this are deleted (0: keep by age).");
ABSL_FLAG(uint64_t, audit_max_mb, 1024,
          "The oldest audit events are deleted while the database holds "
          "more than this many MiB (0: no size limit).");
ABSL_FLAG(bool, move_bad_audit_db_aside, false,
          "If audit.db is damaged or not a scopedfs audit database, rename it "
          "(and its -wal, -shm) to audit.db.bad-UNIXTIME and start with an "
          "empty audit trail and owner store (files lose their owners: "
          "nobody owns them until an admin says so). Command line only.");
ABSL_FLAG(std::string, metrics_textfile, "",
          "Keep the daemon's metrics (Prometheus text format, as `scopedctl "
          "status --prometheus` prints them) in this file, rewritten "
          "atomically every --metrics_interval, for node_exporter's textfile "
          "collector (Debian: /var/lib/prometheus/node-exporter/scopedfs.prom). "
          "Empty: no file.");
ABSL_FLAG(absl::Duration, metrics_interval, absl::Seconds(5),
          "How often --metrics_textfile is rewritten (at least 1s).");
ABSL_FLAG(bool, foreground, false,
          "Stay in the foreground (also -f). Without it the daemon detaches "
          "once the mount is live.");
ABSL_FLAG(bool, passthrough, true,
          "Use kernel FUSE passthrough: reads, writes and mmap of allowed "
          "files bypass the daemon. With false, or a kernel without "
          "passthrough, the daemon serves them (spliced).");
ABSL_FLAG(std::string, transport, "auto",
          "How FUSE requests travel: auto (fuse-over-io-uring where the "
          "kernel has it, else /dev/fuse), uring (io_uring, or refuse to "
          "start), dev (/dev/fuse). For io_uring the daemon sets the fuse "
          "module's enable_uring parameter to Y.");
ABSL_FLAG(int, threads, 8,
          "Maximum number of FUSE worker threads (they are kept, not "
          "restarted, between requests).");
ABSL_FLAG(bool, debug, false,
          "Debug logging (also -d): scopedfs debug lines plus libfuse's trace "
          "of every FUSE request. Implies --foreground.");
ABSL_FLAG(std::string, policy, "",
          "Policy file (protobuf text format) to start with when the state "
          "dir holds none yet. Without it a fresh state dir starts with the "
          "embedded Android-style default. Later changes go through "
          "`scopedctl policy apply` and persist in the state dir.");
ABSL_FLAG(bool, fallback_to_default_policy, false,
          "If the policy stored in the state dir is corrupt, start with the "
          "embedded default instead of refusing to start.");
ABSL_FLAG(std::vector<std::string>, admin_uids, {},
          "Comma-separated uids allowed to use the admin API besides root.");
ABSL_FLAG(std::string, admin_group, "",
          "Group that may connect to the admin socket (socket 0660, state dir "
          "0710 with that group); by default the socket is 0600 (root only). "
          "Peers are still checked by uid (root and --admin_uids).");
ABSL_FLAG(std::string, admin_tcp, "",
          "Also serve the admin API on this host:port, with TLS only: needs "
          "--admin_tls_cert, --admin_tls_key and --admin_tls_client_ca "
          "(client certificates are required and verified).");
ABSL_FLAG(std::string, admin_tls_cert, "", "PEM server certificate for --admin_tcp.");
ABSL_FLAG(std::string, admin_tls_key, "", "PEM server key for --admin_tcp.");
ABSL_FLAG(std::string, admin_tls_client_ca, "",
          "PEM CA that admin client certificates must chain to.");
ABSL_FLAG(uint64_t, max_nodes, 0,
          "Most inodes the kernel may keep known at once (each costs the "
          "daemon a descriptor). Above it the daemon asks the kernel to drop "
          "the least recently used files' entries. 0: half the descriptor "
          "limit.");
ABSL_FLAG(bool, reflink_views, true,
          "Where SOURCE's file system can reflink (xfs, btrfs), serve a "
          "redacted view through kernel passthrough over an unnamed, "
          "reflinked copy of the file with the location ranges zeroed "
          "(native read and mmap speed; an open reads the file as it was "
          "when opened). Elsewhere, or false: the daemon serves the view.");
ABSL_FLAG(uint64_t, max_reflink_views, 512,
          "Most reflinked copies of redacted views that exist at once (held "
          "by open files or kept for the next open); beyond it the daemon "
          "serves the view. Each costs a descriptor and the blocks zeroed.");
ABSL_FLAG(double, timeout, 1.0,
          "Seconds the kernel may cache entries and attributes. Changes made "
          "through the mount are always seen at once; changes made directly "
          "in SOURCE are seen after at most this long.");

namespace scopedfs {
namespace {

// The admin endpoint's options from the flags; InvalidArgument on a bad uid
// or a TCP endpoint without TLS.
absl::StatusOr<AdminServerOptions> AdminOptionsFromFlags() {
  AdminServerOptions admin;  // socket_path: the Daemon's, in its state dir.
  admin.socket_group = absl::GetFlag(FLAGS_admin_group);
  for (const std::string& uid : absl::GetFlag(FLAGS_admin_uids)) {
    uint32_t value;
    if (!absl::SimpleAtoi(uid, &value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--admin_uids: '", uid, "' is not a uid"));
    }
    admin.admin_uids.insert(value);
  }
  admin.tcp_address = absl::GetFlag(FLAGS_admin_tcp);
  admin.tls_cert_file = absl::GetFlag(FLAGS_admin_tls_cert);
  admin.tls_key_file = absl::GetFlag(FLAGS_admin_tls_key);
  admin.tls_client_ca_file = absl::GetFlag(FLAGS_admin_tls_client_ca);
  if (!admin.tcp_address.empty() &&
      (admin.tls_cert_file.empty() || admin.tls_key_file.empty() ||
       admin.tls_client_ca_file.empty())) {
    return absl::InvalidArgumentError(
        "--admin_tcp needs --admin_tls_cert, --admin_tls_key and "
        "--admin_tls_client_ca: the TCP admin endpoint is TLS-only with "
        "client certificates");
  }
  return admin;
}

// --- scopedfsd's documentation: --help's usage text and the man page ----

constexpr char kSummary[] = "mounts SOURCE at MOUNTPOINT and mediates every access to it";

constexpr const char* kSynopses[] = {
    "scopedfsd [flags] [-o opt[,opt...]] [-f] [-d] SOURCE MOUNTPOINT",
    "scopedfsd --config=FILE [flags] [SOURCE MOUNTPOINT]",
};

// The options that are no absl flags (SplitFuseStyleArgs takes them out).
struct OptionDoc {
  const char* usage;  // "-o opt": the option, then its value.
  const char* help;
};
constexpr OptionDoc kFuseStyleOptions[] = {
    {"-o opt", "mount options for libfuse (fsname=, subtype=, ro, noatime, ...); allow_other "
               "and default_permissions are always on"},
    {"-f", "same as --foreground"},
    {"-d", "same as --debug"},
};

// main.cc's exit codes.
struct ExitStatusDoc {
  int code;
  const char* meaning;
};
constexpr ExitStatusDoc kExitStatuses[] = {
    {0, "serving (in the background), or unmounted cleanly (in the foreground); with "
        "--check_config: the configuration is usable"},
    {1, "serving failed"},
    {2, "could not start: bad arguments, configuration or state (one line \"scopedfsd: "
        "error: ...\" on stderr, nothing mounted)"},
};

std::string Bold(absl::string_view text) { return RoffBold(text); }
std::string Italic(absl::string_view text) { return RoffItalic(text); }

// A synopsis: the program and options bold, placeholders (SOURCE, opt) in
// italics.
std::string RoffSynopsis(absl::string_view text) {
  return RoffByWord(
      text, [](char c) { return absl::ascii_isalnum(c) || c == '_' || c == '-'; },
      [](absl::string_view word) {
        if (word[0] == '-' || word == "scopedfsd") return 'B';
        if (word == "flags" || word == "opt" || absl::AsciiStrToUpper(word) == word) return 'I';
        return 'R';
      });
}

// The flags --help lists (those of kFlagsFile), by name.
std::vector<const absl::CommandLineFlag*> ListedFlags() {
  std::vector<const absl::CommandLineFlag*> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (!flag->IsRetired() && absl::StrContains(flag->Filename(), kFlagsFile)) {
      flags.push_back(flag);
    }
  }
  std::sort(flags.begin(), flags.end(),
            [](const auto* a, const auto* b) { return a->Name() < b->Name(); });
  return flags;
}

// The placeholder of a flag's value in the man page ("" for a boolean).
std::string FlagValueName(const absl::CommandLineFlag& flag) {
  static const auto* const kNamed = new std::map<std::string, std::string>{
      {"admin_group", "GROUP"},   {"admin_tcp", "HOST:PORT"},     {"admin_tls_cert", "FILE"},
      {"admin_tls_key", "FILE"},  {"admin_tls_client_ca", "FILE"}, {"admin_uids", "UID,..."},
      {"config", "FILE"},         {"log_format", "FORMAT"},        {"policy", "FILE"},
      {"state_dir", "DIR"},       {"timeout", "SECONDS"},          {"transport", "MODE"},
      {"metrics_textfile", "FILE"},
  };
  if (flag.IsOfType<bool>()) return "";
  if (auto it = kNamed->find(std::string(flag.Name())); it != kNamed->end()) return it->second;
  if (flag.IsOfType<absl::Duration>()) return "DURATION";
  if (flag.IsOfType<std::string>()) return "VALUE";
  return "N";
}

constexpr char kManDescription[] =
    R"(scopedfsd mediates how applications reach shared storage on Linux, the
way Android's MediaProvider does on phones. It mounts a FUSE file system
over the directory SOURCE at MOUNTPOINT, and decides every lookup, open and
name change of every caller by the policy (scopedfs-policy(5)) and who the
caller is: allowed, allowed through a view of a photo or video with its
location metadata zeroed (redacted), denied (EACCES) or hidden (ENOENT).
What is allowed runs at native speed through kernel FUSE passthrough. Every
decision is audited in a queryable SQLite store, files created through the
mount belong to the app that created them, and admins read, validate, apply
and explain the policy with scopedctl(8) while the daemon serves.

Without --foreground, scopedfsd returns only once the daemon fully serves:
the mount is live, the admin socket listening, audit.db open and the pid
file written; under systemd (--foreground, Type=notify) READY=1 comes at
that point. SIGINT, SIGTERM and SIGHUP unmount and exit 0, and so does an
unmount (fusermount3 -u MOUNTPOINT); SIGUSR1 writes the counters to
STATE_DIR/stats. The mount is always allow_other and default_permissions.)";

}  // namespace

std::string UsageMessage() {
  std::string out = absl::StrCat(kSummary, ".\n");
  const char* lead = "usage: ";
  for (const char* synopsis : kSynopses) {
    absl::StrAppend(&out, lead, synopsis, "\n");
    lead = "       ";
  }
  // "  -o opt   mount options ...": the help at column 11.
  for (const OptionDoc& o : kFuseStyleOptions) {
    std::string usage = absl::StrCat("  ", o.usage, " ");
    usage.resize(std::max<size_t>(usage.size(), 11), ' ');
    absl::StrAppend(&out, usage, FillWords(absl::string_view(o.help), usage.size(), 11), "\n");
  }
  std::vector<std::string> codes;
  for (const ExitStatusDoc& e : kExitStatuses) {
    codes.push_back(absl::StrCat(e.code, " ", e.meaning));
  }
  absl::StrAppend(&out, FillWords(absl::StrCat("exit status: ", absl::StrJoin(codes, "; ")), 0, 2));
  return out;
}

std::string ManPage() {
  std::string out = absl::StrCat(
      ".\\\" scopedfsd(8), generated by `scopedfsd --help_man` from the usage text\n"
      ".\\\" and flags --help shows (daemon/flags.cc): regenerate it rather than edit it.\n"
      ".TH SCOPEDFSD 8 \"\" scopedfs\n"
      // No hyphenation, ragged right: flags and paths stay whole.
      ".nh\n.ad l\n"
      ".SH NAME\nscopedfsd \\- ", Roff(kSummary), "\n.SH SYNOPSIS\n");
  for (const char* synopsis : kSynopses) absl::StrAppend(&out, RoffSynopsis(synopsis), "\n.br\n");
  absl::StrAppend(&out, ".SH DESCRIPTION\n");
  for (absl::string_view paragraph : absl::StrSplit(kManDescription, "\n\n")) {
    absl::StrAppend(&out, ".PP\n", Roff(paragraph), "\n");
  }
  absl::StrAppend(&out, ".SH OPTIONS\n");
  for (const OptionDoc& o : kFuseStyleOptions) {
    absl::StrAppend(&out, ".TP\n", RoffSynopsis(o.usage), "\n", Roff(o.help), ".\n");
  }
  absl::StrAppend(&out, ".PP\n",
                  Roff("Flags may also be given in the --config file, by name; the command "
                       "line overrides it. Boolean flags take --flag, --flag=true|false and "
                       "--noflag; multi-word flags take '-' or '_' (--state_dir, "
                       "--state-dir)."),
                  "\n");
  for (const absl::CommandLineFlag* flag : ListedFlags()) {
    const std::string value = FlagValueName(*flag);
    const std::string default_value = flag->DefaultValue();
    absl::StrAppend(&out, ".TP\n", Bold(absl::StrCat("--", flag->Name())),
                    value.empty() ? "" : "=", value.empty() ? "" : Italic(value), "\n",
                    Roff(flag->Help()), "\n");
    if (!default_value.empty()) {
      absl::StrAppend(&out, "Default: ", Roff(default_value), ".\n");
    }
  }
  // A tagged paragraph: an exit code, a variable, a file.
  const auto item = [&out](absl::string_view tag, absl::string_view text) {
    absl::StrAppend(&out, ".TP\n", Bold(tag), "\n", Roff(text), "\n");
  };
  absl::StrAppend(&out, ".SH \"EXIT STATUS\"\n");
  for (const ExitStatusDoc& e : kExitStatuses) item(absl::StrCat(e.code), e.meaning);
  absl::StrAppend(&out, ".SH ENVIRONMENT\n");
  item("NOTIFY_SOCKET", "Set by systemd (Type=notify): READY=1 once serving, STOPPING=1 "
                        "before the unmount, and watchdog pings (WATCHDOG_USEC) while the "
                        "mount answers.");
  item("JOURNAL_STREAM", "Set by systemd: with --log_format=auto, log lines are structured "
                         "journal entries when stderr is this stream.");
  absl::StrAppend(&out, ".SH FILES\n");
  // The state dir's files by their names in state_dir.h, under the default
  // --state_dir.
  const std::string state = absl::FindCommandLineFlag("state_dir")->DefaultValue();
  item("/etc/scopedfs/scopedfs.textproto",
       "The configuration the scopedfsd.service unit starts the daemon with (--config): "
       "SOURCE, MOUNTPOINT, mount options and flags by name, in protobuf text format. "
       "scopedfsd@NAME.service reads /etc/scopedfs/NAME.textproto, with the state dir " +
           state + "/NAME.");
  item(state, "The state directory (--state_dir), created 0700 (0710 with --admin_group) "
              "and locked: one daemon per state dir. Every file in it is 0600.");
  item(absl::StrCat(state, "/", StateDir::kPolicyFile),
       "The policy in force (scopedfs-policy(5)): on the first start --policy or the "
       "embedded Android-style default, then what scopedctl policy apply sets.");
  item(absl::StrCat(state, "/", StateDir::kGrantsFile),
       "The grants in force (scopedctl grant), decided before the policy's rules.");
  item(absl::StrCat(state, "/", StateDir::kAuditDb),
       "The audit trail and the owner store (SQLite, with -wal and -shm beside it).");
  item(absl::StrCat(state, "/", StateDir::kAdminSocket),
       "The admin API's socket, for scopedctl(8), which root and the --admin_uids may use "
       "(0600; 0660 with --admin_group).");
  item(absl::StrCat(state, "/", StateDir::kPidFile), "The daemon's pid.");
  item(absl::StrCat(state, "/", StateDir::kStatsFile), "The counters, written on SIGUSR1.");
  absl::StrAppend(
      &out, ".SH EXAMPLES\n.PP\n.RS 4\n.nf\n",
      Roff("scopedfsd /srv/shared /mnt/shared && scopedctl status\n"
           "scopedfsd -f -o noatime --policy=my.textproto /srv/shared /mnt/shared\n"
           "scopedfsd --config=/etc/scopedfs/scopedfs.textproto --check_config\n"
           "fusermount3 -u /mnt/shared            # unmounts; the daemon exits 0\n"),
      ".fi\n.RE\n",
      ".SH \"SEE ALSO\"\n.BR scopedctl (8),\n.BR scopedfs\\-policy (5),\n.BR fusermount3 (1),\n"
      ".BR mount.fuse3 (8)\n");
  return out;
}

absl::StatusOr<DaemonOptions> DaemonOptionsFromFlags(
    const std::string& source, const std::string& mountpoint,
    const std::vector<std::string>& mount_options, bool debug) {
  DaemonOptions o;
  o.source = source;
  o.mountpoint = mountpoint;
  o.mount_options = mount_options;
  o.debug = debug;
  o.state_dir = absl::GetFlag(FLAGS_state_dir);
  o.threads = absl::GetFlag(FLAGS_threads);
  if (o.threads < 1 || o.threads > 1024) {
    return absl::InvalidArgumentError("--threads must be between 1 and 1024");
  }
  o.server.passthrough = absl::GetFlag(FLAGS_passthrough);
  auto transport = ParseTransport(absl::GetFlag(FLAGS_transport));
  if (!transport.ok()) return transport.status();
  o.transport = *transport;
  o.server.timeout = absl::GetFlag(FLAGS_timeout);
  if (o.server.timeout < 0) {
    return absl::InvalidArgumentError("--timeout must be >= 0");
  }
  o.max_nodes = absl::GetFlag(FLAGS_max_nodes);
  o.server.max_reflink_views =
      absl::GetFlag(FLAGS_reflink_views) ? absl::GetFlag(FLAGS_max_reflink_views) : 0;
  o.store_audit_events = absl::GetFlag(FLAGS_audit);
  if (absl::GetFlag(FLAGS_audit_queue_size) < 1) {
    return absl::InvalidArgumentError("--audit_queue_size must be at least 1");
  }
  o.audit.queue_capacity =
      static_cast<size_t>(absl::GetFlag(FLAGS_audit_queue_size));
  o.audit.max_age = absl::GetFlag(FLAGS_audit_max_age);
  if (o.audit.max_age < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--audit_max_age must not be negative");
  }
  o.audit.max_bytes = absl::GetFlag(FLAGS_audit_max_mb) << 20;
  o.move_bad_audit_db_aside = absl::GetFlag(FLAGS_move_bad_audit_db_aside);
  o.metrics_textfile = absl::GetFlag(FLAGS_metrics_textfile);
  o.metrics_interval = absl::GetFlag(FLAGS_metrics_interval);
  if (!o.metrics_textfile.empty() && o.metrics_textfile[0] != '/') {
    return absl::InvalidArgumentError(absl::StrCat(
        "--metrics_textfile: '", o.metrics_textfile, "' is not an absolute path"));
  }
  if (o.metrics_interval < absl::Seconds(1)) {
    return absl::InvalidArgumentError("--metrics_interval must be at least 1s");
  }
  o.policy.seed_file = absl::GetFlag(FLAGS_policy);
  o.policy.fallback_to_default = absl::GetFlag(FLAGS_fallback_to_default_policy);
  auto admin = AdminOptionsFromFlags();
  if (!admin.ok()) return admin.status();
  o.admin = *std::move(admin);
  return o;
}

}  // namespace scopedfs
