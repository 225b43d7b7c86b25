#include "tests/shell.h"

#include <stdio.h>
#include <sys/wait.h>

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

}  // namespace scopedfs::testing
