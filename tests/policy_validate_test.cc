// Policy validation (every error, with its field path), the text format, and
// the embedded default policy.
#include "policy/validate.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/default_policy.h"
#include "policy/engine.h"
#include "policy/pattern.h"
#include "policy/policy_text.h"

namespace scopedfs::policy {

// For readable gmock failures (found by ADL).
void PrintTo(const PolicyError& e, std::ostream* os) { *os << e.field << ": " << e.message; }

namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

v1::Policy Parse(absl::string_view text) {
  auto p = ParsePolicyText(text);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *p : v1::Policy();
}

std::vector<PolicyError> Errors(absl::string_view text) { return ValidatePolicy(Parse(text)); }

PolicyError E(std::string field, std::string message) {
  return PolicyError{std::move(field), std::move(message)};
}

// A valid base to add one mistake to.
constexpr char kBase[] = R"pb(
  default_action: DENY
  apps { name: "a" uids: 1001 permissions: "media" }
  apps { name: "b" uids: 1002 }
  redaction_profiles { name: "loc" exif_gps: true }
)pb";

std::vector<PolicyError> RuleErrors(absl::string_view rule_body) {
  return Errors(absl::StrCat(kBase, "rules { id: \"ok\" action: ALLOW }\n rules { ", rule_body,
                             " }"));
}

TEST(ValidateTest, ValidPolicyHasNoErrors) {
  EXPECT_THAT(Errors(absl::StrCat(kBase, R"pb(
    rules { id: "r1" apps: "a" paths: "DCIM/" paths: "x/**/*.jp[e]g" classes: IMAGE
            operations: READ owner: CALLER require_permissions: "media"
            lacking_permissions: "loc" action: ALLOW_REDACTED redaction_profile: "loc" }
    rules { id: "r2" paths: "" paths: "Android/data/{app}/" paths: "u/{user}/*" action: HIDE
            audit: false }
  )pb")),
              IsEmpty());
}

TEST(ValidateTest, DefaultAction) {
  EXPECT_THAT(Errors("apps { name: \"a\" uids: 1 }"),
              ElementsAre(E("default_action", "must be set (ALLOW, ALLOW_REDACTED, DENY or HIDE)")));
  EXPECT_THAT(Errors("default_action: ALLOW_REDACTED"),
              ElementsAre(E("default_action",
                            "ALLOW_REDACTED cannot be the default (it needs a redaction profile)")));
  v1::Policy p;
  p.set_default_action(static_cast<v1::Action>(99));
  EXPECT_THAT(ValidatePolicy(p), ElementsAre(E("default_action", "unknown action 99")));
}

TEST(ValidateTest, Apps) {
  EXPECT_THAT(Errors(R"pb(
    default_action: DENY
    system_uids: 1000
    apps { name: "ok" uids: 5 gids: 7 }
    apps { uids: 6 }
    apps { name: "bad name" uids: 8 }
    apps { name: "ok" uids: 0 uids: 1000 uids: 5 gids: 7 android_app_ids: 10001 }
    apps { name: "p" uids: 9 permissions: "" permissions: "x y" permissions: "android:media" }
  )pb"),
              ElementsAre(E("apps[1].name", "must be set"),
                          E("apps[2].name", "'bad name' is not a valid app name ([A-Za-z0-9._-]+)"),
                          E("apps[3].name", "duplicate app name 'ok' (also apps[0])"),
                          E("apps[3].uids[0]", "uid 0 is root, which bypasses the rules"),
                          E("apps[3].uids[1]", "uid 1000 is a system uid, which bypasses the rules"),
                          E("apps[3].uids[2]", "uid 5 already identifies apps[0]"),
                          E("apps[3].gids[0]", "gid 7 already identifies apps[0]"),
                          E("apps[3].android_app_ids[0]",
                            "android_app_ids need android_uid_scheme: true"),
                          E("apps[4].permissions[0]", "empty permission"),
                          E("apps[4].permissions[1]",
                            "'x y' is not a valid permission name ([A-Za-z0-9._:-]+)")));
  EXPECT_THAT(Errors(R"pb(
    default_action: DENY
    android_uid_scheme: true
    apps { name: "a" android_app_ids: 10001 android_app_ids: 100000 android_app_ids: 0 }
    apps { name: "b" android_app_ids: 10001 }
  )pb"),
              ElementsAre(E("apps[0].android_app_ids[1]", "app id 100000 is not below 100000"),
                          E("apps[0].android_app_ids[2]", "app id 0 is root, which bypasses the rules"),
                          E("apps[1].android_app_ids[0]", "app id 10001 already identifies apps[0]")));
}

TEST(ValidateTest, RedactionProfiles) {
  EXPECT_THAT(Errors(R"pb(
    default_action: DENY
    redaction_profiles { name: "loc" }
    redaction_profiles { }
    redaction_profiles { name: "l o c" }
    redaction_profiles { name: "loc" }
  )pb"),
              ElementsAre(E("redaction_profiles[1].name", "must be set"),
                          E("redaction_profiles[2].name",
                            "'l o c' is not a valid profile name ([A-Za-z0-9._-]+)"),
                          E("redaction_profiles[3].name",
                            "duplicate redaction profile 'loc' (also redaction_profiles[0])")));
}

TEST(ValidateTest, RuleIdsAndApps) {
  EXPECT_THAT(Errors(absl::StrCat(kBase, R"pb(
    rules { id: "x" action: ALLOW }
    rules { action: ALLOW }
    rules { id: "x" apps: "a" apps: "zed" action: ALLOW }
  )pb")),
              ElementsAre(E("rules[1].id", "must be set"),
                          E("rules[2].id", "duplicate rule id 'x' (also rules[0])"),
                          E("rules[2].apps[1]", "unknown app 'zed'")));
}

TEST(ValidateTest, PathPatterns) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"DCIM/[a", "unbalanced '['"},
      {"[]", "unbalanced '['"},
      {"[!]", "unbalanced '['"},
      {"a/b**", "'**' must be a whole component"},
      {"**.jpg", "'**' must be a whole component"},
      {"a/{foo}/", "unknown placeholder '{foo}'"},
      {"a/{app", "unbalanced '{'"},
      {"a/app}", "unbalanced '}'"},
      {"/DCIM", "absolute path: patterns are relative to the mount root"},
      {"/", "absolute path: patterns are relative to the mount root"},
      {"a/../b", "'..' component"},
      {"..", "'..' component"},
      {"./a", "'.' component"},
      {"a//b", "empty path component"},
      {"a//", "empty path component"},
      {"[z-a]", "bad character range 'z-a'"},
  };
  for (const auto& [pattern, message] : cases) {
    EXPECT_THAT(RuleErrors(absl::StrCat("id: \"r\" action: ALLOW paths: \"ok/\" paths: \"",
                                         pattern, "\"")),
                ElementsAre(E("rules[1].paths[1]", message)))
        << pattern;
  }
  // And the valid corner cases.
  for (const char* ok : {"", "**", "**/", "a/**/b", "[]]", "[!]]x", "[a-]", "x/[*]", "{app}{user}",
                         "a]b", "\\\\"}) {
    EXPECT_THAT(RuleErrors(absl::StrCat("id: \"r\" action: ALLOW paths: \"", ok, "\"")), IsEmpty())
        << ok;
  }
}

TEST(ValidateTest, ClassesOperationsOwner) {
  v1::Policy p = Parse(kBase);
  v1::Rule* r = p.add_rules();
  r->set_id("r");
  r->set_action(v1::ALLOW);
  r->add_classes(v1::IMAGE);
  r->add_classes(v1::FILE_CLASS_UNSPECIFIED);
  r->add_classes(static_cast<v1::FileClass>(42));
  r->add_operations(v1::OPERATION_UNSPECIFIED);
  r->add_operations(static_cast<v1::Operation>(17));
  r->set_owner(static_cast<v1::Ownership>(9));
  EXPECT_THAT(ValidatePolicy(p),
              ElementsAre(E("rules[0].classes[1]", "FILE_CLASS_UNSPECIFIED is not a class"),
                          E("rules[0].classes[2]", "unknown file class 42"),
                          E("rules[0].operations[0]", "OPERATION_UNSPECIFIED is not an operation"),
                          E("rules[0].operations[1]", "unknown operation 17"),
                          E("rules[0].owner", "unknown ownership 9")));
}

TEST(ValidateTest, Permissions) {
  EXPECT_THAT(RuleErrors(R"pb(id: "r" action: ALLOW require_permissions: "media"
                              require_permissions: "" lacking_permissions: "media"
                              lacking_permissions: "bad perm")pb"),
              ElementsAre(E("rules[1].require_permissions[1]", "empty permission"),
                          E("rules[1].lacking_permissions[0]",
                            "'media' is also required: the rule can never match"),
                          E("rules[1].lacking_permissions[1]",
                            "'bad perm' is not a valid permission name")));
}

TEST(ValidateTest, ActionsAndProfiles) {
  EXPECT_THAT(RuleErrors(R"pb(id: "r")pb"),
              ElementsAre(E("rules[1].action", "must be set (ALLOW, ALLOW_REDACTED, DENY or HIDE)")));
  EXPECT_THAT(RuleErrors(R"pb(id: "r" action: ALLOW_REDACTED)pb"),
              ElementsAre(E("rules[1].redaction_profile", "ALLOW_REDACTED needs a redaction_profile")));
  EXPECT_THAT(RuleErrors(R"pb(id: "r" action: ALLOW_REDACTED redaction_profile: "gps")pb"),
              ElementsAre(E("rules[1].redaction_profile", "unknown redaction profile 'gps'")));
  EXPECT_THAT(RuleErrors(R"pb(id: "r" action: DENY redaction_profile: "loc")pb"),
              ElementsAre(E("rules[1].redaction_profile",
                            "only ALLOW_REDACTED rules take a redaction_profile")));
  v1::Policy p = Parse(kBase);
  v1::Rule* r = p.add_rules();
  r->set_id("r");
  r->set_action(static_cast<v1::Action>(8));
  EXPECT_THAT(ValidatePolicy(p), ElementsAre(E("rules[0].action", "unknown action 8")));
}

TEST(ValidateTest, AllErrorsAtOnce) {
  const std::vector<PolicyError> errors = Errors(R"pb(
    apps { name: "a" uids: 1 }
    apps { name: "a" uids: 2 }
    rules { id: "r" apps: "nope" paths: "x/[" action: ALLOW_REDACTED }
    rules { id: "r" paths: "/abs" paths: "a/**b" }
    rules { id: "s" paths: "{foo}" action: DENY redaction_profile: "zz" }
  )pb");
  EXPECT_THAT(errors,
              ElementsAre(E("default_action", "must be set (ALLOW, ALLOW_REDACTED, DENY or HIDE)"),
                          E("apps[1].name", "duplicate app name 'a' (also apps[0])"),
                          E("rules[0].apps[0]", "unknown app 'nope'"),
                          E("rules[0].paths[0]", "unbalanced '['"),
                          E("rules[0].redaction_profile", "ALLOW_REDACTED needs a redaction_profile"),
                          E("rules[1].id", "duplicate rule id 'r' (also rules[0])"),
                          E("rules[1].paths[0]",
                            "absolute path: patterns are relative to the mount root"),
                          E("rules[1].paths[1]", "'**' must be a whole component"),
                          E("rules[1].action", "must be set (ALLOW, ALLOW_REDACTED, DENY or HIDE)"),
                          E("rules[2].paths[0]", "unknown placeholder '{foo}'"),
                          E("rules[2].redaction_profile",
                            "only ALLOW_REDACTED rules take a redaction_profile")));
  EXPECT_EQ(FormatPolicyErrors({errors[0], errors[3]}),
            "default_action: must be set (ALLOW, ALLOW_REDACTED, DENY or HIDE); "
            "rules[0].paths[0]: unbalanced '['");
}

// ---------------------------------------------------------------------------
// Text format

TEST(PolicyTextTest, ParseErrorsHaveLineAndColumn) {
  auto p = ParsePolicyText("default_action: DENY\nrules {\n  id: \"x\"\n  bogus: 1\n}\n");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  // Positions are where protobuf's parser noticed the problem: the unknown
  // field's name ends at 4:8.
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("line 4:8: "));
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("bogus"));

  p = ParsePolicyText("default_action: MAYBE\n");
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(std::string(p.status().message()),
              HasSubstr("Unknown enumeration value of \"MAYBE\" for field \"default_action\""));
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("line 2:1: "));

  p = ParsePolicyText("rules { id: \"x\"\n");
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("line 2:"));

  p = ParsePolicyText("rules { id: 5 }");
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("line 1:13: "));
}

// Every error the parser reports, not only the first: the daemon (--policy,
// --check-config, the admin API) and scopedctl share this parser and list.
TEST(PolicyTextTest, EveryParseErrorIsReportedInOrder) {
  constexpr char kText[] =
      "default_action: ALLOW\n"
      "rules { id: \"a\\q\" action: ALLOW }\n"
      "rules { id: \"b\\q\" action: ALLOW }\n"
      "colour: 1\n";
  v1::Policy policy;
  EXPECT_THAT(ParseTextFormat(kText, &policy),
              ElementsAre("line 2:16: Invalid escape sequence in string literal",
                          "line 3:16: Invalid escape sequence in string literal",
                          "line 4:7: Message type \"scopedfs.v1.Policy\" has no field named "
                          "\"colour\""));
  auto p = ParsePolicyText(kText);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(),
            "line 2:16: Invalid escape sequence in string literal; "
            "line 3:16: Invalid escape sequence in string literal; "
            "line 4:7: Message type \"scopedfs.v1.Policy\" has no field named \"colour\"");
  EXPECT_THAT(ParseTextFormat("default_action: ALLOW\n", &policy), ElementsAre());
  EXPECT_EQ(policy.default_action(), v1::ALLOW);
}

TEST(PolicyTextTest, RoundTrip) {
  const v1::Policy p = Parse(absl::StrCat(kBase, R"pb(
    generation: 7
    android_uid_scheme: true
    system_uids: 1000
    rules { id: "r" paths: "DCIM/" classes: IMAGE operations: READ owner: NOT_CALLER
            action: ALLOW_REDACTED redaction_profile: "loc" audit: false }
  )pb"));
  const std::string text = PolicyToText(p);
  auto back = ParsePolicyText(text);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->SerializeAsString(), p.SerializeAsString());
  EXPECT_THAT(text, HasSubstr("audit: false"));
  EXPECT_THAT(text, HasSubstr("action: ALLOW_REDACTED"));
  // Empty text is an empty (invalid: no default) policy, not a parse error.
  auto empty = ParsePolicyText("");
  ASSERT_TRUE(empty.ok());
  EXPECT_THAT(ValidatePolicy(*empty), ElementsAre(E("default_action", "must be set (ALLOW, ALLOW_REDACTED, DENY or HIDE)")));
}

// ---------------------------------------------------------------------------
// The embedded default policy

class DefaultPolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto parsed = ParsePolicyText(DefaultPolicyText());
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    policy_ = *parsed;
    ASSERT_THAT(ValidatePolicy(policy_), IsEmpty());
    auto e = Engine::Compile(policy_, 1);
    ASSERT_TRUE(e.ok()) << e.status();
    engine_ = *e;
  }

  static constexpr uint32_t kGallery = 10001;  // media, media_location
  static constexpr uint32_t kSocial = 10002;   // media
  static constexpr uint32_t kNotes = 10003;    // nothing
  static constexpr uint32_t kStranger = 10099; // no configured app

  Verdict Decide(uint32_t uid, absl::string_view path, v1::Operation op, bool is_dir = false,
                 bool owner = false) {
    Request r;
    r.uid = uid;
    r.gid = uid;
    r.path = path;
    r.op = op;
    r.is_dir = is_dir;
    r.caller_is_owner = owner;
    return engine_->Decide(r);
  }
  v1::Action Act(uint32_t uid, absl::string_view path, v1::Operation op, bool is_dir = false,
                 bool owner = false) {
    return Decide(uid, path, op, is_dir, owner).action;
  }
  // LOOKUP of every ancestor directory and of the file itself.
  bool CanWalkTo(uint32_t uid, absl::string_view path) {
    std::vector<std::string> parts = absl::StrSplit(path, '/');
    std::string at;
    if (Act(uid, "", v1::LOOKUP, true) != v1::ALLOW) return false;
    for (size_t i = 0; i < parts.size(); ++i) {
      at = at.empty() ? parts[i] : absl::StrCat(at, "/", parts[i]);
      if (Act(uid, at, v1::LOOKUP, i + 1 < parts.size()) != v1::ALLOW) return false;
    }
    return true;
  }

  v1::Policy policy_;
  std::shared_ptr<const Engine> engine_;
};

TEST_F(DefaultPolicyTest, Shape) {
  EXPECT_TRUE(policy_.android_uid_scheme());
  EXPECT_THAT(policy_.system_uids(), ElementsAre(1000u));
  EXPECT_EQ(policy_.default_action(), v1::DENY);
  EXPECT_EQ(policy_.apps_size(), 3);
}

TEST_F(DefaultPolicyTest, PrivateDirectories) {
  // User 0's gallery (uid 10001).
  const char* own = "Android/data/0/com.example.gallery/files/db.sqlite";
  EXPECT_TRUE(CanWalkTo(kGallery, own));
  for (auto op : {v1::READ, v1::WRITE, v1::CREATE, v1::DELETE, v1::RENAME, v1::SETATTR}) {
    EXPECT_EQ(Act(kGallery, own, op), v1::ALLOW) << v1::Operation_Name(op);
  }
  EXPECT_EQ(Act(kGallery, "Android/data/0/com.example.gallery", v1::CREATE, true), v1::ALLOW);
  EXPECT_EQ(Act(kGallery, "Android/obb/0/com.example.gallery/main.obb", v1::READ), v1::ALLOW);
  // The same app of another Android user (user 10) does not see user 0's
  // directory, nor user 0's app its own: users are isolated.
  constexpr uint32_t kGallery10 = 1010001;
  EXPECT_TRUE(CanWalkTo(kGallery10, "Android/data/10/com.example.gallery/files/x"));
  EXPECT_EQ(Act(kGallery10, "Android/data/0", v1::LOOKUP, true), v1::HIDE);
  EXPECT_EQ(Act(kGallery10, "Android/data/0/com.example.gallery", v1::LOOKUP, true), v1::HIDE);
  EXPECT_EQ(Act(kGallery10, own, v1::READ, false, true), v1::HIDE);
  EXPECT_EQ(Act(kGallery, "Android/data/10/com.example.gallery/files/x", v1::READ), v1::HIDE);
  // Other apps and strangers do not see it, even when they own it.
  for (uint32_t uid : {kSocial, kNotes, kStranger}) {
    EXPECT_EQ(Act(uid, "Android/data/0/com.example.gallery", v1::LOOKUP, true), v1::HIDE) << uid;
    EXPECT_EQ(Act(uid, own, v1::READ, false, true), v1::HIDE) << uid;
  }
  // But everyone may walk through Android/data to their own directory.
  EXPECT_EQ(Act(kNotes, "Android", v1::LOOKUP, true), v1::ALLOW);
  EXPECT_EQ(Act(kNotes, "Android/data", v1::LOOKUP, true), v1::ALLOW);
  EXPECT_EQ(Act(kNotes, "Android/data/0", v1::LOOKUP, true), v1::ALLOW);
  EXPECT_EQ(Act(kNotes, "Android/obb", v1::LOOKUP, true), v1::ALLOW);
  EXPECT_EQ(Act(kNotes, "Android/data", v1::CREATE, true), v1::DENY);
  // The user directories are the admin's to make and remove.
  EXPECT_EQ(Act(kNotes, "Android/data/0", v1::CREATE, true), v1::HIDE);
  EXPECT_EQ(Act(kNotes, "Android/data/0", v1::DELETE, true), v1::HIDE);
  EXPECT_EQ(Act(kNotes, "Android/media", v1::LOOKUP, true), v1::DENY);
  EXPECT_TRUE(CanWalkTo(kNotes, "Android/data/0/com.example.notes/cache/x"));
}

TEST_F(DefaultPolicyTest, NoSpecialFilesInCollections) {
  Request r;
  r.uid = r.gid = kSocial;
  r.op = v1::CREATE;
  r.path = "DCIM/pipe.jpg";
  r.content_class = v1::SPECIAL;  // A FIFO, whatever its name says.
  EXPECT_EQ(engine_->Decide(r).action, v1::DENY);
  EXPECT_EQ(*engine_->Decide(r).rule_id, "media-no-special");
  r.content_class = v1::SYMLINK;
  EXPECT_EQ(engine_->Decide(r).action, v1::ALLOW);
  r.content_class = v1::FILE_CLASS_UNSPECIFIED;
  EXPECT_EQ(engine_->Decide(r).action, v1::ALLOW);
  // In the app's own private directory, anything goes.
  r.path = "Android/data/0/com.example.social/pipe";
  r.content_class = v1::SPECIAL;
  EXPECT_EQ(engine_->Decide(r).action, v1::ALLOW);
}

TEST_F(DefaultPolicyTest, MediaCollections) {
  const char* photo = "DCIM/Camera/IMG_0001.jpg";
  EXPECT_TRUE(CanWalkTo(kGallery, photo));
  EXPECT_TRUE(CanWalkTo(kSocial, photo));
  EXPECT_FALSE(CanWalkTo(kNotes, photo));
  EXPECT_FALSE(CanWalkTo(kStranger, photo));

  Verdict v = Decide(kGallery, photo, v1::READ);
  EXPECT_EQ(v.action, v1::ALLOW);
  EXPECT_EQ(*v.rule_id, "media-read");

  v = Decide(kSocial, photo, v1::READ);
  EXPECT_EQ(v.action, v1::ALLOW_REDACTED);
  EXPECT_EQ(*v.rule_id, "media-redact");
  ASSERT_NE(v.redaction_profile, nullptr);
  EXPECT_EQ(*v.redaction_profile, "location");
  EXPECT_EQ(Act(kSocial, "Movies/trip.MP4", v1::READ), v1::ALLOW_REDACTED);
  EXPECT_EQ(Act(kSocial, "Music/song.mp3", v1::READ), v1::ALLOW);
  EXPECT_EQ(Act(kSocial, "Download/report.pdf", v1::READ), v1::ALLOW);

  // Others' files: no writing, deleting, renaming, chmod.
  for (auto op : {v1::WRITE, v1::DELETE, v1::RENAME, v1::SETATTR}) {
    EXPECT_EQ(Act(kGallery, photo, op), v1::DENY) << v1::Operation_Name(op);
  }
  // Creating is allowed to media apps; then they own it: full access, unredacted.
  EXPECT_EQ(Act(kSocial, "DCIM/Camera/new.jpg", v1::CREATE), v1::ALLOW);
  EXPECT_EQ(Act(kSocial, "Pictures/Social", v1::CREATE, true), v1::ALLOW);
  EXPECT_EQ(Act(kNotes, "Documents/note.txt", v1::CREATE), v1::DENY);
  for (auto op : {v1::LOOKUP, v1::READ, v1::WRITE, v1::DELETE, v1::RENAME, v1::SETATTR}) {
    EXPECT_EQ(Act(kSocial, "DCIM/Camera/new.jpg", op, false, true), v1::ALLOW)
        << v1::Operation_Name(op);
  }
  // Notes: nothing in the collections, except what it owns.
  EXPECT_EQ(Act(kNotes, "DCIM", v1::LOOKUP, true), v1::DENY);
  EXPECT_EQ(Act(kNotes, photo, v1::READ), v1::DENY);
  EXPECT_EQ(Act(kNotes, "Documents/mine.txt", v1::READ, false, true), v1::ALLOW);
}

TEST_F(DefaultPolicyTest, NothingElse) {
  EXPECT_EQ(Act(kStranger, "", v1::LOOKUP, true), v1::ALLOW);
  EXPECT_EQ(Act(kGallery, "", v1::CREATE, true), v1::DENY);
  EXPECT_EQ(Act(kGallery, "random.txt", v1::LOOKUP), v1::DENY);
  EXPECT_EQ(Act(kGallery, "random.txt", v1::CREATE), v1::DENY);
  EXPECT_EQ(Act(kGallery, "etc/passwd", v1::READ), v1::DENY);
  // Root and the system uid see and do everything.
  for (uint32_t uid : {0u, 1000u}) {
    EXPECT_EQ(Act(uid, "Android/data/0/com.example.gallery/x", v1::READ), v1::ALLOW);
    EXPECT_EQ(Act(uid, "etc/passwd", v1::WRITE), v1::ALLOW);
    EXPECT_EQ(Act(uid, "DCIM/a.jpg", v1::READ), v1::ALLOW);  // unredacted
  }
}

TEST_F(DefaultPolicyTest, ExplainAndVisibility) {
  const std::string social = "com.example.social";
  Request r;
  r.path = "DCIM/a.jpg";
  r.op = v1::READ;
  r.app_name = &social;
  v1::Decision d = engine_->Explain(r);
  EXPECT_EQ(d.reason(),
            "rule 'media-redact' matched: app com.example.social holds media, lacks "
            "media_location; path 'DCIM/a.jpg' matches 'DCIM/'; class IMAGE; operation READ");
  // Per-caller visibility everywhere (default DENY, root sees all): the
  // daemon must not let the kernel cache entries across callers.
  for (const char* p : {"", "DCIM", "DCIM/a.jpg", "Android/data", "Android/data/0/x", "other"}) {
    EXPECT_TRUE(engine_->VisibilityMayVary(p)) << p;
  }
}

}  // namespace
}  // namespace scopedfs::policy
