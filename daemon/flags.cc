#include "daemon/flags.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

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
ABSL_FLAG(bool, move_bad_audit_db_aside, false,
          "if audit.db is damaged or not a scopedfs audit database, rename it "
          "(and its -wal, -shm) to audit.db.bad-UNIXTIME and start with an "
          "empty audit trail and owner store (files lose their owners: "
          "nobody owns them until an admin says so); command line only");
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

}  // namespace

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
