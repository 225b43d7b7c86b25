// How scopedctl prints: aligned tables for people, JSON for programs, and
// errors as exactly one line on stderr.
#ifndef SCOPEDFS_TOOLS_OUTPUT_H_
#define SCOPEDFS_TOOLS_OUTPUT_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace scopedfs::tools {

// Exit codes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // Also: "invalid" / "differs".
inline constexpr int kExitUsage = 2;

// Collapses a message to one line: line breaks become "; ", surrounding
// whitespace goes, and other control characters are escaped (Safe).
std::string OneLine(absl::string_view message);

// Text from the daemon made safe for a terminal: control characters, bytes
// that are not UTF-8, C1 and bidi/format controls escaped as audit/escape.h
// writes them (backslashes left alone: text the daemon escaped already is
// unchanged). scopedctl never prints the daemon's strings without it.
std::string Safe(absl::string_view text);
// The same for multi-line text (newline and tab kept).
std::string SafeLines(absl::string_view text);

// Prints "scopedctl: error: MESSAGE" (one line) to stderr and returns
// kExitFailure.
int Fail(absl::string_view message);
// The same for a command line mistake, with a pointer to --help; returns
// kExitUsage.
int UsageError(absl::string_view message);

// Writes to stdout.
void Print(absl::string_view text);

// Columns padded to their widest cell, two spaces apart; the last column is
// not padded. Right-aligned columns suit numbers.
class Table {
 public:
  explicit Table(std::vector<bool> right_aligned = {}) : right_(std::move(right_aligned)) {}
  void AddRow(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  bool empty() const { return rows_.empty(); }
  std::string Render() const;

 private:
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

// One line of JSON for a message: proto field names, default values printed,
// enums by name, 64-bit integers as strings (the proto3 JSON mapping).
std::string ToJson(const google::protobuf::Message& message);

// A JSON string literal (of SafeLines(s)).
std::string JsonQuote(absl::string_view s);

// "3d 4h 5m 6s", "5m 0s", "42s".
std::string FormatDuration(uint64_t seconds);

// Nanoseconds since the epoch as RFC 3339 UTC to the second:
// "2026-12-07T19:08:06Z".
std::string FormatUnixNanos(int64_t unix_nanos);

// How long until `unix_nanos`, for things that expire: "in 59m 3s" (whole
// seconds, rounded up so that it never says "in 0s" for what is still
// there), or "expired" if it is not after `now_unix_nanos`.
std::string FormatExpiresIn(int64_t unix_nanos, int64_t now_unix_nanos);

inline const char* YesNo(bool b) { return b ? "yes" : "no"; }

// Colour (ANSI SGR sequences) for people at a terminal.
enum class Color { kRed, kGreen, kYellow, kCyan, kBold };

// `text` between the colour's escape sequence and a reset if `on`, else
// `text` as it is.
std::string Paint(bool on, absl::string_view text, Color color);

// Whether to colour stdout: `mode` "always" or "never" decide; "auto" colours
// when stdout is a terminal, NO_COLOR is unset or empty (https://no-color.org)
// and TERM is not "dumb". Never with --json. `no_color`, `term`: the
// environment variables (nullptr: unset).
bool ShouldColor(absl::string_view mode, bool json, bool stdout_is_tty, const char* no_color,
                 const char* term);

// Columns `s` takes on a terminal: its bytes without escape sequences (ESC
// '[' ... final byte), UTF-8 continuation bytes not counted.
size_t VisibleWidth(absl::string_view s);

}  // namespace scopedfs::tools

#endif  // SCOPEDFS_TOOLS_OUTPUT_H_
