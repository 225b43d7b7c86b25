// scopedfsd's flags (defined in flags.cc, the file --help lists) and what
// they become: the Daemon's options and the admin endpoint's.
#ifndef SCOPEDFS_DAEMON_FLAGS_H_
#define SCOPEDFS_DAEMON_FLAGS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "daemon/daemon.h"

ABSL_DECLARE_FLAG(std::string, config);
ABSL_DECLARE_FLAG(bool, check_config);
ABSL_DECLARE_FLAG(std::string, log_format);
ABSL_DECLARE_FLAG(std::string, state_dir);
ABSL_DECLARE_FLAG(bool, audit);
ABSL_DECLARE_FLAG(int, audit_queue_size);
ABSL_DECLARE_FLAG(absl::Duration, audit_max_age);
ABSL_DECLARE_FLAG(uint64_t, audit_max_mb);
ABSL_DECLARE_FLAG(bool, move_bad_audit_db_aside);
ABSL_DECLARE_FLAG(bool, foreground);
ABSL_DECLARE_FLAG(bool, passthrough);
ABSL_DECLARE_FLAG(int, threads);
ABSL_DECLARE_FLAG(bool, debug);
ABSL_DECLARE_FLAG(std::string, policy);
ABSL_DECLARE_FLAG(bool, fallback_to_default_policy);
ABSL_DECLARE_FLAG(std::vector<std::string>, admin_uids);
ABSL_DECLARE_FLAG(std::string, admin_group);
ABSL_DECLARE_FLAG(std::string, admin_tcp);
ABSL_DECLARE_FLAG(std::string, admin_tls_cert);
ABSL_DECLARE_FLAG(std::string, admin_tls_key);
ABSL_DECLARE_FLAG(std::string, admin_tls_client_ca);
ABSL_DECLARE_FLAG(uint64_t, max_nodes);
ABSL_DECLARE_FLAG(bool, reflink_views);
ABSL_DECLARE_FLAG(uint64_t, max_reflink_views);
ABSL_DECLARE_FLAG(double, timeout);
ABSL_DECLARE_FLAG(std::string, metrics_textfile);
ABSL_DECLARE_FLAG(absl::Duration, metrics_interval);

namespace scopedfs {

// The file whose flags --help lists.
inline constexpr char kFlagsFile[] = "daemon/flags.cc";

// --help's text before the flags: what scopedfsd does, its usage, the
// FUSE-style options (-o, -f, -d: command_line.h) and the exit status.
std::string UsageMessage();

// `scopedfsd --help_man`: scopedfsd(8) in roff (man(7) macros), for
// packaging/man/build.sh. Made from what --help shows (the tables behind
// UsageMessage and the flags of kFlagsFile, with their defaults), so the
// two cannot drift apart.
std::string ManPage();

// The Daemon's options from the flags, for SOURCE and MOUNTPOINT as given
// (not yet validated) and the -o options: InvalidArgument naming the flag
// for a value out of range (--threads, --timeout, --audit_*, --admin_*).
absl::StatusOr<DaemonOptions> DaemonOptionsFromFlags(
    const std::string& source, const std::string& mountpoint,
    const std::vector<std::string>& mount_options, bool debug);

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_FLAGS_H_
