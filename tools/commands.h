// The scopedctl commands. Each prints its result to stdout (a table, or JSON
// with `json`), reports a failure as one line on stderr, and returns the exit
// code.
#ifndef SCOPEDFS_TOOLS_COMMANDS_H_
#define SCOPEDFS_TOOLS_COMMANDS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "scopedfs/v1/policy.pb.h"
#include "tools/client.h"

namespace scopedfs::tools {

struct OutputOptions {
  bool json = false;
  bool color = false;  // ANSI colours (see ShouldColor in output.h).
};

// `text` coloured as a decision `action` is: allow green, redacted yellow,
// deny and hide red (if out.color).
std::string PaintAction(const OutputOptions& out, const std::string& text, v1::Action action);
// "yes" green, "no" red (if out.color).
std::string PaintYesNo(const OutputOptions& out, bool b);
// An action as the tables show it, lower case: "allow", "allow_redacted",
// "deny", "hide"; coloured with `out`.
std::string ActionWord(const OutputOptions& out, v1::Action action);

// `policy get`: the running policy as text, headed by "# generation N".
int PolicyGet(AdminClient& client, const OutputOptions& out);

// `policy validate FILE`: 0 if the daemon would accept FILE, 1 (and every
// error as "FILE: FIELD: MESSAGE" on stdout) if not.
int PolicyValidate(AdminClient& client, const OutputOptions& out, const std::string& file);

// `policy apply FILE [--revoke]`: applies FILE if the running generation is
// `expected_generation` (0: whatever it is). Prints the open handles that
// lost their access (revoked, or kept open because the kernel serves them);
// with `refuse_unrevocable` the daemon refuses the policy instead of
// keeping any open.
int PolicyApply(AdminClient& client, const OutputOptions& out, const std::string& file,
                uint64_t expected_generation, bool refuse_unrevocable = false);

// `policy diff FILE`: a unified diff from the running policy to FILE, both in
// canonical text form; 0 if they are the same policy, 1 if not.
int PolicyDiff(AdminClient& client, const OutputOptions& out, const std::string& file);

struct ExplainArgs {
  std::optional<std::string> app;
  std::optional<uint32_t> uid;
  uint32_t gid = 0;
  std::string path;  // Relative to the mount root, or a full path under the mountpoint.
  v1::Operation operation = v1::OPERATION_UNSPECIFIED;
  bool caller_is_owner = false;
};
// `explain`: how the running policy decides one request.
int Explain(AdminClient& client, const OutputOptions& out, const ExplainArgs& args);

// `status`: health, counters and latency histograms; with `prometheus`, all
// of it in the Prometheus text format instead.
int Status(AdminClient& client, const OutputOptions& out, bool prometheus = false);

// `stats`: the counters only (the command of old scopedctl versions).
int Stats(AdminClient& client, const OutputOptions& out);

// A full path under the daemon's mountpoint (asked with Health) made
// relative to the mount root; relative paths and other absolute ones stay as
// they are. False (the error printed) if the daemon cannot be asked.
bool MountRelative(AdminClient& client, std::string* path);

// PATH as the daemon takes paths (GetOwner, AddGrant, ListHandles):
// relative to the mount root (MountRelative), control characters and bytes
// that are not UTF-8 escaped as audit paths are. False (the error printed)
// if the daemon cannot be asked for its mountpoint.
bool WirePath(AdminClient& client, const std::string& path, std::string* wire);

// "read" -> READ etc. (case-insensitive); OPERATION_UNSPECIFIED if unknown.
v1::Operation ParseOperation(const std::string& name);

// A duration of --for: what absl::ParseDuration takes ("30s", "10m",
// "1h30m", "1.5h") and whole days in front ("2d", "1d12h"), in whole seconds
// (rounded up). At least one second: 0 means "forever" on the wire, which
// must be asked for by leaving --for out. InvalidArgument with a one-line
// message naming `flag` otherwise.
absl::StatusOr<uint64_t> ParseDurationSeconds(absl::string_view text,
                                              absl::string_view flag = "--for");

}  // namespace scopedfs::tools

#endif  // SCOPEDFS_TOOLS_COMMANDS_H_
