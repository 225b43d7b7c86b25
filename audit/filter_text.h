// The audit filter as people type it (scopedctl audit tail/query):
// space-separated terms KEY=VALUE[,VALUE...], every term must hold, values of
// one term are alternatives.
//   app=gallery,camera      uid=1000,1001       path=DCIM/Camera
//   (path: in the escaped form of audit/escape.h, as the trail shows names:
//   path=new\x0aline; raw control characters and non-UTF-8 bytes are
//   escaped while parsing, a backslash must be written \\)
//   op=open|read|write|create|delete|rename|setattr|lookup  ("open": read,write)
//   decision=allow|redacted|deny|hide  (allow_redacted also accepted)
//   since=TIME  until=TIME  TIME: RFC 3339 ("2026-11-25T10:00:00Z"), a unix
//   time in seconds ("@1764064800"), or a duration before now ("10m", "2h30m",
//   "1d" = 24h).
// Keys and enum values are case-insensitive. Repeating a key is an error.
#ifndef SCOPEDFS_AUDIT_FILTER_TEXT_H_
#define SCOPEDFS_AUDIT_FILTER_TEXT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "scopedfs/v1/audit.pb.h"

namespace scopedfs::audit {

// Parses the terms (already split, e.g. argv). InvalidArgument naming the bad
// term and what was expected.
absl::StatusOr<v1::AuditFilter> ParseFilter(absl::Span<const std::string> terms,
                                            absl::Time now);
// Convenience: splits `text` on whitespace first.
absl::StatusOr<v1::AuditFilter> ParseFilterText(absl::string_view text,
                                                absl::Time now);

// Whether `event` matches `filter` (the same semantics as Database::Query),
// both as they travel: paths in the escaped form.
bool Matches(const v1::AuditFilter& filter, const v1::AuditEvent& event);

}  // namespace scopedfs::audit

#endif  // SCOPEDFS_AUDIT_FILTER_TEXT_H_
