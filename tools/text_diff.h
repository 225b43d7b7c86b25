// A small line diff for `scopedctl policy diff`: a longest-common-subsequence
// edit script rendered as a unified diff (like `diff -u`).
#ifndef SCOPEDFS_TOOLS_TEXT_DIFF_H_
#define SCOPEDFS_TOOLS_TEXT_DIFF_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace scopedfs::tools {

// Splits text into lines without their '\n'. A final line without '\n' counts
// like one with it ("a\nb" and "a\nb\n" both give {"a", "b"}); "" gives {}.
std::vector<std::string> SplitLines(absl::string_view text);

struct DiffLine {
  enum Kind { kSame, kRemoved, kAdded };
  Kind kind;
  std::string text;

  bool operator==(const DiffLine& o) const {
    return kind == o.kind && text == o.text;
  }
};

// An edit script turning `a` into `b` that keeps a longest common subsequence
// of lines. Within one changed block removals come before additions. Inputs
// whose differing middle (after the common prefix and suffix) exceeds
// kMaxDiffCells table cells get a correct but not minimal script: the whole
// middle removed, then added.
std::vector<DiffLine> DiffLines(const std::vector<std::string>& a,
                                const std::vector<std::string>& b);
inline constexpr size_t kMaxDiffCells = size_t{16} << 20;

// A unified diff of `a` and `b` ("--- a_label", "+++ b_label", "@@ -l,n +l,n @@"
// hunks with `context` lines of context), or "" if the lines are equal.
std::string UnifiedDiff(absl::string_view a, absl::string_view b,
                        absl::string_view a_label, absl::string_view b_label,
                        int context = 3);

}  // namespace scopedfs::tools

#endif  // SCOPEDFS_TOOLS_TEXT_DIFF_H_
