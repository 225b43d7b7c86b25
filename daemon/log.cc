#include "daemon/log.h"

#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "audit/escape.h"

namespace scopedfs {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<int> g_format{static_cast<int>(LogFormat::kText)};

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "DEBUG";
    case LogLevel::kInfo: return "INFO";
    case LogLevel::kWarning: return "WARN";
    case LogLevel::kError: return "ERROR";
  }
  return "?";
}

int SyslogPriority(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return 7;
    case LogLevel::kInfo: return 6;
    case LogLevel::kWarning: return 4;
    case LogLevel::kError: return 3;
  }
  return 6;
}

// stderr is the journal stream systemd made for us (sd_journal_stream_fd
// semantics: JOURNAL_STREAM="DEV:INO" of that socket).
bool StderrIsJournal() {
  const char* env = std::getenv("JOURNAL_STREAM");
  struct stat st;
  if (env == nullptr || fstat(STDERR_FILENO, &st) != 0) return false;
  return absl::StrCat(st.st_dev, ":", st.st_ino) == env;
}

// key=value: the value in the escaped form of audit/escape.h (a file name
// may hold newlines, escape sequences, any byte), quoted when it has blanks,
// quotes, '=' or backslashes; inside quotes '"' is \".
void AppendField(std::string* out, absl::string_view key, absl::string_view value) {
  const std::string escaped = audit::Escape(value);
  const bool plain =
      !escaped.empty() && escaped.find_first_of(" \"=\\") == std::string::npos;
  absl::StrAppend(out, " ", key, "=");
  if (plain) {
    absl::StrAppend(out, escaped);
    return;
  }
  out->push_back('"');
  for (char c : escaped) {
    if (c == '"') out->push_back('\\');
    out->push_back(c);
  }
  out->push_back('"');
}

void WriteText(LogLevel level, absl::string_view line) {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc;
  gmtime_r(&ts.tv_sec, &utc);
  char when[32];
  strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &utc);
  // One line, whatever a message quotes (a client's file name could hold a
  // newline or a terminal escape): control characters are escaped.
  const std::string safe = audit::EscapeControls(line);
  // One fprintf per line so concurrent threads never interleave mid-line.
  std::fprintf(stderr, "%s.%06ldZ %s [%ld] %.*s\n", when, ts.tv_nsec / 1000,
               LevelName(level), static_cast<long>(syscall(SYS_gettid)),
               static_cast<int>(safe.size()), safe.data());
}

void WriteJournal(LogLevel level, absl::string_view message,
                  std::initializer_list<LogField> fields) {
  std::vector<std::string> parts;
  parts.reserve(fields.size() + 4);
  parts.push_back(absl::StrCat("MESSAGE=", audit::EscapeControls(message)));
  parts.push_back(absl::StrCat("PRIORITY=", SyslogPriority(level)));
  parts.push_back(absl::StrCat("TID=", syscall(SYS_gettid)));
  parts.push_back("SYSLOG_IDENTIFIER=scopedfsd");
  for (const LogField& f : fields) {
    parts.push_back(absl::StrCat("SCOPEDFS_", absl::AsciiStrToUpper(f.first), "=",
                                 audit::Escape(f.second)));
  }
  std::vector<iovec> iov;
  for (std::string& p : parts) iov.push_back({p.data(), p.size()});
  if (sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) < 0) {
    WriteText(level, message);  // The journal went away: keep the line.
  }
}


}  // namespace

void SetLogLevel(LogLevel level) { g_level = static_cast<int>(level); }

void SetLogFormat(LogFormat format) { g_format = static_cast<int>(format); }

bool ParseLogFormat(absl::string_view name, LogFormat* format) {
  if (name == "text") {
    *format = LogFormat::kText;
  } else if (name == "journal") {
    *format = LogFormat::kJournal;
  } else if (name == "auto") {
    *format = StderrIsJournal() ? LogFormat::kJournal : LogFormat::kText;
  } else {
    return false;
  }
  return true;
}

bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= g_level; }

void LogLine(LogLevel level, absl::string_view message) {
  LogFields(level, message, {});
}

void LogFields(LogLevel level, absl::string_view message,
               std::initializer_list<LogField> fields) {
  if (static_cast<LogFormat>(g_format.load()) == LogFormat::kJournal) {
    WriteJournal(level, message, fields);
    return;
  }
  if (fields.size() == 0) {
    WriteText(level, message);
    return;
  }
  std::string line(message);
  for (const LogField& f : fields) AppendField(&line, f.first, f.second);
  WriteText(level, line);
}

bool LogRateAllows(std::atomic<int64_t>& last_sec) {
  const int64_t now = static_cast<int64_t>(time(nullptr));
  int64_t seen = last_sec.load(std::memory_order_relaxed);
  return seen != now &&
         last_sec.compare_exchange_strong(seen, now, std::memory_order_relaxed);
}

}  // namespace scopedfs
