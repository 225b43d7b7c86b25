// policy_fuzz: bytes -> policy text -> ParsePolicyText -> Engine::Compile ->
// Decide / Explain / VisibilityMayVary / AppOf on paths, uids and app names
// taken from the input itself (quoted strings and numbers of the policy, with
// pattern wildcards filled in) and a fixed set of awkward paths.
//
// Never crashes; a failed parse or compile is fine. Invariants checked:
//   - PolicyToText(p) parses back to p (round trip);
//   - Decide and Explain agree (action, rule index, rule id, profile, app);
//   - a verdict's rule_index is -1 or a rule of the policy whose action it is,
//     ALLOW_REDACTED comes with a redaction profile;
//   - malformed paths are DENY with rule_index -1;
//   - where VisibilityMayVary(p) is false, every LOOKUP at p and below p that
//     we try is ALLOW (that is what the daemon relies on for entry timeouts).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "policy/engine.h"
#include "policy/policy_text.h"
#include "scopedfs/v1/policy.pb.h"

namespace {

using scopedfs::policy::Engine;
using scopedfs::policy::Request;
using scopedfs::policy::Verdict;
namespace v1 = scopedfs::v1;

constexpr size_t kMaxStrings = 12;
constexpr size_t kMaxNumbers = 4;

// Quoted strings and decimal numbers of the text (cheap, not a tokenizer).
void Harvest(absl::string_view text, std::vector<std::string>* strings,
             std::vector<uint32_t>* numbers) {
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c == '"' && strings->size() < kMaxStrings) {
      const size_t end = text.find('"', i + 1);
      if (end == absl::string_view::npos) break;
      strings->emplace_back(text.substr(i + 1, end - i - 1));
      i = end + 1;
    } else if (c >= '0' && c <= '9' && numbers->size() < kMaxNumbers) {
      uint64_t n = 0;
      while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        n = n * 10 + static_cast<uint64_t>(text[i] - '0');
        if (n > 0xffffffffu) n = 0xffffffffu;
        ++i;
      }
      numbers->push_back(static_cast<uint32_t>(n));
    } else {
      ++i;
    }
  }
}

// A request path a pattern might match: wildcards filled in.
std::string PathFromPattern(absl::string_view pattern, absl::string_view app) {
  std::string p = absl::StrReplaceAll(
      pattern, {{"{app}", app}, {"{user}", "0"}, {"**", "x/y"}, {"*", "x"},
                {"?", "q"}, {"[", ""}, {"]", ""}});
  while (!p.empty() && p.back() == '/') p.pop_back();
  return p;
}

bool IsMalformed(absl::string_view path) {
  if (path.empty()) return false;  // the root
  if (path.front() == '/' || path.back() == '/') return true;
  for (absl::string_view c : absl::StrSplit(path, '/')) {
    if (c.empty() || c == "." || c == "..") return true;
  }
  return false;
}

// Component-wise prefixes of `path`: "", "a", "a/b", ...
std::vector<absl::string_view> Prefixes(absl::string_view path) {
  std::vector<absl::string_view> out = {absl::string_view()};
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '/') out.push_back(path.substr(0, i));
  }
  if (!path.empty()) out.push_back(path);
  return out;
}

void CheckVerdict(const Engine& engine, const Request& req, const Verdict& v) {
  const v1::Policy& policy = engine.policy();
  FUZZ_CHECK(v.rule_index >= -1 && v.rule_index < policy.rules_size(),
             "rule_index %d of %d rules", v.rule_index, policy.rules_size());
  FUZZ_CHECK(v.action != v1::ACTION_UNSPECIFIED, "unspecified action");
  if (v.rule_index >= 0) {
    const v1::Rule& rule = policy.rules(v.rule_index);
    FUZZ_CHECK(v.action == rule.action(), "action %d, rule %d says %d",
               v.action, v.rule_index, rule.action());
    FUZZ_CHECK(v.rule_id != nullptr && *v.rule_id == rule.id(), "rule id");
  } else if (!IsMalformed(req.path)) {
    FUZZ_CHECK(v.action == v1::ALLOW || v.action == policy.default_action(),
               "no rule, action %d, default %d", v.action,
               policy.default_action());
  }
  if (v.action == v1::ALLOW_REDACTED) {
    FUZZ_CHECK(v.redaction_profile != nullptr, "redacted without a profile");
  }
  if (IsMalformed(req.path)) {
    FUZZ_CHECK(v.action == v1::DENY && v.rule_index == -1,
               "malformed path '%s': action %d rule %d",
               std::string(req.path).c_str(), v.action, v.rule_index);
  }
  const v1::Decision d = engine.Explain(req);
  FUZZ_CHECK(d.action() == v.action && d.rule_index() == v.rule_index,
             "Explain (%d, %d) != Decide (%d, %d)", d.action(), d.rule_index(),
             v.action, v.rule_index);
  FUZZ_CHECK(d.rule_id() == (v.rule_id ? *v.rule_id : ""), "Explain rule_id");
  FUZZ_CHECK(d.app() == (v.app ? *v.app : ""), "Explain app");
  FUZZ_CHECK(d.redaction_profile() ==
                 (v.redaction_profile ? *v.redaction_profile : ""),
             "Explain profile");
  FUZZ_CHECK(d.audit() == v.audit, "Explain audit");
  FUZZ_CHECK(!d.reason().empty(), "Explain without a reason");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 16384) return 0;
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = scopedfs::policy::ParsePolicyText(text);
  if (!parsed.ok()) return 0;

  // Round trip through the text format.
  const std::string printed = scopedfs::policy::PolicyToText(*parsed);
  auto reparsed = scopedfs::policy::ParsePolicyText(printed);
  FUZZ_CHECK(reparsed.ok(), "PolicyToText output does not parse: %s\n%s",
             std::string(reparsed.status().message()).c_str(),
             printed.c_str());
  FUZZ_CHECK(google::protobuf::util::MessageDifferencer::Equals(*parsed,
                                                                *reparsed),
             "text round trip changed the policy:\n%s", printed.c_str());

  auto compiled = Engine::Compile(*parsed, 7);
  if (!compiled.ok()) return 0;
  const Engine& engine = **compiled;
  FUZZ_CHECK(engine.generation() == 7, "generation");

  std::vector<std::string> strings;
  std::vector<uint32_t> numbers;
  Harvest(text, &strings, &numbers);

  std::vector<std::string> apps;
  for (const v1::App& app : parsed->apps()) {
    if (apps.size() < 4) apps.push_back(app.name());
  }
  apps.push_back("no.such.app");

  std::vector<std::string> paths = {
      "", "DCIM", "DCIM/Camera/IMG_1.jpg", "Android/data/com.example.gallery/f",
      "Download/a.pdf", "x/../y", "/abs", "trail/", "a//b", ".", "Music/s.mp3",
      // More components than the engine keeps inline (24).
      "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u/v/w/x/y/z/1/2/3.jpg",
  };
  for (const std::string& s : strings) {
    paths.push_back(s);
    paths.push_back(PathFromPattern(s, apps.front()));
    paths.push_back(absl::StrCat(PathFromPattern(s, apps.front()), "/in.jpg"));
  }

  std::vector<uint32_t> uids = {0, 1000, 10001, 110001, 4294967295u};
  for (uint32_t n : numbers) {
    uids.push_back(n);
    uids.push_back(n + 100000);
  }

  const v1::Operation ops[] = {v1::LOOKUP, v1::READ,   v1::WRITE,  v1::CREATE,
                               v1::DELETE, v1::RENAME, v1::SETATTR};
  const absl::string_view heads[] = {"", "\xff\xd8\xff\xe0", "%PDF-1.4"};

  size_t budget = 1500;  // requests per input, to keep executions fast
  for (const std::string& path : paths) {
    // Visibility claims: where it cannot vary, every caller's LOOKUP at the
    // path and below must be ALLOW.
    std::vector<bool> fixed_allow;
    const std::vector<absl::string_view> prefixes = Prefixes(path);
    bool covered = false;
    for (absl::string_view prefix : prefixes) {
      if (!engine.VisibilityMayVary(prefix)) covered = true;
    }
    (void)engine.VisibilityMayVary(path);
    for (size_t oi = 0; oi < sizeof(ops) / sizeof(ops[0]); ++oi) {
      for (size_t ui = 0; ui < uids.size(); ++ui) {
        for (int variant = 0; variant < 4; ++variant) {
          if (budget == 0) return 0;
          --budget;
          Request req;
          req.uid = uids[ui];
          req.gid = uids[(ui + variant) % uids.size()];
          req.path = path;
          req.op = ops[oi];
          req.is_dir = (variant & 1) != 0;
          req.caller_is_owner = (variant & 2) != 0;
          req.head = heads[(ui + oi) % 3];
          const Verdict v = engine.Decide(req);
          CheckVerdict(engine, req, v);
          if (covered && req.op == v1::LOOKUP && !IsMalformed(path)) {
            FUZZ_CHECK(v.action == v1::ALLOW,
                       "VisibilityMayVary false above '%s' but uid %u gets %d "
                       "(rule %d)",
                       path.c_str(), req.uid, v.action, v.rule_index);
          }
          (void)engine.AppOf(req.uid, req.gid);
        }
      }
      for (const std::string& app : apps) {
        if (budget == 0) return 0;
        --budget;
        Request req;
        req.uid = uids.back();
        req.path = path;
        req.op = ops[oi];
        req.app_name = &app;
        const Verdict v = engine.Decide(req);
        CheckVerdict(engine, req, v);
        if (covered && req.op == v1::LOOKUP && !IsMalformed(path)) {
          FUZZ_CHECK(v.action == v1::ALLOW,
                     "VisibilityMayVary false above '%s' but app %s gets %d",
                     path.c_str(), app.c_str(), v.action);
        }
      }
    }
  }
  return 0;
}
