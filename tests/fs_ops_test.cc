// File and directory operations through the mount, as root, checked against
// the backing directory.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/mount_test_base.h"

namespace scopedfs::testing {
namespace {

class FsOpsTest : public MountTest {};

std::set<std::string> List(const std::string& dir) {
  std::set<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* de = readdir(d)) names.insert(de->d_name);
  closedir(d);
  return names;
}

TEST_F(FsOpsTest, WriteThroughMountLandsInBacking) {
  WriteFile(M("f"), "hello world");
  EXPECT_EQ(ReadFile(B("f")), "hello world");
  EXPECT_EQ(ReadFile(M("f")), "hello world");
  WriteFile(B("g"), "from backing");
  EXPECT_EQ(ReadFile(M("g")), "from backing");
}

TEST_F(FsOpsTest, AttributesMatchBacking) {
  WriteFile(B("f"), "12345");
  struct stat m, b;
  ASSERT_EQ(stat(M("f").c_str(), &m), 0);
  ASSERT_EQ(stat(B("f").c_str(), &b), 0);
  EXPECT_EQ(m.st_ino, b.st_ino);
  EXPECT_EQ(m.st_mode, b.st_mode);
  EXPECT_EQ(m.st_size, 5);
  EXPECT_EQ(m.st_uid, b.st_uid);
  EXPECT_EQ(m.st_mtim.tv_sec, b.st_mtim.tv_sec);
  EXPECT_EQ(m.st_mtim.tv_nsec, b.st_mtim.tv_nsec);
}

TEST_F(FsOpsTest, MkdirRmdirAndNotEmpty) {
  ASSERT_EQ(mkdir(M("d").c_str(), 0750), 0);
  struct stat st;
  ASSERT_EQ(stat(B("d").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  WriteFile(M("d/x"), "x");
  EXPECT_EQ(rmdir(M("d").c_str()), -1);
  EXPECT_EQ(errno, ENOTEMPTY);
  ASSERT_EQ(unlink(M("d/x").c_str()), 0);
  ASSERT_EQ(rmdir(M("d").c_str()), 0);
  EXPECT_EQ(stat(B("d").c_str(), &st), -1);
  EXPECT_EQ(mkdir(M("d2/deeper").c_str(), 0755), -1);
  EXPECT_EQ(errno, ENOENT);
}

TEST_F(FsOpsTest, UnlinkRemovesAndOpenFileStaysReadable) {
  WriteFile(M("f"), "data");
  const int fd = open(M("f").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(unlink(M("f").c_str()), 0);
  EXPECT_EQ(access(B("f").c_str(), F_OK), -1);
  char buf[8] = {};
  EXPECT_EQ(pread(fd, buf, sizeof(buf), 0), 4);
  EXPECT_STREQ(buf, "data");
  close(fd);
  EXPECT_EQ(unlink(M("f").c_str()), -1);
  EXPECT_EQ(errno, ENOENT);
}

TEST_F(FsOpsTest, RenamePlainNoreplaceAndExchange) {
  WriteFile(M("a"), "A");
  WriteFile(M("b"), "B");
  EXPECT_EQ(renameat2(AT_FDCWD, M("a").c_str(), AT_FDCWD, M("b").c_str(),
                      RENAME_NOREPLACE), -1);
  EXPECT_EQ(errno, EEXIST);
  ASSERT_EQ(renameat2(AT_FDCWD, M("a").c_str(), AT_FDCWD, M("b").c_str(),
                      RENAME_EXCHANGE), 0);
  EXPECT_EQ(ReadFile(M("a")), "B");
  EXPECT_EQ(ReadFile(M("b")), "A");
  EXPECT_EQ(ReadFile(B("a")), "B");
  ASSERT_EQ(rename(M("a").c_str(), M("b").c_str()), 0);
  EXPECT_EQ(ReadFile(M("b")), "B");
  EXPECT_EQ(access(M("a").c_str(), F_OK), -1);
  ASSERT_EQ(mkdir(M("d").c_str(), 0755), 0);
  ASSERT_EQ(rename(M("b").c_str(), M("d/c").c_str()), 0);
  EXPECT_EQ(ReadFile(B("d/c")), "B");
  EXPECT_EQ(rename(M("d").c_str(), M("d/sub").c_str()), -1);
  EXPECT_EQ(errno, EINVAL);
  // A whiteout rename leaves a 0:0 character device behind, as natively.
  ASSERT_EQ(renameat2(AT_FDCWD, M("d/c").c_str(), AT_FDCWD, M("x").c_str(),
                      RENAME_WHITEOUT), 0);
  struct stat wh;
  ASSERT_EQ(lstat(B("d/c").c_str(), &wh), 0);
  EXPECT_TRUE(S_ISCHR(wh.st_mode));
  EXPECT_EQ(wh.st_rdev, 0u);
  EXPECT_EQ(ReadFile(B("x")), "B");
}

TEST_F(FsOpsTest, HardLinksShareInodeAndCount) {
  WriteFile(M("f"), "x");
  ASSERT_EQ(link(M("f").c_str(), M("g").c_str()), 0);
  struct stat f, g, b;
  ASSERT_EQ(stat(M("f").c_str(), &f), 0);
  ASSERT_EQ(stat(M("g").c_str(), &g), 0);
  ASSERT_EQ(stat(B("g").c_str(), &b), 0);
  EXPECT_EQ(f.st_ino, g.st_ino);
  EXPECT_EQ(f.st_nlink, 2u);
  EXPECT_EQ(b.st_nlink, 2u);
  WriteFile(M("g"), "changed");
  EXPECT_EQ(ReadFile(M("f")), "changed");
  ASSERT_EQ(unlink(M("f").c_str()), 0);
  ASSERT_EQ(stat(M("g").c_str(), &g), 0);
  EXPECT_EQ(g.st_nlink, 1u);
  EXPECT_EQ(link(M("g").c_str(), M("g").c_str()), -1);
  EXPECT_EQ(errno, EEXIST);
}

TEST_F(FsOpsTest, SymlinksAndReadlink) {
  WriteFile(M("target"), "t");
  ASSERT_EQ(symlink("target", M("link").c_str()), 0);
  char buf[64] = {};
  ASSERT_EQ(readlink(M("link").c_str(), buf, sizeof(buf)), 6);
  EXPECT_STREQ(buf, "target");
  EXPECT_EQ(ReadFile(M("link")), "t");
  struct stat st;
  ASSERT_EQ(lstat(M("link").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  ASSERT_EQ(symlink("/nonexistent/far", M("dangling").c_str()), 0);
  EXPECT_EQ(open(M("dangling").c_str(), O_RDONLY), -1);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(open(M("link").c_str(), O_RDONLY | O_NOFOLLOW), -1);
  EXPECT_EQ(errno, ELOOP);
  ASSERT_EQ(readlink(B("dangling").c_str(), buf, sizeof(buf)), 16);
}

TEST_F(FsOpsTest, MknodFifoAndSocketNode) {
  ASSERT_EQ(mkfifo(M("fifo").c_str(), 0640), 0);
  ASSERT_EQ(mknod(M("sock").c_str(), S_IFSOCK | 0600, 0), 0);
  struct stat st;
  ASSERT_EQ(stat(B("fifo").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  ASSERT_EQ(stat(M("sock").c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
}

TEST_F(FsOpsTest, SetattrModeOwnerSizeTimes) {
  WriteFile(M("f"), "0123456789");
  ASSERT_EQ(chmod(M("f").c_str(), 0604), 0);
  ASSERT_EQ(chown(M("f").c_str(), 1234, 5678), 0);
  ASSERT_EQ(truncate(M("f").c_str(), 4), 0);
  const timespec times[2] = {{1000000000, 123456789}, {1100000000, 987654321}};
  ASSERT_EQ(utimensat(AT_FDCWD, M("f").c_str(), times, 0), 0);
  struct stat b;
  ASSERT_EQ(stat(B("f").c_str(), &b), 0);
  EXPECT_EQ(b.st_mode & 07777, 0604u);
  EXPECT_EQ(b.st_uid, 1234u);
  EXPECT_EQ(b.st_gid, 5678u);
  EXPECT_EQ(b.st_size, 4);
  EXPECT_EQ(b.st_atim.tv_sec, 1000000000);
  EXPECT_EQ(b.st_atim.tv_nsec, 123456789);
  EXPECT_EQ(b.st_mtim.tv_sec, 1100000000);
  EXPECT_EQ(b.st_mtim.tv_nsec, 987654321);
  struct stat m;
  ASSERT_EQ(stat(M("f").c_str(), &m), 0);
  EXPECT_EQ(m.st_mtim.tv_nsec, 987654321);
  // ftruncate through an open handle, and growing.
  const int fd = open(M("f").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, 100), 0);
  close(fd);
  ASSERT_EQ(stat(B("f").c_str(), &b), 0);
  EXPECT_EQ(b.st_size, 100);
  // Symlink times, without following.
  ASSERT_EQ(symlink("f", M("l").c_str()), 0);
  ASSERT_EQ(utimensat(AT_FDCWD, M("l").c_str(), times, AT_SYMLINK_NOFOLLOW), 0);
  ASSERT_EQ(lstat(B("l").c_str(), &b), 0);
  EXPECT_EQ(b.st_mtim.tv_sec, 1100000000);
}

TEST_F(FsOpsTest, Xattrs) {
  WriteFile(M("f"), "x");
  ASSERT_EQ(setxattr(M("f").c_str(), "user.color", "blue", 4, 0), 0);
  char buf[64] = {};
  EXPECT_EQ(getxattr(M("f").c_str(), "user.color", nullptr, 0), 4);
  EXPECT_EQ(getxattr(M("f").c_str(), "user.color", buf, sizeof(buf)), 4);
  EXPECT_EQ(std::string(buf, 4), "blue");
  EXPECT_EQ(getxattr(B("f").c_str(), "user.color", buf, sizeof(buf)), 4);
  EXPECT_EQ(getxattr(M("f").c_str(), "user.color", buf, 2), -1);
  EXPECT_EQ(errno, ERANGE);
  EXPECT_EQ(setxattr(M("f").c_str(), "user.color", "red", 3, XATTR_CREATE), -1);
  EXPECT_EQ(errno, EEXIST);
  const ssize_t n = listxattr(M("f").c_str(), buf, sizeof(buf));
  ASSERT_GT(n, 0);
  EXPECT_NE(std::string(buf, n).find("user.color"), std::string::npos);
  ASSERT_EQ(removexattr(M("f").c_str(), "user.color"), 0);
  EXPECT_EQ(getxattr(M("f").c_str(), "user.color", buf, sizeof(buf)), -1);
  EXPECT_EQ(errno, ENODATA);
  // Directories take xattrs too.
  ASSERT_EQ(mkdir(M("d").c_str(), 0755), 0);
  ASSERT_EQ(setxattr(M("d").c_str(), "user.k", "v", 1, 0), 0);
  EXPECT_EQ(getxattr(B("d").c_str(), "user.k", buf, sizeof(buf)), 1);
}

TEST_F(FsOpsTest, ReaddirListsEverythingAcrossManyReplies) {
  std::set<std::string> expected = {".", ".."};
  for (int i = 0; i < 3000; ++i) {
    const std::string name = absl::StrCat("file-with-a-longish-name-", i);
    WriteFile(B(name), "");
    expected.insert(name);
  }
  EXPECT_EQ(List(mnt_->mount()), expected);
  // Twice: the second listing is served with attributes already cached.
  EXPECT_EQ(List(mnt_->mount()), expected);
  struct stat st;
  EXPECT_EQ(stat(M("file-with-a-longish-name-2999").c_str(), &st), 0);
}

TEST_F(FsOpsTest, ReaddirSeekResumesAtTheSameEntry) {
  for (int i = 0; i < 200; ++i) WriteFile(B(absl::StrCat("e", i)), "");
  DIR* d = opendir(mnt_->mount().c_str());
  ASSERT_NE(d, nullptr);
  for (int i = 0; i < 100; ++i) ASSERT_NE(readdir(d), nullptr);
  const long pos = telldir(d);
  const std::string next = readdir(d)->d_name;
  seekdir(d, pos);
  EXPECT_EQ(readdir(d)->d_name, next);
  closedir(d);
}

TEST_F(FsOpsTest, StatfsMatchesBacking) {
  struct statvfs m, b;
  ASSERT_EQ(statvfs(mnt_->mount().c_str(), &m), 0);
  ASSERT_EQ(statvfs(mnt_->backing().c_str(), &b), 0);
  EXPECT_EQ(m.f_bsize, b.f_bsize);
  EXPECT_EQ(m.f_blocks, b.f_blocks);
  EXPECT_EQ(m.f_files, b.f_files);
}

TEST_F(FsOpsTest, CreateExclusiveAndTruncateOnOpen) {
  int fd = open(M("f").c_str(), O_CREAT | O_EXCL | O_WRONLY, 0640);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "abcdef", 6), 6);
  close(fd);
  EXPECT_EQ(open(M("f").c_str(), O_CREAT | O_EXCL | O_WRONLY, 0640), -1);
  EXPECT_EQ(errno, EEXIST);
  fd = open(M("f").c_str(), O_WRONLY | O_TRUNC);
  ASSERT_GE(fd, 0);
  close(fd);
  EXPECT_EQ(ReadFile(B("f")), "");
  fd = open(M("f").c_str(), O_WRONLY | O_APPEND);
  ASSERT_EQ(write(fd, "12", 2), 2);
  ASSERT_EQ(write(fd, "34", 2), 2);
  close(fd);
  EXPECT_EQ(ReadFile(B("f")), "1234");
  EXPECT_EQ(open(M("nodir/f").c_str(), O_CREAT | O_WRONLY, 0640), -1);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(open(mnt_->mount().c_str(), O_WRONLY), -1);
  EXPECT_EQ(errno, EISDIR);
}

TEST_F(FsOpsTest, FallocateLseekCopyFileRangeFsync) {
  int fd = open(M("f").c_str(), O_CREAT | O_RDWR, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(fallocate(fd, 0, 0, 1 << 20), 0);
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_size, 1 << 20);
  ASSERT_EQ(pwrite(fd, "DATA", 4, 8 << 20), 4);
  EXPECT_EQ(fsync(fd), 0);
  EXPECT_EQ(fdatasync(fd), 0);
  EXPECT_EQ(lseek(fd, 2 << 20, SEEK_DATA), 8 << 20);
  EXPECT_EQ(lseek(fd, 8 << 20, SEEK_HOLE), (8 << 20) + 4);  // EOF
  const int out = open(M("g").c_str(), O_CREAT | O_RDWR, 0644);
  ASSERT_GE(out, 0);
  loff_t in_off = 8 << 20, out_off = 0;
  ASSERT_EQ(copy_file_range(fd, &in_off, out, &out_off, 4, 0), 4);
  close(out);
  close(fd);
  EXPECT_EQ(ReadFile(B("g")), "DATA");
  const int dfd = open(mnt_->mount().c_str(), O_RDONLY | O_DIRECTORY);
  EXPECT_EQ(fsync(dfd), 0);
  close(dfd);
}

TEST_F(FsOpsTest, DeepTreeAndLongNames) {
  std::string rel;
  for (int i = 0; i < 40; ++i) {
    rel += (i ? "/" : "") + std::string("level") + std::to_string(i);
    ASSERT_EQ(mkdir(M(rel).c_str(), 0755), 0) << rel;
  }
  WriteFile(M(rel + "/leaf"), "deep");
  EXPECT_EQ(ReadFile(B(rel + "/leaf")), "deep");
  const std::string longest(255, 'n');
  WriteFile(M(longest), "x");
  EXPECT_EQ(ReadFile(B(longest)), "x");
  EXPECT_EQ(open(M(longest + "n").c_str(), O_CREAT | O_WRONLY, 0644), -1);
  EXPECT_EQ(errno, ENAMETOOLONG);
}

}  // namespace
}  // namespace scopedfs::testing
