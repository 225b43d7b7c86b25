// The one logging facility of scopedfs. Abseil 20220623 (bookworm) has no
// absl/log, so this is deliberately small. Two formats:
//   text     one line on stderr: UTC timestamp, level, [thread id], message,
//            then structured fields as key=value (values with blanks or
//            quotes are quoted);
//   journal  under systemd (stderr connected to the journal, JOURNAL_STREAM):
//            one journal entry per line with PRIORITY, TID and each field as
//            SCOPEDFS_<KEY>, so `journalctl SCOPEDFS_OP=read` filters.
// Per-request error lines go through SFS_LOG_EVERY_SEC so a misbehaving
// client cannot flood the log. Field values (a client's file name, say) are
// written in the escaped form of audit/escape.h, and control characters in
// messages are escaped: a name holding a newline or a terminal escape can
// neither forge a line nor reach the terminal of whoever reads the log.
#ifndef SCOPEDFS_DAEMON_LOG_H_
#define SCOPEDFS_DAEMON_LOG_H_

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>

#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace scopedfs {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

enum class LogFormat { kText, kJournal };

void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);
void SetLogFormat(LogFormat format);
// "text", "journal", or "auto": journal when stderr is the journal stream
// systemd set up (JOURNAL_STREAM names its device and inode), else text.
bool ParseLogFormat(absl::string_view name, LogFormat* format);

using LogField = std::pair<absl::string_view, std::string>;

void LogLine(LogLevel level, absl::string_view message);
// A line with structured fields (keys: lower case, [a-z0-9_]).
void LogFields(LogLevel level, absl::string_view message,
               std::initializer_list<LogField> fields);

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
