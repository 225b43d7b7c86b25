#include "daemon/daemon.h"

#include "daemon/admin/snapshots.h"
#include "metrics/prometheus_text.h"

#include "daemon/fuse/transport.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "audit/database.h"
#include "daemon/command_line.h"
#include "daemon/log.h"
#include "daemon/source_tree.h"

namespace scopedfs {
namespace {

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

// A stale FUSE mount of a crashed run at `mountpoint` is unmounted; a live
// mount there is an error.
absl::Status ClearStaleMount(const std::string& mountpoint) {
  switch (ProbeMountpoint(mountpoint)) {
    case MountpointState::kReady:
      return absl::OkStatus();
    case MountpointState::kLiveMount:
      return absl::FailedPreconditionError(
          absl::StrCat("mountpoint '", mountpoint,
                       "' is already a mount point; unmount it first (umount ",
                       mountpoint, ")"));
    case MountpointState::kStaleFuseMount:
      SFS_LOG(kWarning,
              "found a stale FUSE mount at %s (its daemon is gone); "
              "unmounting it",
              mountpoint);
      if (umount2(mountpoint.c_str(), MNT_DETACH) != 0) {
        return absl::FailedPreconditionError(
            absl::StrCat("cannot clean the stale mount at '", mountpoint,
                         "': ", strerror(errno)));
      }
      return absl::OkStatus();
  }
  return absl::OkStatus();
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

// Whether the daemon can keep its audit trail and owner store in `path`:
// it opens for writing (a read-only file or mount would lose every event
// and owner change) and every page is sound (SQLite quick_check, which
// reads the whole file: about a second per few hundred MB). With
// `move_aside` a damaged or foreign file is renamed away and a fresh one
// made; else the error says how to recover.
absl::Status CheckAuditDbUsable(const std::string& path, bool move_aside) {
  const auto check = [&]() -> absl::Status {
    auto db = audit::Database::Open(path, audit::Database::Mode::kReadWrite);
    if (!db.ok()) return db.status();
    return (*db)->CheckIntegrity();
  };
  absl::Status st = check();
  if (st.ok()) return st;
  // What cannot be written cannot be moved aside either.
  const bool movable = !absl::StrContains(st.message(), "cannot be written");
  if (!move_aside || !movable) {
    return absl::Status(st.code(),
                        absl::StrCat(st.message(),
                                     " (to start with an empty audit trail and "
                                     "owner store, move it aside or start once "
                                     "with --move_bad_audit_db_aside)"));
  }
  const std::string aside =
      absl::StrCat(path, ".bad-", absl::ToUnixSeconds(absl::Now()));
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const std::string from = path + suffix;
    if (rename(from.c_str(), (aside + suffix).c_str()) != 0 && errno != ENOENT) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot move ", from, " aside: ", strerror(errno)));
    }
  }
  SFS_LOG(kWarning,
          "%s; moved it aside to %s and starting with an empty audit trail "
          "and owner store (files created before have no owner now)",
          st.message(), aside);
  return check();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Daemon>> Daemon::Start(DaemonOptions options) {
  std::unique_ptr<Daemon> daemon(new Daemon(std::move(options)));
  // On an error the half-made Daemon is destroyed here: what was started is
  // stopped, in reverse, and a mount made is unmounted.
  if (absl::Status st = daemon->StartComponents(); !st.ok()) return st;
  return daemon;
}

absl::Status Daemon::StartComponents() {
  // Helper threads (stats, gRPC, audit writer, watchdog) must never take
  // SIGINT/SIGTERM/SIGHUP: libfuse's handler only ends the loop promptly
  // when the signal lands on the loop's own threads. Every thread inherits
  // this mask; Serve unblocks those three in the loop's thread. SIGUSR1 and
  // SIGUSR2 stay blocked everywhere: the stats dumper sigwait()s for them
  // (delivered to any other thread, SIGUSR1 would kill the process).
  sigemptyset(&shutdown_signals_);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&shutdown_signals_, sig);
  sigset_t blocked = shutdown_signals_;
  sigaddset(&blocked, SIGUSR1);
  sigaddset(&blocked, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &blocked, nullptr);

  if (absl::Status st = ClearStaleMount(options_.mountpoint); !st.ok()) return st;
  if (absl::Status st = ValidateMountPaths(options_.source, options_.mountpoint,
                                           &source_, &mountpoint_);
      !st.ok()) {
    return st;
  }

  auto state = StateDir::Open(options_.state_dir);
  if (!state.ok()) return state.status();
  state_ = std::make_unique<StateDir>(*std::move(state));
  // Found now rather than once mounted.
  AdminServerOptions admin_options = options_.admin;
  admin_options.socket_path =
      absl::StrCat(state_->path(), "/", StateDir::kAdminSocket);
  if (std::vector<std::string> problems = AdminOptionsProblems(admin_options);
      !problems.empty()) {
    return absl::InvalidArgumentError(problems.front());
  }

  const std::string audit_db = state_->AuditDbPath();
  if (absl::Status st =
          CheckAuditDbUsable(audit_db, options_.move_bad_audit_db_aside);
      !st.ok()) {
    return st;
  }
  audit::AuditLogOptions audit_options = options_.audit;
  audit_options.on_error = [](const std::string& message) {
    SFS_LOG_EVERY_SEC(kWarning, "audit: %s", message);
  };
  auto audit_log = audit::AuditLog::Open(audit_db, audit_options);
  if (!audit_log.ok()) return audit_log.status();
  audit_ = *std::move(audit_log);

  auto policy = PolicyStore::Load(state_.get(), options_.policy);
  if (!policy.ok()) return policy.status();
  policy_ = *std::move(policy);

  const rlim_t fd_limit = RaiseFdLimit();
  const uint64_t max_nodes = options_.max_nodes != 0
                                 ? options_.max_nodes
                                 : NodeReclaimer::DefaultMaxNodes(fd_limit);
  umask(0);  // The kernel already applied the caller's umask.

  const AtimeOptions atime = AtimeFromMountOptions(options_.mount_options);
  auto tree = OpenSourceTree(source_, atime);
  if (!tree.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot open source '", source_, "': ", tree.status().message()));
  }
  const int root_fd = *tree;
  struct stat root_st;
  if (fstat(root_fd, &root_st) != 0) {
    const int err = errno;
    close(root_fd);
    return absl::InvalidArgumentError(
        absl::StrCat("cannot open source '", source_, "': ", strerror(err)));
  }
  if (atime.any()) {
    SFS_LOG(kInfo, "access times: SOURCE's files are read through a private "
                   "copy of its mount with %s", atime.Describe());
  }
  // The transport before the mount: io_uring is negotiated in INIT.
  auto uring = PrepareTransport(options_.transport);
  if (!uring.ok()) {
    close(root_fd);
    return uring.status();
  }
  ServerOptions server_options = options_.server;
  server_options.io_uring = *uring;
  server_options.stamp_every_access =
      atime.mode == AtimeOptions::Mode::kStrictatime;
  std::vector<std::string> mount_options = OptionsForLibfuse(options_.mount_options);
  if (*uring) mount_options.push_back("io_uring");
  server_ = std::make_unique<Server>(root_fd, root_st, server_options,
                                    policy_.get());
  server_->set_audit_log(audit_.get(), options_.store_audit_events);
  stats_dumper_ = std::make_unique<StatsDumper>(server_.get(), state_.get());

  auto session = FuseSession::Mount(
      server_.get(), MountOptions(mount_options, source_), mountpoint_,
      options_.debug);
  if (!session.ok()) return session.status();
  session_ = *std::move(session);
  fuse_session* se = session_->get();
  policy_->OnChange([server = server_.get(), se] {
    server->InvalidateAfterPolicyChange(se);
  });

  AdminContext admin_context;
  admin_context.policy = policy_.get();
  admin_context.server = server_.get();
  admin_context.source = source_;
  admin_context.mountpoint = mountpoint_;
  admin_context.started = std::chrono::steady_clock::now();
  auto admin = AdminServer::Start(admin_options, admin_context);
  if (!admin.ok()) return admin.status();
  admin_ = *std::move(admin);

  invalidator_ = std::make_unique<InodeInvalidator>(se, &server_->stats());
  server_->set_invalidator(invalidator_.get());
  reclaimer_ = std::make_unique<NodeReclaimer>(
      &server_->nodes(), &server_->stats(), se, static_cast<size_t>(max_nodes));
  // Grants that expired while the daemon was down are removed (and
  // audited) before the first client is served; they were never in force.
  GrantExpirer::RunOnce(server_.get());
  expirer_ = std::make_unique<GrantExpirer>(server_.get());
  if (!options_.metrics_textfile.empty()) {
    auto metrics = MetricsTextfile::Start(
        options_.metrics_textfile, options_.metrics_interval,
        [ctx = admin_context](bool up) {
          v1::HealthResponse health = admin::HealthOf(ctx);
          health.set_serving(up);
          return metrics::RenderPrometheus(health, admin::StatsOf(ctx));
        });
    if (!metrics.ok()) return metrics.status();
    metrics_ = *std::move(metrics);
  }

  if (absl::Status st = state_->WritePid(getpid()); !st.ok()) {
    return absl::Status(st.code(),
                        absl::StrCat("cannot write the pid file: ", st.message()));
  }
  pid_file_.dir = state_.get();

  SFS_LOG(kInfo, "serving %s at %s (%d threads, up to %d nodes)", source_,
          mountpoint_, options_.threads, max_nodes);
  // systemd (Type=notify): ready now that everything above is; the watchdog
  // pings only while a statfs of our own mount is answered (served by the
  // request loop: a stuck loop misses its pings and gets restarted).
  notifier_.Ready(absl::StrCat("serving ", source_, " at ", mountpoint_,
                               ", policy generation ", policy_->generation()));
  const std::string watched = mountpoint_;
  if (const uint64_t usec = notifier_.StartWatchdog([watched] {
        struct statfs sf;
        return statfs(watched.c_str(), &sf) == 0;
      });
      usec != 0) {
    SFS_LOG(kInfo, "systemd watchdog: pinging every %d ms", usec / 2000);
  }
  return absl::OkStatus();
}

int Daemon::Serve() {
  pthread_sigmask(SIG_UNBLOCK, &shutdown_signals_, nullptr);
  const int res = session_->Loop(options_.threads);
  notifier_.Stopping();
  // A loop ended by a signal returns the signal number: a clean shutdown.
  if (res < 0) {
    SFS_LOG(kError, "FUSE session ended with an error: %s", strerror(-res));
    return 1;
  }
  return 0;
}

Daemon::~Daemon() {
  // The members go in reverse order of declaration (see the top). The
  // invalidator goes before the server that points at it: unhook it first.
  if (server_ != nullptr) server_->set_invalidator(nullptr);
}

}  // namespace scopedfs
