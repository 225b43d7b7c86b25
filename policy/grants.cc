#include "policy/grants.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "policy/pattern.h"

namespace scopedfs::policy {
namespace {

// What a grant may give besides LOOKUP.
bool Grantable(v1::Operation op) {
  switch (op) {
    case v1::READ: case v1::WRITE: case v1::CREATE: case v1::DELETE:
    case v1::RENAME: case v1::SETATTR:
      return true;
    default:
      return false;
  }
}

bool Expired(const v1::Grant& g, int64_t now) {
  return g.expires_unix_nanos() != 0 && g.expires_unix_nanos() <= now;
}

// The grantee as rule conditions.
void SetCaller(const v1::Grant& g, v1::Rule* rule) {
  if (g.who_case() == v1::Grant::kApp) {
    rule->add_apps(g.app());
  } else {
    rule->add_uids(g.uid());
  }
}

}  // namespace

std::string LiteralPattern(absl::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (char c : path) {
    switch (c) {
      // A class holding just the character is the pattern language's only
      // escape ("[]]" is a literal ']': a ']' right after '[').
      case '*': case '?': case '[': case ']': case '{': case '}':
        absl::StrAppend(&out, "[", absl::string_view(&c, 1), "]");
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

absl::Status CheckGrant(const v1::Grant& g, const v1::Policy& policy) {
  switch (g.who_case()) {
    case v1::Grant::kApp: {
      const bool known = std::any_of(
          policy.apps().begin(), policy.apps().end(),
          [&](const v1::App& a) { return a.name() == g.app(); });
      if (!known) {
        return absl::InvalidArgumentError(
            absl::StrCat("the policy has no app '", g.app(), "'"));
      }
      break;
    }
    case v1::Grant::kUid:
      if (g.uid() == 0) {
        return absl::InvalidArgumentError("root needs no grant");
      }
      break;
    default:
      return absl::InvalidArgumentError("a grant is for an app or a uid");
  }
  PathParts parts;
  if (!SplitRequestPath(g.path(), &parts)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", g.path(), "' is not a path relative to the mount root (no "
        "leading or trailing '/', no empty, '.' or '..' components)"));
  }
  if (g.path().empty() && !g.directory()) {
    return absl::InvalidArgumentError("the mount root is a directory");
  }
  for (int op : g.operations()) {
    if (!Grantable(static_cast<v1::Operation>(op))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "a grant cannot give ", v1::Operation_Name(op),
          " (only READ, WRITE, CREATE, DELETE, RENAME, SETATTR)"));
    }
  }
  if (g.redacted()) {
    for (int op : g.operations()) {
      if (op != v1::READ) {
        return absl::InvalidArgumentError(
            "a redacted grant gives READ only (a redacted view cannot be "
            "written)");
      }
    }
    if (!g.redaction_profile().empty() &&
        std::none_of(policy.redaction_profiles().begin(),
                     policy.redaction_profiles().end(),
                     [&](const v1::RedactionProfile& p) {
                       return p.name() == g.redaction_profile();
                     })) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the policy has no redaction profile '", g.redaction_profile(), "'"));
    }
  } else if (!g.redaction_profile().empty()) {
    return absl::InvalidArgumentError("a redaction profile needs --redacted");
  }
  return absl::OkStatus();
}

EffectivePolicy WithGrants(const v1::Policy& policy, const v1::GrantList& grants,
                           int64_t now_unix_nanos) {
  EffectivePolicy out;
  std::vector<v1::Rule> rules;
  bool needs_profile = false;
  for (const v1::Grant& g : grants.grants()) {
    if (Expired(g, now_unix_nanos)) continue;
    if (absl::Status st = CheckGrant(g, policy); !st.ok()) {
      out.skipped.push_back(absl::StrCat(g.id(), ": ", st.message()));
      continue;
    }
    const std::string id = absl::StrCat(kGrantRulePrefix, g.id());
    v1::Rule main;
    main.set_id(id);
    SetCaller(g, &main);
    const std::string literal = LiteralPattern(g.path());
    if (!g.directory()) {
      main.add_paths(literal);
    } else if (g.path().empty()) {
      main.add_paths("**");  // The root and everything below.
    } else {
      main.add_paths(absl::StrCat(literal, "/"));
    }
    main.add_operations(v1::LOOKUP);
    if (g.operations().empty()) main.add_operations(v1::READ);
    for (int op : g.operations()) main.add_operations(static_cast<v1::Operation>(op));
    if (g.redacted()) {
      main.set_action(v1::ALLOW_REDACTED);
      if (g.redaction_profile().empty()) {
        main.set_redaction_profile(std::string(kGrantProfile));
        needs_profile = true;
      } else {
        main.set_redaction_profile(g.redaction_profile());
      }
    } else {
      main.set_action(v1::ALLOW);
    }
    rules.push_back(std::move(main));
    // The way there: each directory above the path, by its literal name.
    v1::Rule parents;
    parents.set_id(absl::StrCat(id, ":parents"));
    SetCaller(g, &parents);
    for (size_t pos = g.path().find('/'); pos != std::string::npos;
         pos = g.path().find('/', pos + 1)) {
      parents.add_paths(LiteralPattern(absl::string_view(g.path()).substr(0, pos)));
    }
    if (parents.paths_size() > 0) {
      parents.add_operations(v1::LOOKUP);
      parents.set_action(v1::ALLOW);
      rules.push_back(std::move(parents));
    }
  }
  out.grant_rules = static_cast<int>(rules.size());
  out.given = &policy;
  if (rules.empty()) return out;
  out.merged = policy;
  auto* all = out.merged.mutable_rules();
  all->Clear();
  for (v1::Rule& r : rules) *all->Add() = std::move(r);
  for (const v1::Rule& r : policy.rules()) *all->Add() = r;
  if (needs_profile &&
      std::none_of(policy.redaction_profiles().begin(),
                   policy.redaction_profiles().end(),
                   [](const v1::RedactionProfile& p) { return p.name() == kGrantProfile; })) {
    v1::RedactionProfile* p = out.merged.add_redaction_profiles();
    p->set_name(std::string(kGrantProfile));
    p->set_mode(v1::REDACTION_MODE_ALLOWLIST);
  }
  return out;
}

}  // namespace scopedfs::policy
