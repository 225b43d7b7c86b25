// One audit event as the daemon's FUSE threads produce it: plain C++ values,
// cheap to fill and move through the queue. The writer thread completes it
// (process name and executable, id) and stores it as a row of the `audit`
// table; readers get it back as a v1::AuditEvent.
#ifndef SCOPEDFS_AUDIT_EVENT_H_
#define SCOPEDFS_AUDIT_EVENT_H_

#include <cstdint>
#include <string>

#include "scopedfs/v1/audit.pb.h"

namespace scopedfs::audit {

struct Event {
  int64_t time_unix_nanos = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t pid = 0;
  int32_t operation = 0;  // v1::Operation
  int32_t open_flags = 0;
  int32_t decision = 0;   // v1::Action
  int32_t error = 0;      // errno answered, 0 when the request proceeded
  uint64_t policy_generation = 0;
  uint64_t latency_nanos = 0;
  std::string path;
  std::string app;
  std::string rule_id;
  // For an open served through a redacted view: what was redacted
  // ("profile=location mode=allowlist format=jpeg ranges=3"), or why the
  // view was refused ("refused: ..."); empty otherwise.
  std::string redaction;
  // A shadow policy's differing verdict (v1::Action; -1: none) and rule.
  int32_t shadow_decision = -1;
  std::string shadow_rule_id;
  // Filled by the writer thread (best effort; see ProcessInfoCache).
  std::string comm;
  std::string exe;
};

// The wire form (id assigned by the database).
v1::AuditEvent ToProto(const Event& e, uint64_t id);

}  // namespace scopedfs::audit

#endif  // SCOPEDFS_AUDIT_EVENT_H_
