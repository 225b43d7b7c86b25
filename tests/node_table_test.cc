#include "daemon/node_table.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace scopedfs {
namespace {

class NodeTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sfs-nt.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    for (const char* name : {"a", "b"}) {
      const int fd = open((dir_ + "/" + name).c_str(), O_CREAT | O_WRONLY, 0644);
      ASSERT_GE(fd, 0);
      close(fd);
    }
    ASSERT_EQ(link((dir_ + "/a").c_str(), (dir_ + "/a2").c_str()), 0);
    const int root = open(dir_.c_str(), O_PATH | O_DIRECTORY);
    ASSERT_GE(root, 0);
    struct stat st;
    ASSERT_EQ(fstat(root, &st), 0);
    table_ = std::make_unique<NodeTable>(root, st);
  }
  void TearDown() override {
    table_.reset();
    for (const char* name : {"a", "a2", "b"}) unlink((dir_ + "/" + name).c_str());
    rmdir(dir_.c_str());
  }

  // Opens `name` O_PATH like a lookup does; returns the fd and fills `st`.
  int OpenPath(const std::string& name, struct stat* st) {
    const int fd = openat(table_->Root()->fd, name.c_str(), O_PATH | O_NOFOLLOW);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(fstatat(fd, "", st, AT_EMPTY_PATH), 0);
    return fd;
  }

  static bool FdIsOpen(int fd) { return fcntl(fd, F_GETFD) != -1; }

  std::string dir_;
  std::unique_ptr<NodeTable> table_;
};

TEST_F(NodeTableTest, RootIsIdOneAndNeverForgotten) {
  Node* root = table_->Root();
  EXPECT_EQ(table_->IdOf(root), 1u);
  EXPECT_EQ(table_->Get(1), root);
  EXPECT_FALSE(table_->Forget(root, 1));
  EXPECT_EQ(table_->Get(1), root);
  EXPECT_TRUE(FdIsOpen(root->fd));
}

TEST_F(NodeTableTest, SameInodeSharesOneNodeAndOneFd) {
  struct stat st;
  const int fd1 = OpenPath("a", &st);
  Node* n1 = table_->Acquire(fd1, st, table_->Root(), "a");
  const int fd2 = OpenPath("a2", &st);  // A hard link: same (dev, ino).
  Node* n2 = table_->Acquire(fd2, st, table_->Root(), "a2");
  EXPECT_EQ(n1, n2);
  EXPECT_EQ(table_->LookupCount(n1), 2u);
  EXPECT_EQ(table_->size(), 1u);
  EXPECT_EQ(n1->fd, fd1);
  EXPECT_FALSE(FdIsOpen(fd2)) << "the duplicate descriptor must be closed";
  EXPECT_EQ(table_->Get(table_->IdOf(n1)), n1);
}

TEST_F(NodeTableTest, ForgetCountsExactlyAndClosesTheFd) {
  struct stat st;
  Node* node = nullptr;
  for (int i = 0; i < 3; ++i) node = table_->Acquire(OpenPath("b", &st), st, table_->Root(), "b");
  const int fd = node->fd;
  EXPECT_FALSE(table_->Forget(node, 2));
  EXPECT_EQ(table_->LookupCount(node), 1u);
  EXPECT_TRUE(FdIsOpen(fd));
  EXPECT_TRUE(table_->Forget(node, 1));
  EXPECT_EQ(table_->size(), 0u);
  EXPECT_FALSE(FdIsOpen(fd));
}

TEST_F(NodeTableTest, OverlargeForgetIsClampedNotUnderflowed) {
  struct stat st;
  Node* node = table_->Acquire(OpenPath("a", &st), st, table_->Root(), "a");
  EXPECT_TRUE(table_->Forget(node, 5));
  EXPECT_EQ(table_->size(), 0u);
}

TEST_F(NodeTableTest, DistinctInodesGetDistinctNodes) {
  struct stat sa, sb;
  Node* a = table_->Acquire(OpenPath("a", &sa), sa, table_->Root(), "a");
  Node* b = table_->Acquire(OpenPath("b", &sb), sb, table_->Root(), "b");
  EXPECT_NE(a, b);
  EXPECT_NE(table_->IdOf(a), table_->IdOf(b));
  EXPECT_EQ(a->ino, sa.st_ino);
  EXPECT_EQ(b->ino, sb.st_ino);
  EXPECT_EQ(a->type, S_IFREG);
  EXPECT_EQ(table_->size(), 2u);
}

TEST_F(NodeTableTest, RootReachedByNameKeepsIdOne) {
  struct stat st;
  const int fd = openat(table_->Root()->fd, ".", O_PATH);
  ASSERT_EQ(fstat(fd, &st), 0);
  Node* n = table_->Acquire(fd, st, table_->Root(), ".");
  EXPECT_EQ(n, table_->Root());
  EXPECT_EQ(table_->IdOf(n), 1u);
  EXPECT_EQ(table_->size(), 0u);
}

TEST_F(NodeTableTest, PathsFollowLookupsRenamesAndSurviveForgottenParents) {
  ASSERT_EQ(mkdir((dir_ + "/d").c_str(), 0755), 0);
  ASSERT_EQ(rename((dir_ + "/b").c_str(), (dir_ + "/d/b").c_str()), 0);
  struct stat st;
  Node* d = table_->Acquire(OpenPath("d", &st), st, table_->Root(), "d");
  const int fd = openat(d->fd, "b", O_PATH);
  ASSERT_EQ(fstat(fd, &st), 0);
  Node* b = table_->Acquire(fd, st, d, "b");
  EXPECT_EQ(table_->PathOf(table_->Root()), "");
  EXPECT_EQ(table_->PathOf(d), "d");
  EXPECT_EQ(table_->PathOf(b), "d/b");
  EXPECT_EQ(table_->Find(st.st_dev, st.st_ino), b);
  table_->Rename(d, table_->Root(), "media");
  EXPECT_EQ(table_->PathOf(b), "media/b");
  // The kernel may forget a directory before a child it still uses.
  EXPECT_TRUE(table_->Forget(d, 1));
  EXPECT_EQ(table_->PathOf(b), "media/b");
  auto snapshot = table_->Snapshot();
  ASSERT_EQ(snapshot.size(), 1u);
  EXPECT_EQ(snapshot[0].name, "b");
  EXPECT_EQ(snapshot[0].id, table_->IdOf(b));
  EXPECT_TRUE(table_->Forget(b, 1));
  rename((dir_ + "/d/b").c_str(), (dir_ + "/b").c_str());
  rmdir((dir_ + "/d").c_str());
}

// The reclaimer's view: files least recently looked up first, never the
// root or a directory; and a call when the table grows past a size.
TEST_F(NodeTableTest, ColdestAreTheLeastRecentlyLookedUpFiles) {
  ASSERT_EQ(mkdir((dir_ + "/d").c_str(), 0755), 0);
  int grew = 0;
  table_->SetGrowthListener(2, [&] { ++grew; });
  struct stat st;
  int fd = OpenPath("a", &st);
  Node* a = table_->Acquire(fd, st, table_->Root(), "a");
  fd = OpenPath("d", &st);
  Node* d = table_->Acquire(fd, st, table_->Root(), "d");
  EXPECT_EQ(grew, 0);
  fd = OpenPath("b", &st);
  Node* b = table_->Acquire(fd, st, table_->Root(), "b");
  EXPECT_EQ(grew, 1);  // 3 nodes > 2
  // a again (a known inode, another name): now the most recent.
  fd = OpenPath("a2", &st);
  EXPECT_EQ(table_->Acquire(fd, st, table_->Root(), "a2"), a);
  EXPECT_EQ(grew, 1);  // no new node

  std::vector<NodeTable::Entry> coldest = table_->Coldest(1);
  ASSERT_EQ(coldest.size(), 1u);
  EXPECT_EQ(coldest[0].id, table_->IdOf(b));
  EXPECT_EQ(coldest[0].name, "b");
  EXPECT_EQ(coldest[0].parent_id, 1u);
  coldest = table_->Coldest(10);  // the directory is never offered
  ASSERT_EQ(coldest.size(), 2u);
  for (const auto& e : coldest) EXPECT_NE(e.id, table_->IdOf(d));
  table_->SetGrowthListener(0, nullptr);
  EXPECT_TRUE(table_->Forget(d, 1));
  rmdir((dir_ + "/d").c_str());
}

}  // namespace
}  // namespace scopedfs
