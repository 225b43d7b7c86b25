// What the kernel keeps for one caller never shows another caller a name the
// policy hides from it. Many callers with different rights (root, a system
// uid, media apps with and without location, an app without permissions,
// another Android user's app, uids that are no app) take random turns at
// stat, open, listing and a passed directory descriptor, on the shared
// mount and in their per-app views, with kernel caches kept 60 s, under the
// Android default policy over a tree with owned and unowned files, private
// directories of three apps and two users, and a directory of the media
// collection owned by an app without media permission.
//
// The oracle is the policy engine itself, asked without any cache: the
// LOOKUP verdict of each component of the path, for that caller, with the
// owners the test made. Hidden (HIDE) must answer ENOENT everywhere, always;
// denied (DENY) EACCES on every path walk and open; a denied name may be
// listed (denied entries are) and, through a descriptor another app passed,
// show attributes the kernel keeps (README, "Visibility and the kernel's
// caches"), but never open.
//
// SCOPEDFS_VISIBILITY_STEPS (default 3000) and SCOPEDFS_VISIBILITY_SEED
// (default: time) for long runs.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "policy/default_policy.h"
#include "policy/engine.h"
#include "policy/policy_text.h"
#include "tests/file_util.h"
#include "tests/mount_test_base.h"
#include "tests/shell.h"
#include "tests/test_util.h"

namespace scopedfs::testing {
namespace {

constexpr uid_t kGallery = 1010001;   // media, media_location
constexpr uid_t kSocial = 1010002;    // media
constexpr uid_t kNotes = 1010003;     // nothing
constexpr uid_t kSocial11 = 1110002;  // social of Android user 11
constexpr uid_t kNoApp = 1019999;     // user 10, no app
constexpr uid_t kPlain = 5000;        // no app, user 0
constexpr uid_t kSystem = 1000;

const std::vector<uid_t>& Callers() {
  static const auto* callers = new std::vector<uid_t>{
      0, kSystem, kGallery, kSocial, kNotes, kSocial11, kNoApp, kPlain};
  return *callers;
}
bool HasView(uid_t uid) { return uid != 0 && uid != kSystem; }

// The tree (directories end in '/'), and who creates each entry through
// the mount (0: root, in the backing dir, so nobody owns it).
struct Made {
  std::string path;
  uid_t by;
};
const std::vector<Made>& Tree() {
  static const auto* tree = new std::vector<Made>{
      {"DCIM/", 0},
      {"DCIM/Camera/", 0},
      {"DCIM/Camera/root.jpg", 0},
      {"DCIM/Camera/by_gallery.jpg", kGallery},
      {"DCIM/Camera/by_social.jpg", kSocial},
      {"DCIM/Camera/notes.txt", kSocial},
      {"DCIM/Notes/", 0},  // Given to the notes app by an admin (below).
      {"DCIM/Notes/root.jpg", 0},
      {"Download/", 0},
      {"Download/doc.pdf", kGallery},
      {"Android/", 0},
      {"Android/data/", 0},
      {"Android/data/10/", 0},
      {"Android/data/11/", 0},
      {"Android/data/10/com.example.gallery/", kGallery},
      {"Android/data/10/com.example.gallery/g.txt", kGallery},
      {"Android/data/10/com.example.social/", kSocial},
      {"Android/data/10/com.example.social/s.txt", kSocial},
      {"Android/data/10/com.example.notes/", kNotes},
      {"Android/data/10/com.example.notes/n.txt", kNotes},
      {"Android/data/11/com.example.social/", kSocial11},
      {"Android/data/11/com.example.social/s11.txt", kSocial11},
      {"secret.txt", 0},
  };
  return *tree;
}

std::string Trim(const std::string& p) {
  return !p.empty() && p.back() == '/' ? p.substr(0, p.size() - 1) : p;
}

class VisibilityCacheTest : public MountTest {
 protected:
  std::vector<std::string> DaemonFlags() const override {
    WriteFile(dir_.Sub("default.textproto"), std::string(policy::DefaultPolicyText()));
    return {"--policy=" + dir_.Sub("default.textproto"), "--timeout=60"};
  }

  void SetUp() override {
    MountTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    for (const Made& m : Tree()) {
      const std::string rel = Trim(m.path);
      const bool dir = m.path.back() == '/';
      if (m.by == 0) {
        if (dir) {
          ASSERT_EQ(mkdir(B(rel).c_str(), 0777), 0) << rel;
          chmod(B(rel).c_str(), 0777);
        } else {
          WriteFile(B(rel), "root's");
          chmod(B(rel).c_str(), 0666);
        }
        continue;
      }
      ASSERT_EQ(RunAs(User(m.by), [&] {
                  if (dir) {
                    if (mkdir(M(rel).c_str(), 0777) != 0) return errno;
                    return ErrnoOf(chmod(M(rel).c_str(), 0777));
                  }
                  const int fd = open(M(rel).c_str(), O_WRONLY | O_CREAT | O_EXCL, 0666);
                  if (fd < 0) return errno;
                  const bool ok = write(fd, "app's", 5) == 5 && fchmod(fd, 0666) == 0;
                  close(fd);
                  return ok ? 0 : EIO;
                }),
                0)
          << rel << " by " << m.by;
      owners_[rel] = m.by;
    }
    ASSERT_EQ(Shell(absl::StrCat(getenv("TEST_SRCDIR"),
                                 "/scopedfs/tools/scopedctl --state_dir=", mnt_->state_dir(),
                                 " owner set DCIM/Notes --uid=", kNotes, " >/dev/null")),
              0);
    owners_["DCIM/Notes"] = kNotes;
    auto policy = policy::ParsePolicyText(policy::DefaultPolicyText());
    ASSERT_TRUE(policy.ok());
    auto engine = policy::Engine::Compile(*policy, 1);
    ASSERT_TRUE(engine.ok());
    engine_ = *engine;
  }

  // The oracle: 0, EACCES or ENOENT for a path walk to `rel` by `uid`.
  int Expected(uid_t uid, const std::string& rel) const {
    std::string prefix;
    for (absl::string_view part : absl::StrSplit(rel, '/')) {
      if (!prefix.empty()) prefix.push_back('/');
      prefix.append(part.data(), part.size());
      if (int err = Own(uid, prefix); err != 0) return err;
    }
    return 0;
  }
  // The LOOKUP verdict of `rel` itself (reached from a descriptor of its
  // directory, no walk), as an errno.
  int Own(uid_t uid, const std::string& rel) const {
    policy::Request req;
    req.uid = uid;
    req.gid = uid;
    req.path = rel;
    req.op = v1::LOOKUP;
    req.is_dir = IsDir(rel);
    auto owner = owners_.find(rel);
    req.caller_is_owner = owner != owners_.end() && owner->second == uid;
    switch (engine_->Decide(req).action) {
      case v1::ALLOW: case v1::ALLOW_REDACTED: return 0;
      case v1::HIDE: return ENOENT;
      default: return EACCES;
    }
  }
  static bool IsDir(const std::string& rel) {
    for (const Made& m : Tree()) {
      if (m.path == rel + "/") return true;
    }
    return false;
  }
  // The children of directory `rel` a listing by `uid` must show: all but
  // the hidden ones.
  std::vector<std::string> ExpectedListing(uid_t uid, const std::string& rel) const {
    std::vector<std::string> names;
    for (const Made& m : Tree()) {
      const std::string path = Trim(m.path);
      const size_t slash = path.rfind('/');
      const std::string parent = slash == std::string::npos ? "" : path.substr(0, slash);
      if (parent != rel) continue;
      // Hidden only if this very entry is HIDE (its parent is listable).
      policy::Request req;
      req.uid = uid;
      req.gid = uid;
      req.path = path;
      req.op = v1::LOOKUP;
      req.is_dir = m.path.back() == '/';
      auto owner = owners_.find(path);
      req.caller_is_owner = owner != owners_.end() && owner->second == uid;
      if (engine_->Decide(req).action == v1::HIDE) continue;
      names.push_back(path.substr(slash == std::string::npos ? 0 : slash + 1));
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  TempDir dir_;
  std::map<std::string, uid_t> owners_;
  std::shared_ptr<const policy::Engine> engine_;
};

std::vector<std::string> ListFd(int dirfd) {
  std::vector<std::string> names;
  const int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY);
  if (fd < 0) return {absl::StrCat("!", errno)};
  DIR* d = fdopendir(fd);
  while (dirent* de = readdir(d)) {
    const std::string name = de->d_name;
    if (name != "." && name != ".." && name != ".apps") names.push_back(name);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

TEST_F(VisibilityCacheTest, NoCallerEverSeesAHiddenNameThroughWhatAnotherCached) {
  const uint64_t seed = EnvOr("SCOPEDFS_VISIBILITY_SEED",
                              static_cast<uint64_t>(time(nullptr)));
  const uint64_t steps = EnvOr("SCOPEDFS_VISIBILITY_STEPS", 3000);
  std::printf("visibility: SCOPEDFS_VISIBILITY_SEED=%lu SCOPEDFS_VISIBILITY_STEPS=%lu\n",
              static_cast<unsigned long>(seed), static_cast<unsigned long>(steps));
  std::vector<std::string> paths, dirs = {""};
  for (const Made& m : Tree()) {
    paths.push_back(Trim(m.path));
    if (m.path.back() == '/') dirs.push_back(Trim(m.path));
  }
  // Root opens every directory once: the descriptors apps pass each other.
  std::map<std::string, int> passed;
  for (const std::string& d : dirs) {
    passed[d] = open(M(d).c_str(), O_RDONLY | O_DIRECTORY);
    ASSERT_GE(passed[d], 0) << d;
  }
  std::mt19937_64 rng(seed);
  // Each step runs in a child as the caller (the kernel caches persist
  // between steps: that is what is tested). Failures come back as text.
  int checks = 0, hidden_seen = 0, denied_seen = 0;
  for (uint64_t step = 0; step < steps; ++step) {
    const uid_t uid = Callers()[rng() % Callers().size()];
    const bool in_view = HasView(uid) && rng() % 3 == 0;
    const auto at = [&](const std::string& rel) {
      return in_view ? M(absl::StrCat(".apps/", uid, rel.empty() ? "" : "/", rel)) : M(rel);
    };
    const int kind = static_cast<int>(rng() % 4);
    const std::string& path = paths[rng() % paths.size()];
    const std::string& dir = dirs[rng() % dirs.size()];
    const std::string name = [&] {
      // A child of `dir`, or a name that is nowhere.
      std::vector<std::string> kids;
      for (const std::string& p : paths) {
        const size_t slash = p.rfind('/');
        if ((slash == std::string::npos ? "" : p.substr(0, slash)) == dir) {
          kids.push_back(p.substr(slash == std::string::npos ? 0 : slash + 1));
        }
      }
      return kids.empty() || rng() % 8 == 0 ? std::string("absent")
                                             : kids[rng() % kids.size()];
    }();
    const std::string child = dir.empty() ? name : dir + "/" + name;
    const int want = Expected(uid, path);
    const int want_child = name == "absent" ? ENOENT : Own(uid, child);
    const int dir_ok = Expected(uid, dir);
    const int dir_own = dir.empty() ? 0 : Own(uid, dir);
    hidden_seen += want == ENOENT;
    denied_seen += want == EACCES;
    std::string why;
    int pipefd[2];
    ASSERT_EQ(pipe(pipefd), 0);
    const pid_t pid = fork();
    if (pid == 0) {
      close(pipefd[0]);
      std::string out;
      if (!BecomeIdentity(User(uid))) _exit(99);
      struct stat st;
      switch (kind) {
        case 0: {  // stat by path
          const int got = stat(at(path).c_str(), &st) == 0 ? 0 : errno;
          if (got != want) out = absl::StrCat("stat ", path, ": ", got, " want ", want);
          break;
        }
        case 1: {  // open by path: a refused walk refuses the open alike
          const int fd = open(at(path).c_str(), O_RDONLY);
          const int got = fd >= 0 ? 0 : errno;
          if (fd >= 0) close(fd);
          if (want != 0 && got != want) {
            out = absl::StrCat("open ", path, ": ", got, " want ", want);
          }
          break;
        }
        case 2: {  // listing by path
          if (dir_ok != 0) break;
          const int fd = open(at(dir).c_str(), O_RDONLY | O_DIRECTORY);
          std::vector<std::string> got = fd >= 0 ? ListFd(fd) : std::vector<std::string>{
              absl::StrCat("!", errno)};
          if (fd >= 0) close(fd);
          if (got != ExpectedListing(uid, dir)) {
            out = absl::StrCat("list ", dir, ": got [", absl::StrJoin(got, ","), "] want [",
                               absl::StrJoin(ExpectedListing(uid, dir), ","), "]");
          }
          break;
        }
        case 3: {  // a descriptor of `dir` passed by root
          if (in_view) break;  // Passed descriptors are of the shared mount.
          const int fd = passed[dir];
          const int got_stat = fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : errno;
          const int ofd = openat(fd, name.c_str(), O_RDONLY);
          const int got_open = ofd >= 0 ? 0 : errno;
          if (ofd >= 0) close(ofd);
          // Hidden: never (ENOENT, or EACCES when the directory itself is
          // denied to the caller: the answer for any name there). Denied:
          // attributes may show (kept entries), opens never.
          if (want_child == ENOENT && got_stat != ENOENT &&
              !(dir_own == EACCES && got_stat == EACCES)) {
            out = absl::StrCat("passed ", dir, " fstatat ", name, ": ", got_stat, " want ENOENT");
          } else if (want_child != 0 && got_open == 0) {
            out = absl::StrCat("passed ", dir, " openat ", name, " opened, want ", want_child);
          } else if (want_child == 0 && dir_own == 0 && got_stat != 0) {
            out = absl::StrCat("passed ", dir, " fstatat ", name, ": ", got_stat, " want 0");
          }
          // Its listing never shows a hidden name either.
          for (const std::string& n : ListFd(fd)) {
            const std::string c = dir.empty() ? n : dir + "/" + n;
            if (n[0] != '!' && Own(uid, c) == ENOENT) {
              out += absl::StrCat(" passed ", dir, " lists hidden ", n);
            }
          }
          break;
        }
      }
      if (!out.empty()) write(pipefd[1], out.data(), out.size());
      _exit(0);
    }
    close(pipefd[1]);
    char buf[4096];
    ssize_t n;
    while ((n = read(pipefd[0], buf, sizeof buf)) > 0) why.append(buf, n);
    close(pipefd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "step " << step;
    ASSERT_EQ(why, "") << "step " << step << " uid " << uid << (in_view ? " (its view)" : "")
                       << " (SCOPEDFS_VISIBILITY_SEED=" << seed << ")";
    ++checks;
  }
  for (auto& [d, fd] : passed) close(fd);
  // Not vacuous: the walk met hidden and denied names, and the kernel kept
  // entries (most steps asked the daemon nothing).
  EXPECT_GT(hidden_seen, 10);
  EXPECT_GT(denied_seen, 10);
  std::printf("%d steps, %d on hidden paths, %d on denied paths, %lu lookups\n", checks,
              hidden_seen, denied_seen, static_cast<unsigned long>(Stat("lookups")));
}

}  // namespace
}  // namespace scopedfs::testing
