// Grants as rules (policy/grants.h), the uids condition they use, and rule
// hit counters across policy changes (policy/rule_hits.h): an attacker's
// best tries at getting more than the grant names.
#include "policy/grants.h"

#include <cerrno>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "policy/engine.h"
#include "policy/policy_text.h"
#include "policy/rule_hits.h"
#include "policy/validate.h"

namespace scopedfs::policy {
namespace {

// gallery (uids 1001 and 1003) has no media permission: DCIM is hidden from
// it; camera (1002) reads it.
constexpr char kPolicy[] = R"pb(
  apps { name: "gallery" uids: 1001 uids: 1003 }
  apps { name: "camera" uids: 1002 permissions: "media" }
  rules { id: "media" paths: "DCIM/" require_permissions: "media" action: ALLOW }
  rules { id: "dcim-hidden" paths: "DCIM/**" action: HIDE }
  redaction_profiles { name: "gps" mode: REDACTION_MODE_LOCATION_ONLY exif_gps: true }
  default_action: ALLOW
)pb";

v1::Policy Base() {
  auto p = ParsePolicyText(kPolicy);
  EXPECT_TRUE(p.ok()) << p.status();
  return *p;
}

v1::Grant AppGrant(const std::string& path, bool dir = false) {
  v1::Grant g;
  g.set_id("g1");
  g.set_app("gallery");
  g.set_path(path);
  g.set_directory(dir);
  return g;
}

std::shared_ptr<const Engine> Compile(const v1::Policy& policy, const v1::GrantList& grants,
                                      int64_t now = 100) {
  EffectivePolicy e = WithGrants(policy, grants, now);
  auto engine = Engine::Compile(e.policy(), 7, e.grant_rules);
  EXPECT_TRUE(engine.ok()) << engine.status();
  return engine.ok() ? *engine : nullptr;
}

Verdict Decide(const Engine& engine, uint32_t uid, absl::string_view path,
               v1::Operation op = v1::READ, bool is_dir = false) {
  Request r;
  r.uid = uid;
  r.gid = uid;
  r.path = path;
  r.op = op;
  r.is_dir = is_dir;
  return engine.Decide(r);
}

std::string RuleOf(const Verdict& v) { return v.rule_id ? *v.rule_id : "<none>"; }

TEST(GrantsTest, OnePhotoAndOnlyThatPhoto) {
  v1::GrantList grants;
  *grants.add_grants() = AppGrant("DCIM/Camera/a.jpg");
  auto engine = Compile(Base(), grants);
  ASSERT_NE(engine, nullptr);
  // The photo: seen and read, by the grant.
  EXPECT_EQ(Decide(*engine, 1001, "DCIM/Camera/a.jpg", v1::LOOKUP).action, v1::ALLOW);
  Verdict read = Decide(*engine, 1001, "DCIM/Camera/a.jpg");
  EXPECT_EQ(read.action, v1::ALLOW);
  EXPECT_EQ(RuleOf(read), "grant:g1");
  // The way there: looked up, nothing more.
  Verdict dir = Decide(*engine, 1001, "DCIM/Camera", v1::LOOKUP, true);
  EXPECT_EQ(dir.action, v1::ALLOW);
  EXPECT_EQ(RuleOf(dir), "grant:g1:parents");
  EXPECT_EQ(Decide(*engine, 1001, "DCIM", v1::LOOKUP, true).action, v1::ALLOW);
  EXPECT_EQ(Decide(*engine, 1001, "DCIM/Camera", v1::CREATE, true).action, v1::HIDE);
  // Not written, deleted or renamed: the grant said read.
  for (v1::Operation op : {v1::WRITE, v1::DELETE, v1::RENAME, v1::SETATTR}) {
    EXPECT_EQ(Decide(*engine, 1001, "DCIM/Camera/a.jpg", op).action, v1::HIDE)
        << v1::Operation_Name(op);
  }
  // Siblings, look-alikes and what lies below stay hidden.
  for (const char* other : {"DCIM/Camera/b.jpg", "DCIM/Camera/a.jpg.bak", "DCIM/Camera/a.jp",
                            "DCIM/Camera/a.jpg/x", "DCIM/a.jpg", "DCIM/Camera2/a.jpg"}) {
    EXPECT_EQ(Decide(*engine, 1001, other, v1::LOOKUP).action, v1::HIDE) << other;
    EXPECT_EQ(Decide(*engine, 1001, other).action, v1::HIDE) << other;
  }
  // Another app, and a caller that is no app: unchanged.
  EXPECT_EQ(Decide(*engine, 1500, "DCIM/Camera/a.jpg").action, v1::HIDE);
  EXPECT_EQ(Decide(*engine, 1002, "DCIM/Camera/a.jpg").action, v1::ALLOW);
  EXPECT_EQ(RuleOf(Decide(*engine, 1002, "DCIM/Camera/a.jpg")), "media");
}

TEST(GrantsTest, MetacharactersInTheGrantedNameAreLiteral) {
  // A photo an attacker named like a pattern must not grant its siblings.
  for (const std::string name : {"*.jpg", "?.jpg", "[ab].jpg", "{app}.jpg", "]x[", "**"}) {
    v1::GrantList grants;
    *grants.add_grants() = AppGrant("DCIM/" + name);
    auto engine = Compile(Base(), grants);
    ASSERT_NE(engine, nullptr) << name;
    EXPECT_EQ(Decide(*engine, 1001, "DCIM/" + name).action, v1::ALLOW) << name;
    for (const char* other : {"DCIM/x.jpg", "DCIM/a.jpg", "DCIM/gallery.jpg", "DCIM/]y[",
                              "DCIM/a/b"}) {
      EXPECT_EQ(Decide(*engine, 1001, other).action, v1::HIDE) << name << " vs " << other;
    }
  }
  EXPECT_EQ(LiteralPattern("a*b?[c]{d}"), "a[*]b[?][[]c[]][{]d[}]");
}

TEST(GrantsTest, DirectoryGrantCoversEverythingBelowAndNoSibling) {
  v1::GrantList grants;
  v1::Grant g = AppGrant("DCIM/Trip", /*dir=*/true);
  g.add_operations(v1::READ);
  g.add_operations(v1::WRITE);
  g.add_operations(v1::CREATE);
  *grants.add_grants() = g;
  auto engine = Compile(Base(), grants);
  ASSERT_NE(engine, nullptr);
  EXPECT_EQ(Decide(*engine, 1001, "DCIM/Trip", v1::LOOKUP, true).action, v1::ALLOW);
  EXPECT_EQ(Decide(*engine, 1001, "DCIM/Trip/day1/x.jpg", v1::WRITE).action, v1::ALLOW);
  EXPECT_EQ(Decide(*engine, 1001, "DCIM/Trip/new.jpg", v1::CREATE).action, v1::ALLOW);
  EXPECT_EQ(Decide(*engine, 1001, "DCIM/Trip/x.jpg", v1::DELETE).action, v1::HIDE);
  EXPECT_EQ(Decide(*engine, 1001, "DCIM/Trips/x.jpg").action, v1::HIDE);
  EXPECT_EQ(Decide(*engine, 1001, "DCIM/Tri", v1::LOOKUP, true).action, v1::HIDE);
}

TEST(GrantsTest, UidGrantIsForThatUidOnly) {
  v1::GrantList grants;
  v1::Grant g = AppGrant("DCIM/a.jpg");
  g.set_uid(1003);  // gallery's second uid, not the app
  *grants.add_grants() = g;
  auto engine = Compile(Base(), grants);
  ASSERT_NE(engine, nullptr);
  EXPECT_EQ(Decide(*engine, 1003, "DCIM/a.jpg").action, v1::ALLOW);
  EXPECT_EQ(Decide(*engine, 1001, "DCIM/a.jpg").action, v1::HIDE);
  EXPECT_EQ(Decide(*engine, 4242, "DCIM/a.jpg").action, v1::HIDE);
  // The kernel may not keep an entry one uid sees and another does not.
  EntryQuery q;
  q.parent = "DCIM";
  q.name = "a.jpg";
  EXPECT_TRUE(engine->EntryVisibilityMayVary(q));
  q.parent = "";
  q.name = "DCIM";
  q.is_dir = true;
  EXPECT_TRUE(engine->EntryVisibilityMayVary(q));
}

TEST(GrantsTest, RedactedGrantReadsTheViewWithItsProfile) {
  v1::GrantList grants;
  v1::Grant g = AppGrant("DCIM/a.jpg");
  g.set_redacted(true);
  *grants.add_grants() = g;
  g.set_id("g2");
  g.set_path("DCIM/b.jpg");
  g.set_redaction_profile("gps");
  *grants.add_grants() = g;
  const v1::Policy base = Base();
  EffectivePolicy e = WithGrants(base, grants, 100);
  auto engine = Engine::Compile(e.policy(), 7, e.grant_rules);
  ASSERT_TRUE(engine.ok()) << engine.status();
  Verdict a = Decide(**engine, 1001, "DCIM/a.jpg");
  EXPECT_EQ(a.action, v1::ALLOW_REDACTED);
  ASSERT_NE(a.redaction_profile, nullptr);
  EXPECT_EQ(*a.redaction_profile, std::string(kGrantProfile));
  Verdict b = Decide(**engine, 1001, "DCIM/b.jpg");
  ASSERT_NE(b.redaction_profile, nullptr);
  EXPECT_EQ(*b.redaction_profile, "gps");
  EXPECT_EQ(Decide(**engine, 1001, "DCIM/a.jpg", v1::WRITE).action, v1::HIDE);
  // The strict profile the grant needs was added, as an allowlist.
  int found = 0;
  for (const auto& p : e.policy().redaction_profiles()) {
    if (p.name() == kGrantProfile) {
      ++found;
      EXPECT_EQ(p.mode(), v1::REDACTION_MODE_ALLOWLIST);
    }
  }
  EXPECT_EQ(found, 1);
}

TEST(GrantsTest, ExpiredAndUnfitGrantsAreNotInForce) {
  v1::GrantList grants;
  v1::Grant expired = AppGrant("DCIM/a.jpg");
  expired.set_expires_unix_nanos(100);
  *grants.add_grants() = expired;
  v1::Grant unknown = AppGrant("DCIM/b.jpg");
  unknown.set_id("g2");
  unknown.set_app("gone");
  *grants.add_grants() = unknown;
  const v1::Policy base = Base();
  EffectivePolicy e = WithGrants(base, grants, /*now=*/100);
  EXPECT_EQ(e.grant_rules, 0);
  ASSERT_EQ(e.skipped.size(), 1u);
  EXPECT_EQ(e.skipped[0], "g2: the policy has no app 'gone'");
  auto engine = Engine::Compile(e.policy(), 7, e.grant_rules);
  ASSERT_TRUE(engine.ok());
  EXPECT_EQ(Decide(**engine, 1001, "DCIM/a.jpg").action, v1::HIDE);
  // One nanosecond earlier the first was still in force.
  EXPECT_EQ(WithGrants(base, grants, 99).grant_rules, 2);
}

TEST(GrantsTest, CheckGrantRefusesWhatAGrantCannotBe) {
  const v1::Policy policy = Base();
  const auto error = [&](v1::Grant g) { return std::string(CheckGrant(g, policy).message()); };
  EXPECT_TRUE(CheckGrant(AppGrant("DCIM/a.jpg"), policy).ok());
  v1::Grant g = AppGrant("../etc/passwd");
  EXPECT_NE(error(g).find("not a path relative"), std::string::npos);
  g = AppGrant("/DCIM/a.jpg");
  EXPECT_NE(error(g).find("not a path relative"), std::string::npos);
  g = AppGrant("DCIM/a.jpg");
  g.set_redacted(true);
  g.add_operations(v1::WRITE);
  EXPECT_NE(error(g).find("READ only"), std::string::npos);
  g = AppGrant("DCIM/a.jpg");
  g.add_operations(v1::LOOKUP);
  EXPECT_NE(error(g).find("cannot give LOOKUP"), std::string::npos);
  g = AppGrant("DCIM/a.jpg");
  g.set_redacted(true);
  g.set_redaction_profile("nope");
  EXPECT_NE(error(g).find("no redaction profile 'nope'"), std::string::npos);
  g = AppGrant("DCIM/a.jpg");
  g.set_uid(0);
  EXPECT_EQ(error(g), "root needs no grant");
  g = AppGrant("DCIM/a.jpg");
  g.clear_who();
  EXPECT_EQ(error(g), "a grant is for an app or a uid");
}

TEST(GrantsTest, PolicyRuleIdsMayNotPoseAsGrants) {
  v1::Policy policy = Base();
  policy.mutable_rules(0)->set_id("grant:g1");
  const auto errors = ValidatePolicy(policy);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field, "rules[0].id");
  EXPECT_FALSE(Engine::Compile(policy, 1).ok());
  EXPECT_TRUE(Engine::Compile(policy, 1, /*grant_rules=*/1).ok());
}

TEST(UidsConditionTest, InAPolicyFile) {
  auto policy = ParsePolicyText(R"pb(
    rules { id: "only-1005" uids: 1005 uids: 1007 paths: "Secret/" action: ALLOW }
    rules { id: "others" paths: "Secret/" action: DENY }
    default_action: ALLOW
  )pb");
  ASSERT_TRUE(policy.ok());
  auto engine = Engine::Compile(*policy, 1);
  ASSERT_TRUE(engine.ok()) << engine.status();
  EXPECT_EQ(Decide(**engine, 1005, "Secret/x").action, v1::ALLOW);
  EXPECT_EQ(Decide(**engine, 1007, "Secret/x").action, v1::ALLOW);
  EXPECT_EQ(Decide(**engine, 1006, "Secret/x").action, v1::DENY);
  // Listings and visibility know it depends on the caller.
  EXPECT_TRUE((*engine)->VisibilityMayVary("Secret"));
  Request r;
  r.uid = 1005;
  r.path = "Secret/x";
  EXPECT_NE((*engine)->Explain(r).reason().find("caller is uid 1005"), std::string::npos);
}

TEST(RuleHitsTest, CountsSurviveAnApplyForUnchangedRulesOnly) {
  v1::Policy policy = Base();
  auto first = RuleHits::For(policy, 1, nullptr, /*now=*/10);
  first->Count(0, RuleHits::kAllowed, 20);           // media
  first->Count(1, RuleHits::kHidden, 21);            // dcim-hidden
  first->Count(1, RuleHits::kHidden, 22);
  first->Count(-1, RuleHits::kAllowed, 23);          // default action
  v1::Policy next = policy;
  next.mutable_rules(1)->add_paths("Pictures/**");  // dcim-hidden's body changed
  auto second = RuleHits::For(next, 2, first.get(), /*now=*/30);
  EXPECT_EQ(second->rules()[0]->hits[RuleHits::kAllowed].load(), 1u);
  EXPECT_EQ(second->rules()[0]->since_unix_nanos, 10);
  EXPECT_EQ(second->rules()[0]->last_hit_unix_nanos.load(), 20);
  EXPECT_EQ(second->rules()[1]->hits[RuleHits::kHidden].load(), 0u);
  EXPECT_EQ(second->rules()[1]->since_unix_nanos, 30);
  EXPECT_EQ(second->default_action().hits[RuleHits::kAllowed].load(), 1u);
  // A decision of the old engine that finishes after the swap still counts
  // for the rule it shares with the new one.
  first->Count(0, RuleHits::kAllowed, 40);
  EXPECT_EQ(second->rules()[0]->hits[RuleHits::kAllowed].load(), 2u);
  second->CountById("media", RuleHits::kDenied, 41);
  EXPECT_EQ(second->rules()[0]->hits[RuleHits::kDenied].load(), 1u);
  second->CountById("gone", RuleHits::kDenied, 41);  // ignored
  // Another default action: counted afresh.
  next.set_default_action(v1::DENY);
  auto third = RuleHits::For(next, 3, second.get(), 50);
  EXPECT_EQ(third->default_action().hits[RuleHits::kAllowed].load(), 0u);
}

TEST(RuleHitsTest, OutcomeOfAVerdict) {
  EXPECT_EQ(RuleHits::OutcomeOf(v1::ALLOW, 0), RuleHits::kAllowed);
  EXPECT_EQ(RuleHits::OutcomeOf(v1::ALLOW_REDACTED, 0), RuleHits::kRedacted);
  EXPECT_EQ(RuleHits::OutcomeOf(v1::ALLOW_REDACTED, EACCES), RuleHits::kDenied);
  EXPECT_EQ(RuleHits::OutcomeOf(v1::DENY, EACCES), RuleHits::kDenied);
  EXPECT_EQ(RuleHits::OutcomeOf(v1::HIDE, ENOENT), RuleHits::kHidden);
}

}  // namespace
}  // namespace scopedfs::policy
