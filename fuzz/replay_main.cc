// main() for building a fuzz target without libFuzzer (gcc, no --config=fuzz):
// runs LLVMFuzzerTestOneInput once on each file named on the command line,
// or on every file of each directory named. Useful to replay a corpus or a
// crash under `bazel run --config=asan //fuzz:<target> -- FILE...`.
#include <dirent.h>
#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

int RunFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
    return 1;
  }
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string data = buf.str();
  std::fprintf(stderr, "replay: %s (%zu bytes)\n", path.c_str(), data.size());
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(data.data()),
                         data.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int failures = 0;
  int ran = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (!arg.empty() && arg[0] == '-') continue;  // libFuzzer-style flags
    struct stat st;
    if (stat(arg.c_str(), &st) != 0) {
      std::fprintf(stderr, "replay: no such file %s\n", arg.c_str());
      ++failures;
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      DIR* dir = opendir(arg.c_str());
      if (dir == nullptr) {
        ++failures;
        continue;
      }
      std::vector<std::string> files;
      while (dirent* e = readdir(dir)) {
        const std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        files.push_back(arg + "/" + name);
      }
      closedir(dir);
      for (const std::string& f : files) {
        failures += RunFile(f);
        ++ran;
      }
    } else {
      failures += RunFile(arg);
      ++ran;
    }
  }
  std::fprintf(stderr, "replay: %d inputs, %d unreadable\n", ran, failures);
  return failures == 0 ? 0 : 1;
}
