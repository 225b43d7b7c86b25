#include "tests/shell.h"

#include <stdio.h>
#include <sys/wait.h>

#include <utility>

namespace scopedfs::testing {

ShellResult RunShell(const std::string& command) {
  ShellResult result;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return result;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) result.output.append(buf, n);
  const int status = pclose(p);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

bool HaveTool(const std::string& tool) {
  return RunShell("command -v '" + tool + "' >/dev/null 2>&1").status == 0;
}

int Shell(const std::string& command, std::string* out) {
  ShellResult r = RunShell(command);
  if (out != nullptr) *out = std::move(r.output);
  return r.status;
}

}  // namespace scopedfs::testing
