// Running a shell command from a test and capturing what it prints.
#ifndef SCOPEDFS_TESTS_SHELL_H_
#define SCOPEDFS_TESTS_SHELL_H_

#include <string>

namespace scopedfs::testing {

struct ShellResult {
  int status = -1;     // Exit status; -1 if it could not run or was killed.
  std::string output;  // Standard output (add 2>&1 to the command for stderr).
};

// Runs `command` with /bin/sh to completion.
ShellResult RunShell(const std::string& command);

}  // namespace scopedfs::testing

#endif  // SCOPEDFS_TESTS_SHELL_H_
