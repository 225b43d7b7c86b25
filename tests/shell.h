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

// The same as an exit status (-1: could not run or was killed), with the
// standard output in `*out` when it is not null.
int Shell(const std::string& command, std::string* out = nullptr);

// Whether `tool` is on the PATH.
bool HaveTool(const std::string& tool);

}  // namespace scopedfs::testing

#endif  // SCOPEDFS_TESTS_SHELL_H_
