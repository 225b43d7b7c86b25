// scopedfsd: mounts SOURCE at MOUNTPOINT and serves it through FUSE.
//   scopedfsd [flags] [-o opt,...] SOURCE MOUNTPOINT
// Exit status: 0 after a clean unmount (SIGINT, SIGTERM, SIGHUP or fusermount
// -u), 1 on a runtime failure, 2 on bad arguments.
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <memory>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/numbers.h"
#include "absl/time/time.h"
#include "audit/audit_log.h"
#include "audit/database.h"
#include "daemon/admin/admin_server.h"
#include "daemon/command_line.h"
#include "daemon/config_file.h"
#include "daemon/flag_check.h"
#include "daemon/mount_options.h"
#include "daemon/service_notify.h"
#include "policy/engine.h"
#include "daemon/policy_store.h"
#include "daemon/fuse/ops.h"
#include "daemon/log.h"
#include "daemon/inode_invalidator.h"
#include "daemon/node_reclaimer.h"
#include "daemon/server.h"
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
ABSL_FLAG(int, audit_queue_size, 65536,
          "Audit events that may wait for the writer thread; when it is "
          "full, events are dropped and counted (a FUSE reply never waits).");
ABSL_FLAG(absl::Duration, audit_max_age, absl::Hours(24 * 30),
          "Audit events older than this are deleted (0: keep by age).");
ABSL_FLAG(uint64_t, audit_max_mb, 1024,
          "The oldest audit events are deleted while the database holds "
          "more than this many MiB (0: no size limit).");
ABSL_FLAG(bool, foreground, false,
          "Stay in the foreground (also -f). Without it the daemon detaches "
          "once the mount is live.");
ABSL_FLAG(bool, passthrough, true,
          "Use kernel FUSE passthrough: reads, writes and mmap of allowed "
          "files bypass the daemon. With false, or a kernel without "
          "passthrough, the daemon serves them (spliced).");
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
ABSL_FLAG(double, timeout, 1.0,
          "Seconds the kernel may cache entries and attributes. Changes made "
          "through the mount are always seen at once; changes made directly "
          "in SOURCE are seen after at most this long.");

namespace scopedfs {
namespace {

constexpr int kExitUsage = 2;
constexpr int kExitFailure = 1;

[[noreturn]] void Die(int status, const std::string& message) {
  std::fprintf(stderr, "scopedfsd: error: %s\n", message.c_str());
  std::exit(status);
}

// Returns the descriptor limit in force afterwards.
rlim_t RaiseFdLimit() {
  // Every node the kernel knows holds an O_PATH descriptor, and every file a
  // client holds open one more: a client may hold as many files as its own
  // limit allows, so ours must be far higher. Root may raise the hard limit
  // up to fs.nr_open; otherwise take what the hard limit gives.
  rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 1024;
  std::ifstream nr_open_file("/proc/sys/fs/nr_open");
  rlim_t nr_open = 0;
  if (nr_open_file >> nr_open && nr_open > lim.rlim_max) {
    const rlimit raised = {nr_open, nr_open};
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) return nr_open;
  }
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  // Without CAP_SYS_RESOURCE the hard limit is what we inherited.
  if (lim.rlim_cur < 262144) {
    SFS_LOG(kWarning,
            "descriptor limit %d (no CAP_SYS_RESOURCE to raise it): clients "
            "holding more than about %d files open in all get EMFILE; raise "
            "LimitNOFILE / ulimit -Hn",
            lim.rlim_cur, lim.rlim_cur / 2);
  }
  return lim.rlim_cur;
}

void HandleStaleMount(const std::string& mountpoint) {
  switch (ProbeMountpoint(mountpoint)) {
    case MountpointState::kReady:
      return;
    case MountpointState::kLiveMount:
      Die(kExitUsage, absl::StrCat("mountpoint '", mountpoint,
                                   "' is already a mount point; unmount it "
                                   "first (umount ", mountpoint, ")"));
    case MountpointState::kStaleFuseMount:
      SFS_LOG(kWarning,
              "found a stale FUSE mount at %s (its daemon is gone); "
              "unmounting it",
              mountpoint);
      if (umount2(mountpoint.c_str(), MNT_DETACH) != 0) {
        Die(kExitFailure, absl::StrCat("cannot clean the stale mount at '",
                                       mountpoint, "': ", strerror(errno)));
      }
      return;
  }
}

std::string MountOptions(const std::vector<std::string>& user_options,
                         const std::string& source) {
  // Always allow_other (serving other uids is the point) and
  // default_permissions (the kernel checks the caller's access, see
  // caller_creds.h). fsname is the source unless the user names one.
  std::vector<std::string> opts = {"allow_other", "default_permissions"};
  bool has_fsname = false;
  for (const std::string& o : user_options) {
    if (o == "allow_other" || o == "default_permissions") continue;
    if (absl::StartsWith(o, "fsname=")) has_fsname = true;
    opts.push_back(o);
  }
  if (!has_fsname) {
    opts.push_back(absl::StrCat("fsname=", EscapeMountOptionValue(source)));
  }
  return absl::StrJoin(opts, ",");
}

// Dumps the counters to the state dir on SIGUSR1 (scopedctl stats, tests);
// SIGUSR2 ends the loop. Both signals are blocked in every other thread.
class StatsDumper {
 public:
  StatsDumper(Server* server, StateDir* state) : server_(server), state_(state) {
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGUSR1);
    sigaddset(&signals_, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
    thread_ = std::thread([this] { Loop(); });
  }
  ~StatsDumper() {
    pthread_kill(thread_.native_handle(), SIGUSR2);
    thread_.join();
    Dump();  // The final counters stay readable after exit.
  }

 private:
  void Loop() {
    int sig = 0;
    while (sigwait(&signals_, &sig) == 0 && sig == SIGUSR1) Dump();
  }
  void Dump() {
    auto st = state_->WriteStats(
        RenderStats(*server_, ++sequence_));
    if (!st.ok()) SFS_LOG(kWarning, "cannot write stats: %s", st.ToString());
  }

  Server* const server_;
  StateDir* const state_;
  sigset_t signals_;
  std::atomic<uint64_t> sequence_{0};
  std::thread thread_;
};

// The admin endpoint's options from the flags; InvalidArgument on a bad uid
// or a TCP endpoint without TLS.
absl::StatusOr<AdminServerOptions> AdminOptionsFromFlags(
    const std::string& state_path) {
  AdminServerOptions admin;
  admin.socket_path = state_path + "/admin.sock";
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

absl::Status CheckAuditFlags() {
  if (absl::GetFlag(FLAGS_audit_queue_size) < 1) {
    return absl::InvalidArgumentError("--audit_queue_size must be at least 1");
  }
  if (absl::GetFlag(FLAGS_audit_max_age) < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--audit_max_age must not be negative");
  }
  return absl::OkStatus();
}

// --check_config: what Run would refuse, found without mounting and without
// taking the state dir (a running daemon may hold it). Prints what it
// checked; exit 0 if usable, 2 with one line per problem if not.
int CheckConfig(const std::string& source_arg,
                const std::string& mountpoint_arg) {
  std::vector<std::string> problems, notes;
  const std::string state_dir = absl::GetFlag(FLAGS_state_dir);
  if (ProbeMountpoint(mountpoint_arg) == MountpointState::kLiveMount) {
    notes.push_back(absl::StrCat("mountpoint ", mountpoint_arg,
                                 " is mounted now (a running scopedfsd?)"));
  } else {
    std::string source, mountpoint;
    if (auto st = ValidateMountPaths(source_arg, mountpoint_arg, &source,
                                     &mountpoint);
        !st.ok()) {
      problems.push_back(std::string(st.message()));
    } else {
      notes.push_back(absl::StrCat("source ", source, ", mountpoint ", mountpoint));
    }
  }
  if (auto admin = AdminOptionsFromFlags(state_dir); !admin.ok()) {
    problems.push_back(std::string(admin.status().message()));
  } else {
    for (const std::string& f : {admin->tls_cert_file, admin->tls_key_file,
                                 admin->tls_client_ca_file}) {
      if (!f.empty() && access(f.c_str(), R_OK) != 0) {
        problems.push_back(absl::StrCat("cannot read '", f, "': ", strerror(errno)));
      }
    }
  }
  if (auto st = CheckAuditFlags(); !st.ok()) {
    problems.push_back(std::string(st.message()));
  }
  // The policy the daemon would start with (a stored policy that does not
  // compile is a problem here, as it is for a start without the fallback).
  PolicyStore::LoadOptions policy_options;
  policy_options.seed_file = absl::GetFlag(FLAGS_policy);
  if (auto initial = PolicyStore::ReadInitial(state_dir, policy_options);
      !initial.ok()) {
    // A --policy file that cannot be read says so itself ("--policy: ...").
    const absl::string_view message = initial.status().message();
    problems.push_back(absl::StartsWith(message, "--policy: ")
                           ? std::string(message)
                           : absl::StrCat("policy: ", message));
  } else {
    const v1::Policy& policy = initial->engine->policy();
    notes.push_back(absl::StrCat("policy ", initial->origin, ": ",
                                 policy.rules_size(), " rules, ",
                                 policy.apps_size(), " apps"));
  }
  const std::string audit_db = absl::StrCat(state_dir, "/", StateDir::kAuditDb);
  if (access(audit_db.c_str(), F_OK) == 0) {
    if (auto db = audit::Database::Open(audit_db, audit::Database::Mode::kReadOnly);
        !db.ok()) {
      problems.push_back(std::string(db.status().message()));
    } else {
      notes.push_back(absl::StrCat("audit database ", audit_db, " opens"));
    }
  }
  for (const std::string& n : notes) std::printf("scopedfsd: ok: %s\n", n.c_str());
  for (const std::string& p : problems) {
    std::fprintf(stderr, "scopedfsd: error: %s\n", p.c_str());
  }
  if (!problems.empty()) return kExitUsage;
  std::printf("scopedfsd: configuration is valid\n");
  return 0;
}

int Run(int argc, char** argv) {
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::StrContains(file, "daemon/main.cc");
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  absl::SetProgramUsageMessage(
      "mounts SOURCE at MOUNTPOINT and mediates every access to it.\n"
      "usage: scopedfsd [flags] [-o opt[,opt...]] [-f] [-d] SOURCE "
      "MOUNTPOINT\n"
      "  -o opt   mount options for libfuse (fsname=, subtype=, ro, noatime, "
      "...);\n"
      "           allow_other and default_permissions are always on\n"
      "  -f       same as --foreground;  -d  same as --debug");

  auto split = SplitFuseStyleArgs(argc, argv);
  if (!split.ok()) Die(kExitUsage, std::string(split.status().message()));
  // Bad -o options and flags are found here, each as one line: libfuse and
  // absl would report them in several, and absl exit with 1.
  if (auto st = CheckMountOptions(split->mount_options, "-o "); !st.ok()) {
    Die(kExitUsage, std::string(st.message()));
  }
  std::vector<std::string> normalized;
  NormalizeFlagDashes(&normalized, &split->rest);
  const std::set<std::string> given = FlagsOnCommandLine(split->rest);
  if (auto st = CheckAndSetFlags(split->rest); !st.ok()) {
    Die(kExitUsage, std::string(st.message()));
  }
  std::vector<char*> positional =
      absl::ParseCommandLine(split->rest.size(), split->rest.data());
  std::string source_arg, mountpoint_arg;
  if (const std::string config_file = absl::GetFlag(FLAGS_config);
      !config_file.empty()) {
    auto config = ReadConfigFile(config_file);
    if (!config.ok()) Die(kExitUsage, std::string(config.status().message()));
    if (auto st = ApplyConfigToFlags(*config, given); !st.ok()) {
      Die(kExitUsage, absl::StrCat("config file '", config_file, "': ", st.message()));
    }
    source_arg = config->source();
    mountpoint_arg = config->mountpoint();
    std::vector<std::string> file_options;
    for (const std::string& value : config->mount_options()) {
      for (std::string& option : SplitMountOptions(value)) {
        file_options.push_back(std::move(option));
      }
    }
    if (auto st = CheckMountOptions(
            file_options, absl::StrCat("config file '", config_file, "': mount_options "));
        !st.ok()) {
      Die(kExitUsage, std::string(st.message()));
    }
    // Command-line -o options come after the file's: later ones win.
    split->mount_options.insert(split->mount_options.begin(), file_options.begin(),
                                file_options.end());
  }
  if (positional.size() == 3) {
    source_arg = positional[1];
    mountpoint_arg = positional[2];
  } else if (positional.size() != 1 || source_arg.empty() ||
             mountpoint_arg.empty()) {
    Die(kExitUsage,
        "expected SOURCE and MOUNTPOINT, on the command line or in --config "
        "(see --help)");
  }
  LogFormat log_format;
  if (!ParseLogFormat(absl::GetFlag(FLAGS_log_format), &log_format)) {
    Die(kExitUsage, "--log_format must be auto, text or journal");
  }
  SetLogFormat(log_format);
  const bool debug = absl::GetFlag(FLAGS_debug) || split->debug;
  const bool foreground =
      absl::GetFlag(FLAGS_foreground) || split->foreground || debug;
  const int threads = absl::GetFlag(FLAGS_threads);
  if (threads < 1 || threads > 1024) {
    Die(kExitUsage, "--threads must be between 1 and 1024");
  }
  if (absl::GetFlag(FLAGS_timeout) < 0) Die(kExitUsage, "--timeout must be >= 0");
  if (debug) SetLogLevel(LogLevel::kDebug);

  if (absl::GetFlag(FLAGS_check_config)) {
    return CheckConfig(source_arg, mountpoint_arg);
  }
  HandleStaleMount(mountpoint_arg);
  std::string source, mountpoint;
  if (auto st = ValidateMountPaths(source_arg, mountpoint_arg, &source,
                                   &mountpoint);
      !st.ok()) {
    Die(kExitUsage, std::string(st.message()));
  }
  auto state = StateDir::Open(absl::GetFlag(FLAGS_state_dir));
  if (!state.ok()) Die(kExitUsage, std::string(state.status().message()));
  auto admin = AdminOptionsFromFlags(state->path());
  if (!admin.ok()) Die(kExitUsage, std::string(admin.status().message()));
  if (auto st = CheckAuditFlags(); !st.ok()) {
    Die(kExitUsage, std::string(st.message()));
  }
  // Refuse a database we cannot use before mounting (the writer itself
  // starts after the fork into the background).
  const std::string audit_db = state->AuditDbPath();
  if (auto db = audit::Database::Open(audit_db, audit::Database::Mode::kReadWrite);
      !db.ok()) {
    Die(kExitUsage, absl::StrCat(db.status().message(),
                                 " (move it aside to start with an empty "
                                 "audit trail and owner store)"));
  }
  PolicyStore::LoadOptions policy_options;
  policy_options.seed_file = absl::GetFlag(FLAGS_policy);
  policy_options.fallback_to_default = absl::GetFlag(FLAGS_fallback_to_default_policy);
  auto policy = PolicyStore::Load(&*state, policy_options);
  if (!policy.ok()) Die(kExitUsage, std::string(policy.status().message()));

  const rlim_t fd_limit = RaiseFdLimit();
  uint64_t max_nodes = absl::GetFlag(FLAGS_max_nodes);
  if (max_nodes == 0) max_nodes = NodeReclaimer::DefaultMaxNodes(fd_limit);
  umask(0);  // The kernel already applied the caller's umask.

  const int root_fd = open(source.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  struct stat root_st;
  if (root_fd < 0 || fstat(root_fd, &root_st) != 0) {
    Die(kExitUsage, absl::StrCat("cannot open source '", source,
                                 "': ", strerror(errno)));
  }
  ServerOptions options;
  options.passthrough = absl::GetFlag(FLAGS_passthrough);
  options.timeout = absl::GetFlag(FLAGS_timeout);
  Server server(root_fd, root_st, options, policy->get());

  std::vector<std::string> fuse_argv_store = {
      "scopedfsd", "-o", MountOptions(split->mount_options, source)};
  if (debug) fuse_argv_store.push_back("-d");
  std::vector<char*> fuse_argv;
  for (std::string& s : fuse_argv_store) fuse_argv.push_back(s.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(fuse_argv.size()),
                                  fuse_argv.data());
  const fuse_lowlevel_ops ops = MakeFuseOps();
  fuse_session* se = fuse_session_new(&args, &ops, sizeof(ops), &server);
  fuse_opt_free_args(&args);  // libfuse may have copied argv; it parsed it.
  if (se == nullptr) Die(kExitUsage, "invalid mount options (see above)");
  server.set_session(se);
  if (fuse_set_signal_handlers(se) != 0) {
    Die(kExitFailure, "cannot install signal handlers");
  }
  if (fuse_session_mount(se, mountpoint.c_str()) != 0) {
    // A signal can interrupt libfuse after the mount itself succeeded:
    // never leave a mount without a daemon behind.
    umount2(mountpoint.c_str(), MNT_DETACH);
    Die(kExitFailure, absl::StrCat("cannot mount at '", mountpoint, "'"));
  }
  SFS_LOG(kInfo, "serving %s at %s (%d threads, up to %d nodes)", source,
          mountpoint, threads, max_nodes);
  if (fuse_daemonize(foreground) != 0) {
    fuse_session_unmount(se);
    Die(kExitFailure, "cannot detach from the terminal");
  }
  if (auto st = state->WritePid(getpid()); !st.ok()) {
    SFS_LOG(kWarning, "cannot write the pid file: %s", st.ToString());
  }

  // Helper threads (stats, gRPC) must never take SIGINT/SIGTERM/SIGHUP:
  // libfuse's handler only ends the loop promptly when the signal lands on
  // the loop's own threads. They inherit this mask; the main thread
  // unblocks before the loop.
  sigset_t shutdown_signals;
  sigemptyset(&shutdown_signals);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&shutdown_signals, sig);
  pthread_sigmask(SIG_BLOCK, &shutdown_signals, nullptr);
  auto stats_dumper = std::make_unique<StatsDumper>(&server, &*state);
  audit::AuditLogOptions audit_options;
  audit_options.queue_capacity =
      static_cast<size_t>(absl::GetFlag(FLAGS_audit_queue_size));
  audit_options.max_age = absl::GetFlag(FLAGS_audit_max_age);
  audit_options.max_bytes = absl::GetFlag(FLAGS_audit_max_mb) << 20;
  audit_options.on_error = [](const std::string& message) {
    SFS_LOG_EVERY_SEC(kWarning, "audit: %s", message);
  };
  auto audit_log = audit::AuditLog::Open(audit_db, audit_options);
  if (!audit_log.ok()) {
    fuse_session_unmount(se);
    Die(kExitFailure, std::string(audit_log.status().message()));
  }
  server.set_audit_log(audit_log->get(), absl::GetFlag(FLAGS_audit));
  (*policy)->OnChange([&server, se] { server.InvalidateAfterPolicyChange(se); });
  AdminContext admin_context;
  admin_context.policy = policy->get();
  admin_context.server = &server;
  admin_context.source = source;
  admin_context.mountpoint = mountpoint;
  admin_context.started = std::chrono::steady_clock::now();
  auto admin_server = AdminServer::Start(*admin, admin_context);
  if (!admin_server.ok()) {
    fuse_session_unmount(se);
    Die(kExitFailure, std::string(admin_server.status().message()));
  }

  // systemd (Type=notify): ready now that the mount is live, the policy
  // loaded and the admin API up; the watchdog pings only while a statfs of
  // our own mount is answered (served by the request loop: a stuck loop
  // misses its pings and gets restarted).
  ServiceNotifier notifier;
  notifier.Ready(absl::StrCat("serving ", source, " at ", mountpoint,
                              ", policy generation ", (*policy)->generation()));
  const std::string watched = mountpoint;
  if (const uint64_t usec = notifier.StartWatchdog([watched] {
        struct statfs sf;
        return statfs(watched.c_str(), &sf) == 0;
      });
      usec != 0) {
    SFS_LOG(kInfo, "systemd watchdog: pinging every %d ms", usec / 2000);
  }

  auto reclaimer = std::make_unique<NodeReclaimer>(
      &server.nodes(), &server.stats(), se, static_cast<size_t>(max_nodes));
  auto invalidator = std::make_unique<InodeInvalidator>(se, &server.stats());
  server.set_invalidator(invalidator.get());
  pthread_sigmask(SIG_UNBLOCK, &shutdown_signals, nullptr);
  fuse_loop_config* loop = fuse_loop_cfg_create();
  fuse_loop_cfg_set_clone_fd(loop, 0);
  fuse_loop_cfg_set_max_threads(loop, threads);
  fuse_loop_cfg_set_idle_threads(loop, threads);
  const int res = fuse_session_loop_mt(se, loop);
  fuse_loop_cfg_destroy(loop);
  reclaimer.reset();  // No kernel notification after the loop.
  server.set_invalidator(nullptr);
  invalidator.reset();
  notifier.Stopping();
  admin_server->reset();  // No policy change (and kernel notification) after this.

  fuse_session_unmount(se);
  fuse_remove_signal_handlers(se);
  fuse_session_destroy(se);
  stats_dumper.reset();
  server.set_audit_log(nullptr, false);
  audit_log->reset();  // Commits what is queued.
  state->RemovePid();
  // A loop ended by a signal returns the signal number: a clean shutdown.
  if (res < 0) {
    SFS_LOG(kError, "FUSE session ended with an error: %s", strerror(-res));
    return kExitFailure;
  }
  SFS_LOG(kInfo, "unmounted %s", mountpoint);
  return 0;
}

}  // namespace
}  // namespace scopedfs

int main(int argc, char** argv) { return scopedfs::Run(argc, argv); }
