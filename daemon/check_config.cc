#include "daemon/check_config.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "audit/database.h"
#include "daemon/command_line.h"
#include "daemon/policy_store.h"
#include "daemon/state_dir.h"
#include "policy/grants.h"

namespace scopedfs {
namespace {

// Whether audit.db in `state_dir` can be used, without writing to it: the
// file and its directory must be writable (EROFS for a read-only mount,
// even for root), then every page sound.
absl::Status CheckAuditDb(const std::string& state_dir, std::string* checked) {
  const std::string audit_db = absl::StrCat(state_dir, "/", StateDir::kAuditDb);
  if (access(audit_db.c_str(), F_OK) != 0) return absl::OkStatus();
  for (const std::string& f : {audit_db, state_dir}) {
    if (access(f.c_str(), W_OK) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("audit database ", audit_db, " cannot be written (", f,
                       ": ", strerror(errno), ")"));
    }
  }
  auto db = audit::Database::Open(audit_db, audit::Database::Mode::kReadOnly);
  if (absl::Status st = db.ok() ? (*db)->CheckIntegrity() : db.status(); !st.ok()) {
    return st;
  }
  *checked = absl::StrCat("audit database ", audit_db,
                          " opens, is sound and writable");
  return absl::OkStatus();
}

}  // namespace

int CheckConfig(const DaemonOptions& options) {
  std::vector<std::string> problems, notes;
  if (ProbeMountpoint(options.mountpoint) == MountpointState::kLiveMount) {
    notes.push_back(absl::StrCat("mountpoint ", options.mountpoint,
                                 " is mounted now (a running scopedfsd?)"));
  } else {
    std::string source, mountpoint;
    if (auto st = ValidateMountPaths(options.source, options.mountpoint,
                                     &source, &mountpoint);
        !st.ok()) {
      problems.push_back(std::string(st.message()));
    } else {
      notes.push_back(absl::StrCat("source ", source, ", mountpoint ", mountpoint));
    }
  }
  AdminServerOptions admin = options.admin;
  admin.socket_path = absl::StrCat(options.state_dir, "/", StateDir::kAdminSocket);
  for (std::string& p : AdminOptionsProblems(admin)) problems.push_back(std::move(p));
  // The policy the daemon would start with (a stored policy that does not
  // compile is a problem here, as it is for a start without the fallback).
  if (auto initial = PolicyStore::ReadInitial(options.state_dir, options.policy);
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
    // The grants it would start with: each must still fit the policy.
    if (auto grants = PolicyStore::ReadGrants(options.state_dir); !grants.ok()) {
      problems.push_back(absl::StrCat("grants: ", grants.status().message()));
    } else if (grants->grants_size() > 0) {
      const int64_t now = absl::ToUnixNanos(absl::Now());
      const policy::EffectivePolicy effective = policy::WithGrants(policy, *grants, now);
      for (const std::string& unfit : effective.skipped) {
        problems.push_back(absl::StrCat("grant ", unfit, " (revoke it, or fix the policy)"));
      }
      int expired = 0;
      for (const v1::Grant& g : grants->grants()) {
        expired += g.expires_unix_nanos() != 0 && g.expires_unix_nanos() <= now;
      }
      notes.push_back(absl::StrCat(grants->grants_size(), " grants (", expired,
                                   " expired: removed at start)"));
    }
  }
  // The metrics file's directory must be there (the collector's package
  // makes it); the daemon refuses to start otherwise.
  if (!options.metrics_textfile.empty()) {
    const std::string& file = options.metrics_textfile;
    const std::string dir = file.substr(0, std::max<size_t>(file.rfind('/'), 1));
    struct stat st;
    if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) ||
        access(dir.c_str(), W_OK) != 0) {
      problems.push_back(absl::StrCat("metrics_textfile: ", dir,
                                      " is not a writable directory (is "
                                      "prometheus-node-exporter installed?)"));
    } else {
      notes.push_back(absl::StrCat("metrics to ", file));
    }
  }
  std::string audit_note;
  if (auto st = CheckAuditDb(options.state_dir, &audit_note); !st.ok()) {
    problems.push_back(std::string(st.message()));
  } else if (!audit_note.empty()) {
    notes.push_back(audit_note);
  }
  for (const std::string& n : notes) std::printf("scopedfsd: ok: %s\n", n.c_str());
  for (const std::string& p : problems) {
    std::fprintf(stderr, "scopedfsd: error: %s\n", p.c_str());
  }
  if (!problems.empty()) return 2;
  std::printf("scopedfsd: configuration is valid\n");
  return 0;
}

}  // namespace scopedfs
