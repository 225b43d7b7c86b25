#include "daemon/service_notify.h"

#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "daemon/log.h"

namespace scopedfs {

ServiceNotifier::~ServiceNotifier() {
  stop_.Notify();
  if (watchdog_.joinable()) watchdog_.join();
}

void ServiceNotifier::Ready(const std::string& status) {
  sd_notify(0, absl::StrCat("READY=1\nSTATUS=", status, "\nMAINPID=", getpid()).c_str());
}

void ServiceNotifier::Status(const std::string& status) {
  sd_notify(0, absl::StrCat("STATUS=", status).c_str());
}

void ServiceNotifier::Stopping() { sd_notify(0, "STOPPING=1\nSTATUS=unmounting"); }

uint64_t ServiceNotifier::StartWatchdog(std::function<bool()> alive) {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return 0;
  const absl::Duration period = absl::Microseconds(usec) / 2;
  watchdog_ = std::thread([this, period, alive = std::move(alive)] {
    do {
      if (alive()) {
        sd_notify(0, "WATCHDOG=1");
      } else {
        SFS_LOG_EVERY_SEC(kWarning, "watchdog: the mount does not answer; not pinging systemd");
      }
    } while (!stop_.WaitForNotificationWithTimeout(period));
  });
  return usec;
}

}  // namespace scopedfs
