#include "policy/validate.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "policy/pattern.h"

namespace scopedfs::policy {
namespace {

constexpr uint32_t kAndroidUidsPerUser = 100000;

bool IsNameChar(char c, bool allow_colon) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
         (allow_colon && c == ':');
}

bool IsName(const std::string& s, bool allow_colon = false) {
  if (s.empty()) return false;
  for (char c : s)
    if (!IsNameChar(c, allow_colon)) return false;
  return true;
}

bool HasControl(const std::string& s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  return false;
}

std::string Field(absl::string_view base, size_t i) {
  return absl::StrCat(base, "[", i, "]");
}

class Validator {
 public:
  Validator(const v1::Policy& p, int grant_rules) : p_(p), grant_rules_(grant_rules) {}

  std::vector<PolicyError> Run() {
    CheckDefault();
    CheckApps();
    CheckProfiles();
    CheckRules();
    return std::move(errors_);
  }

 private:
  void Error(std::string field, std::string message) {
    errors_.push_back({std::move(field), std::move(message)});
  }

  void CheckAction(const std::string& field, v1::Action a) {
    if (a == v1::ACTION_UNSPECIFIED) {
      Error(field, "must be set (ALLOW, ALLOW_REDACTED, DENY or HIDE)");
    } else if (!v1::Action_IsValid(a)) {
      Error(field, absl::StrCat("unknown action ", static_cast<int>(a)));
    }
  }

  void CheckDefault() {
    CheckAction("default_action", p_.default_action());
    if (p_.default_action() == v1::ALLOW_REDACTED) {
      Error("default_action",
            "ALLOW_REDACTED cannot be the default (it needs a redaction profile)");
    }
  }

  void CheckApps() {
    absl::flat_hash_set<uint32_t> system(p_.system_uids().begin(),
                                         p_.system_uids().end());
    absl::flat_hash_map<uint32_t, size_t> uid_owner, gid_owner, appid_owner;
    for (int i = 0; i < p_.apps_size(); ++i) {
      const v1::App& app = p_.apps(i);
      const std::string base = Field("apps", i);
      if (app.name().empty()) {
        Error(base + ".name", "must be set");
      } else if (!IsName(app.name())) {
        Error(base + ".name",
              absl::StrCat("'", app.name(), "' is not a valid app name ([A-Za-z0-9._-]+)"));
      } else if (!app_index_.emplace(app.name(), i).second) {
        Error(base + ".name", absl::StrCat("duplicate app name '", app.name(),
                                           "' (also apps[", app_index_[app.name()], "])"));
      }
      for (int j = 0; j < app.uids_size(); ++j) {
        uint32_t uid = app.uids(j);
        const std::string f = Field(base + ".uids", j);
        if (uid == 0) {
          Error(f, "uid 0 is root, which bypasses the rules");
        } else if (system.contains(uid)) {
          Error(f, absl::StrCat("uid ", uid, " is a system uid, which bypasses the rules"));
        } else if (auto [it, fresh] = uid_owner.emplace(uid, i); !fresh && it->second != static_cast<size_t>(i)) {
          Error(f, absl::StrCat("uid ", uid, " already identifies apps[", it->second, "]"));
        }
      }
      for (int j = 0; j < app.gids_size(); ++j) {
        uint32_t gid = app.gids(j);
        auto [it, fresh] = gid_owner.emplace(gid, i);
        if (!fresh && it->second != static_cast<size_t>(i)) {
          Error(Field(base + ".gids", j),
                absl::StrCat("gid ", gid, " already identifies apps[", it->second, "]"));
        }
      }
      for (int j = 0; j < app.android_app_ids_size(); ++j) {
        uint32_t id = app.android_app_ids(j);
        const std::string f = Field(base + ".android_app_ids", j);
        if (!p_.android_uid_scheme()) {
          Error(f, "android_app_ids need android_uid_scheme: true");
        } else if (id >= kAndroidUidsPerUser) {
          Error(f, absl::StrCat("app id ", id, " is not below 100000"));
        } else if (id == 0) {
          Error(f, "app id 0 is root, which bypasses the rules");
        } else if (auto [it, fresh] = appid_owner.emplace(id, i); !fresh && it->second != static_cast<size_t>(i)) {
          Error(f, absl::StrCat("app id ", id, " already identifies apps[", it->second, "]"));
        }
      }
      for (int j = 0; j < app.permissions_size(); ++j) {
        if (!IsName(app.permissions(j), /*allow_colon=*/true)) {
          Error(Field(base + ".permissions", j),
                app.permissions(j).empty()
                    ? std::string("empty permission")
                    : absl::StrCat("'", app.permissions(j),
                                   "' is not a valid permission name ([A-Za-z0-9._:-]+)"));
        }
      }
    }
  }

  void CheckProfiles() {
    for (int i = 0; i < p_.redaction_profiles_size(); ++i) {
      const std::string& name = p_.redaction_profiles(i).name();
      const std::string f = Field("redaction_profiles", i) + ".name";
      if (name.empty()) {
        Error(f, "must be set");
      } else if (!IsName(name)) {
        Error(f, absl::StrCat("'", name, "' is not a valid profile name ([A-Za-z0-9._-]+)"));
      } else if (!profiles_.emplace(name, i).second) {
        Error(f, absl::StrCat("duplicate redaction profile '", name,
                              "' (also redaction_profiles[", profiles_[name], "])"));
      }
    }
  }

  // `required`: for lacking_permissions, the rule's require_permissions.
  void CheckPermissionList(const std::string& base,
                           const google::protobuf::RepeatedPtrField<std::string>& perms,
                           const google::protobuf::RepeatedPtrField<std::string>* required) {
    for (int j = 0; j < perms.size(); ++j) {
      if (!IsName(perms[j], /*allow_colon=*/true)) {
        Error(Field(base, j), perms[j].empty()
                                  ? std::string("empty permission")
                                  : absl::StrCat("'", perms[j], "' is not a valid permission name"));
      } else if (required != nullptr &&
                 std::find(required->begin(), required->end(), perms[j]) != required->end()) {
        Error(Field(base, j),
              absl::StrCat("'", perms[j], "' is also required: the rule can never match"));
      }
    }
  }

  void CheckRules() {
    absl::flat_hash_map<std::string, size_t> ids;
    for (int i = 0; i < p_.rules_size(); ++i) {
      const v1::Rule& r = p_.rules(i);
      const std::string base = Field("rules", i);
      if (r.id().empty()) {
        Error(base + ".id", "must be set");
      } else if (HasControl(r.id())) {
        Error(base + ".id", "control character in rule id");
      } else if (i >= grant_rules_ && absl::StartsWith(r.id(), "grant:")) {
        Error(base + ".id", "rule ids starting with 'grant:' are reserved for grants");
      } else if (auto [it, fresh] = ids.emplace(r.id(), i); !fresh) {
        Error(base + ".id",
              absl::StrCat("duplicate rule id '", r.id(), "' (also rules[", it->second, "])"));
      }
      for (int j = 0; j < r.apps_size(); ++j) {
        if (!app_index_.contains(r.apps(j))) {
          Error(Field(base + ".apps", j), absl::StrCat("unknown app '", r.apps(j), "'"));
        }
      }
      for (int j = 0; j < r.paths_size(); ++j) {
        Pattern pattern;
        std::string error;
        if (!Pattern::Compile(r.paths(j), &pattern, &error)) {
          Error(Field(base + ".paths", j), error);
        }
      }
      for (int j = 0; j < r.classes_size(); ++j) {
        int c = r.classes(j);
        if (c == v1::FILE_CLASS_UNSPECIFIED) {
          Error(Field(base + ".classes", j), "FILE_CLASS_UNSPECIFIED is not a class");
        } else if (!v1::FileClass_IsValid(c)) {
          Error(Field(base + ".classes", j), absl::StrCat("unknown file class ", c));
        }
      }
      for (int j = 0; j < r.operations_size(); ++j) {
        int op = r.operations(j);
        if (op == v1::OPERATION_UNSPECIFIED) {
          Error(Field(base + ".operations", j), "OPERATION_UNSPECIFIED is not an operation");
        } else if (!v1::Operation_IsValid(op)) {
          Error(Field(base + ".operations", j), absl::StrCat("unknown operation ", op));
        }
      }
      if (!v1::Ownership_IsValid(r.owner())) {
        Error(base + ".owner", absl::StrCat("unknown ownership ", static_cast<int>(r.owner())));
      }
      CheckPermissionList(base + ".require_permissions", r.require_permissions(), nullptr);
      CheckPermissionList(base + ".lacking_permissions", r.lacking_permissions(),
                          &r.require_permissions());
      CheckAction(base + ".action", r.action());
      if (r.action() == v1::ALLOW_REDACTED) {
        if (r.redaction_profile().empty()) {
          Error(base + ".redaction_profile", "ALLOW_REDACTED needs a redaction_profile");
        } else if (!profiles_.contains(r.redaction_profile())) {
          Error(base + ".redaction_profile",
                absl::StrCat("unknown redaction profile '", r.redaction_profile(), "'"));
        }
      } else if (!r.redaction_profile().empty()) {
        Error(base + ".redaction_profile", "only ALLOW_REDACTED rules take a redaction_profile");
      }
    }
  }

  const v1::Policy& p_;
  const int grant_rules_;
  std::vector<PolicyError> errors_;
  absl::flat_hash_map<std::string, size_t> app_index_;
  absl::flat_hash_map<std::string, size_t> profiles_;
};

}  // namespace

std::vector<PolicyError> ValidatePolicy(const v1::Policy& policy, int grant_rules) {
  return Validator(policy, grant_rules).Run();
}

std::string FormatPolicyErrors(const std::vector<PolicyError>& errors) {
  return absl::StrJoin(errors, "; ", [](std::string* out, const PolicyError& e) {
    absl::StrAppend(out, e.field, ": ", e.message);
  });
}

}  // namespace scopedfs::policy
