// Engine::EntryVisibilityMayVary and Engine::ListingMayVary: the answers under
// the default policy, and over many random policies a brute-force check that
// "does not vary" is never wrong for a large pool of concrete callers.
//
// SCOPEDFS_VARIANCE_CASES=<n> sets the number of random policies (default
// 2000).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "policy/default_policy.h"
#include "policy/engine.h"
#include "policy/policy_text.h"
#include "policy/validate.h"

// Counts heap allocations, for EntryQueryDoesNotAllocate.
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

std::shared_ptr<const Engine> MustCompile(absl::string_view text) {
  auto parsed = ParsePolicyText(text);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  if (!parsed.ok()) return nullptr;
  auto engine = Engine::Compile(*parsed, 1);
  EXPECT_TRUE(engine.ok()) << engine.status();
  return engine.ok() ? *engine : nullptr;
}

EntryQuery Entry(absl::string_view parent, absl::string_view name, bool is_dir = false,
                 std::optional<uint32_t> parent_owner = std::nullopt,
                 std::optional<uint32_t> child_owner = std::nullopt) {
  EntryQuery q;
  q.parent = parent;
  q.name = name;
  q.is_dir = is_dir;
  q.parent_owner = parent_owner;
  q.child_owner = child_owner;
  return q;
}

std::string Describe(const EntryQuery& q) {
  return absl::StrCat("entry '", q.name, "' of '", q.parent, "' dir ", q.is_dir, " class ",
                      v1::FileClass_Name(q.content_class), " parent_owner ",
                      q.parent_owner ? absl::StrCat(*q.parent_owner) : "-", " child_owner ",
                      q.child_owner ? absl::StrCat(*q.child_owner) : "-");
}

// The visibility classes of a LOOKUP verdict.
enum class Vis { kVisible, kDenied, kHidden };
Vis VisOf(v1::Action a) {
  switch (a) {
    case v1::ALLOW:
    case v1::ALLOW_REDACTED:
      return Vis::kVisible;
    case v1::HIDE:
      return Vis::kHidden;
    default:
      return Vis::kDenied;
  }
}
const char* VisName(Vis v) {
  return v == Vis::kVisible ? "VISIBLE" : v == Vis::kHidden ? "HIDDEN" : "DENIED";
}

struct Caller {
  uint32_t uid, gid;
};

Vis Lookup(const Engine& e, const Caller& c, absl::string_view path, bool is_dir,
           v1::FileClass content_class, std::optional<uint32_t> owner) {
  Request r;
  r.uid = c.uid;
  r.gid = c.gid;
  r.path = path;
  r.op = v1::LOOKUP;
  r.is_dir = is_dir;
  r.content_class = content_class;
  r.caller_is_owner = owner.has_value() && *owner == c.uid;
  return VisOf(e.Decide(r).action);
}

// The brute force: an empty string when (a) and (b) of EntryVisibilityMayVary
// hold over `callers` (the entry does not vary for them), else why not.
std::string EntryVariesOver(const Engine& e, const EntryQuery& q,
                            const std::vector<Caller>& callers) {
  const std::string child =
      q.parent.empty() ? std::string(q.name) : absl::StrCat(q.parent, "/", q.name);
  std::optional<Vis> among_viewers;
  std::optional<bool> hidden;
  Caller viewer{}, seen{};
  for (const Caller& c : callers) {
    const Vis cv = Lookup(e, c, child, q.is_dir, q.content_class, q.child_owner);
    const bool h = cv == Vis::kHidden;
    if (hidden.has_value() && *hidden != h) {
      return absl::StrCat("(b) uid ", c.uid, " gid ", c.gid, " gets ", VisName(cv), ", uid ",
                          seen.uid, " gid ", seen.gid, " does not");
    }
    hidden = h;
    seen = c;
    if (Lookup(e, c, q.parent, true, v1::FILE_CLASS_UNSPECIFIED, q.parent_owner) !=
        Vis::kVisible) {
      continue;
    }
    if (among_viewers.has_value() && *among_viewers != cv) {
      return absl::StrCat("(a) parent viewers uid ", c.uid, " gid ", c.gid, " gets ",
                          VisName(cv), ", uid ", viewer.uid, " gid ", viewer.gid, " gets ",
                          VisName(*among_viewers));
    }
    among_viewers = cv;
    viewer = c;
  }
  return "";
}

// ---------------------------------------------------------------------------
// The default policy.

class DefaultPolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    engine_ = MustCompile(DefaultPolicyText());
    ASSERT_NE(engine_, nullptr);
  }
  const Engine& e() const { return *engine_; }
  std::shared_ptr<const Engine> engine_;
};

constexpr uint32_t kGallery10 = 1010001;  // media, media_location; user 10
constexpr uint32_t kSocial0 = 10002;      // media
constexpr uint32_t kNotes10 = 1010003;    // no permission

TEST_F(DefaultPolicyTest, MediaFiles) {
  // Media apps see it, the others cannot look up DCIM/Camera at all.
  EXPECT_FALSE(e().EntryVisibilityMayVary(Entry("DCIM/Camera", "IMG_1.jpg")));
  EXPECT_FALSE(e().EntryVisibilityMayVary(Entry("DCIM/Camera", "IMG_20240607_123456.jpg")));
  EXPECT_FALSE(e().EntryVisibilityMayVary(Entry("DCIM", "Camera", true)));
  EXPECT_FALSE(e().EntryVisibilityMayVary(Entry("Pictures/a/b", "c.txt")));
  // Owned by a media app (which sees it anyway) or in its directory.
  EXPECT_FALSE(
      e().EntryVisibilityMayVary(Entry("DCIM/Camera", "IMG_1.jpg", false, {}, kGallery10)));
  EXPECT_FALSE(
      e().EntryVisibilityMayVary(Entry("DCIM/Camera", "IMG_1.jpg", false, kGallery10, {})));
  EXPECT_FALSE(e().EntryVisibilityMayVary(
      Entry("DCIM/Camera", "IMG_1.jpg", false, kGallery10, kSocial0)));
  // The content class does not matter for LOOKUP here.
  EntryQuery q = Entry("DCIM/Camera", "IMG_1.jpg");
  for (int c = v1::FILE_CLASS_UNSPECIFIED; c <= v1::SPECIAL; ++c) {
    q.content_class = static_cast<v1::FileClass>(c);
    EXPECT_FALSE(e().EntryVisibilityMayVary(q)) << c;
  }
}

TEST_F(DefaultPolicyTest, OwnerWithoutMedia) {
  // notes (no "media") may look up its own directory in DCIM/Camera but is
  // denied the others' files in it, which media apps see.
  EXPECT_TRUE(
      e().EntryVisibilityMayVary(Entry("DCIM/Camera", "IMG_1.jpg", false, kNotes10, {})));
  // Its own file in its own directory: it sees it like the media apps.
  EXPECT_FALSE(e().EntryVisibilityMayVary(
      Entry("DCIM/Camera", "IMG_1.jpg", false, kNotes10, kNotes10)));
  // Its own file in somebody else's directory: it cannot reach it by name.
  EXPECT_FALSE(
      e().EntryVisibilityMayVary(Entry("DCIM/Camera", "IMG_1.jpg", false, {}, kNotes10)));
  // Its own file somewhere no app may look: only the owner (and root) see it,
  // and nobody else can look up the parent.
  EXPECT_FALSE(e().EntryVisibilityMayVary(Entry("Other/dir", "x.txt", false, {}, kNotes10)));
  // ...its own directory there: the owner sees it, and is DENIED the others'.
  EXPECT_TRUE(
      e().EntryVisibilityMayVary(Entry("Other/dir", "x.txt", false, kNotes10, {})));
  // The same app of another Android user does not own it.
  EXPECT_TRUE(e().EntryVisibilityMayVary(
      Entry("DCIM/Camera", "IMG_1.jpg", false, kNotes10, kNotes10 + 100000)));
}

TEST_F(DefaultPolicyTest, TopLevel) {
  // Everyone looks up the root; DCIM is DENIED to apps without "media".
  EXPECT_TRUE(e().EntryVisibilityMayVary(Entry("", "DCIM", true)));
  EXPECT_TRUE(e().EntryVisibilityMayVary(Entry("", "notes.txt")));
  // Android/, Android/data and Android/obb: ALLOW for everyone.
  EXPECT_FALSE(e().EntryVisibilityMayVary(Entry("", "Android", true)));
  EXPECT_FALSE(e().EntryVisibilityMayVary(Entry("Android", "data", true)));
  EXPECT_FALSE(e().EntryVisibilityMayVary(Entry("Android", "obb", true)));
  // Android/media: DENY for every app, and everyone may look up Android.
  EXPECT_TRUE(e().EntryVisibilityMayVary(Entry("Android", "media", true)));
}

TEST_F(DefaultPolicyTest, AppPrivateDirectories) {
  // Android/data/10: ALLOW for callers of user 10, HIDE for the others
  // ("app-private-hide": Android/data/*/).
  EXPECT_TRUE(e().EntryVisibilityMayVary(Entry("Android/data", "10", true)));
  EXPECT_TRUE(e().EntryVisibilityMayVary(Entry("Android/data", "0", true)));
  EXPECT_TRUE(e().EntryVisibilityMayVary(Entry("Android/obb", "11", true)));
  // Not a user number: HIDE for everyone but root.
  EXPECT_TRUE(e().EntryVisibilityMayVary(Entry("Android/data", "com.example.gallery", true)));
  // The app's directory and what is in it: its app of that user only.
  EXPECT_TRUE(
      e().EntryVisibilityMayVary(Entry("Android/data/10", "com.example.gallery", true)));
  EXPECT_TRUE(e().EntryVisibilityMayVary(
      Entry("Android/data/10/com.example.gallery", "files", true, kGallery10, {})));
  EXPECT_TRUE(e().EntryVisibilityMayVary(
      Entry("Android/data/10/com.example.gallery/files", "a.jpg", false, {}, kGallery10)));
}

TEST_F(DefaultPolicyTest, Listings) {
  // The root's HIDE rules are filed two levels down (Android/data/*/).
  EXPECT_FALSE(e().ListingMayVary(""));
  EXPECT_FALSE(e().ListingMayVary("DCIM"));
  EXPECT_FALSE(e().ListingMayVary("DCIM/Camera"));
  EXPECT_FALSE(e().ListingMayVary("Pictures/a/b/c"));
  EXPECT_FALSE(e().ListingMayVary("Android"));  // data and obb: everyone sees them
  EXPECT_FALSE(e().ListingMayVary("Other"));
  // Users' and apps' directories are hidden from the others.
  EXPECT_TRUE(e().ListingMayVary("Android/data"));
  EXPECT_TRUE(e().ListingMayVary("Android/obb"));
  EXPECT_TRUE(e().ListingMayVary("Android/data/10"));
  EXPECT_TRUE(e().ListingMayVary("Android/data/10/com.example.gallery"));
  EXPECT_TRUE(e().ListingMayVary("Android/obb/0/com.example.notes/x"));
}

TEST_F(DefaultPolicyTest, MalformedPathsVary) {
  for (absl::string_view p : {"/a", "a/", "a//b", "./a", "a/../b", "..", "."}) {
    EXPECT_TRUE(e().ListingMayVary(p)) << p;
    EXPECT_TRUE(e().EntryVisibilityMayVary(Entry(p, "x"))) << p;
  }
  for (absl::string_view n : {"", ".", "..", "a/b", "/a"}) {
    EXPECT_TRUE(e().EntryVisibilityMayVary(Entry("DCIM", n))) << n;
  }
}

TEST_F(DefaultPolicyTest, EntryQueryDoesNotAllocateAndIsFast) {
  const EntryQuery queries[] = {
      Entry("DCIM/Camera", "IMG_1.jpg"),
      Entry("DCIM/Camera", "IMG_1.jpg", false, kGallery10, kSocial0),
      Entry("", "DCIM", true),
      Entry("Android", "data", true),
      Entry("Android/data/10", "com.example.gallery", true),
  };
  int sink = 0;
  long before = g_allocations.load();
  for (const EntryQuery& q : queries) sink += e().EntryVisibilityMayVary(q);
  for (const char* dir : {"", "DCIM/Camera", "Android/data/10"}) sink += e().ListingMayVary(dir);
  EXPECT_EQ(g_allocations.load() - before, 0);
  EXPECT_EQ(sink, 3);

  constexpr int kRounds = 200000;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kRounds; ++i) sink += e().EntryVisibilityMayVary(queries[0]);
  const auto mid = std::chrono::steady_clock::now();
  for (int i = 0; i < kRounds; ++i) sink += e().ListingMayVary("DCIM/Camera");
  const auto end = std::chrono::steady_clock::now();
  const double entry_ns =
      std::chrono::duration<double, std::nano>(mid - start).count() / kRounds;
  const double listing_ns =
      std::chrono::duration<double, std::nano>(end - mid).count() / kRounds;
  std::printf("default policy: EntryVisibilityMayVary(DCIM/Camera/IMG_1.jpg) %.0f ns, "
              "ListingMayVary(DCIM/Camera) %.0f ns\n",
              entry_ns, listing_ns);
  EXPECT_LT(entry_ns, 20000);  // generous: sanitizers, a busy machine
}

// ---------------------------------------------------------------------------
// Small policies.

TEST(VarianceTest, ListingShadowedByAnUnconditionalRule) {
  auto e = MustCompile(R"pb(
    default_action: HIDE
    apps { name: "a" uids: 1001 }
    rules { id: "open" paths: "open/*" operations: LOOKUP action: DENY }
    rules { id: "tree" paths: "tree/" action: ALLOW }
    rules { id: "secret" apps: "a" paths: "tree/s/*" action: HIDE }
    rules { id: "never" require_permissions: "none" paths: "x/*" action: HIDE }
  )pb");
  EXPECT_FALSE(e->ListingMayVary("open"));  // every child: DENY
  EXPECT_FALSE(e->ListingMayVary("tree/s"));  // "tree/" first
  EXPECT_FALSE(e->ListingMayVary("tree"));
  EXPECT_TRUE(e->ListingMayVary("open/x"));  // falls through to HIDE
  EXPECT_TRUE(e->ListingMayVary("x"));       // likewise (the rule needs a permission nobody has)
  EXPECT_TRUE(e->ListingMayVary(""));
}

TEST(VarianceTest, UserPlaceholders) {
  auto e = MustCompile(R"pb(
    default_action: DENY
    android_uid_scheme: true
    apps { name: "a" android_app_ids: 10001 }
    rules { id: "root" paths: "" paths: "u" action: ALLOW }
    rules { id: "mine" paths: "u/{user}/" action: ALLOW }
    rules { id: "all" paths: "u/*/pub/" action: ALLOW }
    rules { id: "theirs" paths: "u/*/" action: HIDE }
  )pb");
  EXPECT_TRUE(e->EntryVisibilityMayVary(Entry("u", "12", true)));
  EXPECT_TRUE(e->EntryVisibilityMayVary(Entry("u", "x", true)));
  EXPECT_FALSE(e->EntryVisibilityMayVary(Entry("u/12", "pub", true)));
  EXPECT_FALSE(e->EntryVisibilityMayVary(Entry("u/12/pub", "IMG_20240607_1.jpg")));
  EXPECT_TRUE(e->EntryVisibilityMayVary(Entry("u/12", "priv", true)));
  EXPECT_TRUE(e->ListingMayVary("u"));
  EXPECT_TRUE(e->ListingMayVary("u/12"));
  EXPECT_FALSE(e->ListingMayVary("u/12/pub"));
}

TEST(VarianceTest, OwnerIdentifiedByGid) {
  // The owner uid is no app's by uid: with gid 500 it is "g", which may look
  // up "d"; the others may not, and "g" is denied the file.
  auto e = MustCompile(R"pb(
    default_action: DENY
    apps { name: "g" gids: 500 }
    rules { id: "own" owner: CALLER apps: "g" action: ALLOW }
    rules { id: "nog" apps: "g" paths: "d/*" action: DENY }
    rules { id: "files" paths: "d/*" operations: LOOKUP action: ALLOW lacking_permissions: "p" }
  )pb");
  EXPECT_TRUE(e->EntryVisibilityMayVary(Entry("d", "f", false, 4242, {})));
  EXPECT_FALSE(e->EntryVisibilityMayVary(Entry("d", "f", false, {}, 4242)));
}

// ---------------------------------------------------------------------------
// Random policies against the brute force.

class Generator {
 public:
  explicit Generator(uint32_t seed) : rng_(seed) {}

  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool Chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  template <typename T>
  const T& Pick(const std::vector<T>& v) { return v[Int(0, static_cast<int>(v.size()) - 1)]; }

  // Path components: app names are added per policy.
  const std::vector<std::string> kNames = {"a",     "b",     "DCIM",  "data",  "0",
                                           "10",    "11",    "12",    "u10",   "x.jpg",
                                           "y.mp4", "z.txt", "1.jpg", "c.pdf", ".h"};
  const std::vector<std::string> kGlobs = {"*",      "?",     "*.jpg", "[ab]",      "[!a]*",
                                           "{app}",  "{user}", "u{user}", "*{user}*", "**",
                                           "1?",     "a*",    "*.txt", "{app}*"};
  const std::vector<std::string> kPerms = {"p0", "p1", "p2"};

  std::string Pattern() {
    if (Chance(0.05)) return "";
    int n = Int(1, 3);
    std::vector<std::string> comps;
    for (int i = 0; i < n; ++i) comps.push_back(Chance(0.55) ? Pick(kNames) : Pick(kGlobs));
    std::string s = absl::StrJoin(comps, "/");
    if (Chance(0.35)) s += "/";
    return s;
  }

  v1::Policy Policy() {
    v1::Policy p;
    p.set_android_uid_scheme(Chance(0.6));
    if (Chance(0.5)) p.add_system_uids(1000);
    const int napps = Int(0, 5);
    for (int i = 0; i < napps; ++i) {
      v1::App* a = p.add_apps();
      a->set_name(i % 2 ? absl::StrCat("com.x.app", i) : absl::StrCat("app", i));
      if (Chance(0.5)) a->add_uids(Chance(0.5) ? 10000 + i : 1100000 + 40000 + i);
      if (Chance(0.3)) a->add_gids(20000 + i);
      if (p.android_uid_scheme() && (a->uids_size() + a->gids_size() == 0 || Chance(0.5))) {
        a->add_android_app_ids(30000 + i);
      }
      for (const auto& perm : kPerms)
        if (Chance(0.4)) a->add_permissions(perm);
    }
    p.add_redaction_profiles()->set_name("loc");
    const v1::Action actions[] = {v1::ALLOW, v1::DENY, v1::HIDE, v1::ALLOW_REDACTED};
    p.set_default_action(actions[Int(0, 2)]);
    const int nrules = Int(0, 12);
    for (int i = 0; i < nrules; ++i) {
      v1::Rule* r = p.add_rules();
      r->set_id(absl::StrCat("r", i));
      if (napps > 0 && Chance(0.25)) {
        for (int a = 0; a < napps; ++a)
          if (Chance(0.4)) r->add_apps(p.apps(a).name());
      }
      int npaths = Chance(0.15) ? 0 : Int(1, 3);
      for (int j = 0; j < npaths; ++j) r->add_paths(Pattern());
      if (Chance(0.2)) {
        for (int c = v1::IMAGE; c <= v1::SPECIAL; ++c)
          if (Chance(0.3)) r->add_classes(static_cast<v1::FileClass>(c));
      }
      if (Chance(0.4)) {
        r->add_operations(v1::LOOKUP);
        if (Chance(0.3)) r->add_operations(v1::READ);
      } else if (Chance(0.2)) {
        r->add_operations(v1::WRITE);
      }
      if (Chance(0.25)) r->set_owner(Chance(0.5) ? v1::CALLER : v1::NOT_CALLER);
      // A uids condition, as grants for a uid make (always with paths): an
      // app's uid, an Android uid of some user, or a uid that is no app's.
      // (Answered "varies" wherever one could match: rare, as grants are.)
      if (npaths > 0 && Chance(0.06)) {
        const uint32_t picks[] = {10000, 1100000 + 40000, 1030000, 55555};
        r->add_uids(picks[Int(0, 3)] + (Chance(0.5) ? 0 : static_cast<uint32_t>(Int(0, 4))));
      }
      for (const auto& perm : kPerms) {
        if (Chance(0.12)) {
          r->add_require_permissions(perm);
        } else if (Chance(0.12)) {
          r->add_lacking_permissions(perm);
        }
      }
      r->set_action(actions[Int(0, 3)]);
      if (r->action() == v1::ALLOW_REDACTED) r->set_redaction_profile("loc");
    }
    return p;
  }

  std::vector<std::string> Components(const v1::Policy& p) {
    std::vector<std::string> names = kNames;
    for (const auto& a : p.apps()) {
      names.push_back(a.name());
      names.push_back(absl::StrCat(a.name(), "-x"));
    }
    return names;
  }

  std::string Path(const std::vector<std::string>& names, int max_depth) {
    const int n = Int(0, max_depth);
    std::vector<std::string> comps;
    for (int i = 0; i < n; ++i) comps.push_back(Pick(names));
    return absl::StrJoin(comps, "/");
  }

 private:
  std::mt19937 rng_;
};

// Owner uids the queries use; every one is also a caller.
std::vector<uint32_t> OwnerPool(const v1::Policy& p) {
  std::vector<uint32_t> owners = {4242, 1000, 0};
  for (int i = 0; i < p.apps_size(); ++i) {
    for (uint32_t uid : p.apps(i).uids()) owners.push_back(uid);
    for (uint32_t id : p.apps(i).android_app_ids()) {
      owners.push_back(id);
      owners.push_back(1000000 + id);  // user 10
    }
  }
  return owners;
}

// Root, system uids, every uid and gid of the policy, Android uids of users
// 0, 10, 11 and 12 for every app id and one no app has, some unrelated uids,
// and the owners.
std::vector<Caller> CallerPool(const v1::Policy& p, const std::vector<uint32_t>& owners,
                               Generator* gen) {
  constexpr uint32_t kNoGid = 99999;
  std::vector<uint32_t> gids = {kNoGid};
  std::vector<uint32_t> app_ids = {7777};
  std::set<std::pair<uint32_t, uint32_t>> pool = {{0, 0}, {0, 20000}, {1000, 1000}};
  for (uint32_t s : p.system_uids()) pool.insert({s, kNoGid});
  for (const auto& a : p.apps()) {
    for (uint32_t uid : a.uids()) pool.insert({uid, kNoGid});
    for (uint32_t gid : a.gids()) gids.push_back(gid);
    for (uint32_t id : a.android_app_ids()) app_ids.push_back(id);
  }
  for (uint32_t gid : gids) {
    pool.insert({55555, gid});
    pool.insert({1155555, gid});
  }
  for (uint32_t user : {0u, 10u, 11u, 12u}) {
    for (uint32_t id : app_ids) {
      for (uint32_t gid : gids) pool.insert({user * 100000 + id, gid});
    }
  }
  for (int i = 0; i < 3; ++i) pool.insert({static_cast<uint32_t>(gen->Int(1, 5000000)), kNoGid});
  // Every uid a rule names, with every gid (its app may come from either).
  for (const auto& r : p.rules()) {
    for (uint32_t uid : r.uids()) {
      for (uint32_t gid : gids) pool.insert({uid, gid});
    }
  }
  for (uint32_t o : owners) {
    for (uint32_t gid : gids) pool.insert({o, gid});
  }
  std::vector<Caller> callers;
  for (const auto& [uid, gid] : pool) callers.push_back({uid, gid});
  return callers;
}

// The brute force for ListingMayVary: a description of a child of `dir`
// (named from `names`, of every kind, not owned or owned by the caller) that
// some caller gets HIDE for, or "". Root is never hidden, so "hidden for some
// caller and not for another" is "hidden for some caller".
std::string FirstHidden(const Engine& e, const std::string& dir,
                        const std::vector<std::string>& names,
                        const std::vector<v1::FileClass>& kinds,
                        const std::vector<Caller>& callers,
                        const std::vector<uint32_t>& owners) {
  for (const std::string& n : names) {
    const std::string child = dir.empty() ? n : absl::StrCat(dir, "/", n);
    for (int kind = -1; kind < static_cast<int>(kinds.size()); ++kind) {
      const bool is_dir = kind < 0;
      const v1::FileClass cls = is_dir ? v1::FILE_CLASS_UNSPECIFIED : kinds[kind];
      for (const Caller& c : callers) {
        for (bool owned : {false, true}) {
          if (owned && std::find(owners.begin(), owners.end(), c.uid) == owners.end()) {
            continue;
          }
          const std::optional<uint32_t> owner =
              owned ? std::optional<uint32_t>(c.uid) : std::nullopt;
          if (Lookup(e, c, child, is_dir, cls, owner) == Vis::kHidden) {
            return absl::StrCat("'", child, "' dir ", is_dir, " class ",
                                v1::FileClass_Name(cls), " owned ", owned,
                                " is HIDDEN for uid ", c.uid, " gid ", c.gid);
          }
        }
      }
    }
  }
  return "";
}

int CasesFromEnv(int fallback) {
  const char* env = std::getenv("SCOPEDFS_VARIANCE_CASES");
  return env != nullptr && std::atoi(env) > 0 ? std::atoi(env) : fallback;
}

TEST(VarianceRandomTest, NeverSameWhenCallersDiffer) {
  const int cases = CasesFromEnv(2000);
  Generator gen(20240611);
  const std::vector<v1::FileClass> kKinds = {v1::FILE_CLASS_UNSPECIFIED, v1::IMAGE,
                                             v1::VIDEO, v1::AUDIO, v1::DOCUMENT, v1::OTHER,
                                             v1::SYMLINK, v1::SPECIAL};
  long entries = 0, entry_same = 0, entry_truly_same = 0;
  long listings = 0, listing_same = 0, listing_truly_same = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int iter = 0; iter < cases; ++iter) {
    v1::Policy p = gen.Policy();
    if (iter % 4 == 0) p.set_default_action(v1::ALLOW);  // more entries that do not vary
    ASSERT_TRUE(ValidatePolicy(p).empty())
        << FormatPolicyErrors(ValidatePolicy(p)) << "\n" << PolicyToText(p);
    auto compiled = Engine::Compile(p, 1);
    ASSERT_TRUE(compiled.ok()) << compiled.status();
    const Engine& e = **compiled;
    const std::vector<uint32_t> owners = OwnerPool(p);
    const std::vector<Caller> callers = CallerPool(p, owners, &gen);
    const std::vector<std::string> names = gen.Components(p);
    auto maybe_owner = [&]() -> std::optional<uint32_t> {
      if (gen.Chance(0.5)) return std::nullopt;
      return gen.Pick(owners);
    };

    for (int k = 0; k < 12; ++k) {
      const std::string parent = gen.Path(names, 3);
      const std::string name = gen.Pick(names);
      EntryQuery q = Entry(parent, name, gen.Chance(0.3), maybe_owner(), maybe_owner());
      if (gen.Chance(0.3)) q.content_class = gen.Pick(kKinds);
      ++entries;
      const bool may_vary = e.EntryVisibilityMayVary(q);
      const std::string why = EntryVariesOver(e, q, callers);
      if (why.empty()) ++entry_truly_same;
      if (may_vary) continue;
      ++entry_same;
      ASSERT_EQ(why, "") << "EntryVisibilityMayVary is false for " << Describe(q) << "\n"
                         << PolicyToText(p);
    }

    for (int k = 0; k < 3; ++k) {
      const std::string dir = gen.Path(names, 3);
      ++listings;
      const bool may_vary = e.ListingMayVary(dir);
      const std::string hidden = FirstHidden(e, dir, names, kKinds, callers, owners);
      if (hidden.empty()) ++listing_truly_same;
      if (may_vary) continue;
      ++listing_same;
      ASSERT_EQ(hidden, "") << "ListingMayVary('" << dir << "') is false but " << hidden
                            << "\n" << PolicyToText(p);
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "%d policies, %.1f s: entries %ld, 'same' %ld (brute force over the pool: %ld); "
      "listings %ld, 'same' %ld (brute force: %ld)\n",
      cases, seconds, entries, entry_same, entry_truly_same, listings, listing_same,
      listing_truly_same);
  // The checks check something: many answers are "same", and they are not
  // much rarer than the brute force's.
  EXPECT_GT(entry_same, entries / 10);
  EXPECT_GT(entry_same, entry_truly_same * 7 / 10);
  EXPECT_GT(listing_same, listings / 10);
  EXPECT_GT(listing_same, listing_truly_same * 7 / 10);
}

// The default policy against the same brute force, over paths made of its
// own names.
TEST_F(DefaultPolicyTest, BruteForce) {
  Generator gen(99);
  const std::vector<std::string> names = {
      "DCIM",    "Camera", "Pictures", "Android", "data", "obb", "media", "0", "10", "11",
      "com.example.gallery", "com.example.notes", "files", "IMG_1.jpg", "a.txt", "Other"};
  const std::vector<uint32_t> owners = {1010001, 1010003, 10002, 1110003, 4242};
  std::vector<Caller> callers = {{0, 0}, {1000, 1000}, {4242, 4242}, {77777, 5}};
  for (uint32_t user : {0u, 10u, 11u, 12u}) {
    for (uint32_t id : {10001u, 10002u, 10003u, 10004u}) {
      callers.push_back({user * 100000 + id, user * 100000 + id});
    }
  }
  long same = 0, total = 0;
  for (int k = 0; k < 3000; ++k) {
    const std::string parent = gen.Path(names, 4);
    EntryQuery q = Entry(parent, gen.Pick(names), gen.Chance(0.4));
    if (gen.Chance(0.4)) q.parent_owner = gen.Pick(owners);
    if (gen.Chance(0.4)) q.child_owner = gen.Pick(owners);
    ++total;
    if (e().EntryVisibilityMayVary(q)) continue;
    ++same;
    ASSERT_EQ(EntryVariesOver(e(), q, callers), "") << Describe(q);
  }
  std::printf("default policy: %ld of %ld entries 'same'\n", same, total);
  EXPECT_GT(same, total / 20);
}

}  // namespace
}  // namespace scopedfs::policy
