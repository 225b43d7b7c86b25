// The one logging facility of scopedfs: single lines on stderr, each with a
// UTC timestamp, the level and the thread id. Abseil 20220623 (bookworm) has no
// absl/log, so this is deliberately tiny. Per-request error lines go through
// SFS_LOG_EVERY_SEC so a misbehaving client cannot flood the log.
#ifndef SCOPEDFS_DAEMON_LOG_H_
#define SCOPEDFS_DAEMON_LOG_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace scopedfs {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);
void LogLine(LogLevel level, absl::string_view message);

// True at most once per second per call site (the caller owns `last_sec`).
bool LogRateAllows(std::atomic<int64_t>& last_sec);

}  // namespace scopedfs

#define SFS_LOG(level, ...)                                             \
  do {                                                                  \
    if (::scopedfs::LogEnabled(::scopedfs::LogLevel::level))            \
      ::scopedfs::LogLine(::scopedfs::LogLevel::level,                  \
                          ::absl::StrFormat(__VA_ARGS__));              \
  } while (0)

#define SFS_LOG_EVERY_SEC(level, ...)                                   \
  do {                                                                  \
    static std::atomic<int64_t> sfs_log_last_sec{0};                    \
    if (::scopedfs::LogEnabled(::scopedfs::LogLevel::level) &&          \
        ::scopedfs::LogRateAllows(sfs_log_last_sec))                    \
      ::scopedfs::LogLine(::scopedfs::LogLevel::level,                  \
                          ::absl::StrFormat(__VA_ARGS__));              \
  } while (0)

#endif  // SCOPEDFS_DAEMON_LOG_H_
