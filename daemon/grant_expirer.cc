#include "daemon/grant_expirer.h"

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "daemon/admin/grant_admin.h"
#include "daemon/log.h"

namespace scopedfs {

GrantExpirer::GrantExpirer(Server* server)
    : server_(server), thread_([this] {
        while (!stop_.WaitForNotificationWithTimeout(absl::Seconds(1))) {
          RunOnce(server_);
        }
      }) {}

GrantExpirer::~GrantExpirer() {
  stop_.Notify();
  thread_.join();
}

void GrantExpirer::RunOnce(Server* server) {
  admin::ExpireGrants(server);
  ShadowPolicy& shadow = server->policy().shadow();
  const int64_t expires = shadow.expires();
  if (expires != 0 && expires <= absl::ToUnixNanos(absl::Now())) {
    const v1::ShadowReport report = shadow.Clear(0);
    SFS_LOG(kInfo, "shadow policy expired: %d of %d decisions differed",
            report.differing(), report.decisions());
  }
}

}  // namespace scopedfs
