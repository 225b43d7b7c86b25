// The service manager's notify protocol (systemd Type=notify, via
// libsystemd's sd_notify): READY once the mount is live and the policy
// loaded, STATUS lines, STOPPING on shutdown, and WATCHDOG pings while the
// mount answers. Without NOTIFY_SOCKET (not started by systemd) every call
// is a no-op.
#ifndef SCOPEDFS_DAEMON_SERVICE_NOTIFY_H_
#define SCOPEDFS_DAEMON_SERVICE_NOTIFY_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"

namespace scopedfs {

class ServiceNotifier {
 public:
  ServiceNotifier() = default;
  ~ServiceNotifier();  // Stops the watchdog thread.
  ServiceNotifier(const ServiceNotifier&) = delete;
  ServiceNotifier& operator=(const ServiceNotifier&) = delete;

  // READY=1 with a STATUS line and our pid (MAINPID: right after a fork
  // into the background too).
  void Ready(const std::string& status);
  void Status(const std::string& status);
  void Stopping();

  // With WatchdogSec= set (WATCHDOG_USEC for this pid), pings every half
  // interval from a thread of its own, but only while `alive` returns true.
  // `alive` should prove the mount answers (a daemon whose request loop is
  // stuck must miss its pings, so systemd restarts it); it may block.
  // Returns the interval in microseconds, 0 when no watchdog is wanted.
  uint64_t StartWatchdog(std::function<bool()> alive);

 private:
  std::thread watchdog_;
  absl::Notification stop_;
};

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_SERVICE_NOTIFY_H_
