// One scopedfs mount and everything that serves it.
//
// The Daemon owns its components as members, declared in the order Start
// makes them, so teardown is plain destruction order (the reverse): nothing
// is used after it is gone, and an error anywhere in Start undoes exactly
// what was done (a half-started Daemon is destroyed: the mount, if made, is
// unmounted first). Start returns only when the daemon is fully serving:
//
//   state dir (locked)           the pid file is removed last
//   audit log and owner store    audit.db open and writable, owners loaded
//   policy store                 stored policy, else --policy, else default
//   server                       node table, access mediator, open handles
//   stats dumper                 SIGUSR1 -> STATE_DIR/stats
//   systemd notifier             READY=1 at the end of Start, watchdog
//   FUSE session                 mounted; unmounted by its destructor
//   admin server                 the admin socket listening
//   inode invalidator, node reclaimer   kernel notifications
//   pid file written             then READY=1
//
// The watchdog's thread statfs()es the mount, which blocks once the request
// loop has ended and until the unmount: so the notifier goes after the
// session. The admin server can change the policy, which notifies the
// kernel through the session: so it goes before.
#ifndef SCOPEDFS_DAEMON_DAEMON_H_
#define SCOPEDFS_DAEMON_DAEMON_H_

#include <signal.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "audit/audit_log.h"
#include "daemon/admin/admin_server.h"
#include "daemon/fuse/session.h"
#include "daemon/inode_invalidator.h"
#include "daemon/grant_expirer.h"
#include "daemon/metrics_textfile.h"
#include "daemon/node_reclaimer.h"
#include "daemon/policy_store.h"
#include "daemon/fuse/transport.h"
#include "daemon/server.h"
#include "daemon/service_notify.h"
#include "daemon/state_dir.h"
#include "daemon/stats_dumper.h"

namespace scopedfs {

struct DaemonOptions {
  std::string source;      // As given: Start validates and resolves it...
  std::string mountpoint;  // ...and this (empty, not inside SOURCE, ...).
  // libfuse -o options, in order (later ones win); allow_other,
  // default_permissions and fsname=SOURCE are added.
  std::vector<std::string> mount_options;
  bool debug = false;  // libfuse's per-request trace.
  Transport transport = Transport::kDev;  // daemon/fuse/transport.h
  int threads = 8;     // FUSE worker threads.
  ServerOptions server;
  uint64_t max_nodes = 0;  // 0: half the descriptor limit.
  std::string state_dir;
  bool store_audit_events = true;  // false: decisions only counted.
  audit::AuditLogOptions audit;    // on_error: Start logs them.
  // A damaged audit.db is renamed aside (else Start refuses it).
  bool move_bad_audit_db_aside = false;
  PolicyStore::LoadOptions policy;
  AdminServerOptions admin;  // socket_path: Start puts it in the state dir.
  std::string metrics_textfile;  // Empty: none (daemon/metrics_textfile.h).
  absl::Duration metrics_interval = absl::Seconds(5);
};

class Daemon {
 public:
  // Makes every component and mounts; returns once the daemon is fully
  // serving (see the top), having told systemd READY=1. An error is one
  // line that says what to fix, and nothing is left mounted. Call it before
  // the process has any other thread: it blocks the shutdown signals in
  // every thread but the request loop's.
  static absl::StatusOr<std::unique_ptr<Daemon>> Start(DaemonOptions options);

  // Serves until an unmount or SIGINT/SIGTERM/SIGHUP: 0 for a clean end,
  // 1 when the request loop failed.
  int Serve();

  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  const std::string& source() const { return source_; }
  const std::string& mountpoint() const { return mountpoint_; }

 private:
  explicit Daemon(DaemonOptions options) : options_(std::move(options)) {}
  absl::Status StartComponents();

  const DaemonOptions options_;
  std::string source_, mountpoint_;  // Canonical.
  sigset_t shutdown_signals_;

  std::unique_ptr<StateDir> state_;
  // Written last in Start; removed after everything below is gone, so a
  // pid file names a daemon that is serving or still cleaning up.
  struct PidFile {
    StateDir* dir = nullptr;  // Set once written.
    ~PidFile() {
      if (dir != nullptr) dir->RemovePid();
    }
  } pid_file_;
  std::unique_ptr<audit::AuditLog> audit_;
  std::unique_ptr<PolicyStore> policy_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<StatsDumper> stats_dumper_;
  ServiceNotifier notifier_;
  std::unique_ptr<FuseSession> session_;
  std::unique_ptr<AdminServer> admin_;
  std::unique_ptr<InodeInvalidator> invalidator_;
  std::unique_ptr<NodeReclaimer> reclaimer_;
  std::unique_ptr<GrantExpirer> expirer_;
  std::unique_ptr<MetricsTextfile> metrics_;  // First to go: it reads the rest.
};

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_DAEMON_H_
