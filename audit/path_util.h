// Internal: the one definition of "a path and everything below it", shared by
// the owner index, the database and the filter. Component-wise: "a" covers
// "a" and "a/..." but not "ab". Paths compare as bytes (std::string and
// SQLite's BINARY collation agree), so the strict descendants of "a" are
// exactly the strings in ["a/", "a0") ('0' is '/' + 1).
#ifndef SCOPEDFS_AUDIT_PATH_UTIL_H_
#define SCOPEDFS_AUDIT_PATH_UTIL_H_

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace scopedfs::audit::internal {

// Whether `path` is `root` or below it.
inline bool PathIsUnder(absl::string_view path, absl::string_view root) {
  if (!absl::StartsWith(path, root)) return false;
  return path.size() == root.size() || path[root.size()] == '/';
}

// The half-open byte range [lo, hi) of the strict descendants of `root`.
inline std::string DescendantsLow(absl::string_view root) {
  return absl::StrCat(root, "/");
}
inline std::string DescendantsHigh(absl::string_view root) {
  return absl::StrCat(root, "0");
}

// A filter's path prefix as compared: without leading or trailing slashes
// ("DCIM/" and "/DCIM" mean "DCIM"). Empty: any path.
inline absl::string_view NormalizePrefix(absl::string_view prefix) {
  while (!prefix.empty() && prefix.front() == '/') prefix.remove_prefix(1);
  while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
  return prefix;
}

}  // namespace scopedfs::audit::internal

#endif  // SCOPEDFS_AUDIT_PATH_UTIL_H_
