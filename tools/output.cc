#include "tools/output.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/json_util.h"

namespace scopedfs::tools {

std::string OneLine(absl::string_view message) {
  std::string out;
  for (absl::string_view line : absl::StrSplit(message, absl::ByAnyChar("\r\n"))) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    absl::StrAppend(&out, out.empty() ? "" : "; ", line);
  }
  return out;
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
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  std::string out;
  for (const auto& row : rows_) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      const bool right = c < right_.size() && right_[c];
      const bool last = c + 1 == row.size();
      if (c > 0) line += "  ";
      const std::string pad(width[c] - row[c].size(), ' ');
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

std::string JsonQuote(absl::string_view s) {
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

}  // namespace scopedfs::tools
