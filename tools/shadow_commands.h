// `scopedctl policy shadow ...`: a candidate policy decided beside the
// running one, enforcement unchanged (the daemon's SetShadowPolicy,
// GetShadowReport and ClearShadowPolicy), to see what it would change before
// applying it.
#ifndef SCOPEDFS_TOOLS_SHADOW_COMMANDS_H_
#define SCOPEDFS_TOOLS_SHADOW_COMMANDS_H_

#include <cstdint>
#include <string>

#include "scopedfs/v1/admin.pb.h"
#include "tools/client.h"
#include "tools/commands.h"

namespace scopedfs::tools {

// `policy shadow FILE [--for=DURATION]`: installs FILE as the shadow policy
// (replacing one installed, starting a new report) for `duration_seconds`
// (0: until stopped); prints since and until when.
int PolicyShadowSet(AdminClient& client, const OutputOptions& out, const std::string& file,
                    uint64_t duration_seconds);

// `policy shadow report [--top=N]`: the report so far, with at most
// `top_paths` paths (0: the daemon's default, 10).
int PolicyShadowReport(AdminClient& client, const OutputOptions& out, uint32_t top_paths);

// `policy shadow stop`: removes the shadow policy and prints its final
// report.
int PolicyShadowStop(AdminClient& client, const OutputOptions& out);

// The report as `policy shadow report` prints it: a header (active, since,
// expires, decisions compared, differing), the rule pairs and the top paths;
// `now_unix_nanos` for "expires in ...". Strings must be made safe first.
std::string RenderShadowReport(const OutputOptions& out, const v1::ShadowReport& report,
                               int64_t now_unix_nanos);

}  // namespace scopedfs::tools

#endif  // SCOPEDFS_TOOLS_SHADOW_COMMANDS_H_
