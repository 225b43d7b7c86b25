// The policy engine: semantics of every matcher, and the index checked
// against a naive linear evaluator over many random policies and requests.
#include "policy/engine.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "policy/decision_cache.h"
#include "policy/file_class.h"
#include "policy/policy_text.h"
#include "policy/validate.h"

// Counts heap allocations, for DecideDoesNotAllocate.
static std::atomic<long> g_allocations{0};

void* operator new(size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace scopedfs::policy {
namespace {

std::shared_ptr<const Engine> MustCompile(absl::string_view text, uint64_t generation = 1) {
  auto parsed = ParsePolicyText(text);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  if (!parsed.ok()) return nullptr;
  auto engine = Engine::Compile(*parsed, generation);
  EXPECT_TRUE(engine.ok()) << engine.status();
  return engine.ok() ? *engine : nullptr;
}

Request Req(uint32_t uid, absl::string_view path, v1::Operation op = v1::READ) {
  Request r;
  r.uid = uid;
  r.gid = uid;
  r.path = path;
  r.op = op;
  return r;
}

std::string RuleId(const Verdict& v) { return v.rule_id ? *v.rule_id : "<default>"; }

// ---------------------------------------------------------------------------
// Semantics

constexpr char kApps[] = R"pb(
  default_action: DENY
  apps { name: "alice" uids: 1001 permissions: "media" permissions: "loc" }
  apps { name: "bob" uids: 1002 gids: 500 permissions: "media" }
  apps { name: "carol" uids: 1003 }
  redaction_profiles { name: "location" exif_gps: true }
)pb";

TEST(EngineTest, FirstMatchWinsAndDefault) {
  auto e = MustCompile(absl::StrCat(kApps, R"pb(
    rules { id: "first" paths: "a/" action: HIDE }
    rules { id: "second" paths: "a/" action: ALLOW }
    rules { id: "third" paths: "b/" action: ALLOW }
  )pb"));
  Verdict v = e->Decide(Req(1001, "a/x"));
  EXPECT_EQ(v.action, v1::HIDE);
  EXPECT_EQ(v.rule_index, 0);
  EXPECT_EQ(RuleId(v), "first");
  v = e->Decide(Req(1001, "b"));
  EXPECT_EQ(v.action, v1::ALLOW);
  EXPECT_EQ(v.rule_index, 2);
  v = e->Decide(Req(1001, "c/d"));
  EXPECT_EQ(v.action, v1::DENY);
  EXPECT_EQ(v.rule_index, -1);
  EXPECT_EQ(v.rule_id, nullptr);
  ASSERT_NE(v.app, nullptr);
  EXPECT_EQ(*v.app, "alice");
}

TEST(EngineTest, DefaultAllow) {
  auto e = MustCompile(R"pb(default_action: ALLOW
                            rules { id: "h" paths: "secret" action: HIDE })pb");
  EXPECT_EQ(e->Decide(Req(5, "x")).action, v1::ALLOW);
  EXPECT_EQ(e->Decide(Req(5, "secret")).action, v1::HIDE);
  EXPECT_EQ(e->Decide(Req(5, "secret/below")).action, v1::ALLOW);  // glob, not prefix
}

TEST(EngineTest, AppsMatcher) {
  auto e = MustCompile(absl::StrCat(kApps, R"pb(
    rules { id: "ab" apps: "alice" apps: "bob" action: ALLOW }
    rules { id: "any" paths: "pub/" action: HIDE }
  )pb"));
  EXPECT_EQ(e->Decide(Req(1001, "x")).action, v1::ALLOW);
  EXPECT_EQ(e->Decide(Req(1002, "x")).action, v1::ALLOW);
  EXPECT_EQ(e->Decide(Req(1003, "x")).action, v1::DENY);
  EXPECT_EQ(e->Decide(Req(4242, "x")).action, v1::DENY);
  EXPECT_EQ(e->Decide(Req(4242, "pub/x")).action, v1::HIDE);  // any caller
  // bob by gid.
  Request r = Req(7777, "x");
  r.gid = 500;
  Verdict v = e->Decide(r);
  EXPECT_EQ(v.action, v1::ALLOW);
  EXPECT_EQ(*v.app, "bob");
  // uid wins over gid: alice's uid with bob's gid is alice.
  r = Req(1001, "x");
  r.gid = 500;
  EXPECT_EQ(*e->Decide(r).app, "alice");
}

TEST(EngineTest, PrefixAndGlobPaths) {
  auto e = MustCompile(R"pb(
    default_action: DENY
    rules { id: "prefix" paths: "DCIM/" action: ALLOW }
    rules { id: "star" paths: "Pictures/*.jpg" action: ALLOW }
    rules { id: "q" paths: "Music/track?.mp3" action: ALLOW }
    rules { id: "class" paths: "Docs/[a-c]*" action: ALLOW }
    rules { id: "negclass" paths: "Docs/[!a-c]*.txt" action: HIDE }
    rules { id: "dstar" paths: "Movies/**/clip.mp4" action: ALLOW }
    rules { id: "anyjpg" paths: "**/*.raw" action: HIDE }
    rules { id: "root" paths: "" action: ALLOW }
  )pb");
  auto id = [&](absl::string_view path) { return RuleId(e->Decide(Req(5, path))); };
  EXPECT_EQ(id("DCIM"), "prefix");
  EXPECT_EQ(id("DCIM/Camera/a.jpg"), "prefix");
  EXPECT_EQ(id("DCIMX"), "<default>");
  EXPECT_EQ(id("Pictures/a.jpg"), "star");
  EXPECT_EQ(id("Pictures/.jpg"), "star");  // '*' matches nothing, and dot files
  EXPECT_EQ(id("Pictures/sub/a.jpg"), "<default>");  // '*' stays in a component
  EXPECT_EQ(id("Pictures"), "<default>");
  EXPECT_EQ(id("Music/track1.mp3"), "q");
  EXPECT_EQ(id("Music/track12.mp3"), "<default>");
  EXPECT_EQ(id("Docs/apple"), "class");
  EXPECT_EQ(id("Docs/zeta.txt"), "negclass");
  EXPECT_EQ(id("Docs/zeta.doc"), "<default>");
  EXPECT_EQ(id("Movies/clip.mp4"), "dstar");  // '**' spans zero components
  EXPECT_EQ(id("Movies/a/b/c/clip.mp4"), "dstar");
  EXPECT_EQ(id("Movies/a/b/c/clip.mp4x"), "<default>");
  EXPECT_EQ(id("x.raw"), "anyjpg");
  EXPECT_EQ(id("deep/down/x.raw"), "anyjpg");
  EXPECT_EQ(id(""), "root");
}

TEST(EngineTest, MalformedPathsAreDenied) {
  auto e = MustCompile(R"pb(default_action: ALLOW system_uids: 1000)pb");
  for (absl::string_view p : {"/a", "a/", "a//b", "./a", "a/../b", "..", "."}) {
    EXPECT_EQ(e->Decide(Req(5, p)).action, v1::DENY) << p;
    EXPECT_EQ(e->Decide(Req(0, p)).action, v1::DENY) << p;  // fail closed, even root
    EXPECT_TRUE(e->VisibilityMayVary(p)) << p;
  }
  EXPECT_EQ(e->Decide(Req(5, "a/b")).action, v1::ALLOW);
}

TEST(EngineTest, ClassMatcher) {
  auto e = MustCompile(R"pb(
    default_action: DENY
    rules { id: "img" classes: IMAGE action: ALLOW }
    rules { id: "dir" classes: DIRECTORY action: HIDE }
    rules { id: "doc" classes: DOCUMENT classes: AUDIO action: DENY audit: false }
    rules { id: "other" classes: OTHER action: ALLOW_REDACTED redaction_profile: "p" }
    redaction_profiles { name: "p" exif_gps: true }
  )pb");
  EXPECT_EQ(RuleId(e->Decide(Req(5, "a/b.JPG"))), "img");
  EXPECT_EQ(RuleId(e->Decide(Req(5, "a/b.pdf"))), "doc");
  EXPECT_FALSE(e->Decide(Req(5, "a/b.pdf")).audit);
  EXPECT_TRUE(e->Decide(Req(5, "a/b.JPG")).audit);
  EXPECT_EQ(RuleId(e->Decide(Req(5, "a/b.mp3"))), "doc");
  Request r = Req(5, "a/b.jpg");
  r.is_dir = true;
  EXPECT_EQ(RuleId(e->Decide(r)), "dir");
  EXPECT_EQ(RuleId(e->Decide(Req(5, ""))), "dir");  // the root is a directory
  // Unknown extension: magic bytes.
  r = Req(5, "a/blob");
  r.head = "\xFF\xD8\xFF\xE0";
  EXPECT_EQ(RuleId(e->Decide(r)), "img");
  r.head = "";
  Verdict v = e->Decide(r);
  EXPECT_EQ(RuleId(v), "other");
  EXPECT_EQ(v.action, v1::ALLOW_REDACTED);
  ASSERT_NE(v.redaction_profile, nullptr);
  EXPECT_EQ(*v.redaction_profile, "p");
}

TEST(EngineTest, OperationMatcher) {
  auto e = MustCompile(R"pb(
    default_action: DENY
    rules { id: "ro" operations: LOOKUP operations: READ action: ALLOW }
    rules { id: "nodelete" operations: DELETE operations: RENAME action: HIDE }
  )pb");
  EXPECT_EQ(e->Decide(Req(5, "f", v1::LOOKUP)).action, v1::ALLOW);
  EXPECT_EQ(e->Decide(Req(5, "f", v1::READ)).action, v1::ALLOW);
  EXPECT_EQ(e->Decide(Req(5, "f", v1::WRITE)).action, v1::DENY);
  EXPECT_EQ(e->Decide(Req(5, "f", v1::CREATE)).action, v1::DENY);
  EXPECT_EQ(e->Decide(Req(5, "f", v1::SETATTR)).action, v1::DENY);
  EXPECT_EQ(e->Decide(Req(5, "f", v1::DELETE)).action, v1::HIDE);
  EXPECT_EQ(e->Decide(Req(5, "f", v1::RENAME)).action, v1::HIDE);
}

TEST(EngineTest, OwnerMatcher) {
  auto e = MustCompile(R"pb(
    default_action: HIDE
    rules { id: "mine" owner: CALLER action: ALLOW }
    rules { id: "theirs" owner: NOT_CALLER operations: WRITE action: DENY }
  )pb");
  Request r = Req(5, "f", v1::WRITE);
  r.caller_is_owner = true;
  EXPECT_EQ(RuleId(e->Decide(r)), "mine");
  r.caller_is_owner = false;
  EXPECT_EQ(RuleId(e->Decide(r)), "theirs");
  r.op = v1::READ;
  EXPECT_EQ(RuleId(e->Decide(r)), "<default>");
}

TEST(EngineTest, PermissionMatchers) {
  auto e = MustCompile(absl::StrCat(kApps, R"pb(
    rules { id: "full" require_permissions: "media" require_permissions: "loc" action: ALLOW }
    rules { id: "redact" require_permissions: "media" lacking_permissions: "loc"
            action: ALLOW_REDACTED redaction_profile: "location" }
    rules { id: "nomedia" lacking_permissions: "media" action: HIDE }
  )pb"));
  EXPECT_EQ(RuleId(e->Decide(Req(1001, "x"))), "full");    // alice: media, loc
  EXPECT_EQ(RuleId(e->Decide(Req(1002, "x"))), "redact");  // bob: media
  EXPECT_EQ(RuleId(e->Decide(Req(1003, "x"))), "nomedia"); // carol: nothing
  // No app: holds no permission at all.
  EXPECT_EQ(RuleId(e->Decide(Req(4242, "x"))), "nomedia");
}

TEST(EngineTest, Placeholders) {
  auto e = MustCompile(R"pb(
    default_action: DENY
    android_uid_scheme: true
    apps { name: "com.a" android_app_ids: 10001 }
    apps { name: "com.b" android_app_ids: 10002 }
    rules { id: "own" paths: "Android/data/{app}/" action: ALLOW }
    rules { id: "user" paths: "users/{user}/*" action: ALLOW }
    rules { id: "mixed" paths: "cache/x-{app}-{user}.tmp" action: ALLOW }
    rules { id: "other" paths: "Android/data/*/" action: HIDE }
  )pb");
  auto id = [&](uint32_t uid, absl::string_view path) { return RuleId(e->Decide(Req(uid, path))); };
  EXPECT_EQ(id(10001, "Android/data/com.a"), "own");
  EXPECT_EQ(id(10001, "Android/data/com.a/files/x"), "own");
  EXPECT_EQ(id(10001, "Android/data/com.b/files/x"), "other");
  EXPECT_EQ(id(10002, "Android/data/com.b/files/x"), "own");
  EXPECT_EQ(id(1510001, "Android/data/com.a/x"), "own");  // user 15, same app
  EXPECT_EQ(id(10009, "Android/data/com.a/x"), "other");  // not an app: {app} never matches
  EXPECT_EQ(id(10001, "users/0/f"), "user");
  EXPECT_EQ(id(10001, "users/1/f"), "<default>");
  EXPECT_EQ(id(1510001, "users/15/f"), "user");
  EXPECT_EQ(id(10009, "users/0/f"), "user");  // {user} works without an app
  EXPECT_EQ(id(1510002, "cache/x-com.b-15.tmp"), "mixed");
  EXPECT_EQ(id(1510002, "cache/x-com.a-15.tmp"), "<default>");
}

TEST(EngineTest, UserIsZeroWithoutAndroidScheme) {
  auto e = MustCompile(R"pb(default_action: DENY
                            apps { name: "a" uids: 1510001 }
                            rules { id: "u" paths: "u/{user}/" action: ALLOW })pb");
  EXPECT_EQ(e->Decide(Req(1510001, "u/0/x")).action, v1::ALLOW);
  EXPECT_EQ(e->Decide(Req(1510001, "u/15/x")).action, v1::DENY);
}

TEST(EngineTest, AndroidScheme) {
  auto e = MustCompile(R"pb(
    default_action: DENY
    android_uid_scheme: true
    apps { name: "exact" uids: 1010002 }
    apps { name: "byid" android_app_ids: 10002 }
    apps { name: "bygid" gids: 3003 }
    rules { id: "r" apps: "byid" action: ALLOW }
    rules { id: "e" apps: "exact" action: HIDE }
  )pb");
  EXPECT_EQ(*e->Decide(Req(10002, "x")).app, "byid");
  EXPECT_EQ(*e->Decide(Req(2010002, "x")).app, "byid");
  EXPECT_EQ(*e->Decide(Req(1010002, "x")).app, "exact");  // uids before app ids
  Request r = Req(1010002 + 1, "x");
  r.gid = 3003;
  EXPECT_EQ(*e->Decide(r).app, "bygid");
  r.uid = 2010002;
  EXPECT_EQ(*e->Decide(r).app, "bygid");  // gids before app ids
  EXPECT_EQ(e->Decide(Req(10003, "x")).app, nullptr);
}

TEST(EngineTest, RootAndSystemUidsBypass) {
  auto e = MustCompile(R"pb(default_action: HIDE
                            system_uids: 1000
                            apps { name: "a" uids: 1001 }
                            rules { id: "h" action: DENY })pb");
  for (uint32_t uid : {0u, 1000u}) {
    Verdict v = e->Decide(Req(uid, "any/thing", v1::DELETE));
    EXPECT_EQ(v.action, v1::ALLOW) << uid;
    EXPECT_EQ(v.rule_index, -1);
    EXPECT_EQ(v.rule_id, nullptr);
    EXPECT_EQ(e->Explain(Req(uid, "x")).reason(), "system uid");
  }
  EXPECT_EQ(e->Decide(Req(1001, "x")).action, v1::DENY);
  // Root's gid does not make an app root.
  Request r = Req(1001, "x");
  r.gid = 0;
  EXPECT_EQ(e->Decide(r).action, v1::DENY);
}

TEST(EngineTest, ExplainByAppName) {
  auto e = MustCompile(absl::StrCat(kApps, R"pb(
    rules { id: "media-redact" paths: "DCIM/" classes: IMAGE require_permissions: "media"
            lacking_permissions: "loc" action: ALLOW_REDACTED redaction_profile: "location" }
    rules { id: "bob" apps: "bob" action: ALLOW audit: false }
  )pb"), 42);
  const std::string bob = "bob";
  Request r = Req(0, "DCIM/a.jpg");  // uid 0: ignored with an app name
  r.app_name = &bob;
  v1::Decision d = e->Explain(r);
  EXPECT_EQ(d.action(), v1::ALLOW_REDACTED);
  EXPECT_EQ(d.rule_id(), "media-redact");
  EXPECT_EQ(d.rule_index(), 0);
  EXPECT_EQ(d.redaction_profile(), "location");
  EXPECT_EQ(d.app(), "bob");
  EXPECT_EQ(d.generation(), 42u);
  EXPECT_TRUE(d.audit());
  EXPECT_EQ(d.reason(),
            "rule 'media-redact' matched: app bob holds media, lacks loc; "
            "path 'DCIM/a.jpg' matches 'DCIM/'; class IMAGE");

  r.path = "x";
  d = e->Explain(r);
  EXPECT_EQ(d.reason(), "rule 'bob' matched: caller is app bob");
  EXPECT_FALSE(d.audit());

  const std::string ghost = "ghost";
  r.app_name = &ghost;
  d = e->Explain(r);
  EXPECT_EQ(d.action(), v1::DENY);
  EXPECT_EQ(d.rule_index(), -1);
  EXPECT_EQ(d.rule_id(), "");
  EXPECT_EQ(d.reason(), "no rule matched: default action DENY; app 'ghost' is not configured");

  d = e->Explain(Req(4242, "x"));
  EXPECT_EQ(d.reason(), "no rule matched: default action DENY; caller is no configured app");
  d = e->Explain(Req(5, "a//b"));
  EXPECT_EQ(d.action(), v1::DENY);
  EXPECT_NE(d.reason().find("malformed path"), std::string::npos);
}

TEST(EngineTest, CompileErrorsAndGeneration) {
  v1::Policy p;
  p.add_rules()->set_action(v1::ALLOW_REDACTED);
  p.mutable_rules(0)->add_paths("a/[b");
  auto e = Engine::Compile(p, 3);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(e.status().message(),
            "default_action: must be set (ALLOW, ALLOW_REDACTED, DENY or HIDE); "
            "rules[0].id: must be set; rules[0].paths[0]: unbalanced '['; "
            "rules[0].redaction_profile: ALLOW_REDACTED needs a redaction_profile");

  p.set_default_action(v1::DENY);
  p.set_generation(99);  // ignored: Compile's generation wins
  p.mutable_rules(0)->set_id("r");
  p.mutable_rules(0)->set_paths(0, "a/b");
  p.mutable_rules(0)->set_action(v1::ALLOW);
  e = Engine::Compile(p, 3);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ((*e)->generation(), 3u);
  EXPECT_EQ((*e)->policy().generation(), 3u);
  EXPECT_EQ((*e)->policy().rules(0).id(), "r");
}

TEST(EngineTest, VisibilityMayVary) {
  auto e = MustCompile(R"pb(
    default_action: ALLOW
    apps { name: "a" uids: 1001 }
    rules { id: "pub" paths: "public/" operations: LOOKUP action: ALLOW }
    rules { id: "hide" apps: "a" paths: "public/x/", paths: "secret/" action: HIDE }
    rules { id: "w" paths: "ro/" operations: WRITE action: DENY }
  )pb");
  EXPECT_TRUE(e->VisibilityMayVary(""));  // secret/ below
  EXPECT_FALSE(e->VisibilityMayVary("public"));
  EXPECT_FALSE(e->VisibilityMayVary("public/x/y"));  // shadowed by "pub"
  EXPECT_TRUE(e->VisibilityMayVary("secret"));
  EXPECT_TRUE(e->VisibilityMayVary("secret/deep/file"));
  EXPECT_FALSE(e->VisibilityMayVary("other/file"));
  EXPECT_FALSE(e->VisibilityMayVary("ro/file"));  // WRITE rules don't matter

  // A default other than ALLOW: root always gets ALLOW, so everything varies.
  auto d = MustCompile(R"pb(default_action: DENY
                            rules { id: "all" paths: "open/" action: ALLOW })pb");
  EXPECT_TRUE(d->VisibilityMayVary("closed"));
  EXPECT_FALSE(d->VisibilityMayVary("open"));
  EXPECT_FALSE(d->VisibilityMayVary("open/a/b"));
  EXPECT_TRUE(d->VisibilityMayVary(""));
}

TEST(EngineTest, DecideDoesNotAllocate) {
  auto e = MustCompile(absl::StrCat(kApps, R"pb(
    system_uids: 1000
    rules { id: "a" apps: "alice" paths: "Android/data/{app}/" action: ALLOW }
    rules { id: "b" paths: "DCIM/" paths: "**/*.jpg" classes: IMAGE action: ALLOW_REDACTED
            redaction_profile: "location" require_permissions: "media" }
    rules { id: "c" paths: "x/[a-c]*/y?/" action: HIDE }
    rules { id: "o" owner: CALLER action: ALLOW }
  )pb"));
  const char* paths[] = {"", "Android/data/alice/files/a.db", "DCIM/Camera/IMG_1.jpg",
                         "x/b/y1/z", "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p", "a//b"};
  int sink = 0;
  const long before = g_allocations.load();
  for (uint32_t uid : {0u, 1000u, 1001u, 1002u, 4242u}) {
    for (const char* path : paths) {
      for (bool owner : {false, true}) {
        Request r = Req(uid, path);
        r.caller_is_owner = owner;
        r.head = "\xFF\xD8\xFF";
        sink += e->Decide(r).action;
      }
    }
  }
  EXPECT_EQ(g_allocations.load() - before, 0);
  EXPECT_GT(sink, 0);
  // The counter works: Explain does allocate.
  const long explain_before = g_allocations.load();
  EXPECT_FALSE(e->Explain(Req(1001, "DCIM/a.jpg")).reason().empty());
  EXPECT_GT(g_allocations.load() - explain_before, 0);
}

TEST(EngineTest, ConcurrentDecide) {
  auto e = MustCompile(absl::StrCat(kApps, R"pb(
    rules { id: "a" apps: "alice" paths: "a/" action: ALLOW }
    rules { id: "b" paths: "**/*.jpg" classes: IMAGE action: HIDE }
  )pb"));
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20000; ++i) {
        Verdict v = e->Decide(Req(t % 2 ? 1001 : 1002, (i % 2) ? "a/x.jpg" : "b/x.jpg"));
        const v1::Action want = (t % 2 && i % 2) ? v1::ALLOW : v1::HIDE;
        if (v.action != want) ++wrong;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

// ---------------------------------------------------------------------------
// The index against a naive evaluator.

// Glob on one component, by plain recursion (an independent implementation).
bool NaiveGlob(absl::string_view p, absl::string_view s) {
  if (p.empty()) return s.empty();
  if (p[0] == '*') {
    for (size_t k = 0; k <= s.size(); ++k)
      if (NaiveGlob(p.substr(1), s.substr(k))) return true;
    return false;
  }
  if (s.empty()) return false;
  if (p[0] == '?') return NaiveGlob(p.substr(1), s.substr(1));
  if (p[0] == '[') {
    size_t i = 1;
    bool neg = false;
    if (i < p.size() && (p[i] == '!' || p[i] == '^')) {
      neg = true;
      ++i;
    }
    bool in = false;
    bool first = true;
    while (i < p.size() && (first || p[i] != ']')) {
      first = false;
      if (i + 2 < p.size() && p[i + 1] == '-' && p[i + 2] != ']') {
        if (s[0] >= p[i] && s[0] <= p[i + 2]) in = true;
        i += 3;
      } else {
        if (s[0] == p[i]) in = true;
        ++i;
      }
    }
    return in != neg && NaiveGlob(p.substr(i + 1), s.substr(1));
  }
  return p[0] == s[0] && NaiveGlob(p.substr(1), s.substr(1));
}

bool NaiveComponents(const std::vector<std::string>& pc, size_t ci,
                     const std::vector<std::string>& sc, size_t si) {
  if (ci == pc.size()) return si == sc.size();
  if (pc[ci] == "**") {
    for (size_t k = si; k <= sc.size(); ++k)
      if (NaiveComponents(pc, ci + 1, sc, k)) return true;
    return false;
  }
  return si < sc.size() && NaiveGlob(pc[ci], sc[si]) && NaiveComponents(pc, ci + 1, sc, si + 1);
}

std::vector<std::string> SplitPath(absl::string_view path) {
  if (path.empty()) return {};
  return absl::StrSplit(path, '/');
}

bool NaivePathMatch(std::string pattern, absl::string_view path, const std::string& app,
                    const std::string& user) {
  if (pattern.empty()) return path.empty();
  if (pattern.find("{app}") != std::string::npos && app.empty()) return false;
  for (auto [ph, value] : {std::pair<std::string, std::string>{"{app}", app}, {"{user}", user}}) {
    for (size_t pos; (pos = pattern.find(ph)) != std::string::npos;) {
      pattern.replace(pos, ph.size(), value);
    }
  }
  if (pattern.back() == '/') pattern += "**";
  const std::vector<std::string> comps = absl::StrSplit(pattern, '/');
  return NaiveComponents(comps, 0, SplitPath(path), 0);
}

struct NaiveVerdict {
  v1::Action action;
  int rule_index;
};

NaiveVerdict NaiveDecide(const v1::Policy& p, const Request& req) {
  for (const auto& c : SplitPath(req.path)) {
    if (c.empty() || c == "." || c == "..") return {v1::DENY, -1};
  }
  int app = -1;
  if (req.app_name) {
    for (int i = 0; i < p.apps_size(); ++i)
      if (p.apps(i).name() == *req.app_name) app = i;
  } else {
    if (req.uid == 0) return {v1::ALLOW, -1};
    for (uint32_t s : p.system_uids())
      if (s == req.uid) return {v1::ALLOW, -1};
    for (int i = 0; i < p.apps_size() && app < 0; ++i) {
      for (uint32_t u : p.apps(i).uids())
        if (u == req.uid) app = i;
    }
    for (int i = 0; i < p.apps_size() && app < 0; ++i) {
      for (uint32_t g : p.apps(i).gids())
        if (g == req.gid) app = i;
    }
    for (int i = 0; i < p.apps_size() && app < 0 && p.android_uid_scheme(); ++i) {
      for (uint32_t id : p.apps(i).android_app_ids())
        if (id == req.uid % 100000) app = i;
    }
  }
  const std::string app_name = app >= 0 ? p.apps(app).name() : "";
  const std::string user = absl::StrCat(p.android_uid_scheme() ? req.uid / 100000 : 0);
  auto holds = [&](const std::string& perm) {
    if (app < 0) return false;
    const auto& perms = p.apps(app).permissions();
    return std::find(perms.begin(), perms.end(), perm) != perms.end();
  };
  const std::vector<std::string> parts = SplitPath(req.path);
  const v1::FileClass cls =
      ClassifyFile(parts.empty() ? "" : parts.back(), req.is_dir || parts.empty(), req.head);
  for (int i = 0; i < p.rules_size(); ++i) {
    const v1::Rule& r = p.rules(i);
    if (r.apps_size() > 0 &&
        std::find(r.apps().begin(), r.apps().end(), app_name) == r.apps().end()) {
      continue;
    }
    if (r.apps_size() > 0 && app < 0) continue;
    if (r.paths_size() > 0 &&
        std::none_of(r.paths().begin(), r.paths().end(), [&](const std::string& pat) {
          return NaivePathMatch(pat, req.path, app_name, user);
        })) {
      continue;
    }
    if (r.classes_size() > 0 &&
        std::find(r.classes().begin(), r.classes().end(), cls) == r.classes().end()) {
      continue;
    }
    if (r.operations_size() > 0 &&
        std::find(r.operations().begin(), r.operations().end(), req.op) == r.operations().end()) {
      continue;
    }
    if (r.owner() == v1::CALLER && !req.caller_is_owner) continue;
    if (r.owner() == v1::NOT_CALLER && req.caller_is_owner) continue;
    if (!std::all_of(r.require_permissions().begin(), r.require_permissions().end(), holds)) {
      continue;
    }
    if (std::any_of(r.lacking_permissions().begin(), r.lacking_permissions().end(), holds)) {
      continue;
    }
    return {r.action(), i};
  }
  return {p.default_action(), -1};
}

class RandomPolicies {
 public:
  explicit RandomPolicies(uint32_t seed) : rng_(seed) {}

  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool Chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  template <typename T>
  const T& Pick(const std::vector<T>& v) { return v[Int(0, static_cast<int>(v.size()) - 1)]; }

  const std::vector<std::string> kNames = {"a", "b", "DCIM", "Android", "data", "x.jpg",
                                           "y.mp4", "z.txt", "0", "1", "app1", "com.x.app2"};
  const std::vector<std::string> kGlobs = {"*", "?", "*.jpg", "[ab]", "[!a]*", "{app}",
                                           "{user}", "pre{app}", "*{user}*", "**", "[0-1]",
                                           "a*", "*a*b"};
  const std::vector<std::string> kPerms = {"p0", "p1", "p2"};

  std::string Pattern() {
    if (Chance(0.05)) return "";
    int n = Int(1, 4);
    std::vector<std::string> comps;
    for (int i = 0; i < n; ++i) comps.push_back(Chance(0.6) ? Pick(kNames) : Pick(kGlobs));
    std::string s = absl::StrJoin(comps, "/");
    if (Chance(0.4)) s += "/";
    return s;
  }

  v1::Policy Policy() {
    v1::Policy p;
    p.set_android_uid_scheme(Chance(0.5));
    if (Chance(0.5)) p.add_system_uids(1000);
    const int napps = Int(0, 6);
    for (int i = 0; i < napps; ++i) {
      v1::App* a = p.add_apps();
      a->set_name(i % 2 ? absl::StrCat("com.x.app", i) : absl::StrCat("app", i));
      if (Chance(0.7)) a->add_uids(10000 + i);
      if (Chance(0.4)) a->add_gids(20000 + i);
      if (p.android_uid_scheme() && Chance(0.7)) a->add_android_app_ids(30000 + i);
      for (const auto& perm : kPerms)
        if (Chance(0.4)) a->add_permissions(perm);
    }
    p.add_redaction_profiles()->set_name("loc");
    const v1::Action actions[] = {v1::ALLOW, v1::DENY, v1::HIDE, v1::ALLOW_REDACTED};
    p.set_default_action(actions[Int(0, 2)]);
    const int nrules = Int(0, 40);
    for (int i = 0; i < nrules; ++i) {
      v1::Rule* r = p.add_rules();
      r->set_id(absl::StrCat("r", i));
      if (napps > 0 && Chance(0.3)) {
        for (int a = 0; a < napps; ++a)
          if (Chance(0.4)) r->add_apps(p.apps(a).name());
      }
      int npaths = Chance(0.15) ? 0 : Int(1, 3);
      for (int j = 0; j < npaths; ++j) r->add_paths(Pattern());
      if (Chance(0.25)) {
        for (int c = v1::IMAGE; c <= v1::OTHER; ++c)
          if (Chance(0.4)) r->add_classes(static_cast<v1::FileClass>(c));
      }
      if (Chance(0.5)) {
        for (int op = v1::LOOKUP; op <= v1::SETATTR; ++op)
          if (Chance(0.4)) r->add_operations(static_cast<v1::Operation>(op));
      }
      if (Chance(0.2)) r->set_owner(Chance(0.5) ? v1::CALLER : v1::NOT_CALLER);
      for (const auto& perm : kPerms) {
        if (Chance(0.1)) {
          r->add_require_permissions(perm);
        } else if (Chance(0.1)) {
          r->add_lacking_permissions(perm);
        }
      }
      r->set_action(actions[Int(0, 3)]);
      if (r->action() == v1::ALLOW_REDACTED) r->set_redaction_profile("loc");
      if (Chance(0.2)) r->set_audit(false);
    }
    return p;
  }

  std::string Path(const v1::Policy& p, int max_depth = 5) {
    int n = Int(0, max_depth);
    std::vector<std::string> comps;
    for (int i = 0; i < n; ++i) {
      if (p.apps_size() > 0 && Chance(0.15)) {
        comps.push_back(p.apps(Int(0, p.apps_size() - 1)).name());
      } else {
        comps.push_back(Chance(0.8) ? Pick(kNames) : Pick(std::vector<std::string>{
                                                          "aa", "ab", "c", "prex", "2", "x.JPG",
                                                          "ab.jpg", "15", "a0b"}));
      }
    }
    return absl::StrJoin(comps, "/");
  }

  uint32_t Uid(const v1::Policy& p) {
    switch (Int(0, 5)) {
      case 0: return Chance(0.5) ? 0 : 1000;
      case 1: return 10000 + Int(0, 6);
      case 2: return Int(0, 20) * 100000 + 30000 + Int(0, 6);  // android app ids, users
      case 3: return 15 * 100000 + 10000 + Int(0, 6);
      default: return static_cast<uint32_t>(Int(1, 5000000));
    }
  }

  std::mt19937 rng_;
};

TEST(EngineIndexTest, MatchesNaiveEvaluator) {
  RandomPolicies gen(20240607);
  int checked = 0, matched_rule = 0;
  for (int iter = 0; iter < 1500; ++iter) {
    const v1::Policy p = gen.Policy();
    ASSERT_TRUE(ValidatePolicy(p).empty())
        << FormatPolicyErrors(ValidatePolicy(p)) << "\n" << PolicyToText(p);
    auto compiled = Engine::Compile(p, 1);
    ASSERT_TRUE(compiled.ok()) << compiled.status();
    const Engine& e = **compiled;
    std::vector<std::string> names;
    for (const auto& a : p.apps()) names.push_back(a.name());
    names.push_back("nobody");
    for (int k = 0; k < 200; ++k) {
      const std::string path = gen.Path(p);
      Request req;
      req.uid = gen.Uid(p);
      req.gid = gen.Chance(0.3) ? 20000 + gen.Int(0, 6) : req.uid;
      req.path = path;
      req.op = static_cast<v1::Operation>(gen.Int(v1::LOOKUP, v1::SETATTR));
      req.is_dir = gen.Chance(0.3);
      req.caller_is_owner = gen.Chance(0.3);
      if (gen.Chance(0.2)) req.head = "\xFF\xD8\xFF\xE0";
      std::string app_name;
      if (gen.Chance(0.1)) {
        app_name = gen.Pick(names);
        req.app_name = &app_name;
      }
      const NaiveVerdict want = NaiveDecide(p, req);
      const Verdict got = e.Decide(req);
      ASSERT_EQ(got.action, want.action)
          << "path '" << path << "' uid " << req.uid << " gid " << req.gid << " op "
          << v1::Operation_Name(req.op) << " rule " << got.rule_index << " want "
          << want.rule_index << "\n" << PolicyToText(p);
      ASSERT_EQ(got.rule_index, want.rule_index)
          << "path '" << path << "' uid " << req.uid << "\n" << PolicyToText(p);
      if (want.rule_index >= 0) {
        ++matched_rule;
        ASSERT_NE(got.rule_id, nullptr);
        EXPECT_EQ(*got.rule_id, p.rules(want.rule_index).id());
      }
      // Explain agrees with Decide.
      if (k % 10 == 0) {
        v1::Decision d = e.Explain(req);
        EXPECT_EQ(d.action(), got.action);
        EXPECT_EQ(d.rule_index(), got.rule_index);
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 1500 * 200);
  // The generator exercises rules, not only defaults.
  EXPECT_GT(matched_rule, checked / 4);
}

TEST(EngineIndexTest, VisibilityMayVaryIsConservative) {
  RandomPolicies gen(777);
  int stable = 0;
  for (int iter = 0; iter < 1500; ++iter) {
    v1::Policy p = gen.Policy();
    if (iter % 3 == 0) p.set_default_action(v1::ALLOW);  // more non-varying regions
    auto compiled = Engine::Compile(p, 1);
    ASSERT_TRUE(compiled.ok()) << compiled.status();
    const Engine& e = **compiled;
    for (int k = 0; k < 20; ++k) {
      const std::string path = gen.Path(p, 3);
      if (e.VisibilityMayVary(path)) continue;
      ++stable;
      // Every caller gets ALLOW for LOOKUP at and below `path`.
      for (int j = 0; j < 60; ++j) {
        std::string below = gen.Path(p, 2);
        std::string full = path.empty() ? below
                           : below.empty() ? path
                                           : absl::StrCat(path, "/", below);
        Request req;
        req.uid = gen.Uid(p);
        req.gid = gen.Chance(0.3) ? 20000 + gen.Int(0, 6) : req.uid;
        req.path = full;
        req.op = v1::LOOKUP;
        req.is_dir = gen.Chance(0.5);
        req.caller_is_owner = gen.Chance(0.5);
        if (gen.Chance(0.3)) req.head = "%PDF-1.4";
        ASSERT_EQ(e.Decide(req).action, v1::ALLOW)
            << "VisibilityMayVary('" << path << "') is false but '" << full << "' uid "
            << req.uid << " gets " << v1::Action_Name(e.Decide(req).action) << "\n"
            << PolicyToText(p);
      }
    }
  }
  EXPECT_GT(stable, 100);  // the test checks something
}

// Found by //fuzz:admin_fuzz: ExplainRequest.operation is an open enum, so
// the admin API can hand the engine any int. An unknown operation is in no
// rule's operation list (it used to be a shift by >= 32: undefined, and on
// x86 operation 34 matched rules for READ, 2 = 34 % 32).
TEST(EngineTest, UnknownOperationMatchesNoOperationList) {
  auto e = MustCompile(absl::StrCat(kApps, R"pb(
    rules { id: "read" operations: READ action: ALLOW }
    rules { id: "any-op" paths: "Any/" action: HIDE }
  )pb"));
  ASSERT_NE(e, nullptr);
  for (int op : {34, 66, 1000000, -30, -1}) {
    Request r = Req(1001, "DCIM/a.jpg", static_cast<v1::Operation>(op));
    Verdict v = e->Decide(r);
    EXPECT_EQ(v.action, v1::DENY) << op;
    EXPECT_EQ(RuleId(v), "<default>") << op;
    EXPECT_EQ(e->Explain(r).action(), v1::DENY) << op;
    // Rules without an operation list still apply.
    r.path = "Any/x";
    EXPECT_EQ(RuleId(e->Decide(r)), "any-op") << op;
  }
  EXPECT_EQ(RuleId(e->Decide(Req(1001, "DCIM/a.jpg", v1::READ))), "read");
}

}  // namespace
}  // namespace scopedfs::policy
