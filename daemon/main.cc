// scopedfsd: mounts SOURCE at MOUNTPOINT and serves it through FUSE.
//   scopedfsd [flags] [-o opt,...] SOURCE MOUNTPOINT
// Flags (flags.cc) -> Daemon::Start (daemon.h) -> Serve.
// Exit status: 0 once serving (in the background), or after a clean
// unmount (SIGINT, SIGTERM, SIGHUP or fusermount -u) in the foreground;
// 2 when it could not start (bad arguments, configuration or state; one
// line on stderr, nothing mounted); 1 when serving failed.
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "daemon/check_config.h"
#include "daemon/command_line.h"
#include "daemon/config_file.h"
#include "daemon/daemon.h"
#include "daemon/detach.h"
#include "daemon/flag_check.h"
#include "daemon/flags.h"
#include "daemon/mount_options.h"
#include "daemon/log.h"

// Here, not in flags.cc: --help lists that file's flags, and this one is
// for packagers (packaging/man/build.sh), not for running the daemon.
ABSL_FLAG(bool, help_man, false,
          "Print the man page scopedfsd(8), in roff, made from --help's text and flags, "
          "and exit.");

namespace scopedfs {
namespace {

constexpr int kExitUsage = 2;

int Run(int argc, char** argv) {
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::StrContains(file, kFlagsFile);
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  absl::SetProgramUsageMessage(UsageMessage());

  auto split = SplitFuseStyleArgs(argc, argv);
  if (!split.ok()) Die(kExitUsage, std::string(split.status().message()));
  // Bad -o options and flags are found here, each as one line: libfuse and
  // absl would report them in several, and absl exit with 1.
  if (auto st = CheckMountOptions(split->mount_options, "-o "); !st.ok()) {
    Die(kExitUsage, std::string(st.message()));
  }
  std::vector<std::string> normalized;
  NormalizeFlagDashes(&normalized, &split->rest);
  const std::set<std::string> given = FlagsOnCommandLine(split->rest);
  if (auto st = CheckAndSetFlags(split->rest); !st.ok()) {
    Die(kExitUsage, std::string(st.message()));
  }
  std::vector<char*> positional =
      absl::ParseCommandLine(split->rest.size(), split->rest.data());
  if (absl::GetFlag(FLAGS_help_man)) {
    std::fputs(ManPage().c_str(), stdout);
    return std::fflush(stdout) == 0 && !std::ferror(stdout) ? 0 : 1;
  }
  std::string source_arg, mountpoint_arg;
  if (const std::string config_file = absl::GetFlag(FLAGS_config);
      !config_file.empty()) {
    auto config = ReadConfigFile(config_file);
    if (!config.ok()) Die(kExitUsage, std::string(config.status().message()));
    if (auto st = ApplyConfigToFlags(*config, given); !st.ok()) {
      Die(kExitUsage, absl::StrCat("config file '", config_file, "': ", st.message()));
    }
    source_arg = config->source();
    mountpoint_arg = config->mountpoint();
    std::vector<std::string> file_options;
    for (const std::string& value : config->mount_options()) {
      for (std::string& option : SplitMountOptions(value)) {
        file_options.push_back(std::move(option));
      }
    }
    if (auto st = CheckMountOptions(
            file_options, absl::StrCat("config file '", config_file, "': mount_options "));
        !st.ok()) {
      Die(kExitUsage, std::string(st.message()));
    }
    // Command-line -o options come after the file's: later ones win.
    split->mount_options.insert(split->mount_options.begin(), file_options.begin(),
                                file_options.end());
  }
  if (positional.size() == 3) {
    source_arg = positional[1];
    mountpoint_arg = positional[2];
  } else if (positional.size() != 1 || source_arg.empty() ||
             mountpoint_arg.empty()) {
    Die(kExitUsage,
        "expected SOURCE and MOUNTPOINT, on the command line or in --config "
        "(see --help)");
  }
  LogFormat log_format;
  if (!ParseLogFormat(absl::GetFlag(FLAGS_log_format), &log_format)) {
    Die(kExitUsage, "--log_format must be auto, text or journal");
  }
  SetLogFormat(log_format);
  const bool debug = absl::GetFlag(FLAGS_debug) || split->debug;
  const bool foreground =
      absl::GetFlag(FLAGS_foreground) || split->foreground || debug;
  if (debug) SetLogLevel(LogLevel::kDebug);
  auto options = DaemonOptionsFromFlags(source_arg, mountpoint_arg,
                                        split->mount_options, debug);
  if (!options.ok()) Die(kExitUsage, std::string(options.status().message()));
  if (absl::GetFlag(FLAGS_check_config)) return CheckConfig(*options);

  // Nothing may start a thread before this: only the forking one survives.
  StartReport report = StartReport::Detach(foreground, options->mountpoint);
  auto daemon = Daemon::Start(*std::move(options));
  if (!daemon.ok()) report.Fail(kExitUsage, std::string(daemon.status().message()));
  report.Ready();
  const int status = (*daemon)->Serve();
  const std::string mountpoint = (*daemon)->mountpoint();
  daemon->reset();  // Unmounts; the audit log commits what is queued.
  if (status == 0) SFS_LOG(kInfo, "unmounted %s", mountpoint);
  return status;
}

}  // namespace
}  // namespace scopedfs

int main(int argc, char** argv) { return scopedfs::Run(argc, argv); }
