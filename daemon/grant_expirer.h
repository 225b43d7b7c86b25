// Ends grants and shadow policies on time: a thread that once a second
// removes the grants whose time is up (admin/grant_admin.h: audited, open
// handles revoked) and clears an expired shadow policy. A grant is out of
// force at most a second after it expires while the daemon runs; one that
// expired while it was down never comes into force (PolicyStore::Load).
#ifndef SCOPEDFS_DAEMON_GRANT_EXPIRER_H_
#define SCOPEDFS_DAEMON_GRANT_EXPIRER_H_

#include <thread>

#include "absl/synchronization/notification.h"
#include "daemon/server.h"

namespace scopedfs {

class GrantExpirer {
 public:
  explicit GrantExpirer(Server* server);
  ~GrantExpirer();
  GrantExpirer(const GrantExpirer&) = delete;
  GrantExpirer& operator=(const GrantExpirer&) = delete;

  // One pass, now (also what the thread does each second).
  static void RunOnce(Server* server);

 private:
  Server* const server_;
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_GRANT_EXPIRER_H_
