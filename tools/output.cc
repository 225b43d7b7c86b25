#include "tools/output.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "audit/escape.h"
#include "google/protobuf/util/json_util.h"

namespace scopedfs::tools {

std::string OneLine(absl::string_view message) {
  std::string out;
  for (absl::string_view line : absl::StrSplit(message, absl::ByAnyChar("\r\n"))) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    absl::StrAppend(&out, out.empty() ? "" : "; ", line);
  }
  return Safe(out);
}

std::string Safe(absl::string_view text) { return audit::EscapeControls(text); }

std::string SafeLines(absl::string_view text) {
  return audit::EscapeControls(text, /*keep_line_breaks=*/true);
}

int Fail(absl::string_view message) {
  std::fflush(stdout);
  std::fprintf(stderr, "scopedctl: error: %s\n", OneLine(message).c_str());
  return kExitFailure;
}

int UsageError(absl::string_view message) {
  std::fflush(stdout);
  std::fprintf(stderr, "scopedctl: error: %s (see scopedctl --help)\n",
               OneLine(message).c_str());
  return kExitUsage;
}

void Print(absl::string_view text) { std::fwrite(text.data(), 1, text.size(), stdout); }

std::string Table::Render() const {
  std::vector<size_t> width;
  for (const auto& row : rows_) {
    if (row.size() > width.size()) width.resize(row.size(), 0);
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], VisibleWidth(row[c]));
  }
  std::string out;
  for (const auto& row : rows_) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      const bool right = c < right_.size() && right_[c];
      const bool last = c + 1 == row.size();
      if (c > 0) line += "  ";
      const std::string pad(width[c] - VisibleWidth(row[c]), ' ');
      if (right) line += pad;
      line += row[c];
      if (!right && !last) line += pad;
    }
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = false;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(message, &out, options).ok()) {
    return "{}";  // Only fails for unresolvable Any types, which we do not use.
  }
  return out;
}

std::string JsonQuote(absl::string_view raw) {
  // Bytes that are not UTF-8 and controls other than line breaks become
  // their escaped text first (audit/escape.h): valid JSON, safe to print.
  const std::string s = SafeLines(raw);
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out += "\"";
  return out;
}

std::string FormatDuration(uint64_t seconds) {
  const uint64_t d = seconds / 86400, h = seconds / 3600 % 24, m = seconds / 60 % 60,
                 s = seconds % 60;
  if (d > 0) return absl::StrCat(d, "d ", h, "h ", m, "m ", s, "s");
  if (h > 0) return absl::StrCat(h, "h ", m, "m ", s, "s");
  if (m > 0) return absl::StrCat(m, "m ", s, "s");
  return absl::StrCat(s, "s");
}

std::string FormatUnixNanos(int64_t unix_nanos) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixNanos(unix_nanos),
                          absl::UTCTimeZone());
}

std::string FormatExpiresIn(int64_t unix_nanos, int64_t now_unix_nanos) {
  if (unix_nanos <= now_unix_nanos) return "expired";
  const uint64_t left = static_cast<uint64_t>(unix_nanos) - static_cast<uint64_t>(now_unix_nanos);
  return "in " + FormatDuration((left + 999999999) / 1000000000);
}

std::string Paint(bool on, absl::string_view text, Color color) {
  if (!on || text.empty()) return std::string(text);
  const char* code = "";
  switch (color) {
    case Color::kRed: code = "31"; break;
    case Color::kGreen: code = "32"; break;
    case Color::kYellow: code = "33"; break;
    case Color::kCyan: code = "36"; break;
    case Color::kBold: code = "1"; break;
  }
  return absl::StrCat("\x1b[", code, "m", text, "\x1b[0m");
}

bool ShouldColor(absl::string_view mode, bool json, bool stdout_is_tty, const char* no_color,
                 const char* term) {
  if (json || mode == "never") return false;
  if (mode == "always") return true;
  if (no_color != nullptr && no_color[0] != '\0') return false;
  if (term != nullptr && absl::string_view(term) == "dumb") return false;
  return stdout_is_tty;
}

size_t VisibleWidth(absl::string_view s) {
  size_t width = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\x1b' && i + 1 < s.size() && s[i + 1] == '[') {
      i += 2;
      while (i < s.size() && !(s[i] >= 0x40 && s[i] <= 0x7e)) ++i;
      continue;
    }
    if ((static_cast<unsigned char>(s[i]) & 0xc0) != 0x80) ++width;
  }
  return width;
}

}  // namespace scopedfs::tools
