#include "tests/file_util.h"

#include <dirent.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace scopedfs::testing {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

std::string TestTmpDir() {
  const char* d = std::getenv("TEST_TMPDIR");
  return d != nullptr ? d : "/tmp";
}

std::set<std::string> ListNames(const std::string& dir, bool dot_files) {
  std::set<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* de = readdir(d)) {
    const std::string name = de->d_name;
    if (name == "." || name == "..") continue;
    if (!dot_files && name[0] == '.') continue;
    names.insert(name);
  }
  closedir(d);
  return names;
}

}  // namespace scopedfs::testing
