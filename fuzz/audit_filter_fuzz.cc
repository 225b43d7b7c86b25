// audit_filter_fuzz: audit::ParseFilterText on any text (at a fixed "now"),
// then Matches against fixed events and against events built from the
// filter itself. Invariants:
//   - a parsed filter is well formed: no repeated values, known operations
//     and decisions, times after the epoch and since < until;
//   - ParseFilter on the whitespace-split terms gives the same filter;
//   - an event built to satisfy every term matches; moving it just outside
//     one term (the time range, a sibling path "prefix" + "x") does not.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "audit/filter_text.h"
#include "fuzz/fuzz_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "scopedfs/v1/audit.pb.h"
#include "scopedfs/v1/policy.pb.h"

namespace {

namespace v1 = scopedfs::v1;
using scopedfs::audit::Matches;

absl::string_view Normalized(absl::string_view p) {
  while (!p.empty() && p.front() == '/') p.remove_prefix(1);
  while (!p.empty() && p.back() == '/') p.remove_suffix(1);
  return p;
}

template <typename Container>
bool HasDuplicates(const Container& c) {
  for (int i = 0; i < c.size(); ++i) {
    for (int j = i + 1; j < c.size(); ++j) {
      if (c[i] == c[j]) return true;
    }
  }
  return false;
}

const std::vector<v1::AuditEvent>& FixedEvents() {
  static const auto* const events = [] {
    auto* out = new std::vector<v1::AuditEvent>;
    const struct {
      const char* app;
      uint32_t uid;
      const char* path;
      v1::Operation op;
      v1::Action decision;
      int64_t time;
    } rows[] = {
        {"com.example.gallery", 10001, "DCIM/Camera/a.jpg", v1::READ,
         v1::ALLOW_REDACTED, 1764064800000000000},
        {"", 0, "", v1::LOOKUP, v1::ALLOW, 1},
        {"camera", 1000, "DCIM", v1::CREATE, v1::DENY, 1764064799999999999},
        {"x", 4294967295u, "DCIMX/b", v1::RENAME, v1::HIDE, INT64_MAX},
        {"a,b", 7, "a b/c=d", v1::WRITE, v1::DENY, 0},
    };
    for (const auto& r : rows) {
      v1::AuditEvent& e = out->emplace_back();
      e.set_app(r.app);
      e.set_uid(r.uid);
      e.set_path(r.path);
      e.set_operation(r.op);
      e.set_decision(r.decision);
      e.set_time_unix_nanos(r.time);
    }
    return out;
  }();
  return *events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  const absl::Time now = absl::FromUnixSeconds(1764064800);  // 2025-11-25
  auto filter = scopedfs::audit::ParseFilterText(text, now);

  std::vector<std::string> terms =
      absl::StrSplit(text, absl::ByAnyChar(" \t\n\r\f\v"), absl::SkipEmpty());
  auto again = scopedfs::audit::ParseFilter(terms, now);
  FUZZ_CHECK(filter.ok() == again.ok(), "ParseFilter and ParseFilterText");
  if (!filter.ok()) return 0;
  FUZZ_CHECK(google::protobuf::util::MessageDifferencer::Equals(*filter, *again),
             "ParseFilter and ParseFilterText give different filters");

  const v1::AuditFilter& f = *filter;
  FUZZ_CHECK(!HasDuplicates(f.apps()) && !HasDuplicates(f.uids()) &&
                 !HasDuplicates(f.operations()) && !HasDuplicates(f.decisions()),
             "repeated values");
  for (int op : f.operations()) {
    FUZZ_CHECK(v1::Operation_IsValid(op) && op != v1::OPERATION_UNSPECIFIED,
               "operation %d", op);
  }
  for (int d : f.decisions()) {
    FUZZ_CHECK(v1::Action_IsValid(d) && d != v1::ACTION_UNSPECIFIED,
               "decision %d", d);
  }
  for (const std::string& app : f.apps()) FUZZ_CHECK(!app.empty(), "empty app");
  FUZZ_CHECK(f.since_unix_nanos() >= 0 && f.until_unix_nanos() >= 0,
             "time before the epoch");
  if (f.since_unix_nanos() != 0 && f.until_unix_nanos() != 0) {
    FUZZ_CHECK(f.since_unix_nanos() < f.until_unix_nanos(), "since >= until");
  }

  for (const v1::AuditEvent& e : FixedEvents()) (void)Matches(f, e);

  // An event that satisfies every term.
  v1::AuditEvent e;
  e.set_app(f.apps_size() > 0 ? f.apps(f.apps_size() - 1) : "any");
  e.set_uid(f.uids_size() > 0 ? f.uids(0) : 12345);
  const std::string prefix(Normalized(f.path_prefix()));
  e.set_path(prefix.empty() ? "any/where" : prefix);
  e.set_operation(static_cast<v1::Operation>(
      f.operations_size() > 0 ? f.operations(0) : v1::LOOKUP));
  e.set_decision(static_cast<v1::Action>(
      f.decisions_size() > 0 ? f.decisions(0) : v1::DENY));
  int64_t t = 1764000000000000000;
  if (f.since_unix_nanos() != 0) t = f.since_unix_nanos();
  else if (f.until_unix_nanos() != 0) t = f.until_unix_nanos() - 1;
  e.set_time_unix_nanos(t);
  FUZZ_CHECK(Matches(f, e), "an event satisfying every term does not match");

  if (!prefix.empty()) {
    v1::AuditEvent below = e;
    below.set_path(prefix + "/child");
    FUZZ_CHECK(Matches(f, below), "a path below the prefix does not match");
    v1::AuditEvent sibling = e;
    sibling.set_path(prefix + "x");
    FUZZ_CHECK(!Matches(f, sibling), "a sibling \"prefixx\" matches");
  }
  if (f.until_unix_nanos() != 0) {
    v1::AuditEvent late = e;
    late.set_time_unix_nanos(f.until_unix_nanos());
    FUZZ_CHECK(!Matches(f, late), "an event at `until` matches");
  }
  if (f.since_unix_nanos() != 0) {
    v1::AuditEvent early = e;
    early.set_time_unix_nanos(f.since_unix_nanos() - 1);
    FUZZ_CHECK(!Matches(f, early), "an event before `since` matches");
  }
  if (f.uids_size() > 0 && !absl::c_linear_search(f.uids(), 4294967295u)) {
    v1::AuditEvent other = e;
    other.set_uid(4294967295u);
    FUZZ_CHECK(!Matches(f, other), "an unlisted uid matches");
  }
  return 0;
}
