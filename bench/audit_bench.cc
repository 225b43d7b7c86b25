// audit_bench: how many events per second the audit pipeline (lock-free
// queue -> writer thread -> SQLite) stores, independent of FUSE. N producer
// threads submit events shaped like the daemon's (path, app, rule id) as
// fast as the queue takes them; the figure is events stored per second of
// wall time, with drops reported (a producer that finds the queue full
// retries after a yield, so nothing is lost and the writer sets the pace).
//
//   bazel run -c opt //bench:audit_bench -- [--events=1000000] [--threads=4]
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "audit/audit_log.h"

namespace {

int64_t Flag(int argc, char** argv, const char* name, int64_t def) {
  const std::string prefix = absl::StrCat("--", name, "=");
  for (int i = 1; i < argc; ++i) {
    int64_t v;
    if (absl::StartsWith(argv[i], prefix) &&
        absl::SimpleAtoi(argv[i] + prefix.size(), &v)) {
      return v;
    }
  }
  return def;
}

}  // namespace

int main(int argc, char** argv) {
  using scopedfs::audit::AuditLog;
  const int64_t events = Flag(argc, argv, "events", 1000000);
  const int threads = static_cast<int>(Flag(argc, argv, "threads", 4));
  char dir[] = "/var/tmp/audit_bench.XXXXXX";
  if (mkdtemp(dir) == nullptr) return 1;
  const std::string db = std::string(dir) + "/audit.db";
  auto log = AuditLog::Open(db, {});
  if (!log.ok()) {
    std::fprintf(stderr, "%s\n", log.status().ToString().c_str());
    return 1;
  }
  std::atomic<uint64_t> retries{0};
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> producers;
  for (int t = 0; t < threads; ++t) {
    producers.emplace_back([&, t] {
      for (int64_t i = t; i < events; i += threads) {
        scopedfs::audit::Event e;
        e.time_unix_nanos = absl::GetCurrentTimeNanos();
        e.uid = 10000 + t;
        e.gid = e.uid;
        e.pid = static_cast<uint32_t>(getpid());
        e.operation = 2;  // READ
        e.decision = 1;   // ALLOW
        e.policy_generation = 1;
        e.latency_nanos = 300;
        e.path = absl::StrCat("DCIM/Camera/IMG_", i % 5000, ".jpg");
        e.app = "com.example.gallery";
        e.rule_id = "media-read";
        for (;;) {
          scopedfs::audit::Event copy = e;
          if ((*log)->Submit(std::move(copy))) break;
          retries.fetch_add(1, std::memory_order_relaxed);
          std::this_thread::yield();
        }
      }
    });
  }
  for (auto& p : producers) p.join();
  (*log)->Flush(absl::Minutes(5));
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto c = (*log)->counters();
  std::printf("audit pipeline: %ld events from %d threads stored in %.2f s: %.0f events/s "
              "(%lu batches, %lu full-queue retries, db %.1f MiB)\n",
              static_cast<long>(c.stored), threads, secs, c.stored / secs, c.batches,
              retries.load(), c.db_file_bytes / 1048576.0);
  log->reset();
  std::system(absl::StrCat("rm -rf ", dir).c_str());
  return 0;
}
