#include "audit/event.h"

namespace scopedfs::audit {

v1::AuditEvent ToProto(const Event& e, uint64_t id) {
  v1::AuditEvent p;
  p.set_id(id);
  p.set_time_unix_nanos(e.time_unix_nanos);
  p.set_uid(e.uid);
  p.set_gid(e.gid);
  p.set_pid(e.pid);
  p.set_comm(e.comm);
  p.set_exe(e.exe);
  p.set_app(e.app);
  p.set_path(e.path);
  p.set_operation(static_cast<v1::Operation>(e.operation));
  p.set_open_flags(e.open_flags);
  p.set_decision(static_cast<v1::Action>(e.decision));
  p.set_error(e.error);
  p.set_rule_id(e.rule_id);
  p.set_policy_generation(e.policy_generation);
  p.set_latency_nanos(e.latency_nanos);
  p.set_redaction(e.redaction);
  if (e.shadow_decision >= 0) {
    p.set_shadow_decision(static_cast<v1::Action>(e.shadow_decision));
    p.set_shadow_rule_id(e.shadow_rule_id);
  }
  return p;
}

}  // namespace scopedfs::audit
