// OwnerIndex: ownership rules, stale records, tree moves, the change log.
#include "audit/owners.h"

#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace scopedfs::audit {
namespace {

// The files these records are about have no birth time (nor do the records).
constexpr auto kNoBirthTime = []() -> std::optional<int64_t> { return 0; };

Owner O(const std::string& app, uint32_t uid, uint64_t ino) {
  Owner o;
  o.app = app;
  o.uid = uid;
  o.dev = 9;
  o.ino = ino;
  return o;
}

std::string Describe(const std::vector<OwnerChange>& changes) {
  std::string out;
  for (const OwnerChange& c : changes) {
    static const char* const kNames[] = {"set", "remove", "move", "rmtree",
                                         "exchange"};
    out += kNames[c.kind];
    out += " " + c.path;
    if (!c.to.empty()) out += " " + c.to;
    if (c.kind == OwnerChange::kSet) out += " " + c.owner.app;
    out += ";";
  }
  return out;
}

TEST(OwnerIndexTest, IsOwnerRules) {
  OwnerIndex idx;
  idx.Set("app.jpg", O("gallery", 10123, 1));
  idx.Set("shell.txt", O("", 1000, 2));
  // The same uid only: the same app of another Android user (20123) or
  // another app of the same user (10124) owns nothing.
  EXPECT_TRUE(idx.IsOwner("app.jpg", 9, 1, kNoBirthTime, 10123));
  EXPECT_FALSE(idx.IsOwner("app.jpg", 9, 1, kNoBirthTime, 20123));
  EXPECT_FALSE(idx.IsOwner("app.jpg", 9, 1, kNoBirthTime, 10124));
  // No app recorded: the same uid.
  EXPECT_TRUE(idx.IsOwner("shell.txt", 9, 2, kNoBirthTime, 1000));
  EXPECT_FALSE(idx.IsOwner("shell.txt", 9, 2, kNoBirthTime, 1001));
  // No record.
  EXPECT_FALSE(idx.IsOwner("other", 9, 3, kNoBirthTime, 10123));
  EXPECT_FALSE(idx.IsOwner("", 9, 3, kNoBirthTime, 0));
  // Wrong device is stale too.
  EXPECT_FALSE(idx.IsOwner("app.jpg", 8, 1, kNoBirthTime, 10123));
  EXPECT_EQ(idx.size(), 1u);
}

// ext4 gives a new file the number of one just deleted: the birth time
// tells them apart.
TEST(OwnerIndexTest, BirthTimeTellsAReusedInodeNumberApart) {
  OwnerIndex idx;
  Owner o = O("gallery", 10123, 100);
  o.birth_nanos = 5000;
  idx.Set("f", o);
  idx.TakeChanges();
  int asked = 0;
  auto born = [&](std::optional<int64_t> t) {
    return [&asked, t]() -> std::optional<int64_t> {
      ++asked;
      return t;
    };
  };
  EXPECT_TRUE(idx.IsOwner("f", 9, 100, born(5000), 10123));
  EXPECT_EQ(asked, 1);
  // Cannot tell now (statx failed): not owned, and the record stays.
  EXPECT_FALSE(idx.IsOwner("f", 9, 100, born(std::nullopt), 10123));
  EXPECT_EQ(idx.size(), 1u);
  EXPECT_EQ(idx.pending_changes(), 0u);
  // Same number, born later: another file. Stale, dropped for good.
  EXPECT_FALSE(idx.IsOwner("f", 9, 100, born(6000), 10123));
  EXPECT_EQ(idx.size(), 0u);
  EXPECT_EQ(Describe(idx.TakeChanges()), "remove f;");
  EXPECT_FALSE(idx.IsOwner("f", 9, 100, born(5000), 10123));
  // A file system without birth times (0): the record keeps none, and
  // (dev, ino) alone decide; the birth time is never asked.
  asked = 0;
  idx.Set("g", O("gallery", 10123, 7));
  EXPECT_TRUE(idx.IsOwner("g", 9, 7, born(1), 10123));
  EXPECT_FALSE(idx.IsOwner("g", 9, 8, born(1), 10123));
  EXPECT_EQ(asked, 0);
}

TEST(OwnerIndexTest, StaleRecordRemovedAndLogged) {
  OwnerIndex idx;
  idx.Set("f", O("gallery", 1, 100));
  EXPECT_EQ(Describe(idx.TakeChanges()), "set f gallery;");
  auto got = idx.Get("f", 9, 100, kNoBirthTime);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->app, "gallery");
  EXPECT_EQ(idx.pending_changes(), 0u);
  // The file was replaced behind our back: another inode.
  EXPECT_FALSE(idx.Get("f", 9, 101, kNoBirthTime).has_value());
  EXPECT_EQ(idx.size(), 0u);
  EXPECT_EQ(Describe(idx.TakeChanges()), "remove f;");
  // Gone for good, even for the old inode.
  EXPECT_FALSE(idx.Get("f", 9, 100, kNoBirthTime).has_value());
  EXPECT_EQ(idx.pending_changes(), 0u);
}

TEST(OwnerIndexTest, RemoveLogsOnlyWhatExisted) {
  OwnerIndex idx;
  idx.Remove("nothing");
  idx.RemoveTree("nothing");
  idx.MoveTree("x", "y");
  idx.Exchange("x", "y");
  EXPECT_EQ(idx.pending_changes(), 0u);
  idx.Set("a", O("g", 1, 1));
  idx.Remove("a");
  EXPECT_EQ(Describe(idx.TakeChanges()), "set a g;remove a;");
}

TEST(OwnerIndexTest, MoveTreeComponentWise) {
  OwnerIndex idx;
  idx.Set("a", O("g", 1, 1));
  idx.Set("a/b", O("g", 1, 2));
  idx.Set("a/b/c", O("g", 1, 3));
  idx.Set("ab", O("h", 1, 4));
  idx.Set("a0", O("h", 1, 5));
  idx.Set("t", O("old", 1, 6));
  idx.Set("t/old", O("old", 1, 7));
  idx.TakeChanges();
  idx.MoveTree("a", "t");
  EXPECT_EQ(Describe(idx.TakeChanges()), "move a t;");
  EXPECT_EQ(idx.size(), 5u);
  EXPECT_TRUE(idx.Get("t", 9, 1, kNoBirthTime).has_value());
  EXPECT_TRUE(idx.Get("t/b", 9, 2, kNoBirthTime).has_value());
  EXPECT_TRUE(idx.Get("t/b/c", 9, 3, kNoBirthTime).has_value());
  EXPECT_FALSE(idx.Get("t/old", 9, 7, kNoBirthTime).has_value());  // replaced
  EXPECT_FALSE(idx.Get("a", 9, 1, kNoBirthTime).has_value());
  EXPECT_TRUE(idx.Get("ab", 9, 4, kNoBirthTime).has_value());
  EXPECT_TRUE(idx.Get("a0", 9, 5, kNoBirthTime).has_value());
  // Moving a file over a file.
  idx.MoveTree("ab", "a0");
  EXPECT_FALSE(idx.Get("ab", 9, 4, kNoBirthTime).has_value());
  auto moved = idx.Get("a0", 9, 4, kNoBirthTime);
  ASSERT_TRUE(moved.has_value());
  EXPECT_EQ(moved->app, "h");
  EXPECT_EQ(idx.size(), 4u);
  // Moving an unowned name over an owned one removes the owned record.
  idx.MoveTree("unowned", "a0");
  EXPECT_EQ(idx.size(), 3u);
  EXPECT_EQ(Describe(idx.TakeChanges()), "move ab a0;move unowned a0;");
}

TEST(OwnerIndexTest, RemoveTree) {
  OwnerIndex idx;
  idx.Set("d", O("g", 1, 1));
  idx.Set("d/x", O("g", 1, 2));
  idx.Set("d/x/y", O("g", 1, 3));
  idx.Set("d.txt", O("g", 1, 4));
  idx.Set("dd", O("g", 1, 5));
  idx.RemoveTree("d");
  EXPECT_EQ(idx.size(), 2u);
  EXPECT_TRUE(idx.Get("d.txt", 9, 4, kNoBirthTime).has_value());
  EXPECT_TRUE(idx.Get("dd", 9, 5, kNoBirthTime).has_value());
}

TEST(OwnerIndexTest, ExchangeSwapsTrees) {
  OwnerIndex idx;
  idx.Set("a", O("ga", 1, 1));
  idx.Set("a/1", O("ga", 1, 2));
  idx.Set("b", O("gb", 1, 3));
  idx.Set("b/2", O("gb", 1, 4));
  idx.Set("b/2/3", O("gb", 1, 5));
  idx.Set("ax", O("gx", 1, 6));
  idx.TakeChanges();
  idx.Exchange("a", "b");
  EXPECT_EQ(Describe(idx.TakeChanges()), "exchange a b;");
  EXPECT_EQ(idx.size(), 6u);
  EXPECT_EQ(idx.Get("b", 9, 1, kNoBirthTime)->app, "ga");
  EXPECT_EQ(idx.Get("b/1", 9, 2, kNoBirthTime)->app, "ga");
  EXPECT_EQ(idx.Get("a", 9, 3, kNoBirthTime)->app, "gb");
  EXPECT_EQ(idx.Get("a/2", 9, 4, kNoBirthTime)->app, "gb");
  EXPECT_EQ(idx.Get("a/2/3", 9, 5, kNoBirthTime)->app, "gb");
  EXPECT_EQ(idx.Get("ax", 9, 6, kNoBirthTime)->app, "gx");
  // One side owned only.
  idx.Exchange("ax", "new");
  EXPECT_TRUE(idx.Get("new", 9, 6, kNoBirthTime).has_value());
  EXPECT_FALSE(idx.Get("ax", 9, 6, kNoBirthTime).has_value());
  // Nested: refused (the kernel refuses too).
  idx.TakeChanges();
  idx.Exchange("a", "a/2");
  EXPECT_EQ(idx.pending_changes(), 0u);
}

TEST(OwnerIndexTest, TakeChangesKeepsOrderAndReturnChangesGoesFirst) {
  OwnerIndex idx;
  idx.Set("1", O("a", 1, 1));
  idx.Set("2", O("b", 1, 2));
  idx.MoveTree("1", "3");
  auto first = idx.TakeChanges();
  EXPECT_EQ(Describe(first), "set 1 a;set 2 b;move 1 3;");
  EXPECT_EQ(idx.pending_changes(), 0u);
  EXPECT_TRUE(idx.TakeChanges().empty());
  idx.Remove("2");
  EXPECT_EQ(idx.changes_logged(), 4u);
  idx.ReturnChanges(std::move(first));  // a failed commit
  EXPECT_EQ(idx.pending_changes(), 4u);
  EXPECT_EQ(idx.changes_logged(), 4u);  // not counted again
  EXPECT_EQ(Describe(idx.TakeChanges()),
            "set 1 a;set 2 b;move 1 3;remove 2;");
}

TEST(OwnerIndexTest, LoadReplacesContentsWithoutLogging) {
  OwnerIndex idx;
  idx.Set("old", O("a", 1, 1));
  idx.TakeChanges();
  idx.Load({{"x", O("g", 1, 5)}, {"y", O("", 7, 6)}});
  EXPECT_EQ(idx.size(), 2u);
  EXPECT_EQ(idx.pending_changes(), 0u);
  EXPECT_TRUE(idx.IsOwner("y", 9, 6, kNoBirthTime, 7));
}

TEST(OwnerIndexTest, ListenerCalledPerLoggedChange) {
  OwnerIndex idx;
  int calls = 0;
  idx.SetChangeListener([&] { ++calls; });
  idx.Set("a", O("g", 1, 1));
  idx.Remove("none");
  idx.Get("a", 9, 2, kNoBirthTime);  // stale
  EXPECT_EQ(calls, 2);
}

}  // namespace
}  // namespace scopedfs::audit
