// The configuration file of scopedfsd (proto/scopedfs/v1/config.proto): flag
// values in protobuf text format. Each field is the flag of the same name;
// flags given on the command line win over the file.
#ifndef SCOPEDFS_DAEMON_CONFIG_FILE_H_
#define SCOPEDFS_DAEMON_CONFIG_FILE_H_

#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "scopedfs/v1/config.pb.h"

namespace scopedfs {

// The flag names (underscores) that `args` sets: "--name", "--name=v",
// "--noname" for booleans. Stops at "--".
std::set<std::string> FlagsOnCommandLine(const std::vector<char*>& args);

// Rewrites "--multi-word-flag[=v]" to "--multi_word_flag[=v]" in place (the
// value is left alone), so both spellings work like in scopedctl.
void NormalizeFlagDashes(std::vector<std::string>* storage,
                         std::vector<char*>* args);

// Reads and parses `path` with policy::ParseTextFormat (unknown fields and
// syntax errors are errors, with line and column). InvalidArgument
// "--config: '/x' is a directory, expected a config file" (or "--config:
// cannot read '/x': ...") if it cannot be read, "config file '/x': line
// L:C: ...; ..." with every parse error if it does not parse.
absl::StatusOr<v1::DaemonConfig> ReadConfigFile(const std::string& path);

// Sets every flag the config names and `given` does not (through the flag's
// own parser, so the file is checked exactly like the command line).
// InvalidArgument naming the field on a bad value.
absl::Status ApplyConfigToFlags(const v1::DaemonConfig& config,
                                const std::set<std::string>& given);

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_CONFIG_FILE_H_
