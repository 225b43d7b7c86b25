#include "daemon/node_table.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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

TEST_F(NodeTableTest, SameNameSharesOneNodeAndOneFd) {
  struct stat st;
  const int fd1 = OpenPath("b", &st);
  Node* n1 = table_->Acquire(fd1, st, table_->Root(), "b");
  const int fd2 = OpenPath("b", &st);
  Node* n2 = table_->Acquire(fd2, st, table_->Root(), "b");
  EXPECT_EQ(n1, n2);
  EXPECT_FALSE(n1->per_name);
  EXPECT_EQ(table_->LookupCount(n1), 2u);
  EXPECT_EQ(table_->size(), 1u);
  EXPECT_EQ(n1->fd, fd1);
  EXPECT_FALSE(FdIsOpen(fd2)) << "the duplicate descriptor must be closed";
  EXPECT_EQ(table_->Get(table_->IdOf(n1)), n1);
  EXPECT_EQ(table_->AcquireKnown(st, table_->Root(), "b"), n1);
  EXPECT_EQ(table_->LookupCount(n1), 3u);
}

// "a" and "a2" are one file with two links: a node per name, each judged by
// its own name, whichever was looked up last.
TEST_F(NodeTableTest, HardLinkedNamesGetANodeEach) {
  struct stat st;
  const int fd1 = OpenPath("a", &st);
  ASSERT_EQ(st.st_nlink, 2u);
  Node* a = table_->Acquire(fd1, st, table_->Root(), "a");
  const int fd2 = OpenPath("a2", &st);
  Node* a2 = table_->Acquire(fd2, st, table_->Root(), "a2");
  ASSERT_NE(a, a2);
  EXPECT_NE(table_->IdOf(a), table_->IdOf(a2));
  EXPECT_TRUE(a->per_name);
  EXPECT_TRUE(a2->per_name);
  EXPECT_EQ(a->ino, a2->ino);
  EXPECT_EQ(a->fd, fd1);
  EXPECT_EQ(a2->fd, fd2);
  EXPECT_TRUE(FdIsOpen(fd1));
  EXPECT_TRUE(FdIsOpen(fd2));
  EXPECT_EQ(table_->size(), 2u);
  EXPECT_EQ(table_->per_name_size(), 2u);
  // Lookups of one name never rename the other's node.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(table_->AcquireKnown(st, table_->Root(), "a2"), a2);
    EXPECT_EQ(table_->AcquireKnown(st, table_->Root(), "a"), a);
  }
  EXPECT_EQ(table_->PathOf(a), "a");
  EXPECT_EQ(table_->PathOf(a2), "a2");
  EXPECT_EQ(table_->LookupCount(a), 4u);
  EXPECT_EQ(table_->LookupCount(a2), 4u);
  // A descriptor-carrying lookup of a known name reuses the node.
  const int fd3 = OpenPath("a", &st);
  EXPECT_EQ(table_->Acquire(fd3, st, table_->Root(), "a"), a);
  EXPECT_FALSE(FdIsOpen(fd3));
  // Both nodes, both views, are the file's.
  const int fd4 = OpenPath("a", &st);
  Node* view = table_->Acquire(fd4, st, table_->Root(), "a", /*redacted_view=*/true);
  EXPECT_NE(view, a);
  EXPECT_TRUE(view->per_name);
  std::vector<uint64_t> ids;
  for (const NodeTable::NodeRef& ref : table_->NodesOf(st.st_dev, st.st_ino)) {
    ids.push_back(ref.id);
    EXPECT_EQ(ref.redacted_view, ref.id == table_->IdOf(view));
  }
  std::sort(ids.begin(), ids.end());
  std::vector<uint64_t> want = {table_->IdOf(a), table_->IdOf(a2), table_->IdOf(view)};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(ids, want);
  // Forgetting one name's node leaves the other's.
  EXPECT_TRUE(table_->Forget(a, 5));
  EXPECT_FALSE(FdIsOpen(fd1));
  EXPECT_TRUE(FdIsOpen(fd2));
  EXPECT_EQ(table_->AcquireKnown(st, table_->Root(), "a2"), a2);
  EXPECT_EQ(table_->AcquireKnown(st, table_->Root(), "a"), nullptr);
  EXPECT_TRUE(table_->Forget(view, 1));
  EXPECT_TRUE(table_->Forget(a2, 5));
  EXPECT_EQ(table_->size(), 0u);
  EXPECT_EQ(table_->per_name_size(), 0u);
  EXPECT_TRUE(table_->NodesOf(st.st_dev, st.st_ino).empty());
}

// A file that gains a link keeps its shared node for the name the kernel
// has (not renamed by a lookup of the new name); fresh lookups of either
// name get per-name nodes, which stay theirs when the file is back to one
// link; a lookup of a name with no per-name node then gets a shared node.
TEST_F(NodeTableTest, LinkCountChangesBehindTheTable) {
  struct stat st;
  Node* b = table_->Acquire(OpenPath("b", &st), st, table_->Root(), "b");
  ASSERT_EQ(st.st_nlink, 1u);
  EXPECT_FALSE(b->per_name);
  ASSERT_EQ(link((dir_ + "/b").c_str(), (dir_ + "/b2").c_str()), 0);
  Node* b2 = table_->Acquire(OpenPath("b2", &st), st, table_->Root(), "b2");
  EXPECT_NE(b2, b);
  EXPECT_TRUE(b2->per_name);
  EXPECT_EQ(table_->PathOf(b), "b") << "the single-name node keeps its name";
  EXPECT_EQ(table_->AcquireKnown(st, table_->Root(), "b"), nullptr)
      << "a fresh lookup of the old name needs a per-name node";
  Node* b_named = table_->Acquire(OpenPath("b", &st), st, table_->Root(), "b");
  EXPECT_NE(b_named, b);
  EXPECT_TRUE(b_named->per_name);
  EXPECT_EQ(table_->PathOf(b), "b");
  // Back to one link: the per-name node of the remaining name stays its.
  ASSERT_EQ(unlink((dir_ + "/b").c_str()), 0);
  ASSERT_EQ(stat((dir_ + "/b2").c_str(), &st), 0);
  ASSERT_EQ(st.st_nlink, 1u);
  EXPECT_EQ(table_->AcquireKnown(st, table_->Root(), "b2"), b2);
  // A name that never had a per-name node: the shared node, renamed.
  ASSERT_EQ(rename((dir_ + "/b2").c_str(), (dir_ + "/b3").c_str()), 0);
  EXPECT_EQ(table_->AcquireKnown(st, table_->Root(), "b3"), b);
  EXPECT_EQ(table_->PathOf(b), "b3");
  EXPECT_EQ(table_->PathOf(b2), "b2");
  EXPECT_EQ(table_->NodesOf(st.st_dev, st.st_ino).size(), 3u);
  rename((dir_ + "/b3").c_str(), (dir_ + "/b").c_str());
}

// Renames through the mount: the nodes of the old name move, and only
// those: another name's node, and a shared node of another name, stay.
TEST_F(NodeTableTest, RenamedMovesOnlyTheNodesOfTheOldName) {
  ASSERT_EQ(mkdir((dir_ + "/d").c_str(), 0755), 0);
  struct stat dst;
  Node* d = table_->Acquire(OpenPath("d", &dst), dst, table_->Root(), "d");
  struct stat st;
  // "b" known by a shared node before it got a second name "b2".
  Node* b = table_->Acquire(OpenPath("b", &st), st, table_->Root(), "b");
  ASSERT_EQ(link((dir_ + "/b").c_str(), (dir_ + "/b2").c_str()), 0);
  Node* b2 = table_->Acquire(OpenPath("b2", &st), st, table_->Root(), "b2");
  Node* a = table_->Acquire(OpenPath("a", &st), st, table_->Root(), "a");
  Node* a2 = table_->Acquire(OpenPath("a2", &st), st, table_->Root(), "a2");

  // a2 -> d/x: only a2's node moves.
  ASSERT_EQ(stat((dir_ + "/a2").c_str(), &st), 0);
  ASSERT_EQ(rename((dir_ + "/a2").c_str(), (dir_ + "/d/x").c_str()), 0);
  table_->Renamed(table_->Root(), "a2", st, d, "x", nullptr, false);
  EXPECT_EQ(table_->PathOf(a2), "d/x");
  EXPECT_EQ(table_->PathOf(a), "a");
  EXPECT_EQ(table_->AcquireKnown(st, d, "x"), a2);
  EXPECT_EQ(table_->AcquireKnown(st, table_->Root(), "a2"), nullptr);

  // b2 -> c: the shared node of "b" stays "b".
  struct stat bst;
  ASSERT_EQ(stat((dir_ + "/b2").c_str(), &bst), 0);
  ASSERT_EQ(bst.st_nlink, 2u);
  ASSERT_EQ(rename((dir_ + "/b2").c_str(), (dir_ + "/c").c_str()), 0);
  table_->Renamed(table_->Root(), "b2", bst, table_->Root(), "c", nullptr, false);
  EXPECT_EQ(table_->PathOf(b2), "c");
  EXPECT_EQ(table_->PathOf(b), "b");
  // b -> d/b: the shared node moves, it stands for that name.
  ASSERT_EQ(rename((dir_ + "/b").c_str(), (dir_ + "/d/b").c_str()), 0);
  table_->Renamed(table_->Root(), "b", bst, d, "b", nullptr, false);
  EXPECT_EQ(table_->PathOf(b), "d/b");
  EXPECT_EQ(table_->PathOf(b2), "c");

  // RENAME_EXCHANGE of a (file "a") and c (file "b"): the names swap.
  struct stat ast;
  ASSERT_EQ(stat((dir_ + "/a").c_str(), &ast), 0);
  ASSERT_EQ(renameat2(AT_FDCWD, (dir_ + "/a").c_str(), AT_FDCWD,
                      (dir_ + "/c").c_str(), RENAME_EXCHANGE), 0);
  table_->Renamed(table_->Root(), "a", ast, table_->Root(), "c", &bst, true);
  EXPECT_EQ(table_->PathOf(a), "c");
  EXPECT_EQ(table_->PathOf(b2), "a");
  EXPECT_EQ(table_->AcquireKnown(ast, table_->Root(), "c"), a);
  EXPECT_EQ(table_->AcquireKnown(bst, table_->Root(), "a"), b2);

  // A rename over another name of the same file (a no-op in the backing
  // dir, which the kernel takes for a move): "c" (file "a") over "d/x"
  // (file "a" too). The source's node now stands for d/x; the old d/x
  // node is found no more.
  table_->Renamed(table_->Root(), "c", ast, d, "x", &ast, false);
  EXPECT_EQ(table_->PathOf(a), "d/x");
  EXPECT_EQ(table_->AcquireKnown(ast, d, "x"), a);
  EXPECT_EQ(table_->PathOf(a2), "d/x") << "keeps its name for PathOf";

  // A single-link file's shared node follows any rename of its file, even
  // if it recorded another name (renamed behind the table's back).
  const int efd = open((dir_ + "/e").c_str(), O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(efd, 0);
  close(efd);
  struct stat est;
  Node* e = table_->Acquire(OpenPath("e", &est), est, table_->Root(), "e");
  EXPECT_FALSE(e->per_name);
  ASSERT_EQ(rename((dir_ + "/e").c_str(), (dir_ + "/f").c_str()), 0);
  table_->Renamed(table_->Root(), "f", est, d, "g", nullptr, false);
  EXPECT_EQ(table_->PathOf(e), "d/g");

  for (Node* n : {a, a2, b, b2, e}) table_->Forget(n, table_->LookupCount(n));
  table_->Forget(d, table_->LookupCount(d));
  EXPECT_EQ(table_->size(), 0u);
  // Put the files back for TearDown.
  rename((dir_ + "/d/b").c_str(), (dir_ + "/b").c_str());
  unlink((dir_ + "/a").c_str());
  rename((dir_ + "/c").c_str(), (dir_ + "/a").c_str());
  rename((dir_ + "/d/x").c_str(), (dir_ + "/a2").c_str());
  unlink((dir_ + "/f").c_str());
  rmdir((dir_ + "/d").c_str());
}

// Directories are never per-name: their st_nlink counts subdirectories.
TEST_F(NodeTableTest, DirectoriesAreNeverPerName) {
  ASSERT_EQ(mkdir((dir_ + "/d").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((dir_ + "/d/sub").c_str(), 0755), 0);
  struct stat st;
  Node* d = table_->Acquire(OpenPath("d", &st), st, table_->Root(), "d");
  ASSERT_GT(st.st_nlink, 2u);
  EXPECT_FALSE(d->per_name);
  EXPECT_EQ(table_->AcquireKnown(st, table_->Root(), "d"), d);
  EXPECT_EQ(table_->per_name_size(), 0u);
  EXPECT_TRUE(table_->Forget(d, 2));
  rmdir((dir_ + "/d/sub").c_str());
  rmdir((dir_ + "/d").c_str());
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
  ASSERT_EQ(table_->NodesOf(st.st_dev, st.st_ino).size(), 1u);
  EXPECT_EQ(table_->NodesOf(st.st_dev, st.st_ino)[0].id, table_->IdOf(b));
  struct stat dst;
  ASSERT_EQ(fstatat(d->fd, "", &dst, AT_EMPTY_PATH), 0);
  table_->Renamed(table_->Root(), "d", dst, table_->Root(), "media", nullptr,
                  false);
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
  // a again (a known node): now the most recent.
  fd = OpenPath("a", &st);
  EXPECT_EQ(table_->Acquire(fd, st, table_->Root(), "a"), a);
  EXPECT_EQ(grew, 1);  // no new node

  std::vector<NodeTable::Entry> coldest = table_->Coldest(1);
  ASSERT_EQ(coldest.size(), 1u);
  EXPECT_EQ(coldest[0].id, table_->IdOf(b));
  EXPECT_EQ(coldest[0].name, "b");
  EXPECT_EQ(coldest[0].parent_id, 1u);
  coldest = table_->Coldest(10);  // the directory is never offered
  ASSERT_EQ(coldest.size(), 2u);
  for (const auto& e : coldest) EXPECT_NE(e.id, table_->IdOf(d));
  // Another name of a (a per-name node of its own) counts and is offered
  // under its own name.
  fd = OpenPath("a2", &st);
  Node* a2 = table_->Acquire(fd, st, table_->Root(), "a2");
  EXPECT_NE(a2, a);
  EXPECT_EQ(grew, 2);
  coldest = table_->Coldest(10);
  ASSERT_EQ(coldest.size(), 3u);
  bool offered = false;
  for (const auto& e : coldest) offered |= e.id == table_->IdOf(a2) && e.name == "a2";
  EXPECT_TRUE(offered);
  EXPECT_EQ(table_->Snapshot().size(), 4u);
  table_->SetGrowthListener(0, nullptr);
  EXPECT_TRUE(table_->Forget(d, 1));
  rmdir((dir_ + "/d").c_str());
}

}  // namespace
}  // namespace scopedfs
