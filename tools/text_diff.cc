#include "tools/text_diff.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"

namespace scopedfs::tools {

std::vector<std::string> SplitLines(absl::string_view text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == absl::string_view::npos) end = text.size();
    lines.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

std::vector<DiffLine> DiffLines(const std::vector<std::string>& a,
                                const std::vector<std::string>& b) {
  std::vector<DiffLine> out;
  // The common prefix and suffix are kept as they are; only the middle needs
  // the quadratic table.
  size_t prefix = 0;
  while (prefix < a.size() && prefix < b.size() && a[prefix] == b[prefix]) {
    ++prefix;
  }
  size_t suffix = 0;
  while (suffix < a.size() - prefix && suffix < b.size() - prefix &&
         a[a.size() - 1 - suffix] == b[b.size() - 1 - suffix]) {
    ++suffix;
  }
  for (size_t i = 0; i < prefix; ++i) out.push_back({DiffLine::kSame, a[i]});

  const size_t n = a.size() - prefix - suffix;
  const size_t m = b.size() - prefix - suffix;
  auto A = [&](size_t i) -> const std::string& { return a[prefix + i]; };
  auto B = [&](size_t j) -> const std::string& { return b[prefix + j]; };
  if (n > 0 && m > 0 && (n + 1) <= kMaxDiffCells / (m + 1)) {
    // lcs[i * (m + 1) + j]: length of an LCS of A[i..n) and B[j..m).
    std::vector<uint32_t> lcs((n + 1) * (m + 1), 0);
    auto at = [&](size_t i, size_t j) -> uint32_t& { return lcs[i * (m + 1) + j]; };
    for (size_t i = n; i-- > 0;) {
      for (size_t j = m; j-- > 0;) {
        at(i, j) = A(i) == B(j) ? at(i + 1, j + 1) + 1
                                : std::max(at(i + 1, j), at(i, j + 1));
      }
    }
    size_t i = 0, j = 0;
    while (i < n && j < m) {
      if (A(i) == B(j)) {
        out.push_back({DiffLine::kSame, A(i)});
        ++i;
        ++j;
      } else if (at(i + 1, j) >= at(i, j + 1)) {
        out.push_back({DiffLine::kRemoved, A(i++)});
      } else {
        out.push_back({DiffLine::kAdded, B(j++)});
      }
    }
    for (; i < n; ++i) out.push_back({DiffLine::kRemoved, A(i)});
    for (; j < m; ++j) out.push_back({DiffLine::kAdded, B(j)});
  } else {
    for (size_t i = 0; i < n; ++i) out.push_back({DiffLine::kRemoved, A(i)});
    for (size_t j = 0; j < m; ++j) out.push_back({DiffLine::kAdded, B(j)});
  }

  for (size_t i = a.size() - suffix; i < a.size(); ++i) {
    out.push_back({DiffLine::kSame, a[i]});
  }
  return out;
}

namespace {

// "l,n" of a hunk header, as diff -u writes it: ",1" is left out, and an
// empty range names the line before it.
std::string Range(size_t first, size_t count) {
  if (count == 0) return absl::StrCat(first, ",0");
  if (count == 1) return absl::StrCat(first + 1);
  return absl::StrCat(first + 1, ",", count);
}

}  // namespace

std::string UnifiedDiff(absl::string_view a, absl::string_view b,
                        absl::string_view a_label, absl::string_view b_label,
                        int context) {
  const std::vector<DiffLine> script = DiffLines(SplitLines(a), SplitLines(b));
  const size_t ctx = context < 0 ? 0 : static_cast<size_t>(context);

  std::vector<size_t> changes;
  for (size_t k = 0; k < script.size(); ++k) {
    if (script[k].kind != DiffLine::kSame) changes.push_back(k);
  }
  if (changes.empty()) return "";

  std::string out = absl::StrCat("--- ", a_label, "\n+++ ", b_label, "\n");
  // Line numbers (0-based) in a and b before script[k], for every k.
  std::vector<size_t> a_line(script.size() + 1), b_line(script.size() + 1);
  for (size_t k = 0; k < script.size(); ++k) {
    a_line[k + 1] = a_line[k] + (script[k].kind != DiffLine::kAdded);
    b_line[k + 1] = b_line[k] + (script[k].kind != DiffLine::kRemoved);
  }

  size_t c = 0;
  while (c < changes.size()) {
    // A hunk runs from the first change to the last one whose gap of equal
    // lines to the previous is at most 2 * context, plus context around it.
    size_t last = c;
    while (last + 1 < changes.size() &&
           changes[last + 1] - changes[last] - 1 <= 2 * ctx) {
      ++last;
    }
    const size_t begin = changes[c] > ctx ? changes[c] - ctx : 0;
    const size_t end = std::min(script.size(), changes[last] + 1 + ctx);
    absl::StrAppend(&out, "@@ -", Range(a_line[begin], a_line[end] - a_line[begin]),
                    " +", Range(b_line[begin], b_line[end] - b_line[begin]),
                    " @@\n");
    for (size_t k = begin; k < end; ++k) {
      const char mark = script[k].kind == DiffLine::kSame      ? ' '
                        : script[k].kind == DiffLine::kRemoved ? '-'
                                                               : '+';
      out.push_back(mark);
      absl::StrAppend(&out, script[k].text, "\n");
    }
    c = last + 1;
  }
  return out;
}

}  // namespace scopedfs::tools
