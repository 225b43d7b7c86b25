// `scopedctl policy rules`: how often each rule of the running policy (and
// each grant, and the default action) decided, by outcome, and when it last
// did (the daemon's GetRuleHits): rules that never match are candidates for
// removal, or written wrong.
#ifndef SCOPEDFS_TOOLS_RULE_COMMANDS_H_
#define SCOPEDFS_TOOLS_RULE_COMMANDS_H_

#include <cstdint>
#include <string>

#include "scopedfs/v1/admin.pb.h"
#include "tools/client.h"
#include "tools/commands.h"

namespace scopedfs::tools {

int PolicyRules(AdminClient& client, const OutputOptions& out);

// The table of `policy rules`: grants and rules in the daemon's order, the
// default action last as "(default)". Strings must be made safe first.
std::string RenderRuleHits(const OutputOptions& out, const v1::GetRuleHitsResponse& hits);

}  // namespace scopedfs::tools

#endif  // SCOPEDFS_TOOLS_RULE_COMMANDS_H_
