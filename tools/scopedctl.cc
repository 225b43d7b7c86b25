// scopedctl: the admin tool of scopedfs.
//   scopedctl stats [--state_dir=DIR] [--json]
// Today it reads a running daemon's counters through its state directory
// (SIGUSR1 asks the daemon to write them). The gRPC admin API replaces this
// transport; the command stays.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

ABSL_FLAG(std::string, state_dir, "/var/lib/scopedfs",
          "State directory of the daemon to talk to (scopedfsd --state_dir).");
ABSL_FLAG(bool, json, false, "Print JSON instead of a table.");

namespace {

using Counters = std::vector<std::pair<std::string, unsigned long long>>;

[[noreturn]] void Fail(const std::string& message) {
  std::fprintf(stderr, "scopedctl: error: %s\n", message.c_str());
  std::exit(1);
}

Counters Load(const std::string& path) {
  Counters out;
  std::ifstream in(path);
  std::string name;
  unsigned long long value;
  while (in >> name >> value) out.emplace_back(name, value);
  return out;
}

unsigned long long Sequence(const Counters& c) {
  for (const auto& [name, value] : c) {
    if (name == "sequence") return value;
  }
  return 0;
}

int Stats() {
  const std::string dir = absl::GetFlag(FLAGS_state_dir);
  std::ifstream pid_in(dir + "/scopedfsd.pid");
  long pid = 0;
  if (!(pid_in >> pid) || pid <= 0) {
    Fail(absl::StrCat("no running scopedfsd with state dir '", dir,
                      "' (no pid file)"));
  }
  const std::string stats_path = dir + "/stats";
  const unsigned long long before = Sequence(Load(stats_path));
  if (kill(pid, SIGUSR1) != 0) {
    Fail(absl::StrCat("cannot signal scopedfsd (pid ", pid, "): ",
                      strerror(errno)));
  }
  Counters now;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    now = Load(stats_path);
  } while (Sequence(now) <= before && std::chrono::steady_clock::now() < deadline);
  if (Sequence(now) <= before) Fail("scopedfsd did not answer within 5 s");
  if (absl::GetFlag(FLAGS_json)) {
    std::string out = "{";
    for (size_t i = 0; i < now.size(); ++i) {
      absl::StrAppend(&out, i ? ", " : "", "\"", now[i].first, "\": ", now[i].second);
    }
    std::printf("%s}\n", out.c_str());
  } else {
    for (const auto& [name, value] : now) {
      if (name != "sequence") std::printf("%-26s %llu\n", name.c_str(), value);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::StrContains(file, "tools/scopedctl.cc");
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  absl::SetProgramUsageMessage(
      "administers a running scopedfsd.\n"
      "usage: scopedctl stats [--state_dir=DIR] [--json]\n"
      "  stats   the daemon's request counters (passthrough opens, requests\n"
      "          it served itself, backing ids, nodes, descriptors)");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() == 2 && std::string(args[1]) == "stats") return Stats();
  Fail("unknown command (see --help)");
}
