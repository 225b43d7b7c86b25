// Whole-file reads and writes for tests.
#ifndef SCOPEDFS_TESTS_FILE_UTIL_H_
#define SCOPEDFS_TESTS_FILE_UTIL_H_

#include <set>
#include <string>

namespace scopedfs::testing {

// The file's bytes; empty if it cannot be read.
std::string ReadFile(const std::string& path);
// Replaces the file's content with `data` (creating it).
void WriteFile(const std::string& path, const std::string& data);
// The test's scratch directory: $TEST_TMPDIR, else /tmp.
std::string TestTmpDir();
// The names in a directory (empty if it cannot be read), without "." and
// ".."; without every name starting with '.' unless `dot_files`.
std::set<std::string> ListNames(const std::string& dir, bool dot_files = false);

}  // namespace scopedfs::testing

#endif  // SCOPEDFS_TESTS_FILE_UTIL_H_
