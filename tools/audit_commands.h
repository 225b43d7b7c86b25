// `scopedctl audit tail` and `scopedctl audit query`: the daemon's audit
// trail as a table (one row per event) or JSON (one object per line).
#ifndef SCOPEDFS_TOOLS_AUDIT_COMMANDS_H_
#define SCOPEDFS_TOOLS_AUDIT_COMMANDS_H_

#include <cstdint>
#include <optional>

#include "scopedfs/v1/audit.pb.h"
#include "tools/client.h"
#include "tools/commands.h"

namespace scopedfs::tools {

struct AuditTailArgs {
  v1::AuditFilter filter;
  uint32_t lines = 10;              // Stored events shown first.
  bool follow = false;              // Then stream new ones until interrupted.
  std::optional<uint64_t> after_id;  // Resume: every event after this id.
};
int AuditTail(AdminClient& client, const OutputOptions& out, const AuditTailArgs& args);

struct AuditQueryArgs {
  v1::AuditFilter filter;
  uint32_t limit = 100;  // Events in all (0: no limit).
  bool newest_first = false;
};
int AuditQuery(AdminClient& client, const OutputOptions& out, const AuditQueryArgs& args);

// One event as a fixed-width line (the table rows of tail -f); `color`: the
// decision coloured (see PaintAction). The event's strings are printed as
// they are: pass them through Safe() first.
std::string FormatAuditEvent(const v1::AuditEvent& e, bool color = false);
// The header line matching FormatAuditEvent.
std::string AuditHeader();

}  // namespace scopedfs::tools

#endif  // SCOPEDFS_TOOLS_AUDIT_COMMANDS_H_
