// A random-operation tester: a seeded PRNG draws operations (mkdir, create,
// write at an offset, truncate, rename incl. over existing names, across dirs,
// RENAME_NOREPLACE and RENAME_EXCHANGE, link, symlink, unlink, rmdir, chmod,
// utimes, set/removexattr user.*, read) on a small name space. Each operation
// runs as an unprivileged user (the thread's fsuid/fsgid) on a native twin
// dir and through the mount; results and errnos must match. After every step
// the whole mount tree must equal the backing tree and the twin tree (names,
// types, sizes, modes, owners, link counts, content, link targets, xattrs).
//
//   SCOPEDFS_RANDOM_SEED   seed (default: from the clock; always printed)
//   SCOPEDFS_RANDOM_STEPS  steps (default 2000)
// Reproduce a failure with the seed it prints, e.g.
//   env SCOPEDFS_RANDOM_SEED=1234 SCOPEDFS_RANDOM_STEPS=100000
//     TEST_SRCDIR=$PWD/.bazel/bin/tests/random_ops_test.runfiles
//     .bazel/bin/tests/random_ops_test   (one command line)
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/fsuid.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "tests/mount_test_base.h"
#include "tests/test_util.h"

namespace scopedfs::testing {
namespace {

constexpr uid_t kUser = 5001;



// Runs `fn` with the unprivileged fsuid/fsgid (this thread only); the
// file-system capabilities drop with the fsuid and come back with 0.
long AsUser(const std::function<long()>& fn) {
  setfsgid(kUser);
  setfsuid(kUser);
  errno = 0;
  long r = fn();
  const int err = errno;
  setfsuid(0);
  setfsgid(0);
  errno = err;
  return r;
}

// What an operation gave: its result (or -errno) and any data it returned.
struct Outcome {
  long result = 0;
  std::string data;
  bool operator==(const Outcome& o) const { return result == o.result && data == o.data; }
};

std::string Show(const Outcome& o) {
  return absl::StrCat(o.result < 0 ? std::string(strerrorname_np(static_cast<int>(-o.result)))
                                   : absl::StrCat(o.result),
                      o.data.empty() ? "" : absl::StrCat(" data=", absl::CEscape(o.data.substr(0, 80))));
}

Outcome Result(long r) { return Outcome{r < 0 ? -errno : r, ""}; }

// One entry of a tree, rendered for comparison.
std::string Describe(const std::string& path, const struct stat& st) {
  std::string d = absl::StrFormat("%s mode=%o uid=%d gid=%d", S_ISDIR(st.st_mode) ? "dir"
                                  : S_ISLNK(st.st_mode) ? "link" : S_ISREG(st.st_mode) ? "file" : "other",
                                  st.st_mode & 07777, st.st_uid, st.st_gid);
  if (!S_ISDIR(st.st_mode)) absl::StrAppend(&d, " nlink=", st.st_nlink);
  if (S_ISREG(st.st_mode)) {
    absl::StrAppend(&d, " size=", st.st_size);
    const std::string data = ReadFile(path);
    absl::StrAppend(&d, " hash=", std::hash<std::string>()(data), " read=", data.size());
  }
  if (S_ISLNK(st.st_mode)) {
    char target[4096];
    const ssize_t n = readlink(path.c_str(), target, sizeof(target));
    absl::StrAppend(&d, " -> ", n < 0 ? "?" : std::string(target, n));
  }
  char names[4096];
  const ssize_t n = llistxattr(path.c_str(), names, sizeof(names));
  std::vector<std::string> xattrs;
  for (ssize_t i = 0; i < n; i += strlen(names + i) + 1) {
    const std::string name = names + i;
    if (name.rfind("user.", 0) != 0) continue;
    char value[1024];
    const ssize_t v = lgetxattr(path.c_str(), name.c_str(), value, sizeof(value));
    xattrs.push_back(absl::StrCat(name, "=", v < 0 ? "?" : std::string(value, v)));
  }
  std::sort(xattrs.begin(), xattrs.end());
  for (const std::string& x : xattrs) absl::StrAppend(&d, " ", x);
  return d;
}

void Walk(const std::string& root, const std::string& rel, std::map<std::string, std::string>* out) {
  DIR* d = opendir((root + "/" + rel).c_str());
  if (d == nullptr) {
    (*out)[rel + "/"] = absl::StrCat("opendir: ", strerror(errno));
    return;
  }
  std::vector<std::string> names;
  while (dirent* e = readdir(d)) {
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) names.push_back(e->d_name);
  }
  closedir(d);
  for (const std::string& n : names) {
    const std::string r = rel.empty() ? n : rel + "/" + n;
    struct stat st;
    if (lstat((root + "/" + r).c_str(), &st) != 0) {
      (*out)[r] = absl::StrCat("lstat: ", strerror(errno));
      continue;
    }
    (*out)[r] = Describe(root + "/" + r, st);
    if (S_ISDIR(st.st_mode)) Walk(root, r, out);
  }
}

std::map<std::string, std::string> Tree(const std::string& root) {
  std::map<std::string, std::string> t;
  Walk(root, "", &t);
  return t;
}

std::string Diff(const std::map<std::string, std::string>& a, const char* an,
                 const std::map<std::string, std::string>& b, const char* bn) {
  std::string out;
  for (auto& [k, v] : a) {
    auto it = b.find(k);
    if (it == b.end()) absl::StrAppend(&out, "  only in ", an, ": ", absl::CEscape(k), " ", v, "\n");
    else if (it->second != v) absl::StrAppend(&out, "  ", absl::CEscape(k), "\n    ", an, ": ", v, "\n    ", bn, ": ", it->second, "\n");
  }
  for (auto& [k, v] : b) {
    if (!a.count(k)) absl::StrAppend(&out, "  only in ", bn, ": ", absl::CEscape(k), " ", v, "\n");
  }
  return out;
}

// One random operation, applicable to any root.
struct Operation {
  std::string text;
  std::function<Outcome(const std::string& root)> apply;
  // For a rename: its two names (see SameFileRename).
  std::string from, to;
};

// Whether `from` and `to` under `root` are two names of one file: rename(2)
// then succeeds natively without checking permissions (vfs_rename returns
// early), while through the mount each name of a hard-linked file is a node
// of its own (README, "POSIX behaviour and identity"), so the kernel checks
// the directories' permissions first. The one known difference.
bool SameFileRename(const std::string& root, const Operation& op) {
  if (op.from.empty()) return false;
  struct stat a, b;
  return lstat((root + "/" + op.from).c_str(), &a) == 0 &&
         lstat((root + "/" + op.to).c_str(), &b) == 0 && a.st_dev == b.st_dev &&
         a.st_ino == b.st_ino;
}

class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_{seed * 0x9E3779B97F4A7C15ull + 7} {}

  enum Want { kAny, kFile, kDir, kFresh };
  // A path: mostly an existing one of the wanted type (from the twin), or a
  // new name in an existing dir; sometimes anything at all.
  std::string Path(const std::map<std::string, std::string>& tree, Want want) {
    if (rng_.OneIn(6)) {
      std::string p = Name();
      for (int depth = static_cast<int>(rng_.Below(3)); depth > 0; --depth) p += "/" + Name();
      return p;
    }
    std::vector<const std::string*> pick;
    for (auto& [path, desc] : tree) {
      if (path.back() == '/') continue;
      const bool dir = desc.rfind("dir", 0) == 0, file = desc.rfind("file", 0) == 0;
      const bool shallow = std::count(path.begin(), path.end(), '/') < 2;
      if (want == kAny || (want == kFile && file) || (want == kDir && dir) ||
          (want == kFresh && dir && shallow)) {
        pick.push_back(&path);
      }
    }
    if (want == kFresh) {
      if (pick.empty() || rng_.OneIn(4)) return Name();
      return *pick[rng_.Below(pick.size())] + "/" + Name();
    }
    if (pick.empty()) return Name();
    return *pick[rng_.Below(pick.size())];
  }
  std::string Name() {
    static const char* const kNames[] = {"a", "b", "c", "d", "e", "f"};
    return kNames[rng_.Below(6)];
  }

  Operation Next(const std::map<std::string, std::string>& tree) {
    auto P = [&](Want w) { return Path(tree, w); };
    switch (rng_.Below(17)) {
      case 0:
      case 1: {
        static const mode_t kModes[] = {0755, 0700, 0500, 0777, 0300};
        const mode_t mode = rng_.OneIn(8) ? kModes[rng_.Below(5)] : 0755;
        const std::string p = P(kFresh);
        return {absl::StrFormat("mkdir %s %o", p, mode),
                [=](const std::string& r) { return Result(mkdir((r + "/" + p).c_str(), mode)); }};
      }
      case 2:
      case 3: {
        static const mode_t kModes[] = {0644, 0600, 0400, 0666, 0755};
        const mode_t mode = rng_.OneIn(4) ? kModes[rng_.Below(5)] : 0644;
        int flags = O_CREAT | O_WRONLY;
        if (rng_.OneIn(3)) flags |= O_EXCL;
        if (rng_.OneIn(3)) flags |= O_TRUNC;
        const std::string data = rng_.OneIn(2) ? rng_.Bytes(rng_.Below(3000)) : "";
        const std::string p = P(rng_.OneIn(3) ? kFile : kFresh);
        return {absl::StrFormat("create %s flags=%#x mode=%o +%d bytes", p, flags, mode, data.size()),
                [=](const std::string& r) {
                  const int fd = open((r + "/" + p).c_str(), flags, mode);
                  if (fd < 0) return Outcome{-errno, ""};
                  const ssize_t n = write(fd, data.data(), data.size());
                  Outcome o{n < 0 ? -errno : n, ""};
                  close(fd);
                  return o;
                }};
      }
      case 4:
      case 5: {
        const off_t off = rng_.OneIn(4) ? rng_.Below(70000) : rng_.Below(5000);
        const std::string data = rng_.Bytes(1 + rng_.Below(5000));
        const int flags = rng_.OneIn(4) ? O_WRONLY | O_APPEND : O_RDWR;
        const std::string p = P(rng_.OneIn(8) ? kAny : kFile);
        return {absl::StrFormat("pwrite %s @%d %d bytes flags=%#x", p, off, data.size(), flags),
                [=](const std::string& r) {
                  const int fd = open((r + "/" + p).c_str(), flags);
                  if (fd < 0) return Outcome{-errno, ""};
                  const ssize_t n = pwrite(fd, data.data(), data.size(), off);
                  Outcome o{n < 0 ? -errno : n, ""};
                  close(fd);
                  return o;
                }};
      }
      case 6: {
        const off_t len = rng_.Below(20000);
        const std::string p = P(rng_.OneIn(8) ? kAny : kFile);
        return {absl::StrFormat("truncate %s %d", p, len),
                [=](const std::string& r) { return Result(truncate((r + "/" + p).c_str(), len)); }};
      }
      case 7:
      case 8: {
        static const unsigned kFlags[] = {0, 0, 0, RENAME_NOREPLACE, RENAME_EXCHANGE};
        const unsigned flags = kFlags[rng_.Below(5)];
        const std::string p = P(kAny);
        const std::string q = rng_.OneIn(2) ? P(kAny) : P(kFresh);
        return {absl::StrFormat("rename %s %s flags=%d", p, q, flags),
                [=](const std::string& r) {
                  return Result(renameat2(AT_FDCWD, (r + "/" + p).c_str(), AT_FDCWD,
                                          (r + "/" + q).c_str(), flags));
                },
                p, q};
      }
      case 9: {
        const std::string p = P(rng_.OneIn(8) ? kAny : kFile), q = P(kFresh);
        return {absl::StrFormat("link %s %s", p, q), [=](const std::string& r) {
                  return Result(link((r + "/" + p).c_str(), (r + "/" + q).c_str()));
                }};
      }
      case 10: {
        // Relative targets without "..": they never leave the tree.
        const std::string target = rng_.OneIn(3) ? Name() + "/" + Name() : Name();
        const std::string p = P(kFresh);
        return {absl::StrFormat("symlink %s -> %s", p, target), [=](const std::string& r) {
                  return Result(symlink(target.c_str(), (r + "/" + p).c_str()));
                }};
      }
      case 11: {
        const std::string p = P(kAny);
        return {absl::StrFormat("unlink %s", p),
                [=](const std::string& r) { return Result(unlink((r + "/" + p).c_str())); }};
      }
      case 12: {
        const std::string p = P(rng_.OneIn(4) ? kAny : kDir);
        return {absl::StrFormat("rmdir %s", p),
                [=](const std::string& r) { return Result(rmdir((r + "/" + p).c_str())); }};
      }
      case 13: {
        // Mostly modes that keep the tree usable; now and then a hostile one.
        static const mode_t kModes[] = {0644, 0600, 0755, 0700, 0777, 01777, 02755, 04755,
                                        0000, 0444, 0500, 0300};
        const mode_t mode = kModes[rng_.OneIn(10) ? 8 + rng_.Below(4) : rng_.Below(8)];
        const std::string p = P(kAny);
        return {absl::StrFormat("chmod %s %o", p, mode),
                [=](const std::string& r) { return Result(chmod((r + "/" + p).c_str(), mode)); }};
      }
      case 14: {
        const timespec ts[2] = {{static_cast<time_t>(1e9 + rng_.Below(1e8)), 0},
                                {static_cast<time_t>(1e9 + rng_.Below(1e8)),
                                 static_cast<long>(rng_.Below(1000)) * 1000}};
        const int flags = rng_.OneIn(3) ? AT_SYMLINK_NOFOLLOW : 0;
        const std::string p = P(kAny);
        return {absl::StrFormat("utimens %s %d %d flags=%#x", p, ts[0].tv_sec, ts[1].tv_sec, flags),
                [=](const std::string& r) {
                  const std::string path = r + "/" + p;
                  if (utimensat(AT_FDCWD, path.c_str(), ts, flags) != 0) return Outcome{-errno, ""};
                  struct stat st;
                  if (fstatat(AT_FDCWD, path.c_str(), &st, flags) != 0) return Outcome{-errno, "stat"};
                  return Outcome{0, absl::StrCat(st.st_mtim.tv_sec, ".", st.st_mtim.tv_nsec)};
                }};
      }
      case 15: {
        const std::string name = absl::StrCat("user.k", rng_.Below(3));
        const std::string p = P(rng_.OneIn(4) ? kAny : kFile);
        if (rng_.OneIn(3)) {
          return {absl::StrFormat("removexattr %s %s", p, name), [=](const std::string& r) {
                    return Result(removexattr((r + "/" + p).c_str(), name.c_str()));
                  }};
        }
        static const int kFlags[] = {0, 0, XATTR_CREATE, XATTR_REPLACE};
        const int flags = kFlags[rng_.Below(4)];
        const std::string value = rng_.Bytes(rng_.Below(40));
        return {absl::StrFormat("setxattr %s %s=%s flags=%d", p, name, value, flags),
                [=](const std::string& r) {
                  return Result(setxattr((r + "/" + p).c_str(), name.c_str(), value.data(),
                                         value.size(), flags));
                }};
      }
      default: {
        const off_t off = rng_.Below(6000);
        const std::string p = P(rng_.OneIn(8) ? kAny : kFile);
        return {absl::StrFormat("read %s @%d", p, off), [=](const std::string& r) {
                  const int fd = open((r + "/" + p).c_str(), O_RDONLY);
                  if (fd < 0) return Outcome{-errno, ""};
                  std::string buf(8192, '\0');
                  const ssize_t n = pread(fd, buf.data(), buf.size(), off);
                  Outcome o{n < 0 ? -errno : n, n > 0 ? buf.substr(0, n) : ""};
                  close(fd);
                  return o;
                }};
      }
    }
  }

 private:
  Rng rng_;
};

// The shared mount, or the same tree through the per-app view of the
// tester's uid (MOUNT/.apps/5001: every op runs as that uid, which a view
// admits; root walks it for the comparison): a view is the same file system.
class RandomOpsTest : public MountTest, public ::testing::WithParamInterface<bool> {};

TEST_P(RandomOpsTest, EveryStepMatchesANativeTwinAndTheBackingDir) {
  const uint64_t seed = EnvOr("SCOPEDFS_RANDOM_SEED",
                              static_cast<uint64_t>(time(nullptr)) * 1000 + getpid() % 1000);
  const uint64_t steps = EnvOr("SCOPEDFS_RANDOM_STEPS", 2000);
  std::printf("random ops: SCOPEDFS_RANDOM_SEED=%lu SCOPEDFS_RANDOM_STEPS=%lu\n",
              static_cast<unsigned long>(seed), static_cast<unsigned long>(steps));
  TempDir twin_dir;
  const std::string twin = twin_dir.Sub("twin");
  ASSERT_EQ(mkdir(twin.c_str(), 0777), 0);
  ASSERT_EQ(chmod(twin.c_str(), 0777), 0);
  // xattrs on the same kind of file system, or the comparison is moot.
  ASSERT_EQ(setxattr(twin.c_str(), "user.probe", "1", 1, 0), 0) << strerror(errno);
  removexattr(twin.c_str(), "user.probe");

  // The tester runs in a child: it drops its groups, and switches fsuid per
  // operation. It reports a failure as text through a shared buffer.
  constexpr size_t kReport = 64 << 10;
  char* report = static_cast<char*>(mmap(nullptr, kReport, PROT_READ | PROT_WRITE,
                                         MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(report, MAP_FAILED);
  report[0] = '\0';
  uint64_t* done_steps = reinterpret_cast<uint64_t*>(report + kReport - 64);
  uint64_t* mismatched_ok = done_steps + 1;  // Steps whose op failed (same errno).
  uint64_t* same_file_renames = done_steps + 2;
  fflush(nullptr);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (setgroups(0, nullptr) != 0) _exit(3);
    umask(022);
    Generator gen(seed);
    std::deque<std::string> history;
    std::map<std::string, int> errnos;
    const std::string mount =
        GetParam() ? absl::StrCat(mnt_->mount(), "/.apps/", kUser) : mnt_->mount();
    const std::string backing = mnt_->backing();
    for (uint64_t step = 1; step <= steps; ++step) {
      const auto twin_tree = Tree(twin);
      const Operation op = gen.Next(twin_tree);
      history.push_back(op.text);
      if (history.size() > 25) history.pop_front();
      Outcome native, mounted;
      const bool same_file = SameFileRename(twin, op);
      AsUser([&] { native = op.apply(twin); return 0L; });
      AsUser([&] { mounted = op.apply(mount); return 0L; });
      std::string problem;
      if (same_file && native.result == 0 && mounted.result == -EACCES) {
        ++*same_file_renames;  // The known difference (SameFileRename).
      } else if (!(native == mounted)) {
        problem = absl::StrCat("op result differs: native ", Show(native), ", mount ", Show(mounted), "\n");
      }
      if (native.result < 0) {
        ++*mismatched_ok;
        ++errnos[strerrorname_np(static_cast<int>(-native.result))];
      }
      const auto t = Tree(twin), m = Tree(mount), b = Tree(backing);
      if (m != b) absl::StrAppend(&problem, "mount tree != backing tree:\n", Diff(m, "mount", b, "backing"));
      if (m != t) absl::StrAppend(&problem, "mount tree != twin tree:\n", Diff(m, "mount", t, "twin"));
      *done_steps = step;
      if (!problem.empty()) {
        std::string text = absl::StrCat("step ", step, " (SCOPEDFS_RANDOM_SEED=", seed,
                                        " SCOPEDFS_RANDOM_STEPS=", step, "): ", op.text, "\n",
                                        problem, "last operations:\n");
        for (const std::string& h : history) absl::StrAppend(&text, "  ", h, "\n");
        snprintf(report, kReport - 64, "%s", text.c_str());
        _exit(1);
      }
    }
    for (auto& [e, n] : errnos) std::printf("  %s: %d\n", e.c_str(), n);
    fflush(stdout);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "status " << status << "\n" << report;
  EXPECT_EQ(*done_steps, steps);
  std::printf("%lu steps, %lu of them failed alike natively and through the mount, "
              "%lu renames of a name onto another name of its file refused by the "
              "kernel (the known difference)\n",
              static_cast<unsigned long>(*done_steps), static_cast<unsigned long>(*mismatched_ok),
              static_cast<unsigned long>(*same_file_renames));
  // A tester whose every op fails tests nothing.
  EXPECT_LT(*mismatched_ok, *done_steps * 3 / 4);
  EXPECT_FALSE(Tree(mnt_->mount()).empty());
  munmap(report, kReport);
}

INSTANTIATE_TEST_SUITE_P(Trees, RandomOpsTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "app_view" : "shared_mount";
                         });

}  // namespace
}  // namespace scopedfs::testing
