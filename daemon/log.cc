#include "daemon/log.h"

#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>

namespace scopedfs {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "DEBUG";
    case LogLevel::kInfo: return "INFO";
    case LogLevel::kWarning: return "WARN";
    case LogLevel::kError: return "ERROR";
  }
  return "?";
}

}  // namespace

void SetLogLevel(LogLevel level) { g_level = static_cast<int>(level); }

bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= g_level; }

void LogLine(LogLevel level, absl::string_view message) {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc;
  gmtime_r(&ts.tv_sec, &utc);
  char when[32];
  strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &utc);
  // One fprintf per line so concurrent threads never interleave mid-line.
  std::fprintf(stderr, "%s.%06ldZ %s [%ld] %.*s\n", when, ts.tv_nsec / 1000,
               LevelName(level), static_cast<long>(syscall(SYS_gettid)),
               static_cast<int>(message.size()), message.data());
}

bool LogRateAllows(std::atomic<int64_t>& last_sec) {
  const int64_t now = static_cast<int64_t>(time(nullptr));
  int64_t seen = last_sec.load(std::memory_order_relaxed);
  return seen != now &&
         last_sec.compare_exchange_strong(seen, now, std::memory_order_relaxed);
}

}  // namespace scopedfs
