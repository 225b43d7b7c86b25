// admin_fuzz: the Admin service's request handling that needs no daemon
// (daemon/admin/requests.h, the very code admin_service.cc calls). The first byte picks the request type and its encoding:
//   byte % 4: 0 ValidatePolicyRequest, 1 ApplyPolicyRequest,
//             2 ExplainRequest, 3 QueryAuditRequest
//   byte & 0x80: the rest is protobuf text format, else the binary wire form
//     (text seeds are readable; the binary form is what gRPC hands over).
// Handling and invariants:
//   Validate/Apply: the policy (message or text) -> ValidatePolicy ->
//     Engine::Compile; Compile succeeds exactly when validation finds no
//     error; every error names a field and says something. An applied
//     policy answers Explain.
//   Explain: on the compiled default policy, with the service's path
//     handling (leading '/' dropped, a trailing '/' asks about a directory).
//     Its path also goes through the owner calls' path check (OwnerPathOf).
//   QueryAudit: page token, limit and filter (path unescaped) as the service
//     parses them, then audit::Database::Query on a temporary database of
//     fixed events, some with hostile names. The page is in order, inside
//     the page bounds, at most limit + 1 events, and exactly what filtering
//     all events (in their wire form) with Matches gives (SQL and Matches
//     agree); the page as served carries only valid UTF-8 without control
//     characters, and its names unescape to the stored bytes.
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "audit/database.h"
#include "audit/escape.h"
#include "audit/event.h"
#include "audit/filter_text.h"
#include "daemon/admin/requests.h"
#include "fuzz/fuzz_util.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/text_format.h"
#include "policy/default_policy.h"
#include "policy/engine.h"
#include "policy/policy_text.h"
#include "policy/validate.h"
#include "scopedfs/v1/admin.pb.h"

namespace {

namespace v1 = scopedfs::v1;
namespace policy = scopedfs::policy;
namespace audit = scopedfs::audit;

// libprotobuf logs every string field with bad UTF-8 it parses: quiet.
const bool kQuietProtobuf = [] {
  google::protobuf::SetLogHandler(nullptr);
  return true;
}();

bool ParseRequest(google::protobuf::Message* msg, bool text,
                  const uint8_t* data, size_t size) {
  if (text) {
    google::protobuf::TextFormat::Parser parser;
    parser.AllowPartialMessage(true);
    // Quiet: the fuzzer makes many bad messages.
    class Silent : public google::protobuf::io::ErrorCollector {
      void AddError(int, int, const std::string&) override {}
    } silent;
    parser.RecordErrorsTo(&silent);
    return parser.ParseFromString(
        std::string(reinterpret_cast<const char*>(data), size), msg);
  }
  return msg->ParseFromArray(data, static_cast<int>(size));
}

void Validate(const absl::StatusOr<v1::Policy>& parsed, uint64_t generation) {
  if (!parsed.ok()) return;
  const std::vector<policy::PolicyError> errors =
      policy::ValidatePolicy(*parsed);
  for (const policy::PolicyError& e : errors) {
    FUZZ_CHECK(!e.field.empty() && !e.message.empty(),
               "an error without field or message: '%s' '%s'", e.field.c_str(),
               e.message.c_str());
  }
  (void)policy::FormatPolicyErrors(errors);
  auto engine = policy::Engine::Compile(*parsed, generation);
  FUZZ_CHECK(engine.ok() == errors.empty(),
             "Compile %s but ValidatePolicy found %zu errors: %s",
             engine.ok() ? "succeeds" : "fails", errors.size(),
             engine.ok() ? "" : std::string(engine.status().message()).c_str());
  if (!engine.ok()) return;
  FUZZ_CHECK((*engine)->generation() == generation, "generation");
  // An applied policy answers Explain (the daemon swaps it in).
  for (const char* path : {"", "DCIM/a.jpg", "Android/data/x/y"}) {
    policy::Request req;
    req.uid = 10001;
    req.gid = 10001;
    req.path = path;
    const v1::Decision d = (*engine)->Explain(req);
    FUZZ_CHECK(d.action() != v1::ACTION_UNSPECIFIED, "Explain action");
  }
}

const policy::Engine& DefaultEngine() {
  static const std::shared_ptr<const policy::Engine> engine = [] {
    auto parsed = policy::ParsePolicyText(policy::DefaultPolicyText());
    FUZZ_CHECK(parsed.ok(), "default policy");
    auto compiled = policy::Engine::Compile(*parsed, 1);
    FUZZ_CHECK(compiled.ok(), "default policy");
    return *compiled;
  }();
  return *engine;
}

// An owner request's path (GetOwner, SetOwner, ClearOwner take it alike),
// fuzzed through the Explain request's: accepted only as a relative path
// without ".", ".." or empty components, and as the bytes its escaped
// form stands for.
void OwnerPath(const std::string& wire) {
  auto path = scopedfs::admin::OwnerPathOf(wire);
  if (!path.ok()) return;
  FUZZ_CHECK(!path->empty() && path->front() != '/' && path->back() != '/',
             "owner path not relative");
  FUZZ_CHECK(path->find('\0') == std::string::npos, "NUL in an owner path");
  for (absl::string_view part : absl::StrSplit(*path, '/')) {
    FUZZ_CHECK(!part.empty() && part != "." && part != "..", "bad owner path component");
  }
  auto raw = audit::Unescape(wire);
  FUZZ_CHECK(raw.ok() && absl::StartsWith(*raw, *path), "owner path is not what was sent");
}

void Explain(const v1::ExplainRequest& request) {
  OwnerPath(request.path());
  scopedfs::admin::ExplainCall call;
  if (!scopedfs::admin::PrepareExplain(request, &call).ok()) return;
  const policy::Request& req = call.req;
  const v1::Decision d = DefaultEngine().Explain(req);
  const policy::Verdict v = DefaultEngine().Decide(req);
  FUZZ_CHECK(d.action() == v.action && d.rule_index() == v.rule_index,
             "Explain and Decide disagree");
  FUZZ_CHECK(!d.reason().empty(), "Explain without a reason");
}

// The fixed audit trail.
struct Trail {
  std::string dir;
  std::unique_ptr<audit::Database> db;
  std::vector<v1::AuditEvent> events;  // as stored, ids ascending
};

Trail& TheTrail() {
  static Trail* const trail = [] {
    auto* t = new Trail;
    const char* base = getenv("TMPDIR");
    std::string tmpl = absl::StrCat(base ? base : "/tmp", "/admin_fuzz_XXXXXX");
    FUZZ_CHECK(mkdtemp(tmpl.data()) != nullptr, "mkdtemp");
    t->dir = tmpl;
    auto db = audit::Database::Open(t->dir + "/audit.db",
                                    audit::Database::Mode::kReadWrite);
    FUZZ_CHECK(db.ok(), "open: %s", std::string(db.status().message()).c_str());
    t->db = std::move(*db);
    const char* paths[] = {"", "DCIM", "DCIM/a.jpg", "DCIM/Camera/b.jpg",
                           "DCIMX/c", "DCIM0", "a", "a/b", "a/b/c", "\xff/x",
                           "Download/x y.pdf", "DCIM/", "a\\b/c",
                           "new\nline", "\x1b[2J/x", "\xc2\x9b"};
    const char* apps[] = {"", "com.example.gallery", "camera", "x"};
    std::vector<audit::Event> events;
    for (int i = 0; i < 48; ++i) {
      audit::Event e;
      e.time_unix_nanos = 1764064800000000000 + int64_t{i} * 1000000000;
      if (i % 11 == 0) e.time_unix_nanos = i;  // near the epoch
      e.uid = static_cast<uint32_t>(i % 5 == 0 ? 0 : 10000 + i % 7);
      e.gid = e.uid;
      e.pid = 100 + i;
      e.operation = 1 + i % 7;
      e.decision = 1 + i % 4;
      e.path = paths[i % (sizeof(paths) / sizeof(paths[0]))];
      e.app = apps[i % 4];
      e.rule_id = "r";
      if (i % 3 == 0) e.comm = "\xff\x1b]0;t\x07";
      events.push_back(e);
    }
    auto last = t->db->Commit(events, {});
    FUZZ_CHECK(last.ok() && *last == events.size(), "commit");
    auto all = t->db->Query(v1::AuditFilter(), 0, 0, false, 1000);
    FUZZ_CHECK(all.ok() && all->size() == events.size(), "read back");
    t->events = std::move(*all);
    atexit([] {
      Trail& t = TheTrail();
      t.db.reset();
      for (const char* f : {"/audit.db", "/audit.db-wal", "/audit.db-shm"}) {
        unlink((t.dir + f).c_str());
      }
      rmdir(t.dir.c_str());
    });
    return t;
  }();
  return *trail;
}

void QueryAudit(const v1::QueryAuditRequest& request) {
  Trail& trail = TheTrail();
  auto page = scopedfs::admin::AuditPageOf(request);
  if (!page.ok()) return;  // InvalidArgument
  const bool newest_first = page->newest_first;
  const uint32_t limit = page->limit;
  const uint64_t after = page->after_id, before = page->before_id;
  auto stored = scopedfs::admin::StoredFilterOf(request.filter());
  if (!stored.ok()) return;  // InvalidArgument: a bad escape in the path
  auto events = trail.db->Query(*stored, after, before, newest_first,
                                size_t{limit} + 1);
  if (!events.ok()) return;  // e.g. too many SQL variables
  FUZZ_CHECK(events->size() <= size_t{limit} + 1, "too many events");
  std::vector<uint64_t> expected;
  for (const v1::AuditEvent& e : trail.events) {
    if (e.id() <= after || (before != 0 && e.id() >= before)) continue;
    v1::AuditEvent wire = e;
    scopedfs::admin::ToWire(&wire);
    if (audit::Matches(request.filter(), wire)) expected.push_back(e.id());
  }
  if (newest_first) std::reverse(expected.begin(), expected.end());
  if (expected.size() > size_t{limit} + 1) expected.resize(size_t{limit} + 1);
  std::vector<uint64_t> got;
  for (const v1::AuditEvent& e : *events) got.push_back(e.id());
  FUZZ_CHECK(got == expected,
             "Query returned %zu events, Matches selects %zu (filter: %s)",
             got.size(), expected.size(),
             request.filter().ShortDebugString().c_str());
  // As served: every client-supplied string displayable and reversible.
  std::vector<std::string> raw_paths;
  for (const v1::AuditEvent& e : *events) raw_paths.push_back(e.path());
  v1::QueryAuditResponse response;
  scopedfs::admin::FillAuditPage(*page, *std::move(events), &response);
  for (int i = 0; i < response.events_size(); ++i) {
    const v1::AuditEvent& e = response.events(i);
    for (const std::string* s : {&e.path(), &e.comm(), &e.exe(), &e.redaction()}) {
      FUZZ_CHECK(audit::EscapeControls(*s) == *s, "a control character on the wire");
    }
    auto raw = audit::Unescape(e.path());
    FUZZ_CHECK(raw.ok() && *raw == raw_paths[i], "a served path does not unescape");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 16384) return 0;
  const uint8_t selector = data[0];
  const bool text = (selector & 0x80) != 0;
  ++data;
  --size;
  switch (selector % 4) {
    case 0: {
      v1::ValidatePolicyRequest request;
      if (!ParseRequest(&request, text, data, size)) return 0;
      Validate(scopedfs::admin::PolicyOf(request), 0);
      const v1::ValidatePolicyResponse r = scopedfs::admin::Validate(request);
      FUZZ_CHECK(r.valid() == (r.errors_size() == 0), "valid disagrees with errors");
      break;
    }
    case 1: {
      v1::ApplyPolicyRequest request;
      if (!ParseRequest(&request, text, data, size)) return 0;
      Validate(scopedfs::admin::PolicyOf(request), request.expected_generation() + 1);
      break;
    }
    case 2: {
      v1::ExplainRequest request;
      if (!ParseRequest(&request, text, data, size)) return 0;
      Explain(request);
      break;
    }
    case 3: {
      v1::QueryAuditRequest request;
      if (!ParseRequest(&request, text, data, size)) return 0;
      QueryAudit(request);
      break;
    }
  }
  return 0;
}
