// POSIX permission and ownership rules for non-root callers, differentially:
// every scenario runs once in a plain directory on the backing file system
// (a TempDir under /tmp) and once inside the mount, each run writing a
// transcript (the errno name or "ok" of every step, then stat facts: type,
// mode with set-id/sticky bits, uid:gid, link count, size). The two
// transcripts must be equal, and the native one must show the outcome the
// rule promises (so no scenario can pass by doing nothing).
//
// Setup runs as root in the test process; the acting steps run in a forked
// child with the caller's uid/gid/supplementary groups and umask 022.
// Transcripts name files relative to the scenario's base directory and record
// times only as relations ("advanced"/"same"), never absolute values.
// SFS_PRINT_TRANSCRIPTS=1 prints every native transcript.
//
// Comments "Fixed difference, kept as a regression test" describe a
// difference this suite found in an earlier daemon and its cause at the time
// (set-id clearing, ACLs, umask, xattr namespaces...); the daemon now matches
// the native result, and the test keeps it that way.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "tests/mount_test_base.h"

namespace scopedfs::testing {
namespace {

// The cast of callers. Ids need not exist in /etc/passwd.
const Identity kRoot{0, 0, {}};
const Identity kAlice{1000, 1000, {}};              // "A"
const Identity kAlice2000{1000, 1000, {2000}};      // A, also in group 2000
const Identity kAlice3000{1000, 1000, {3000}};      // A, also in group 3000
const Identity kBob{1001, 1001, {}};                // "B"
const Identity kCarol{1002, 1002, {}};              // "C"

std::string ErrName(int err) {
  const char* name = strerrorname_np(err);
  return name != nullptr ? name : absl::StrCat("errno", err);
}

char TypeChar(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return 'f';
    case S_IFDIR: return 'd';
    case S_IFLNK: return 'l';
    case S_IFIFO: return 'p';
    case S_IFSOCK: return 's';
    case S_IFCHR: return 'c';
    case S_IFBLK: return 'b';
  }
  return '?';
}

// "f 04755 1000:1000 n1 s5", "d 0755 0:0 n2", "absent", or an errno name.
std::string Facts(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    return errno == ENOENT ? "absent" : ErrName(errno);
  }
  std::string s = absl::StrFormat("%c 0%o %u:%u n%u", TypeChar(st.st_mode),
                                  st.st_mode & 07777, st.st_uid, st.st_gid,
                                  static_cast<unsigned>(st.st_nlink));
  if (!S_ISDIR(st.st_mode)) absl::StrAppend(&s, " s", st.st_size);
  return s;
}

// Opens and closes; the fd (>= 0) or -1 with errno.
long OpenClose(const std::string& path, int flags, mode_t mode = 0) {
  const int fd = open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return -1;
  close(fd);
  return 0;
}

// Opens, applies `fn` to the fd, closes. -1 with errno if open or fn fails.
long WithFd(const std::string& path, int flags,
            const std::function<long(int)>& fn, mode_t mode = 0) {
  const int fd = open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return -1;
  const long r = fn(fd);
  const int err = errno;
  close(fd);
  errno = err;
  return r < 0 ? -1 : 0;
}

long WriteVia(const std::string& path, int flags, const std::string& data) {
  return WithFd(path, flags, [&](int fd) -> long {
    const ssize_t n = write(fd, data.data(), data.size());
    if (n >= 0 && static_cast<size_t>(n) != data.size()) {
      errno = EIO;
      return -1;
    }
    return n;
  });
}

std::string Content(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrName(errno);
  std::string out;
  char buf[256];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, n);
  const int err = errno;
  close(fd);
  if (n < 0) return ErrName(err);
  return "'" + out + "'";
}

// Sorted names without . and .., or the errno of opendir/readdir.
std::string Listing(const std::string& path) {
  DIR* d = opendir(path.c_str());
  if (d == nullptr) return ErrName(errno);
  std::vector<std::string> names;
  errno = 0;
  while (dirent* de = readdir(d)) {
    const std::string name = de->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  const int err = errno;
  closedir(d);
  if (err != 0) return ErrName(err);
  std::sort(names.begin(), names.end());
  return "[" + absl::StrJoin(names, ",") + "]";
}

// Sorted xattr names, or an errno name.
std::string XattrNames(const std::string& path) {
  char buf[4096];
  const ssize_t n = llistxattr(path.c_str(), buf, sizeof(buf));
  if (n < 0) return ErrName(errno);
  std::vector<std::string> names;
  for (ssize_t i = 0; i < n;) {
    const std::string name(buf + i);
    names.push_back(name);
    i += name.size() + 1;
  }
  std::sort(names.begin(), names.end());
  return "[" + absl::StrJoin(names, ",") + "]";
}

std::string XattrValue(const std::string& path, const char* name) {
  char buf[256];
  const ssize_t n = lgetxattr(path.c_str(), name, buf, sizeof(buf));
  if (n < 0) return ErrName(errno);
  return "'" + std::string(buf, n) + "'";
}

// A POSIX ACL in the system.posix_acl_* xattr format.
struct AclEntry {
  uint16_t tag;
  uint16_t perm;
  uint32_t id;
};
constexpr uint16_t kAclUserObj = 0x01, kAclUser = 0x02, kAclGroupObj = 0x04,
                   kAclMask = 0x10, kAclOther = 0x20;
constexpr uint32_t kNoId = 0xffffffffu;
std::string AclXattr(const std::vector<AclEntry>& entries) {
  std::string v;
  const uint32_t version = 2;
  v.append(reinterpret_cast<const char*>(&version), 4);
  for (const AclEntry& e : entries) {
    v.append(reinterpret_cast<const char*>(&e.tag), 2);
    v.append(reinterpret_cast<const char*>(&e.perm), 2);
    v.append(reinterpret_cast<const char*>(&e.id), 4);
  }
  return v;
}

struct Times {
  timespec atime{}, mtime{}, ctime{};
  bool ok = false;
};
Times TimesOf(const std::string& path) {
  struct stat st;
  Times t;
  if (lstat(path.c_str(), &st) == 0) {
    t.atime = st.st_atim;
    t.mtime = st.st_mtim;
    t.ctime = st.st_ctim;
    t.ok = true;
  }
  return t;
}
bool After(const timespec& a, const timespec& b) {
  return a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec > b.tv_nsec);
}
bool Same(const timespec& a, const timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}
std::string Rel(const timespec& before, const timespec& after) {
  return After(after, before) ? "advanced" : Same(after, before) ? "same" : "went back";
}

// One run of a scenario: a base directory, who is acting, and the transcript.
class S {
 public:
  S(std::string base, std::string who)
      : base_(std::move(base)), who_(std::move(who)) {}

  std::string P(const std::string& rel) const {
    return rel.empty() ? base_ : base_ + "/" + rel;
  }
  const std::string& out() const { return out_; }

  void Note(const std::string& what, const std::string& result) {
    const std::string line = absl::StrCat(who_, ": ", what, " = ", result, "\n");
    out_ += line;
    // In a child, each line goes to the parent at once: a crash keeps the
    // transcript up to the step that crashed.
    if (stream_fd_ >= 0) WriteAll(stream_fd_, line);
  }
  // Runs `fn` (a call returning < 0 with errno on failure) and notes the
  // outcome: "ok" or the errno name.
  template <typename Fn>
  void Do(const std::string& what, Fn fn) {
    errno = 0;
    const long r = static_cast<long>(fn());
    const int err = errno;
    Note(what, r < 0 ? ErrName(err) : "ok");
  }
  void Stat(const std::string& rel) {
    Note("stat " + (rel.empty() ? std::string(".") : rel), Facts(P(rel)));
  }
  void Stats(const std::vector<std::string>& rels) {
    for (const std::string& r : rels) Stat(r);
  }

  // Setup helpers, as root: on failure they note it (so it shows up in the
  // transcript diff and in the expectations).
  void Dir(const std::string& rel, mode_t mode, uid_t uid = 0, gid_t gid = 0) {
    const std::string p = P(rel);
    if (mkdir(p.c_str(), 0700) != 0) return Fail("mkdir", rel);
    Own(rel, mode, uid, gid);
  }
  void File(const std::string& rel, mode_t mode, uid_t uid = 0, gid_t gid = 0,
            const std::string& data = "data") {
    const std::string p = P(rel);
    const int fd = open(p.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) return Fail("create", rel);
    const bool ok = write(fd, data.data(), data.size()) ==
                    static_cast<ssize_t>(data.size());
    close(fd);
    if (!ok) return Fail("write", rel);
    Own(rel, mode, uid, gid);
  }
  // chown, then chmod (chown clears set-id bits).
  void Own(const std::string& rel, mode_t mode, uid_t uid, gid_t gid) {
    const std::string p = P(rel);
    if (lchown(p.c_str(), uid, gid) != 0) return Fail("chown", rel);
    if (chmod(p.c_str(), mode) != 0) return Fail("chmod", rel);
  }
  // lchown only (chmod would follow a symlink).
  void OwnLink(const std::string& rel, uid_t uid, gid_t gid) {
    if (lchown(P(rel).c_str(), uid, gid) != 0) Fail("lchown", rel);
  }
  void SetTimes(const std::string& rel, time_t sec) {
    const timespec ts[2] = {{sec, 0}, {sec, 0}};
    if (utimensat(AT_FDCWD, P(rel).c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0) {
      Fail("utimensat", rel);
    }
  }
  void Fail(const std::string& op, const std::string& rel) {
    Note(absl::StrCat("SETUP ", op, " ", rel), ErrName(errno));
  }

  // Runs `fn` in a child as `who` (umask `mask`) and appends its transcript,
  // its lines tagged with `name`. Real and effective ids may differ
  // (`euid`/`egid`, default: the same as who.uid/who.gid).
  void As(const Identity& who, const std::string& name,
          const std::function<void(S&)>& fn, mode_t mask = 022,
          uid_t euid = static_cast<uid_t>(-1),
          gid_t egid = static_cast<gid_t>(-1)) {
    if (euid == static_cast<uid_t>(-1)) euid = who.uid;
    if (egid == static_cast<gid_t>(-1)) egid = who.gid;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return Fail("pipe", name);
    fflush(nullptr);
    const pid_t pid = fork();
    if (pid < 0) return Fail("fork", name);
    if (pid == 0) {
      close(fds[0]);
      S child(base_, name);
      child.stream_fd_ = fds[1];
      if (setgroups(who.groups.size(), who.groups.data()) != 0 ||
          setresgid(who.gid, egid, egid) != 0 ||
          setresuid(who.uid, euid, euid) != 0) {
        child.Note("IDENTITY SWITCH", ErrName(errno));
      } else {
        umask(mask);
        fn(child);
      }
      _exit(0);
    }
    close(fds[1]);
    std::string got;
    char buf[4096];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof(buf))) > 0) got.append(buf, n);
    close(fds[0]);
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
      absl::StrAppend(&got, name, ": CHILD DIED (status ", status, ")\n");
    }
    out_ += got;
  }

 private:
  static void WriteAll(int fd, const std::string& s) {
    for (size_t done = 0; done < s.size();) {
      const ssize_t n = write(fd, s.data() + done, s.size() - done);
      if (n <= 0) return;
      done += n;
    }
  }

  std::string base_, who_;
  std::string out_;
  int stream_fd_ = -1;
};

// A child that opens `path` as `who` and keeps it open until Release().
// A later HeldOpen's child inherits this one's control pipe, so release them
// in reverse order of creation (as scope exit does).
class HeldOpen {
 public:
  HeldOpen(const Identity& who, const std::string& path, int flags) {
    int status[2], ctl[2];
    if (pipe2(status, O_CLOEXEC) != 0 || pipe2(ctl, O_CLOEXEC) != 0) abort();
    fflush(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      close(status[0]);
      close(ctl[1]);
      std::string res;
      if (!BecomeIdentity(who)) {
        res = "IDENTITY SWITCH FAILED";
      } else {
        const int fd = open(path.c_str(), flags | O_CLOEXEC);
        res = fd >= 0 ? "ok" : ErrName(errno);
      }
      (void)!write(status[1], res.data(), res.size());
      close(status[1]);
      char c;
      while (read(ctl[0], &c, 1) > 0) {
      }
      _exit(0);  // Closes the file.
    }
    close(status[1]);
    close(ctl[0]);
    ctl_ = ctl[1];
    char buf[64];
    ssize_t n;
    while ((n = read(status[0], buf, sizeof(buf))) > 0) result_.append(buf, n);
    close(status[0]);
  }
  ~HeldOpen() { Release(); }
  const std::string& result() const { return result_; }
  void Release() {
    if (ctl_ < 0) return;
    close(ctl_);
    ctl_ = -1;
    waitpid(pid_, nullptr, 0);
  }

 private:
  pid_t pid_ = -1;
  int ctl_ = -1;
  std::string result_;
};

// Every scenario runs against a mount with kernel passthrough (reads and
// writes bypass the daemon) and one without (the daemon serves them).
class PosixRulesTest : public MountTest,
                       public ::testing::WithParamInterface<bool> {
 protected:
  std::vector<std::string> DaemonFlags() const override {
    return {GetParam() ? "--passthrough=true" : "--passthrough=false"};
  }
  void SetUp() override {
    umask(022);
    MountTest::SetUp();
    native_ = std::make_unique<TempDir>();
  }

  // Runs `scenario` natively and in the mount (base "<root>/s" each), checks
  // the transcripts are equal, and returns the native one.
  std::string Differential(const std::function<void(S&)>& scenario) {
    if (mnt_ == nullptr) return "";
    S native(native_->Sub("s"), "root");
    scenario(native);
    S mounted(M("s"), "root");
    scenario(mounted);
    EXPECT_EQ(native.out(), mounted.out())
        << "native (first) and mount (second) transcripts differ";
    const char* print = getenv("SFS_PRINT_TRANSCRIPTS");
    if (print != nullptr && *print == '1') {
      std::printf("---- native transcript of %s\n%s",
                  ::testing::UnitTest::GetInstance()->current_test_info()->name(),
                  native.out().c_str());
      if (native.out() != mounted.out()) {
        std::printf("---- mount transcript\n%s", mounted.out().c_str());
      }
    }
    return native.out();
  }

  std::unique_ptr<TempDir> native_;
};

bool HasLine(const std::string& transcript, const std::string& line) {
  return ("\n" + transcript).find("\n" + line + "\n") != std::string::npos;
}

// The native transcript holds exactly this line.
#define EXPECT_LINE(transcript, line) \
  EXPECT_TRUE(HasLine(transcript, line)) << "native transcript lacks: " << (line)

const char* AccName(int flags) {
  switch (flags & O_ACCMODE) {
    case O_RDONLY: return "O_RDONLY";
    case O_WRONLY: return "O_WRONLY";
    default: return "O_RDWR";
  }
}

// ---------------------------------------------------------------------------
// open(2): the owner, group (primary and supplementary) and other classes.

TEST_P(PosixRulesTest, OpenByOwnerGroupAndOther) {
  struct F {
    const char* name;
    mode_t mode;
    uid_t uid;
    gid_t gid;
  };
  const std::vector<F> files = {
      {"root0600", 0600, 0, 0},       {"root0640", 0640, 0, 0},
      {"root0644", 0644, 0, 0},       {"root0666", 0666, 0, 0},
      {"root0000", 0000, 0, 0},       {"root0604", 0604, 0, 0},
      {"root0602", 0602, 0, 0},       {"own0600", 0600, 1000, 1000},
      {"own0400", 0400, 1000, 1000},  {"own0200", 0200, 1000, 1000},
      {"own0000", 0000, 1000, 1000},  {"own0066", 0066, 1000, 1000},
      {"g3000_0640", 0640, 0, 3000},  {"g3000_0660", 0660, 0, 3000},
      {"g3000_0606", 0606, 0, 3000},  {"g3000_0020", 0020, 0, 3000},
      {"g1000_0060", 0060, 0, 1000},
  };
  const std::string t = Differential([&](S& s) {
    s.Dir("", 0755);
    for (const F& f : files) s.File(f.name, f.mode, f.uid, f.gid);
    const std::vector<std::pair<Identity, std::string>> callers = {
        {kAlice3000, "A"}, {kBob, "B"}, {kRoot, "R"}};
    for (const auto& [who, name] : callers) {
      s.As(who, name, [&](S& c) {
        for (const F& f : files) {
          for (int acc : {O_RDONLY, O_WRONLY, O_RDWR}) {
            c.Do(absl::StrCat("open ", f.name, " ", AccName(acc)),
                 [&] { return OpenClose(c.P(f.name), acc); });
          }
        }
      });
    }
    for (const F& f : files) s.Stat(f.name);
  });
  EXPECT_LINE(t, "A: open root0600 O_RDONLY = EACCES");
  EXPECT_LINE(t, "A: open root0644 O_RDONLY = ok");
  EXPECT_LINE(t, "A: open root0644 O_WRONLY = EACCES");
  EXPECT_LINE(t, "A: open root0666 O_RDWR = ok");
  EXPECT_LINE(t, "A: open root0000 O_RDONLY = EACCES");
  EXPECT_LINE(t, "A: open own0400 O_RDWR = EACCES");
  EXPECT_LINE(t, "A: open own0200 O_WRONLY = ok");
  EXPECT_LINE(t, "A: open own0066 O_RDONLY = EACCES");     // owner class wins
  EXPECT_LINE(t, "A: open g3000_0640 O_RDONLY = ok");      // supplementary
  EXPECT_LINE(t, "A: open g3000_0606 O_RDONLY = EACCES");  // group class wins
  EXPECT_LINE(t, "A: open g3000_0020 O_WRONLY = ok");
  EXPECT_LINE(t, "A: open g1000_0060 O_RDWR = ok");        // primary group
  EXPECT_LINE(t, "B: open g3000_0640 O_RDONLY = EACCES");
  EXPECT_LINE(t, "B: open g3000_0606 O_RDWR = ok");
  EXPECT_LINE(t, "B: open root0602 O_WRONLY = ok");
  EXPECT_LINE(t, "B: open root0602 O_RDONLY = EACCES");
  EXPECT_LINE(t, "R: open root0000 O_RDWR = ok");
}

// open(2) flags with permission meaning: O_TRUNC needs write permission,
// O_CREAT on an existing name needs none on the directory, O_NOATIME needs
// ownership; plus the errors of the type checks.
TEST_P(PosixRulesTest, OpenFlagsAndTypeErrors) {
  const std::string t = Differential([](S& s) {
    s.Dir("", 0755);
    s.Dir("ro", 0755);
    s.File("ro/own", 0644, 1000, 1000);
    s.File("ro/root0666", 0666);
    s.File("root0644", 0644);
    s.File("root0000", 0000);
    s.File("own0444", 0444, 1000, 1000);
    s.File("own0644", 0644, 1000, 1000);
    s.Dir("dir", 0777);
    if (mkfifo(s.P("fifo").c_str(), 0600) != 0) s.Fail("mkfifo", "fifo");
    s.Own("fifo", 0666, 0, 0);
    if (symlink("own0644", s.P("link").c_str()) != 0) s.Fail("symlink", "link");
    s.As(kAlice, "A", [](S& c) {
      c.Do("open ro/own O_CREAT|O_WRONLY",
           [&] { return OpenClose(c.P("ro/own"), O_CREAT | O_WRONLY, 0644); });
      c.Do("open ro/new O_CREAT|O_WRONLY",
           [&] { return OpenClose(c.P("ro/new"), O_CREAT | O_WRONLY, 0644); });
      c.Do("open ro/own O_CREAT|O_EXCL", [&] {
        return OpenClose(c.P("ro/own"), O_CREAT | O_EXCL | O_WRONLY, 0644);
      });
      c.Do("open ro/new2 O_CREAT|O_EXCL", [&] {
        return OpenClose(c.P("ro/new2"), O_CREAT | O_EXCL | O_WRONLY, 0644);
      });
      c.Do("open ro/root0666 O_WRONLY|O_TRUNC",
           [&] { return OpenClose(c.P("ro/root0666"), O_WRONLY | O_TRUNC); });
      c.Do("open root0644 O_RDONLY|O_TRUNC",
           [&] { return OpenClose(c.P("root0644"), O_RDONLY | O_TRUNC); });
      c.Do("open own0444 O_RDONLY|O_TRUNC",
           [&] { return OpenClose(c.P("own0444"), O_RDONLY | O_TRUNC); });
      c.Do("open own0644 O_RDONLY|O_TRUNC",
           [&] { return OpenClose(c.P("own0644"), O_RDONLY | O_TRUNC); });
      c.Do("open dir O_WRONLY", [&] { return OpenClose(c.P("dir"), O_WRONLY); });
      c.Do("open dir O_RDWR", [&] { return OpenClose(c.P("dir"), O_RDWR); });
      c.Do("open dir O_RDONLY|O_CREAT",
           [&] { return OpenClose(c.P("dir"), O_RDONLY | O_CREAT, 0644); });
      c.Do("open own0644 O_DIRECTORY",
           [&] { return OpenClose(c.P("own0644"), O_RDONLY | O_DIRECTORY); });
      c.Do("open own0644/x", [&] { return OpenClose(c.P("own0644/x"), O_RDONLY); });
      c.Do("open missing", [&] { return OpenClose(c.P("missing"), O_RDONLY); });
      c.Do("open 256-char name", [&] {
        return OpenClose(c.P(std::string(256, 'n')), O_RDONLY);
      });
      c.Do("create 256-char name", [&] {
        return OpenClose(c.P("dir/" + std::string(256, 'n')), O_CREAT | O_WRONLY, 0644);
      });
      c.Do("create 255-char name", [&] {
        return OpenClose(c.P("dir/" + std::string(255, 'n')), O_CREAT | O_WRONLY, 0644);
      });
      c.Do("open fifo O_WRONLY|O_NONBLOCK",
           [&] { return OpenClose(c.P("fifo"), O_WRONLY | O_NONBLOCK); });
      c.Do("open fifo O_RDONLY|O_NONBLOCK",
           [&] { return OpenClose(c.P("fifo"), O_RDONLY | O_NONBLOCK); });
      c.Do("open root0000 O_PATH", [&] { return OpenClose(c.P("root0000"), O_PATH); });
      c.Do("open root0644 O_NOATIME",
           [&] { return OpenClose(c.P("root0644"), O_RDONLY | O_NOATIME); });
      c.Do("open own0644 O_NOATIME",
           [&] { return OpenClose(c.P("own0644"), O_RDONLY | O_NOATIME); });
      c.Do("open link O_NOFOLLOW",
           [&] { return OpenClose(c.P("link"), O_RDONLY | O_NOFOLLOW); });
      c.Do("open link O_PATH|O_NOFOLLOW",
           [&] { return OpenClose(c.P("link"), O_PATH | O_NOFOLLOW); });
      c.Do("open link O_WRONLY", [&] { return OpenClose(c.P("link"), O_WRONLY); });
      c.Do("open own0444 O_RDWR", [&] { return OpenClose(c.P("own0444"), O_RDWR); });
    });
    s.As(kBob, "B", [](S& c) {
      c.Do("open ro/own O_RDONLY|O_NOATIME",
           [&] { return OpenClose(c.P("ro/own"), O_RDONLY | O_NOATIME); });
    });
    s.As(kRoot, "R", [](S& c) {
      c.Do("open ro/own O_RDONLY|O_NOATIME",
           [&] { return OpenClose(c.P("ro/own"), O_RDONLY | O_NOATIME); });
    });
    s.Stats({"ro/own", "ro/new", "ro/new2", "ro/root0666", "root0644",
             "own0444", "own0644", "dir/" + std::string(255, 'n')});
  });
  EXPECT_LINE(t, "A: open ro/own O_CREAT|O_WRONLY = ok");
  EXPECT_LINE(t, "A: open ro/new O_CREAT|O_WRONLY = EACCES");
  EXPECT_LINE(t, "A: open ro/own O_CREAT|O_EXCL = EEXIST");
  EXPECT_LINE(t, "A: open root0644 O_RDONLY|O_TRUNC = EACCES");
  EXPECT_LINE(t, "A: open own0444 O_RDONLY|O_TRUNC = EACCES");
  EXPECT_LINE(t, "A: open dir O_WRONLY = EISDIR");
  EXPECT_LINE(t, "A: open own0644 O_DIRECTORY = ENOTDIR");
  EXPECT_LINE(t, "A: open 256-char name = ENAMETOOLONG");
  EXPECT_LINE(t, "A: open fifo O_WRONLY|O_NONBLOCK = ENXIO");
  EXPECT_LINE(t, "A: open root0000 O_PATH = ok");
  EXPECT_LINE(t, "A: open root0644 O_NOATIME = EPERM");
  EXPECT_LINE(t, "A: open own0644 O_NOATIME = ok");
  EXPECT_LINE(t, "A: open link O_NOFOLLOW = ELOOP");
  EXPECT_LINE(t, "B: open ro/own O_RDONLY|O_NOATIME = EPERM");
  EXPECT_LINE(t, "R: open ro/own O_RDONLY|O_NOATIME = ok");
  EXPECT_LINE(t, "root: stat ro/root0666 = f 0666 0:0 n1 s0");
}

// ---------------------------------------------------------------------------
// Directories: search (x) and read (r) permission, listing, creating inside.

TEST_P(PosixRulesTest, DirectorySearchAndReadPermission) {
  const std::vector<std::string> dirs = {"d0700", "d0711", "d0755",
                                         "d0744", "d0733", "d0701"};
  const std::string t = Differential([&](S& s) {
    s.Dir("", 0755);
    for (const std::string& d : dirs) {
      s.Dir(d, 0700);
      s.File(d + "/f", 0644);
      s.Dir(d + "/s", 0755);
      s.File(d + "/s/g", 0644);
      s.Own(d, std::stoi(d.substr(1), nullptr, 8), 0, 0);
    }
    s.As(kBob, "B", [&](S& c) {
      for (const std::string& d : dirs) {
        c.Do("stat " + d + "/f", [&] {
          struct stat st;
          return stat(c.P(d + "/f").c_str(), &st);
        });
        c.Do("open " + d + "/f", [&] { return OpenClose(c.P(d + "/f"), O_RDONLY); });
        c.Note("list " + d, Listing(c.P(d)));
        c.Note("list " + d + "/s", Listing(c.P(d + "/s")));
        c.Note("read " + d + "/s/g", Content(c.P(d + "/s/g")));
        c.Do("create " + d + "/newB", [&] {
          return OpenClose(c.P(d + "/newB"), O_CREAT | O_EXCL | O_WRONLY, 0644);
        });
        c.Do("mkdir " + d + "/newdirB", [&] { return mkdir(c.P(d + "/newdirB").c_str(), 0755); });
        c.Do("access " + d + " X_OK", [&] { return access(c.P(d).c_str(), X_OK); });
        c.Do("access " + d + " R_OK", [&] { return access(c.P(d).c_str(), R_OK); });
        c.Do("access " + d + " W_OK", [&] { return access(c.P(d).c_str(), W_OK); });
        c.Do("chdir " + d, [&] { return chdir(c.P(d).c_str()); });
        c.Do("open " + d + " O_RDONLY|O_DIRECTORY",
             [&] { return OpenClose(c.P(d), O_RDONLY | O_DIRECTORY); });
      }
    });
    for (const std::string& d : dirs) {
      s.Note("list " + d, Listing(s.P(d)));
      s.Stats({d, d + "/newB", d + "/newdirB"});
    }
  });
  EXPECT_LINE(t, "B: stat d0700/f = EACCES");
  EXPECT_LINE(t, "B: list d0700 = EACCES");
  EXPECT_LINE(t, "B: stat d0711/f = ok");
  EXPECT_LINE(t, "B: open d0711/f = ok");
  EXPECT_LINE(t, "B: list d0711 = EACCES");
  EXPECT_LINE(t, "B: list d0711/s = [g]");
  EXPECT_LINE(t, "B: list d0755 = [f,s]");
  EXPECT_LINE(t, "B: create d0755/newB = EACCES");
  EXPECT_LINE(t, "B: list d0744 = [f,s]");
  EXPECT_LINE(t, "B: stat d0744/f = EACCES");
  EXPECT_LINE(t, "B: create d0733/newB = ok");
  EXPECT_LINE(t, "root: stat d0733/newB = f 0644 1001:1001 n1 s0");
  EXPECT_LINE(t, "B: list d0701 = EACCES");
  EXPECT_LINE(t, "B: open d0701/f = ok");
}

// ---------------------------------------------------------------------------
// Creating inodes: where allowed, who owns the result, umask.

TEST_P(PosixRulesTest, CreateOwnershipModesAndUmask) {
  const std::vector<std::string> dirs = {"w", "nw", "own", "grp"};
  const std::string t = Differential([&](S& s) {
    s.Dir("", 0755);
    s.Dir("w", 0777);
    s.Dir("nw", 0755);
    s.Dir("own", 0700, 1000, 1000);
    s.Dir("grp", 0770, 0, 2000);
    s.File("w/existing", 0644);
    s.File("nw/existing", 0644);
    s.As(kAlice2000, "A", [&](S& c) {
      for (const std::string& d : dirs) {
        c.Do("create " + d + "/f", [&] {
          return OpenClose(c.P(d + "/f"), O_CREAT | O_EXCL | O_WRONLY, 0666);
        });
        c.Do("mkdir " + d + "/d", [&] { return mkdir(c.P(d + "/d").c_str(), 0777); });
        c.Do("mkfifo " + d + "/p", [&] { return mkfifo(c.P(d + "/p").c_str(), 0666); });
        c.Do("mknod fifo " + d + "/n",
             [&] { return mknod(c.P(d + "/n").c_str(), S_IFIFO | 0640, 0); });
        c.Do("mknod reg " + d + "/r",
             [&] { return mknod(c.P(d + "/r").c_str(), S_IFREG | 0660, 0); });
        c.Do("mknod sock " + d + "/k",
             [&] { return mknod(c.P(d + "/k").c_str(), S_IFSOCK | 0777, 0); });
        c.Do("mknod chr " + d + "/c", [&] {
          return mknod(c.P(d + "/c").c_str(), S_IFCHR | 0666, makedev(1, 3));
        });
        c.Do("symlink " + d + "/l", [&] { return symlink("f", c.P(d + "/l").c_str()); });
      }
      c.Do("mkdir w/existing", [&] { return mkdir(c.P("w/existing").c_str(), 0755); });
      c.Do("mkdir nw/existing", [&] { return mkdir(c.P("nw/existing").c_str(), 0755); });
      c.Do("create nw/existing O_CREAT|O_EXCL", [&] {
        return OpenClose(c.P("nw/existing"), O_CREAT | O_EXCL | O_WRONLY, 0644);
      });
      c.Do("mkdir missing/d", [&] { return mkdir(c.P("missing/d").c_str(), 0755); });
      c.Do("symlink w/existing", [&] { return symlink("x", c.P("w/existing").c_str()); });
      c.Do("mkfifo w/existing", [&] { return mkfifo(c.P("w/existing").c_str(), 0644); });
      // A new file is writable through the creating descriptor whatever its mode.
      c.Do("create w/ro 0444 O_RDWR + write", [&] {
        return WithFd(c.P("w/ro"), O_CREAT | O_EXCL | O_RDWR,
                      [](int fd) -> long { return write(fd, "x", 1); }, 0444);
      });
      // open(2) with O_CREAT | O_EXCL takes the mode argument; see above.
      c.Do("open w/ro O_RDWR", [&] { return OpenClose(c.P("w/ro"), O_RDWR); });
      c.Do("create w/setuid 04755", [&] {
        return OpenClose(c.P("w/setuid"), O_CREAT | O_EXCL | O_WRONLY, 04755);
      });
      c.Do("create w/setgid 02755", [&] {
        return OpenClose(c.P("w/setgid"), O_CREAT | O_EXCL | O_WRONLY, 02755);
      });
      c.Do("create w/sticky 01755", [&] {
        return OpenClose(c.P("w/sticky"), O_CREAT | O_EXCL | O_WRONLY, 01755);
      });
      c.Do("mkdir w/dsticky 01777", [&] { return mkdir(c.P("w/dsticky").c_str(), 01777); });
      c.Do("mkdir w/dsgid 02777", [&] { return mkdir(c.P("w/dsgid").c_str(), 02777); });
      c.Do("mkdir w/dsuid 04777", [&] { return mkdir(c.P("w/dsuid").c_str(), 04777); });
      c.Do("mknod w/fifo-sgid 02666",
           [&] { return mknod(c.P("w/fifo-sgid").c_str(), S_IFIFO | 02666, 0); });
      c.Do("create via dangling symlink", [&] {
        if (symlink("target", c.P("w/dangling").c_str()) != 0) return -1L;
        return OpenClose(c.P("w/dangling"), O_CREAT | O_WRONLY, 0600);
      });
      c.Do("O_EXCL via symlink", [&] {
        return OpenClose(c.P("w/dangling"), O_CREAT | O_EXCL | O_WRONLY, 0600);
      });
    });
    s.As(kAlice2000, "A077", [](S& c) {
      c.Do("create w/f077", [&] {
        return OpenClose(c.P("w/f077"), O_CREAT | O_EXCL | O_WRONLY, 0666);
      });
      c.Do("mkdir w/d077", [&] { return mkdir(c.P("w/d077").c_str(), 0777); });
      c.Do("mkfifo w/p077", [&] { return mkfifo(c.P("w/p077").c_str(), 0666); });
    }, 077);
    s.As(kAlice2000, "A000", [](S& c) {
      c.Do("create w/f000", [&] {
        return OpenClose(c.P("w/f000"), O_CREAT | O_EXCL | O_WRONLY, 0777);
      });
      c.Do("mkdir w/d000", [&] { return mkdir(c.P("w/d000").c_str(), 0777); });
      c.Do("mknod w/p000", [&] { return mknod(c.P("w/p000").c_str(), S_IFIFO | 0666, 0); });
    }, 0);
    for (const std::string& d : dirs) {
      for (const char* n : {"f", "d", "p", "n", "r", "k", "c", "l"}) {
        s.Stat(d + "/" + n);
      }
    }
    s.Stats({"w/existing", "w/ro", "w/setuid", "w/setgid", "w/sticky",
             "w/dsticky", "w/dsgid", "w/dsuid", "w/fifo-sgid", "w/dangling",
             "w/target", "w/f077", "w/d077", "w/p077", "w/f000", "w/d000",
             "w/p000"});
  });
  EXPECT_LINE(t, "A: create nw/f = EACCES");
  EXPECT_LINE(t, "A: mkdir nw/d = EACCES");
  EXPECT_LINE(t, "A: symlink nw/l = EACCES");
  EXPECT_LINE(t, "A: mknod chr w/c = EPERM");
  EXPECT_LINE(t, "A: create grp/f = ok");
  EXPECT_LINE(t, "root: stat w/f = f 0644 1000:1000 n1 s0");
  EXPECT_LINE(t, "root: stat w/d = d 0755 1000:1000 n2");
  EXPECT_LINE(t, "root: stat w/p = p 0644 1000:1000 n1 s0");
  EXPECT_LINE(t, "root: stat grp/f = f 0644 1000:1000 n1 s0");
  EXPECT_LINE(t, "root: stat own/l = l 0777 1000:1000 n1 s1");
  EXPECT_LINE(t, "A: mkdir w/existing = EEXIST");
  EXPECT_LINE(t, "A: open w/ro O_RDWR = EACCES");
  EXPECT_LINE(t, "root: stat w/ro = f 0444 1000:1000 n1 s1");
  EXPECT_LINE(t, "root: stat w/setuid = f 04755 1000:1000 n1 s0");
  EXPECT_LINE(t, "root: stat w/f077 = f 0600 1000:1000 n1 s0");
  EXPECT_LINE(t, "root: stat w/d077 = d 0700 1000:1000 n2");
  EXPECT_LINE(t, "root: stat w/f000 = f 0777 1000:1000 n1 s0");
  EXPECT_LINE(t, "root: stat w/target = f 0600 1000:1000 n1 s0");
  EXPECT_LINE(t, "A: O_EXCL via symlink = EEXIST");
}

// ---------------------------------------------------------------------------
// Set-group-ID directories.

// O_TMPFILE: an unnamed file made as the caller (owner, group from a
// set-gid directory, umask), written and read, then named with linkat() by
// the two ways a program has (/proc/self/fd with AT_SYMLINK_FOLLOW, and
// AT_EMPTY_PATH, which needs CAP_DAC_READ_SEARCH); O_EXCL makes it
// unlinkable; the directory's write permission and the access mode rules.
TEST_P(PosixRulesTest, TmpfileAndLinkat) {
  const std::string t = Differential([&](S& s) {
    s.Dir("", 0755);
    s.Dir("w", 0777);
    s.Dir("nw", 0755);
    s.Dir("sg", 02777, 0, 2000);
    for (const Identity* who : {&kAlice, &kRoot}) {
      const std::string tag = who == &kRoot ? "R" : "A";
      s.As(*who, tag, [&](S& c) {
        for (const char* d : {"w", "sg"}) {
          const std::string dir = c.P(d);
          const int fd = open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0666);
          c.Note(absl::StrCat("O_TMPFILE in ", d), fd >= 0 ? "ok" : ErrName(errno));
          if (fd < 0) continue;
          c.Do("write", [&] { return write(fd, "tmp", 3); });
          struct stat st = {};
          if (fstat(fd, &st) != 0) c.Note("fstat", ErrName(errno));
          c.Note("fstat", absl::StrFormat("%c 0%o %u:%u n%u s%d", TypeChar(st.st_mode),
                                          st.st_mode & 07777, st.st_uid, st.st_gid,
                                          static_cast<unsigned>(st.st_nlink),
                                          static_cast<int>(st.st_size)));
          const std::string empty_name = absl::StrCat(d, "/", tag, "-empty");
          c.Do("linkat AT_EMPTY_PATH " + empty_name, [&] {
            return linkat(fd, "", AT_FDCWD, c.P(empty_name).c_str(), AT_EMPTY_PATH);
          });
          const std::string named = absl::StrCat(d, "/", tag, "-named");
          c.Do("linkat /proc/self/fd " + named, [&] {
            return linkat(AT_FDCWD, absl::StrCat("/proc/self/fd/", fd).c_str(), AT_FDCWD,
                          c.P(named).c_str(), AT_SYMLINK_FOLLOW);
          });
          c.Do("write after link", [&] { return write(fd, "+", 1); });
          close(fd);
          c.Stat(named);
          c.Note("content " + named, Content(c.P(named)));
          c.Stat(empty_name);
        }
        const int excl = open(c.P("w").c_str(), O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
        c.Note("O_TMPFILE|O_EXCL", excl >= 0 ? "ok" : ErrName(errno));
        if (excl >= 0) {
          c.Do("linkat O_EXCL one", [&] {
            return linkat(AT_FDCWD, absl::StrCat("/proc/self/fd/", excl).c_str(), AT_FDCWD,
                          c.P(absl::StrCat("w/", tag, "-excl")).c_str(), AT_SYMLINK_FOLLOW);
          });
          close(excl);
        }
        c.Stat(absl::StrCat("w/", tag, "-excl"));
        c.Do("O_TMPFILE in nw", [&] {
          return OpenClose(c.P("nw"), O_TMPFILE | O_RDWR, 0600);
        });
        c.Do("O_TMPFILE read-only", [&] {
          return OpenClose(c.P("w"), O_TMPFILE | O_RDONLY, 0600);
        });
        c.Do("O_TMPFILE on a file", [&] {
          return OpenClose(c.P(absl::StrCat("w/", tag, "-named")), O_TMPFILE | O_RDWR, 0600);
        });
      });
    }
    s.Stat("w");
  });
  EXPECT_LINE(t, "A: O_TMPFILE in w = ok");
  EXPECT_LINE(t, "A: fstat = f 0644 1000:1000 n0 s3");
  EXPECT_LINE(t, "A: fstat = f 0644 1000:2000 n0 s3");
  EXPECT_LINE(t, "A: linkat /proc/self/fd w/A-named = ok");
  EXPECT_LINE(t, "A: stat w/A-named = f 0644 1000:1000 n2 s4");
  EXPECT_LINE(t, "A: content w/A-named = 'tmp+'");
  EXPECT_LINE(t, "A: linkat O_EXCL one = ENOENT");
  EXPECT_LINE(t, "A: O_TMPFILE in nw = EACCES");
  EXPECT_LINE(t, "A: linkat AT_EMPTY_PATH w/A-empty = ok");
}

TEST_P(PosixRulesTest, SetgidDirectoryInheritance) {
  const std::string t = Differential([](S& s) {
    s.Dir("", 0755);
    s.Dir("sg", 02775, 0, 3000);
    s.Dir("sgw", 02777, 0, 3000);
    // A member (through a supplementary group).
    s.As(kAlice3000, "M", [](S& c) {
      c.Do("create sg/f", [&] {
        return OpenClose(c.P("sg/f"), O_CREAT | O_EXCL | O_WRONLY, 0644);
      });
      c.Do("create sg/fx 02755", [&] {
        return OpenClose(c.P("sg/fx"), O_CREAT | O_EXCL | O_WRONLY, 02755);
      });
      c.Do("mkdir sg/d", [&] { return mkdir(c.P("sg/d").c_str(), 0755); });
      c.Do("mkdir sg/d/e", [&] { return mkdir(c.P("sg/d/e").c_str(), 0700); });
      c.Do("create sg/d/e/f", [&] {
        return OpenClose(c.P("sg/d/e/f"), O_CREAT | O_EXCL | O_WRONLY, 0640);
      });
      c.Do("mkfifo sg/p", [&] { return mkfifo(c.P("sg/p").c_str(), 0644); });
      c.Do("symlink sg/l", [&] { return symlink("f", c.P("sg/l").c_str()); });
      c.Do("mknod reg sg/r 02750",
           [&] { return mknod(c.P("sg/r").c_str(), S_IFREG | 02750, 0); });
      c.Do("chmod sg/f 02644", [&] { return chmod(c.P("sg/f").c_str(), 02644); });
    });
    // Not a member.
    s.As(kBob, "N", [](S& c) {
      c.Do("create sg/f2", [&] {
        return OpenClose(c.P("sg/f2"), O_CREAT | O_EXCL | O_WRONLY, 0644);
      });
      c.Do("create sgw/f", [&] {
        return OpenClose(c.P("sgw/f"), O_CREAT | O_EXCL | O_WRONLY, 0644);
      });
      c.Do("create sgw/fx 02755", [&] {
        return OpenClose(c.P("sgw/fx"), O_CREAT | O_EXCL | O_WRONLY, 02755);
      });
      c.Do("create sgw/fnx 02644", [&] {
        return OpenClose(c.P("sgw/fnx"), O_CREAT | O_EXCL | O_WRONLY, 02644);
      });
      c.Do("create sgw/fx6 06775", [&] {
        return OpenClose(c.P("sgw/fx6"), O_CREAT | O_EXCL | O_WRONLY, 06775);
      });
      c.Do("mknod reg sgw/r 02750",
           [&] { return mknod(c.P("sgw/r").c_str(), S_IFREG | 02750, 0); });
      c.Do("mknod fifo sgw/p 02670",
           [&] { return mknod(c.P("sgw/p").c_str(), S_IFIFO | 02670, 0); });
      c.Do("mkdir sgw/d", [&] { return mkdir(c.P("sgw/d").c_str(), 0755); });
      c.Do("mkdir sgw/d/e", [&] { return mkdir(c.P("sgw/d/e").c_str(), 0755); });
      c.Do("create sgw/d/e/f", [&] {
        return OpenClose(c.P("sgw/d/e/f"), O_CREAT | O_EXCL | O_WRONLY, 02770);
      });
      c.Do("chmod sgw/f 02644", [&] { return chmod(c.P("sgw/f").c_str(), 02644); });
      c.Stat("sgw/f");
      c.Do("chmod sgw/d 0755 (drop inherited sgid)",
           [&] { return chmod(c.P("sgw/d").c_str(), 0755); });
      c.Do("chmod sgw/d 02755", [&] { return chmod(c.P("sgw/d").c_str(), 02755); });
      c.Do("chown sgw/f -1:1001", [&] { return chown(c.P("sgw/f").c_str(), -1, 1001); });
      c.Do("chmod sgw/f 02644 again", [&] { return chmod(c.P("sgw/f").c_str(), 02644); });
    });
    s.As(kRoot, "R", [](S& c) {
      c.Do("create sgw/rootf 02755", [&] {
        return OpenClose(c.P("sgw/rootf"), O_CREAT | O_EXCL | O_WRONLY, 02755);
      });
      c.Do("mkdir sgw/rootd", [&] { return mkdir(c.P("sgw/rootd").c_str(), 0755); });
    });
    s.Stats({"sg/f", "sg/fx", "sg/d", "sg/d/e", "sg/d/e/f", "sg/p", "sg/l",
             "sg/r", "sg/f2", "sgw/f", "sgw/fx", "sgw/fnx", "sgw/fx6", "sgw/r",
             "sgw/p", "sgw/d", "sgw/d/e", "sgw/d/e/f", "sgw/rootf",
             "sgw/rootd"});
  });
  EXPECT_LINE(t, "root: stat sg/f = f 02644 1000:3000 n1 s0");
  EXPECT_LINE(t, "root: stat sg/fx = f 02755 1000:3000 n1 s0");
  EXPECT_LINE(t, "root: stat sg/d = d 02755 1000:3000 n3");
  EXPECT_LINE(t, "root: stat sg/d/e = d 02700 1000:3000 n2");
  EXPECT_LINE(t, "N: create sg/f2 = EACCES");
  EXPECT_LINE(t, "N: stat sgw/f = f 0644 1001:3000 n1 s0");  // S_ISGID dropped
  EXPECT_LINE(t, "root: stat sgw/f = f 02644 1001:1001 n1 s0");
  EXPECT_LINE(t, "root: stat sgw/fnx = f 02644 1001:3000 n1 s0");
  EXPECT_LINE(t, "root: stat sgw/d/e = d 02755 1001:3000 n2");
  EXPECT_LINE(t, "root: stat sgw/fx = f 0755 1001:3000 n1 s0");
  EXPECT_LINE(t, "root: stat sgw/fx6 = f 04755 1001:3000 n1 s0");
  EXPECT_LINE(t, "root: stat sgw/rootf = f 02755 0:3000 n1 s0");
}

// ---------------------------------------------------------------------------
// Sticky directories.

TEST_P(PosixRulesTest, StickyDirectory) {
  const std::string t = Differential([](S& s) {
    s.Dir("", 0755);
    s.Dir("t", 01777, 1002, 1002);   // owned by C
    s.Dir("rt", 01777);              // owned by root
    s.As(kAlice, "A", [](S& c) {
      for (const char* n : {"t/a1", "t/a2", "t/a3", "t/a4", "t/a5", "rt/a"}) {
        c.Do(std::string("create ") + n,
             [&] { return OpenClose(c.P(n), O_CREAT | O_EXCL | O_WRONLY, 0644); });
      }
      c.Do("mkdir t/ad", [&] { return mkdir(c.P("t/ad").c_str(), 0755); });
      c.Do("mkdir t/ad2", [&] { return mkdir(c.P("t/ad2").c_str(), 0777); });
      c.Do("chmod t/ad2 0777", [&] { return chmod(c.P("t/ad2").c_str(), 0777); });
    });
    s.As(kBob, "B", [](S& c) {
      c.Do("create t/b1", [&] {
        return OpenClose(c.P("t/b1"), O_CREAT | O_EXCL | O_WRONLY, 0644);
      });
      c.Do("create t/b2", [&] {
        return OpenClose(c.P("t/b2"), O_CREAT | O_EXCL | O_WRONLY, 0644);
      });
      c.Do("unlink t/a1", [&] { return unlink(c.P("t/a1").c_str()); });
      c.Do("rename t/a1 t/bx", [&] { return rename(c.P("t/a1").c_str(), c.P("t/bx").c_str()); });
      c.Do("rename t/b1 over t/a1",
           [&] { return rename(c.P("t/b1").c_str(), c.P("t/a1").c_str()); });
      c.Do("exchange t/b1 t/a1", [&] {
        return renameat2(AT_FDCWD, c.P("t/b1").c_str(), AT_FDCWD,
                         c.P("t/a1").c_str(), RENAME_EXCHANGE);
      });
      c.Do("rmdir t/ad", [&] { return rmdir(c.P("t/ad").c_str()); });
      c.Do("rename t/ad t/bd", [&] { return rename(c.P("t/ad").c_str(), c.P("t/bd").c_str()); });
      c.Do("mkdir t/ad2/x (0777 subdir)", [&] { return mkdir(c.P("t/ad2/x").c_str(), 0755); });
      c.Do("rmdir t/ad2 (non-empty)", [&] { return rmdir(c.P("t/ad2").c_str()); });
      c.Do("unlink rt/a", [&] { return unlink(c.P("rt/a").c_str()); });
      c.Do("open t/a5 O_WRONLY", [&] { return OpenClose(c.P("t/a5"), O_WRONLY); });
      c.Do("create t/a5 O_CREAT|O_RDONLY",
           [&] { return OpenClose(c.P("t/a5"), O_CREAT | O_RDONLY, 0644); });
      c.Do("unlink t/b1 (own)", [&] { return unlink(c.P("t/b1").c_str()); });
    });
    s.As(kAlice, "A", [](S& c) {
      c.Do("rename t/a1 t/a1r", [&] { return rename(c.P("t/a1").c_str(), c.P("t/a1r").c_str()); });
      c.Do("unlink t/a1r", [&] { return unlink(c.P("t/a1r").c_str()); });
      c.Do("rename t/a2 over t/b2",
           [&] { return rename(c.P("t/a2").c_str(), c.P("t/b2").c_str()); });
      c.Do("rename t/ad2/x t/x (B's dir, A owns parent, no w on x)",
           [&] { return rename(c.P("t/ad2/x").c_str(), c.P("t/x").c_str()); });
    });
    s.As(kCarol, "C", [](S& c) {
      c.Do("unlink t/a2 (dir owner)", [&] { return unlink(c.P("t/a2").c_str()); });
      c.Do("rename t/a3 t/c3 (dir owner)",
           [&] { return rename(c.P("t/a3").c_str(), c.P("t/c3").c_str()); });
      c.Do("unlink rt/a (not dir owner)", [&] { return unlink(c.P("rt/a").c_str()); });
      c.Do("rmdir t/ad (dir owner)", [&] { return rmdir(c.P("t/ad").c_str()); });
    });
    s.As(kRoot, "R", [](S& c) {
      c.Do("unlink t/b2", [&] { return unlink(c.P("t/b2").c_str()); });
      c.Do("unlink rt/a", [&] { return unlink(c.P("rt/a").c_str()); });
    });
    s.Note("list t", Listing(s.P("t")));
    s.Note("list rt", Listing(s.P("rt")));
    s.Stats({"t", "t/a4", "t/a5", "t/c3", "t/x", "t/ad2"});
  });
  EXPECT_LINE(t, "B: unlink t/a1 = EPERM");
  EXPECT_LINE(t, "B: rename t/a1 t/bx = EPERM");
  EXPECT_LINE(t, "B: rename t/b1 over t/a1 = EPERM");
  EXPECT_LINE(t, "B: exchange t/b1 t/a1 = EPERM");
  EXPECT_LINE(t, "B: rmdir t/ad = EPERM");
  EXPECT_LINE(t, "B: unlink rt/a = EPERM");
  EXPECT_LINE(t, "A: rename t/a1 t/a1r = ok");
  EXPECT_LINE(t, "A: unlink t/a1r = ok");
  EXPECT_LINE(t, "A: rename t/a2 over t/b2 = EPERM");
  EXPECT_LINE(t, "C: unlink t/a2 (dir owner) = ok");
  EXPECT_LINE(t, "C: rmdir t/ad (dir owner) = ok");
  EXPECT_LINE(t, "C: unlink rt/a (not dir owner) = EPERM");
  EXPECT_LINE(t, "R: unlink t/b2 = ok");
  EXPECT_LINE(t, "B: mkdir t/ad2/x (0777 subdir) = ok");
  EXPECT_LINE(t, "B: rmdir t/ad2 (non-empty) = EPERM");
  EXPECT_LINE(t, "A: rename t/ad2/x t/x (B's dir, A owns parent, no w on x) = EACCES");
}

// ---------------------------------------------------------------------------
// chmod(2).

TEST_P(PosixRulesTest, ChmodRules) {
  const std::string t = Differential([](S& s) {
    s.Dir("", 0755);
    s.File("own", 0644, 1000, 1000);
    s.File("own2", 0644, 1000, 1000);
    s.File("rootf", 0644);
    s.File("own_g3000", 0644, 1000, 3000);   // A is not in 3000
    s.File("own_g2000", 0644, 1000, 2000);   // A is, supplementary
    s.Dir("own_d3000", 0755, 1000, 3000);
    s.Dir("own_d", 0755, 1000, 1000);
    if (symlink("rootf", s.P("l_root").c_str()) != 0) s.Fail("symlink", "l_root");
    if (symlink("own2", s.P("l_own").c_str()) != 0) s.Fail("symlink", "l_own");
    s.OwnLink("l_own", 1000, 1000);
    s.As(kAlice2000, "A", [](S& c) {
      c.Do("chmod rootf 0666", [&] { return chmod(c.P("rootf").c_str(), 0666); });
      c.Do("chmod own 04755", [&] { return chmod(c.P("own").c_str(), 04755); });
      c.Note("stat own", Facts(c.P("own")));
      c.Do("chmod own 02755", [&] { return chmod(c.P("own").c_str(), 02755); });
      c.Note("stat own", Facts(c.P("own")));
      c.Do("chmod own 07777", [&] { return chmod(c.P("own").c_str(), 07777); });
      c.Note("stat own", Facts(c.P("own")));
      c.Do("chmod own_g3000 02755", [&] { return chmod(c.P("own_g3000").c_str(), 02755); });
      c.Note("stat own_g3000", Facts(c.P("own_g3000")));
      c.Do("chmod own_g3000 06755", [&] { return chmod(c.P("own_g3000").c_str(), 06755); });
      c.Note("stat own_g3000", Facts(c.P("own_g3000")));
      c.Do("chmod own_g2000 02755", [&] { return chmod(c.P("own_g2000").c_str(), 02755); });
      c.Note("stat own_g2000", Facts(c.P("own_g2000")));
      c.Do("chmod own_d3000 02755", [&] { return chmod(c.P("own_d3000").c_str(), 02755); });
      c.Do("chmod own_d 01777", [&] { return chmod(c.P("own_d").c_str(), 01777); });
      c.Do("chmod l_root (follows) 0600", [&] { return chmod(c.P("l_root").c_str(), 0600); });
      c.Do("chmod l_own (follows) 0600", [&] { return chmod(c.P("l_own").c_str(), 0600); });
      c.Do("fchmodat l_own AT_SYMLINK_NOFOLLOW", [&] {
        return fchmodat(AT_FDCWD, c.P("l_own").c_str(), 0644, AT_SYMLINK_NOFOLLOW);
      });
      c.Do("fchmodat2 syscall l_own AT_SYMLINK_NOFOLLOW", [&] {
        return syscall(452 /* fchmodat2 */, AT_FDCWD, c.P("l_own").c_str(), 0644,
                       AT_SYMLINK_NOFOLLOW);
      });
      c.Do("fchmod own (O_RDONLY fd) 0640", [&] {
        return WithFd(c.P("own"), O_RDONLY, [](int fd) -> long { return fchmod(fd, 0640); });
      });
      c.Do("fchmod rootf (O_RDONLY fd) 0666", [&] {
        return WithFd(c.P("rootf"), O_RDONLY, [](int fd) -> long { return fchmod(fd, 0666); });
      });
      c.Do("fchmodat2 own2 (O_PATH fd) AT_EMPTY_PATH 0604", [&] {
        return WithFd(c.P("own2"), O_PATH, [](int fd) -> long {
          return syscall(452 /* fchmodat2 */, fd, "", 0604, AT_EMPTY_PATH);
        });
      });
      c.Do("fchmodat2 rootf (O_PATH fd) AT_EMPTY_PATH 0666", [&] {
        return WithFd(c.P("rootf"), O_PATH, [](int fd) -> long {
          return syscall(452 /* fchmodat2 */, fd, "", 0666, AT_EMPTY_PATH);
        });
      });
    });
    s.As(kBob, "B", [](S& c) {
      c.Do("chmod own 0777 (not owner)", [&] { return chmod(c.P("own").c_str(), 0777); });
    });
    s.As(kRoot, "R", [](S& c) {
      c.Do("chmod own_g3000 02711", [&] { return chmod(c.P("own_g3000").c_str(), 02711); });
    });
    s.Stats({"own", "own2", "rootf", "own_g3000", "own_g2000", "own_d3000",
             "own_d", "l_root", "l_own"});
  });
  EXPECT_LINE(t, "A: chmod rootf 0666 = EPERM");
  EXPECT_LINE(t, "A: chmod own 04755 = ok");
  EXPECT_LINE(t, "A: chmod own_g3000 02755 = ok");
  EXPECT_LINE(t, "A: stat own_g3000 = f 0755 1000:3000 n1 s4");
  EXPECT_LINE(t, "A: stat own_g3000 = f 04755 1000:3000 n1 s4");
  EXPECT_LINE(t, "A: stat own_g2000 = f 02755 1000:2000 n1 s4");
  EXPECT_LINE(t, "A: stat own = f 07777 1000:1000 n1 s4");
  EXPECT_LINE(t, "A: fchmod rootf (O_RDONLY fd) 0666 = EPERM");
  EXPECT_LINE(t, "B: chmod own 0777 (not owner) = EPERM");
  EXPECT_LINE(t, "root: stat own_d3000 = d 0755 1000:3000 n2");
  EXPECT_LINE(t, "A: fchmodat2 syscall l_own AT_SYMLINK_NOFOLLOW = EOPNOTSUPP");
  EXPECT_LINE(t, "A: fchmodat2 rootf (O_PATH fd) AT_EMPTY_PATH 0666 = EPERM");
  EXPECT_LINE(t, "root: stat own2 = f 0604 1000:1000 n1 s4");
  EXPECT_LINE(t, "root: stat l_own = l 0777 1000:1000 n1 s4");
  EXPECT_LINE(t, "root: stat own_g3000 = f 02711 1000:3000 n1 s4");
}

// ---------------------------------------------------------------------------
// chown(2) by an owner and by root.

TEST_P(PosixRulesTest, ChownByOwner) {
  const std::string t = Differential([](S& s) {
    s.Dir("", 0755);
    s.File("own", 0644, 1000, 1000);
    s.File("own_sx", 06755, 1000, 1000);
    s.File("own_gnx", 02745, 1000, 1000);
    s.File("own_ux", 04744, 1000, 1000);
    s.Dir("own_d", 06755, 1000, 1000);
    s.File("rootf", 0644);
    s.File("root_sx", 06755);
    if (symlink("own", s.P("l_own").c_str()) != 0) s.Fail("symlink", "l_own");
    s.OwnLink("l_own", 1000, 1000);
    s.As(kAlice2000, "A", [](S& c) {
      c.Do("chown own 1001:-1", [&] { return chown(c.P("own").c_str(), 1001, -1); });
      c.Do("chown own 1000:-1 (same uid)", [&] { return chown(c.P("own").c_str(), 1000, -1); });
      c.Do("chown own -1:2000", [&] { return chown(c.P("own").c_str(), -1, 2000); });
      c.Do("chown own -1:3000", [&] { return chown(c.P("own").c_str(), -1, 3000); });
      c.Do("chown own -1:1000", [&] { return chown(c.P("own").c_str(), -1, 1000); });
      c.Do("chown own 0:0", [&] { return chown(c.P("own").c_str(), 0, 0); });
      c.Do("chown own_sx -1:2000", [&] { return chown(c.P("own_sx").c_str(), -1, 2000); });
      c.Do("chown own_gnx -1:2000", [&] { return chown(c.P("own_gnx").c_str(), -1, 2000); });
      c.Do("chown own_ux -1:-1", [&] { return chown(c.P("own_ux").c_str(), -1, -1); });
      c.Do("chown own_d -1:2000", [&] { return chown(c.P("own_d").c_str(), -1, 2000); });
      c.Do("chown rootf -1:-1", [&] { return chown(c.P("rootf").c_str(), -1, -1); });
      c.Do("chown root_sx -1:-1", [&] { return chown(c.P("root_sx").c_str(), -1, -1); });
      c.Do("chown rootf -1:1000", [&] { return chown(c.P("rootf").c_str(), -1, 1000); });
      c.Do("lchown l_own -1:2000", [&] { return lchown(c.P("l_own").c_str(), -1, 2000); });
      c.Do("fchown own (O_RDONLY fd) -1:1000", [&] {
        return WithFd(c.P("own"), O_RDONLY,
                      [](int fd) -> long { return fchown(fd, -1, 1000); });
      });
    });
    s.Stats({"own", "own_sx", "own_gnx", "own_ux", "own_d", "rootf",
             "root_sx", "l_own"});
  });
  EXPECT_LINE(t, "A: chown own 1001:-1 = EPERM");
  EXPECT_LINE(t, "A: chown own 1000:-1 (same uid) = ok");
  EXPECT_LINE(t, "A: chown own -1:2000 = ok");
  EXPECT_LINE(t, "A: chown own -1:3000 = EPERM");
  EXPECT_LINE(t, "A: chown rootf -1:1000 = EPERM");
  EXPECT_LINE(t, "root: stat own = f 0644 1000:1000 n1 s4");
  EXPECT_LINE(t, "root: stat own_sx = f 0755 1000:2000 n1 s4");
  EXPECT_LINE(t, "root: stat own_d = d 06755 1000:2000 n2");
  EXPECT_LINE(t, "root: stat l_own = l 0777 1000:2000 n1 s3");
}

TEST_P(PosixRulesTest, ChownByRootClearsSetidBits) {
  const std::string t = Differential([](S& s) {
    s.Dir("", 0755);
    s.File("ux", 04755);
    s.File("gx", 02755);
    s.File("ugx", 06755);
    s.File("gnx", 02745);
    s.File("ugnx", 06745);
    s.File("u_noexec", 04644);
    s.File("same", 06755);
    s.File("gid_only", 06755);
    s.Dir("d", 06755);
    s.As(kRoot, "R", [](S& c) {
      for (const char* n : {"ux", "gx", "ugx", "gnx", "ugnx", "u_noexec", "d"}) {
        c.Do(std::string("chown ") + n + " 1000:1000",
             [&] { return chown(c.P(n).c_str(), 1000, 1000); });
      }
      c.Do("chown same 0:0 (no change)", [&] { return chown(c.P("same").c_str(), 0, 0); });
      c.Do("chown gid_only -1:3000", [&] { return chown(c.P("gid_only").c_str(), -1, 3000); });
    });
    s.Stats({"ux", "gx", "ugx", "gnx", "ugnx", "u_noexec", "same", "gid_only", "d"});
  });
  EXPECT_LINE(t, "R: chown ux 1000:1000 = ok");
  EXPECT_LINE(t, "root: stat ux = f 0755 1000:1000 n1 s4");
  EXPECT_LINE(t, "root: stat ugx = f 0755 1000:1000 n1 s4");
  EXPECT_LINE(t, "root: stat d = d 06755 1000:1000 n2");
}

// ---------------------------------------------------------------------------
// Modifying a set-ID file without CAP_FSETID clears set-ID bits: S_ISUID
// always; S_ISGID when group-exec is set, and (Linux >= 6.2) also without
// group-exec when the modifier is not in the file's group. Every way of
// modifying is checked, by a non-member ("B", uid 1001) and by a member of
// group 3000 through a supplementary group ("M", uid 1001 too).

struct SetidFile {
  const char* name;
  mode_t mode;
  uid_t uid;
  gid_t gid;
};
using SetidRows = std::vector<SetidFile>;

// Set-id files whose treatment does not depend on group membership.
const SetidRows& CommonSetidRows() {
  static const auto* rows = new SetidRows{
      {"u4777", 04777, 0, 0},         {"g2777", 02777, 0, 0},
      {"ug6777", 06777, 0, 0},        {"u4666", 04666, 0, 0},
      {"g2777_3000", 02777, 0, 3000}, {"ug6776_3000", 06776, 0, 3000},
      {"plain0777", 0777, 0, 0},      {"own_ug6755", 06755, 1001, 1001},
      {"own_g2745", 02745, 1001, 1001}};
  return *rows;
}
// S_ISGID without group-exec: cleared only for a modifier outside the group.
const SetidRows& SgidNoGroupExecRows() {
  static const auto* rows = new SetidRows{{"g2666", 02666, 0, 0},
                                          {"g2666_3000", 02666, 0, 3000}};
  return *rows;
}

// `op` modifies the file at `path` as the current (child) identity.
using ModifyOp = std::function<long(S&, const std::string&)>;

void SetidScenario(S& s, const SetidRows& rows, const ModifyOp& op) {
  s.Dir("", 0755);
  s.File("src", 0644, 0, 0, "abcd");
  for (const char* who : {"B", "M"}) {
    for (const SetidFile& f : rows) {
      s.File(std::string(who) + "_" + f.name, f.mode, f.uid, f.gid, "0123");
    }
  }
  for (const auto& [id, name] : std::vector<std::pair<Identity, std::string>>{
           {kBob, "B"}, {Identity{1001, 1001, {3000}}, "M"}}) {
    s.As(id, name, [&, n = name](S& c) {
      for (const SetidFile& f : rows) {
        const std::string rel = n + "_" + f.name;
        c.Do("modify " + rel, [&] { return op(c, c.P(rel)); });
      }
    });
  }
  for (const char* who : {"B", "M"}) {
    for (const SetidFile& f : rows) s.Stat(std::string(who) + "_" + f.name);
  }
}

long WriteOp(S&, const std::string& p) { return WriteVia(p, O_WRONLY, "x"); }
long EmptyWriteOp(S&, const std::string& p) { return WriteVia(p, O_WRONLY, ""); }
long AppendOp(S&, const std::string& p) {
  return WriteVia(p, O_WRONLY | O_APPEND, "x");
}
long FtruncateOp(S&, const std::string& p) {
  return WithFd(p, O_WRONLY, [](int fd) -> long { return ftruncate(fd, 2); });
}
long TruncateOp(S&, const std::string& p) { return truncate(p.c_str(), 2); }
long OpenTruncOp(S&, const std::string& p) {
  return OpenClose(p, O_WRONLY | O_TRUNC);
}
long FallocateOp(S&, const std::string& p) {
  return WithFd(p, O_WRONLY,
                [](int fd) -> long { return fallocate(fd, 0, 0, 8192); });
}
long CopyFileRangeOp(S& c, const std::string& p) {
  const int in = open(c.P("src").c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return -1;
  const long r = WithFd(p, O_WRONLY, [&](int fd) -> long {
    loff_t off_in = 0, off_out = 2;
    const ssize_t n = copy_file_range(in, &off_in, fd, &off_out, 4, 0);
    if (n >= 0 && n != 4) {
      errno = EIO;
      return -1;
    }
    return n;
  });
  const int err = errno;
  close(in);
  errno = err;
  return r;
}

TEST_P(PosixRulesTest, WriteClearsSetidBits) {
  const std::string t = Differential(
      [](S& s) { SetidScenario(s, CommonSetidRows(), WriteOp); });
  EXPECT_LINE(t, "B: modify B_u4777 = ok");
  EXPECT_LINE(t, "root: stat B_u4777 = f 0777 0:0 n1 s4");
  EXPECT_LINE(t, "root: stat B_g2777 = f 0777 0:0 n1 s4");
  EXPECT_LINE(t, "root: stat B_ug6777 = f 0777 0:0 n1 s4");
  EXPECT_LINE(t, "root: stat B_u4666 = f 0666 0:0 n1 s4");
  EXPECT_LINE(t, "root: stat M_g2777_3000 = f 0777 0:3000 n1 s4");
  EXPECT_LINE(t, "root: stat B_own_ug6755 = f 0755 1001:1001 n1 s4");
  EXPECT_LINE(t, "root: stat B_own_g2745 = f 02745 1001:1001 n1 s4");
}

// Fixed difference, kept as a regression test (both modes, different rows):
// - Passthrough: M, in group 3000 through a supplementary group, writes a
//   02666 root:3000 file: natively S_ISGID stays; through the mount it is
//   cleared. passthrough.cc AcquireBackingId registers the backing file under
//   ScopedCallerCreds(req, /*with_groups=*/false), whose Switch() installs the
//   (then empty) group list; the kernel does the backing write with those
//   credentials, so the backing file system's setattr_should_drop_sgid() sees
//   a non-member.
// - No passthrough: B, not in the group, writes a 02666 file: natively
//   S_ISGID is cleared (setattr_should_drop_sgid, Linux >= 6.2); through the
//   mount it stays. The kernel's fuse_setattr() kill rule clears S_ISGID only
//   with S_IXGRP, and file_ops.cc WriteBuf writes as root (CAP_FSETID).
TEST_P(PosixRulesTest, WriteSetgidWithoutGroupExec) {
  const std::string t = Differential(
      [](S& s) { SetidScenario(s, SgidNoGroupExecRows(), WriteOp); });
  EXPECT_LINE(t, "root: stat B_g2666 = f 0666 0:0 n1 s4");
  EXPECT_LINE(t, "root: stat B_g2666_3000 = f 0666 0:3000 n1 s4");
  EXPECT_LINE(t, "root: stat M_g2666_3000 = f 02666 0:3000 n1 s4");
}

// pwrite of zero bytes modifies nothing.
TEST_P(PosixRulesTest, EmptyWriteKeepsSetidBits) {
  const std::string t = Differential([](S& s) {
    SetidScenario(s, CommonSetidRows(), EmptyWriteOp);
    SetidScenario(s, SgidNoGroupExecRows(), EmptyWriteOp);
  });
  EXPECT_LINE(t, "B: modify B_u4777 = ok");
  EXPECT_LINE(t, "root: stat B_u4777 = f 04777 0:0 n1 s4");
  EXPECT_LINE(t, "root: stat B_g2666 = f 02666 0:0 n1 s4");
}

TEST_P(PosixRulesTest, AppendWriteClearsSetidBits) {
  const std::string t = Differential(
      [](S& s) { SetidScenario(s, CommonSetidRows(), AppendOp); });
  EXPECT_LINE(t, "root: stat B_u4777 = f 0777 0:0 n1 s5");
  EXPECT_LINE(t, "root: stat B_ug6777 = f 0777 0:0 n1 s5");
}

// Fixed difference, kept as a regression test (both modes, different rows): as WriteSetgidWithoutGroupExec.
TEST_P(PosixRulesTest, AppendWriteSetgidWithoutGroupExec) {
  const std::string t = Differential(
      [](S& s) { SetidScenario(s, SgidNoGroupExecRows(), AppendOp); });
  EXPECT_LINE(t, "root: stat B_g2666 = f 0666 0:0 n1 s5");
  EXPECT_LINE(t, "root: stat M_g2666_3000 = f 02666 0:3000 n1 s5");
}

TEST_P(PosixRulesTest, FtruncateClearsSetidBits) {
  const std::string t = Differential(
      [](S& s) { SetidScenario(s, CommonSetidRows(), FtruncateOp); });
  EXPECT_LINE(t, "root: stat B_u4777 = f 0777 0:0 n1 s2");
  EXPECT_LINE(t, "root: stat B_ug6777 = f 0777 0:0 n1 s2");
}

// Fixed difference, kept as a regression test (both modes): B, not in the file's group, shrinks a 02666 file:
// natively S_ISGID is cleared (setattr_should_drop_sgid, Linux >= 6.2);
// through the mount it stays. The kernel's fuse_setattr() recomputes the
// kill bits with the old rule (S_ISGID only with S_IXGRP) and sends no mode;
// attr_ops.cc ApplySetattr then truncates as root (CAP_FSETID), so the
// backing file system clears nothing either. Same for truncate, fallocate and
// copy_file_range below (file_ops.cc Fallocate / CopyFileRange run as root).
TEST_P(PosixRulesTest, FtruncateSetgidWithoutGroupExec) {
  const std::string t = Differential(
      [](S& s) { SetidScenario(s, SgidNoGroupExecRows(), FtruncateOp); });
  EXPECT_LINE(t, "root: stat B_g2666 = f 0666 0:0 n1 s2");
  EXPECT_LINE(t, "root: stat B_g2666_3000 = f 0666 0:3000 n1 s2");
  EXPECT_LINE(t, "root: stat M_g2666_3000 = f 02666 0:3000 n1 s2");
}

TEST_P(PosixRulesTest, TruncateClearsSetidBits) {
  const std::string t = Differential(
      [](S& s) { SetidScenario(s, CommonSetidRows(), TruncateOp); });
  EXPECT_LINE(t, "root: stat B_u4777 = f 0777 0:0 n1 s2");
  EXPECT_LINE(t, "root: stat B_ug6777 = f 0777 0:0 n1 s2");
}

// Fixed difference, kept as a regression test (both modes): see FtruncateSetgidWithoutGroupExec.
TEST_P(PosixRulesTest, TruncateSetgidWithoutGroupExec) {
  const std::string t = Differential(
      [](S& s) { SetidScenario(s, SgidNoGroupExecRows(), TruncateOp); });
  EXPECT_LINE(t, "root: stat B_g2666 = f 0666 0:0 n1 s2");
  EXPECT_LINE(t, "root: stat M_g2666_3000 = f 02666 0:3000 n1 s2");
}

// Fixed difference, kept as a regression test (both modes): open(O_WRONLY | O_TRUNC) by a non-owner (or by a
// non-root owner) clears set-ID bits natively; through the mount every bit
// stays, S_ISUID of a root-owned file included. libfuse enables
// FUSE_CAP_ATOMIC_O_TRUNC by default, so the kernel leaves the truncation to
// OPEN and drops its own SETATTR (with the kill-suid mode) for ATTR_OPEN;
// file_ops.cc Open keeps O_TRUNC in BackingOpenFlags and opens the backing
// file as root, whose CAP_FSETID keeps the bits.
TEST_P(PosixRulesTest, OpenTruncClearsSetidBits) {
  const std::string t = Differential(
      [](S& s) { SetidScenario(s, CommonSetidRows(), OpenTruncOp); });
  EXPECT_LINE(t, "B: modify B_u4777 = ok");
  EXPECT_LINE(t, "root: stat B_u4777 = f 0777 0:0 n1 s0");
  EXPECT_LINE(t, "root: stat B_ug6777 = f 0777 0:0 n1 s0");
  EXPECT_LINE(t, "root: stat B_own_ug6755 = f 0755 1001:1001 n1 s0");
}

// Fixed difference, kept as a regression test (both modes): as OpenTruncClearsSetidBits.
TEST_P(PosixRulesTest, OpenTruncSetgidWithoutGroupExec) {
  const std::string t = Differential(
      [](S& s) { SetidScenario(s, SgidNoGroupExecRows(), OpenTruncOp); });
  EXPECT_LINE(t, "root: stat B_g2666 = f 0666 0:0 n1 s0");
  EXPECT_LINE(t, "root: stat M_g2666_3000 = f 02666 0:3000 n1 s0");
}

TEST_P(PosixRulesTest, FallocateClearsSetidBits) {
  const std::string t = Differential(
      [](S& s) { SetidScenario(s, CommonSetidRows(), FallocateOp); });
  EXPECT_LINE(t, "B: modify B_u4777 = ok");
  EXPECT_LINE(t, "root: stat B_u4777 = f 0777 0:0 n1 s8192");
}

// Fixed difference, kept as a regression test (both modes): see FtruncateSetgidWithoutGroupExec.
TEST_P(PosixRulesTest, FallocateSetgidWithoutGroupExec) {
  const std::string t = Differential(
      [](S& s) { SetidScenario(s, SgidNoGroupExecRows(), FallocateOp); });
  EXPECT_LINE(t, "root: stat B_g2666 = f 0666 0:0 n1 s8192");
  EXPECT_LINE(t, "root: stat M_g2666_3000 = f 02666 0:3000 n1 s8192");
}

TEST_P(PosixRulesTest, CopyFileRangeClearsSetidBits) {
  const std::string t = Differential(
      [](S& s) { SetidScenario(s, CommonSetidRows(), CopyFileRangeOp); });
  EXPECT_LINE(t, "B: modify B_u4777 = ok");
  EXPECT_LINE(t, "root: stat B_u4777 = f 0777 0:0 n1 s6");
}

// Fixed difference, kept as a regression test (both modes): see FtruncateSetgidWithoutGroupExec.
TEST_P(PosixRulesTest, CopyFileRangeSetgidWithoutGroupExec) {
  const std::string t = Differential(
      [](S& s) { SetidScenario(s, SgidNoGroupExecRows(), CopyFileRangeOp); });
  EXPECT_LINE(t, "root: stat B_g2666 = f 0666 0:0 n1 s6");
  EXPECT_LINE(t, "root: stat M_g2666_3000 = f 02666 0:3000 n1 s6");
}

// The same file written while another user holds it open. The mount shares
// one kernel passthrough backing file per inode between all openers.
//
// Fixed difference, kept as a regression test (passthrough only): root's write clears S_ISUID/S_ISGID of a
// root-owned 04755/06755 file when B opened it first; natively root
// (CAP_FSETID) keeps them. passthrough.cc AcquireBackingId registers the
// backing file under the FIRST opener's fsuid/fsgid and every later open,
// root's included, reuses node->backing_id; the kernel does all passthrough
// I/O with the registering credentials (B's, without CAP_FSETID).
TEST_P(PosixRulesTest, RootWriteKeepsSetidBitsWhileUserHasFileOpen) {
  const std::string t = Differential([](S& s) {
    s.Dir("", 0755);
    s.File("u4755", 04755);
    s.File("ug6755", 06755);
    s.File("alone_u4755", 04755);
    {
      HeldOpen b1(kBob, s.P("u4755"), O_RDONLY);
      HeldOpen b2(kBob, s.P("ug6755"), O_RDONLY);  // released first
      s.Note("B holds u4755 open", b1.result());
      s.Note("B holds ug6755 open", b2.result());
      s.As(kRoot, "R", [](S& c) {
        c.Do("write u4755", [&] { return WriteVia(c.P("u4755"), O_WRONLY, "x"); });
        c.Do("write ug6755", [&] { return WriteVia(c.P("ug6755"), O_WRONLY, "x"); });
        c.Do("write alone_u4755",
             [&] { return WriteVia(c.P("alone_u4755"), O_WRONLY, "x"); });
      });
    }
    s.Stats({"u4755", "ug6755", "alone_u4755"});
  });
  EXPECT_LINE(t, "root: stat alone_u4755 = f 04755 0:0 n1 s4");
  EXPECT_LINE(t, "root: stat u4755 = f 04755 0:0 n1 s4");
  EXPECT_LINE(t, "root: stat ug6755 = f 06755 0:0 n1 s4");
}

// Fixed difference, kept as a regression test (both modes, two causes): B (not in group 0) writes a 02666
// root:root file that root holds open: natively S_ISGID is cleared; through
// the mount it stays. With passthrough the write runs with root's registered
// credentials (see above); without, file_ops.cc WriteBuf writes as root and
// the kernel's fuse_setattr() kill rule ignores S_ISGID without S_IXGRP.
TEST_P(PosixRulesTest, UserWriteClearsSetidBitsWhileRootHasFileOpen) {
  const std::string t = Differential([](S& s) {
    s.Dir("", 0755);
    s.File("u4777", 04777);
    s.File("g2666", 02666);
    s.File("g2666_3000", 02666, 0, 3000);
    const int fd1 = open(s.P("u4777").c_str(), O_RDONLY | O_CLOEXEC);
    const int fd2 = open(s.P("g2666").c_str(), O_RDONLY | O_CLOEXEC);
    const int fd3 = open(s.P("g2666_3000").c_str(), O_RDONLY | O_CLOEXEC);
    s.Note("root holds files open", fd1 >= 0 && fd2 >= 0 && fd3 >= 0 ? "ok" : "failed");
    s.As(kBob, "B", [](S& c) {
      c.Do("write u4777", [&] { return WriteVia(c.P("u4777"), O_WRONLY, "x"); });
      c.Do("write g2666", [&] { return WriteVia(c.P("g2666"), O_WRONLY, "x"); });
    });
    s.As(Identity{1000, 1000, {3000}}, "M", [](S& c) {
      c.Do("write g2666_3000", [&] { return WriteVia(c.P("g2666_3000"), O_WRONLY, "x"); });
    });
    for (int fd : {fd1, fd2, fd3}) {
      if (fd >= 0) close(fd);
    }
    s.Stats({"u4777", "g2666", "g2666_3000"});
  });
  EXPECT_LINE(t, "root: stat u4777 = f 0777 0:0 n1 s4");
  EXPECT_LINE(t, "root: stat g2666 = f 0666 0:0 n1 s4");
  EXPECT_LINE(t, "root: stat g2666_3000 = f 02666 0:3000 n1 s4");
}

// ---------------------------------------------------------------------------
// truncate(2) and utimensat(2) permission rules.

TEST_P(PosixRulesTest, TruncatePermissions) {
  const std::string t = Differential([](S& s) {
    s.Dir("", 0755);
    s.File("root0644", 0644, 0, 0, "01234");
    s.File("root0666", 0666, 0, 0, "01234");
    s.File("own0444", 0444, 1000, 1000, "01234");
    s.File("own0644", 0644, 1000, 1000, "01234");
    s.File("g3000_0464", 0464, 0, 3000, "01234");
    s.Dir("dir", 0777);
    s.As(kAlice3000, "A", [](S& c) {
      for (const char* n : {"root0644", "root0666", "own0444", "own0644", "g3000_0464"}) {
        c.Do(std::string("truncate ") + n + " 2",
             [&] { return truncate(c.P(n).c_str(), 2); });
      }
      c.Do("truncate own0644 10 (grow)", [&] { return truncate(c.P("own0644").c_str(), 10); });
      c.Do("truncate own0644 -1", [&] { return truncate(c.P("own0644").c_str(), -1); });
      c.Do("truncate dir 0", [&] { return truncate(c.P("dir").c_str(), 0); });
      c.Do("truncate missing 0", [&] { return truncate(c.P("missing").c_str(), 0); });
      c.Do("ftruncate root0644 (O_RDONLY fd)", [&] {
        return WithFd(c.P("root0644"), O_RDONLY, [](int fd) -> long { return ftruncate(fd, 1); });
      });
      c.Do("ftruncate root0666 (O_WRONLY fd) 1", [&] {
        return WithFd(c.P("root0666"), O_WRONLY, [](int fd) -> long { return ftruncate(fd, 1); });
      });
    });
    s.Stats({"root0644", "root0666", "own0444", "own0644", "g3000_0464"});
  });
  EXPECT_LINE(t, "A: truncate root0644 2 = EACCES");
  EXPECT_LINE(t, "A: truncate root0666 2 = ok");
  EXPECT_LINE(t, "A: truncate own0444 2 = EACCES");
  EXPECT_LINE(t, "A: truncate g3000_0464 2 = ok");
  EXPECT_LINE(t, "A: truncate dir 0 = EISDIR");
  EXPECT_LINE(t, "A: truncate own0644 -1 = EINVAL");
  EXPECT_LINE(t, "A: ftruncate root0644 (O_RDONLY fd) = EINVAL");
  EXPECT_LINE(t, "root: stat root0666 = f 0666 0:0 n1 s1");
  EXPECT_LINE(t, "root: stat own0644 = f 0644 1000:1000 n1 s10");
}

// Times after writes through a shared writable mapping: a stat right after
// msync (with the attributes already cached by an earlier stat), after
// munmap and after close shows the new mtime and ctime, as natively. With
// passthrough the daemon never sees those writes (issue 16, item 3).
TEST_P(PosixRulesTest, MmapWriteTimes) {
  const std::string t = Differential([&](S& s) {
    s.Dir("", 0755);
    s.File("f", 0666, 1000, 1000, std::string(8192, 'a'));
    s.SetTimes("f", 1000000000);
    s.As(kAlice, "A", [&](S& c) {
      const Times before = TimesOf(c.P("f"));  // The kernel may cache these.
      const int fd = open(c.P("f").c_str(), O_RDWR | O_CLOEXEC);
      c.Note("open", fd >= 0 ? "ok" : ErrName(errno));
      if (fd < 0) return;
      const Times opened = TimesOf(c.P("f"));
      c.Note("mtime after open", Rel(before.mtime, opened.mtime));
      void* p = mmap(nullptr, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      c.Note("mmap", p != MAP_FAILED ? "ok" : ErrName(errno));
      if (p == MAP_FAILED) return;
      std::memcpy(static_cast<char*>(p) + 4096, "mapped", 6);
      c.Do("msync", [&] { return msync(p, 8192, MS_SYNC); });
      const Times synced = TimesOf(c.P("f"));
      c.Note("mtime after msync", Rel(before.mtime, synced.mtime));
      c.Note("ctime after msync", Rel(before.ctime, synced.ctime));
      struct stat st;
      fstat(fd, &st);
      c.Note("fstat mtime after msync", Rel(before.mtime, st.st_mtim));
      c.Do("munmap", [&] { return munmap(p, 8192); });
      c.Note("mtime after munmap", Rel(before.mtime, TimesOf(c.P("f")).mtime));
      close(fd);
      c.Note("mtime after close", Rel(before.mtime, TimesOf(c.P("f")).mtime));
      c.Note("content", Content(c.P("f")).substr(4097, 6));
    });
  });
  EXPECT_LINE(t, "A: mtime after open = same");
  EXPECT_LINE(t, "A: mtime after msync = advanced");
  EXPECT_LINE(t, "A: ctime after msync = advanced");
  EXPECT_LINE(t, "A: fstat mtime after msync = advanced");
  EXPECT_LINE(t, "A: content = mapped");
}

TEST_P(PosixRulesTest, UtimensatRules) {
  constexpr time_t kOld = 1000000000;
  const std::vector<std::string> files = {"root0666", "root0644", "own0444",
                                          "own0644", "root0666b"};
  const std::string t = Differential([&](S& s) {
    s.Dir("", 0755);
    s.File("root0666", 0666);
    s.File("root0666b", 0666);
    s.File("root0644", 0644);
    s.File("own0444", 0444, 1000, 1000);
    s.File("own0644", 0644, 1000, 1000);
    for (const std::string& f : files) s.SetTimes(f, kOld);
    s.As(kAlice, "A", [](S& c) {
      const timespec explicit_times[2] = {{1200000000, 5}, {1300000000, 7}};
      const timespec now[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
      const timespec omit[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
      const timespec now_and_explicit[2] = {{0, UTIME_NOW}, {1300000000, 7}};
      const timespec omit_and_now[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
      auto u = [&](const char* n, const timespec* ts) {
        return utimensat(AT_FDCWD, c.P(n).c_str(), ts, 0);
      };
      c.Do("utimensat root0666 NULL", [&] { return u("root0666", nullptr); });
      c.Do("utimensat root0666b UTIME_NOW", [&] { return u("root0666b", now); });
      c.Do("utimensat root0666 explicit", [&] { return u("root0666", explicit_times); });
      c.Do("utimensat root0666 NOW+explicit", [&] { return u("root0666", now_and_explicit); });
      c.Do("utimensat root0666 OMIT+NOW", [&] { return u("root0666", omit_and_now); });
      c.Do("utimensat root0644 NULL", [&] { return u("root0644", nullptr); });
      c.Do("utimensat root0644 UTIME_NOW", [&] { return u("root0644", now); });
      c.Do("utimensat root0644 OMIT,OMIT", [&] { return u("root0644", omit); });
      c.Do("utimensat root0644 explicit", [&] { return u("root0644", explicit_times); });
      c.Do("utimensat own0444 explicit", [&] { return u("own0444", explicit_times); });
      c.Do("utimensat own0644 NULL", [&] { return u("own0644", nullptr); });
      c.Do("futimens root0666b (O_WRONLY fd) NULL", [&] {
        return WithFd(c.P("root0666b"), O_WRONLY,
                      [](int fd) -> long { return futimens(fd, nullptr); });
      });
      c.Do("futimens root0644 (O_RDONLY fd) NULL", [&] {
        return WithFd(c.P("root0644"), O_RDONLY,
                      [](int fd) -> long { return futimens(fd, nullptr); });
      });
    });
    // "old" (as set up), the explicit value asked for, or "new" (now).
    auto describe = [&](const timespec& ts, time_t explicit_sec) {
      if (ts.tv_sec == kOld) return std::string("old");
      if (ts.tv_sec == explicit_sec) return absl::StrCat(ts.tv_sec, ".", ts.tv_nsec);
      return std::string("new");
    };
    for (const std::string& f : files) {
      const Times tm = TimesOf(s.P(f));
      s.Note("times " + f, absl::StrCat("atime ", describe(tm.atime, 1200000000),
                                        " mtime ", describe(tm.mtime, 1300000000)));
    }
  });
  EXPECT_LINE(t, "A: utimensat root0666 NULL = ok");
  EXPECT_LINE(t, "A: utimensat root0666b UTIME_NOW = ok");
  EXPECT_LINE(t, "A: utimensat root0666 explicit = EPERM");
  EXPECT_LINE(t, "A: utimensat root0666 NOW+explicit = EPERM");
  EXPECT_LINE(t, "A: utimensat root0644 NULL = EACCES");
  EXPECT_LINE(t, "A: utimensat root0644 explicit = EPERM");
  EXPECT_LINE(t, "A: utimensat own0444 explicit = ok");
  EXPECT_LINE(t, "root: times root0644 = atime old mtime old");
  EXPECT_LINE(t, "root: times own0444 = atime 1200000000.5 mtime 1300000000.7");
  EXPECT_LINE(t, "root: times own0644 = atime new mtime new");
  EXPECT_LINE(t, "root: times root0666 = atime new mtime new");
}

// ---------------------------------------------------------------------------
// link(2) and fs.protected_hardlinks.

TEST_P(PosixRulesTest, HardLinkProtection) {
  const std::string t = Differential([](S& s) {
    s.Dir("", 0755);
    s.Dir("w", 0777);
    s.Dir("nw", 0755);
    s.File("root0600", 0600);
    s.File("root0644", 0644);
    s.File("root0666", 0666);
    s.File("root4777", 04777);
    s.File("root2777", 02777);
    s.File("root2767", 02767);
    s.File("own0000", 0000, 1000, 1000);
    s.File("own4755", 04755, 1000, 1000);
    if (mkfifo(s.P("rootfifo").c_str(), 0666) != 0) s.Fail("mkfifo", "rootfifo");
    s.Dir("rootdir", 0777);
    s.As(kAlice, "A", [](S& c) {
      for (const char* n : {"root0600", "root0644", "root0666", "root4777",
                            "root2777", "root2767", "own0000", "own4755",
                            "rootfifo", "rootdir"}) {
        c.Do(std::string("link ") + n + " w/" + n,
             [&] { return link(c.P(n).c_str(), c.P(std::string("w/") + n).c_str()); });
      }
      c.Do("link own0000 nw/x", [&] { return link(c.P("own0000").c_str(), c.P("nw/x").c_str()); });
      c.Do("link own0000 w/own0000 (exists)",
           [&] { return link(c.P("own0000").c_str(), c.P("w/own0000").c_str()); });
      c.Do("link missing w/m", [&] { return link(c.P("missing").c_str(), c.P("w/m").c_str()); });
    });
    s.As(kRoot, "R", [](S& c) {
      c.Do("link root0600 w/by_root",
           [&] { return link(c.P("root0600").c_str(), c.P("w/by_root").c_str()); });
    });
    s.Note("list w", Listing(s.P("w")));
    s.Stats({"root0600", "root0666", "own0000", "own4755", "w/own0000",
             "w/root0666"});
  });
  EXPECT_LINE(t, "A: link root0600 w/root0600 = EPERM");
  EXPECT_LINE(t, "A: link root0644 w/root0644 = EPERM");
  EXPECT_LINE(t, "A: link root0666 w/root0666 = ok");
  EXPECT_LINE(t, "A: link root4777 w/root4777 = EPERM");
  EXPECT_LINE(t, "A: link root2777 w/root2777 = EPERM");
  EXPECT_LINE(t, "A: link own0000 w/own0000 = ok");
  EXPECT_LINE(t, "A: link rootfifo w/rootfifo = EPERM");
  EXPECT_LINE(t, "A: link rootdir w/rootdir = EPERM");
  EXPECT_LINE(t, "A: link own0000 nw/x = EACCES");
  EXPECT_LINE(t, "R: link root0600 w/by_root = ok");
  EXPECT_LINE(t, "root: stat root0600 = f 0600 0:0 n2 s4");
}

// ---------------------------------------------------------------------------
// rename(2) and renameat2(2).

TEST_P(PosixRulesTest, RenameRules) {
  const std::string t = Differential([](S& s) {
    s.Dir("", 0755);
    s.Dir("w1", 0777);
    s.Dir("w2", 0777);
    s.Dir("nw", 0755);
    s.File("w1/a", 0644, 1000, 1000, "A");
    s.File("w1/b", 0644, 1000, 1000, "B");
    s.File("w1/c", 0644, 1000, 1000, "C");
    s.File("nw/own", 0644, 1000, 1000, "own");
    s.Dir("w1/rootdir", 0755);
    s.Dir("w1/owndir", 0755, 1000, 1000);
    s.Dir("w1/owndir/sub", 0755, 1000, 1000);
    s.Dir("w1/empty", 0755, 1000, 1000);
    s.Dir("w1/full", 0755, 1000, 1000);
    s.File("w1/full/x", 0644, 1000, 1000);
    s.As(kAlice, "A", [](S& c) {
      auto rn = [&](const char* from, const char* to, unsigned flags = 0) {
        return renameat2(AT_FDCWD, c.P(from).c_str(), AT_FDCWD, c.P(to).c_str(), flags);
      };
      c.Do("rename w1/owndir w1/owndir/sub/x", [&] { return rn("w1/owndir", "w1/owndir/sub/x"); });
      c.Do("rename w1/owndir w1/owndir", [&] { return rn("w1/owndir", "w1/owndir"); });
      c.Do("rename w1/a nw/a", [&] { return rn("w1/a", "nw/a"); });
      c.Do("rename nw/own w2/own", [&] { return rn("nw/own", "w2/own"); });
      c.Do("rename w1/a w2/a", [&] { return rn("w1/a", "w2/a"); });
      c.Do("rename w1/rootdir w2/rootdir (needs w on dir)",
           [&] { return rn("w1/rootdir", "w2/rootdir"); });
      c.Do("rename w1/rootdir w1/rootdir2 (same parent)",
           [&] { return rn("w1/rootdir", "w1/rootdir2"); });
      c.Do("rename w1/owndir w2/owndir", [&] { return rn("w1/owndir", "w2/owndir"); });
      c.Do("rename w1/b over w1/c", [&] { return rn("w1/b", "w1/c"); });
      c.Do("rename w1/c w1/c (same)", [&] { return rn("w1/c", "w1/c"); });
      c.Do("rename w1/c over dir w1/empty", [&] { return rn("w1/c", "w1/empty"); });
      c.Do("rename dir w1/empty over file w1/c", [&] { return rn("w1/empty", "w1/c"); });
      c.Do("rename dir w2/owndir over non-empty w1/full", [&] { return rn("w2/owndir", "w1/full"); });
      c.Do("rename dir w1/full over empty w1/empty", [&] { return rn("w1/full", "w1/empty"); });
      c.Do("rename w1/. w1/dot", [&] { return rn("w1/.", "w1/dot"); });
      c.Do("rename w1/missing w1/x", [&] { return rn("w1/missing", "w1/x"); });
      c.Do("rename w1/c w1/missing/x", [&] { return rn("w1/c", "w1/missing/x"); });
      c.Do("rename w1/c w1/c/x (not dir)", [&] { return rn("w1/c", "w1/c/x"); });
    });
    s.Note("list w1", Listing(s.P("w1")));
    s.Note("list w2", Listing(s.P("w2")));
    s.Note("list nw", Listing(s.P("nw")));
    s.Note("content w1/c", Content(s.P("w1/c")));
    s.Stats({"w1/c", "w1/empty", "w1/empty/x", "w2/a", "w2/owndir", "w2/owndir/sub",
             "w1/rootdir2"});
  });
  EXPECT_LINE(t, "A: rename w1/owndir w1/owndir/sub/x = EINVAL");
  EXPECT_LINE(t, "A: rename w1/a nw/a = EACCES");
  EXPECT_LINE(t, "A: rename nw/own w2/own = EACCES");
  EXPECT_LINE(t, "A: rename w1/a w2/a = ok");
  EXPECT_LINE(t, "A: rename w1/rootdir w2/rootdir (needs w on dir) = EACCES");
  EXPECT_LINE(t, "A: rename w1/rootdir w1/rootdir2 (same parent) = ok");
  EXPECT_LINE(t, "A: rename w1/c over dir w1/empty = EISDIR");
  EXPECT_LINE(t, "A: rename dir w1/empty over file w1/c = ENOTDIR");
  EXPECT_LINE(t, "A: rename dir w2/owndir over non-empty w1/full = ENOTEMPTY");
  EXPECT_LINE(t, "root: content w1/c = 'B'");
}

TEST_P(PosixRulesTest, RenameNoreplaceExchangeWhiteout) {
  const std::string t = Differential([](S& s) {
    s.Dir("", 0755);
    s.Dir("w", 0777);
    s.Dir("nw", 0755);
    s.File("w/a", 0644, 1000, 1000, "A");
    s.File("w/b", 0644, 1000, 1000, "B");
    s.File("nw/n", 0644, 1000, 1000, "N");
    s.Dir("w/d", 0755, 1000, 1000);
    s.File("w/d/inner", 0644, 1000, 1000, "I");
    s.Dir("w/rootdir", 0755);
    s.As(kAlice, "A", [](S& c) {
      auto rn = [&](const char* from, const char* to, unsigned flags) {
        return renameat2(AT_FDCWD, c.P(from).c_str(), AT_FDCWD, c.P(to).c_str(), flags);
      };
      c.Do("noreplace w/a w/b", [&] { return rn("w/a", "w/b", RENAME_NOREPLACE); });
      c.Do("noreplace w/c (missing) w/c2", [&] { return rn("w/c", "w/c2", RENAME_NOREPLACE); });
      c.Do("noreplace w/a w/a2", [&] { return rn("w/a", "w/a2", RENAME_NOREPLACE); });
      c.Do("exchange w/a2 w/b", [&] { return rn("w/a2", "w/b", RENAME_EXCHANGE); });
      c.Do("exchange w/b w/missing", [&] { return rn("w/b", "w/missing", RENAME_EXCHANGE); });
      c.Do("exchange|noreplace", [&] {
        return rn("w/b", "w/a2", RENAME_EXCHANGE | RENAME_NOREPLACE);
      });
      c.Do("exchange file w/b with dir w/d", [&] { return rn("w/b", "w/d", RENAME_EXCHANGE); });
      c.Do("exchange w/a2 with nw/n", [&] { return rn("w/a2", "nw/n", RENAME_EXCHANGE); });
      c.Do("exchange w/rootdir (root's dir) with w/a2, same parent",
           [&] { return rn("w/rootdir", "w/a2", RENAME_EXCHANGE); });
      c.Do("bad flags", [&] { return rn("w/a2", "w/x", 0x80); });
    });
    s.Note("list w", Listing(s.P("w")));
    s.Note("content w/a2", Content(s.P("w/a2")));
    s.Note("content w/b/inner", Content(s.P("w/b/inner")));
    s.Note("content w/d", Content(s.P("w/d")));
    s.Note("content nw/n", Content(s.P("nw/n")));
    s.Stats({"w/a2", "w/b", "w/d", "w/rootdir"});
  });
  EXPECT_LINE(t, "A: noreplace w/a w/b = EEXIST");
  EXPECT_LINE(t, "A: noreplace w/a w/a2 = ok");
  EXPECT_LINE(t, "A: exchange w/a2 w/b = ok");
  EXPECT_LINE(t, "A: exchange w/b w/missing = ENOENT");
  EXPECT_LINE(t, "A: exchange|noreplace = EINVAL");
  EXPECT_LINE(t, "A: exchange file w/b with dir w/d = ok");
  EXPECT_LINE(t, "A: exchange w/a2 with nw/n = EACCES");
  EXPECT_LINE(t, "root: content w/b/inner = 'I'");
}

// Fixed difference, kept as a regression test (both modes; deliberate per entry_ops.cc, but it is not
// what the backing file system does): since Linux 5.8 an unprivileged user
// may rename with RENAME_WHITEOUT, leaving a 0:0 character device owned by the
// caller. entry_ops.cc Rename answers EINVAL for RENAME_WHITEOUT. (Supporting
// it would also need the rename to run as the caller, so that the whiteout
// belongs to the caller and not to root.)
TEST_P(PosixRulesTest, RenameWhiteoutAsUser) {
  const std::string t = Differential([](S& s) {
    s.Dir("", 0755);
    s.Dir("w", 0777);
    s.File("w/a", 0644, 1000, 1000, "A");
    s.As(kAlice, "A", [](S& c) {
      c.Do("whiteout w/a w/wh", [&] {
        return renameat2(AT_FDCWD, c.P("w/a").c_str(), AT_FDCWD,
                         c.P("w/wh").c_str(), RENAME_WHITEOUT);
      });
    });
    s.Note("list w", Listing(s.P("w")));
    s.Stats({"w/a", "w/wh"});
  });
  EXPECT_LINE(t, "A: whiteout w/a w/wh = ok");
  EXPECT_LINE(t, "root: stat w/a = c 00 1000:1000 n1 s0");
}

// ---------------------------------------------------------------------------
// unlink(2) and rmdir(2).

TEST_P(PosixRulesTest, UnlinkAndRmdirRules) {
  const std::string t = Differential([](S& s) {
    s.Dir("", 0755);
    s.Dir("nw", 0755);
    s.File("nw/own", 0666, 1000, 1000);
    s.Dir("nw/owndir", 0777, 1000, 1000);
    s.Dir("w", 0777);
    s.File("w/root0600", 0600);
    s.Dir("w/rootdir", 0700);
    s.Dir("w/full", 0777);
    s.File("w/full/x", 0644);
    s.Dir("w/file_holder", 0777);
    s.File("w/file", 0644);
    s.Dir("wnx", 0776);   // write but no search for others
    s.File("wnx/f", 0666);
    s.Dir("xnw", 0775);   // search but no write for others
    s.File("xnw/f", 0666);
    s.As(kAlice, "A", [](S& c) {
      c.Do("unlink nw/own", [&] { return unlink(c.P("nw/own").c_str()); });
      c.Do("rmdir nw/owndir", [&] { return rmdir(c.P("nw/owndir").c_str()); });
      c.Do("unlink w/root0600", [&] { return unlink(c.P("w/root0600").c_str()); });
      c.Do("rmdir w/rootdir (0700 root)", [&] { return rmdir(c.P("w/rootdir").c_str()); });
      c.Do("rmdir w/full", [&] { return rmdir(c.P("w/full").c_str()); });
      c.Do("rmdir w/file", [&] { return rmdir(c.P("w/file").c_str()); });
      c.Do("unlink w/full (dir)", [&] { return unlink(c.P("w/full").c_str()); });
      c.Do("rmdir w/.", [&] { return rmdir(c.P("w/.").c_str()); });
      c.Do("rmdir w/..", [&] { return rmdir(c.P("w/..").c_str()); });
      c.Do("rmdir w/missing", [&] { return rmdir(c.P("w/missing").c_str()); });
      c.Do("unlink w/missing", [&] { return unlink(c.P("w/missing").c_str()); });
      c.Do("unlink w/file/x", [&] { return unlink(c.P("w/file/x").c_str()); });
      c.Do("unlink wnx/f", [&] { return unlink(c.P("wnx/f").c_str()); });
      c.Do("unlink xnw/f", [&] { return unlink(c.P("xnw/f").c_str()); });
      c.Do("mkdir w/mine + rmdir", [&] {
        if (mkdir(c.P("w/mine").c_str(), 0755) != 0) return -1;
        return rmdir(c.P("w/mine").c_str());
      });
      c.Do("mkdir w/mine2 w/mine2/x + rmdir w/mine2", [&] {
        if (mkdir(c.P("w/mine2").c_str(), 0755) != 0) return -1;
        if (mkdir(c.P("w/mine2/x").c_str(), 0755) != 0) return -1;
        return rmdir(c.P("w/mine2").c_str());
      });
    });
    s.Note("list nw", Listing(s.P("nw")));
    s.Note("list w", Listing(s.P("w")));
    s.Note("list wnx", Listing(s.P("wnx")));
    s.Note("list xnw", Listing(s.P("xnw")));
  });
  EXPECT_LINE(t, "A: unlink nw/own = EACCES");
  EXPECT_LINE(t, "A: rmdir nw/owndir = EACCES");
  EXPECT_LINE(t, "A: unlink w/root0600 = ok");
  EXPECT_LINE(t, "A: rmdir w/rootdir (0700 root) = ok");
  EXPECT_LINE(t, "A: rmdir w/full = ENOTEMPTY");
  EXPECT_LINE(t, "A: rmdir w/file = ENOTDIR");
  EXPECT_LINE(t, "A: unlink w/full (dir) = EISDIR");
  EXPECT_LINE(t, "A: rmdir w/. = EINVAL");
  EXPECT_LINE(t, "A: unlink wnx/f = EACCES");
  EXPECT_LINE(t, "A: unlink xnw/f = EACCES");
  EXPECT_LINE(t, "A: mkdir w/mine2 w/mine2/x + rmdir w/mine2 = ENOTEMPTY");
}

// ---------------------------------------------------------------------------
// Extended attributes.

TEST_P(PosixRulesTest, XattrUserNamespace) {
  const std::string t = Differential([](S& s) {
    s.Dir("", 0755);
    s.File("root0644", 0644);
    s.File("root0666", 0666);
    s.File("root0600", 0600);
    s.File("own0444", 0444, 1000, 1000);
    s.Dir("sticky", 01777);
    s.Dir("plain", 0777);
    if (symlink("root0666", s.P("link").c_str()) != 0) s.Fail("symlink", "link");
    if (mkfifo(s.P("fifo").c_str(), 0666) != 0) s.Fail("mkfifo", "fifo");
    for (const char* f : {"root0644", "root0600", "root0666"}) {
      if (setxattr(s.P(f).c_str(), "user.root", "r", 1, 0) != 0) s.Fail("setxattr", f);
    }
    s.As(kAlice, "A", [](S& c) {
      auto set = [&](const char* f, const char* name, int flags = 0) {
        return setxattr(c.P(f).c_str(), name, "v", 1, flags);
      };
      c.Do("set user.a root0644", [&] { return set("root0644", "user.a"); });
      c.Do("set user.a root0666", [&] { return set("root0666", "user.a"); });
      c.Do("set user.a own0444", [&] { return set("own0444", "user.a"); });
      c.Do("set user.a sticky (not owner)", [&] { return set("sticky", "user.a"); });
      c.Do("set user.a plain dir", [&] { return set("plain", "user.a"); });
      c.Do("lset user.a link", [&] {
        return lsetxattr(c.P("link").c_str(), "user.a", "v", 1, 0);
      });
      c.Do("set user.a fifo", [&] { return set("fifo", "user.a"); });
      c.Do("set user.a root0666 CREATE (exists)",
           [&] { return set("root0666", "user.a", XATTR_CREATE); });
      c.Do("set user.b root0666 REPLACE (missing)",
           [&] { return set("root0666", "user.b", XATTR_REPLACE); });
      c.Note("get user.root root0644", XattrValue(c.P("root0644"), "user.root"));
      c.Note("get user.root root0600", XattrValue(c.P("root0600"), "user.root"));
      c.Note("get user.a root0666", XattrValue(c.P("root0666"), "user.a"));
      c.Note("get user.missing root0666", XattrValue(c.P("root0666"), "user.missing"));
      c.Note("list root0600", XattrNames(c.P("root0600")));
      c.Note("list root0666", XattrNames(c.P("root0666")));
      c.Do("remove user.root root0644",
           [&] { return removexattr(c.P("root0644").c_str(), "user.root"); });
      c.Do("remove user.root root0666",
           [&] { return removexattr(c.P("root0666").c_str(), "user.root"); });
      c.Do("remove user.missing root0666",
           [&] { return removexattr(c.P("root0666").c_str(), "user.missing"); });
      c.Do("set user.long-value root0666", [&] {
        const std::string v(70000, 'v');
        return setxattr(c.P("root0666").c_str(), "user.big", v.data(), v.size(), 0);
      });
      c.Do("set user.two root0666", [&] {
        return setxattr(c.P("root0666").c_str(), "user.two", "vv", 2, 0);
      });
      c.Do("get user.two root0666 (size probe)", [&] {
        return getxattr(c.P("root0666").c_str(), "user.two", nullptr, 0) == 2 ? 0 : -1;
      });
      c.Do("get user.two root0666 (buffer too small)", [&] {
        char b[1];
        return getxattr(c.P("root0666").c_str(), "user.two", b, sizeof(b));
      });
    });
    s.Note("list root0644", XattrNames(s.P("root0644")));
    s.Note("list root0666", XattrNames(s.P("root0666")));
    s.Note("list own0444", XattrNames(s.P("own0444")));
    s.Note("list sticky", XattrNames(s.P("sticky")));
    s.Note("list plain", XattrNames(s.P("plain")));
  });
  EXPECT_LINE(t, "A: set user.a root0644 = EACCES");
  EXPECT_LINE(t, "A: set user.a root0666 = ok");
  EXPECT_LINE(t, "A: set user.a own0444 = EACCES");
  EXPECT_LINE(t, "A: set user.a sticky (not owner) = EPERM");
  EXPECT_LINE(t, "A: lset user.a link = EPERM");
  EXPECT_LINE(t, "A: set user.a root0666 CREATE (exists) = EEXIST");
  EXPECT_LINE(t, "A: set user.b root0666 REPLACE (missing) = ENODATA");
  EXPECT_LINE(t, "A: get user.root root0644 = 'r'");
  EXPECT_LINE(t, "A: get user.root root0600 = EACCES");
  EXPECT_LINE(t, "A: remove user.root root0644 = EACCES");
  EXPECT_LINE(t, "A: remove user.root root0666 = ok");
  EXPECT_LINE(t, "root: list root0666 = [user.a,user.two]");
}

TEST_P(PosixRulesTest, XattrPrivilegedNamespaces) {
  const std::string t = Differential([](S& s) {
    s.Dir("", 0755);
    s.File("rootf", 0666);
    s.File("own", 0644, 1000, 1000);
    for (const char* f : {"rootf", "own"}) {
      if (setxattr(s.P(f).c_str(), "trusted.secret", "t", 1, 0) != 0) s.Fail("set trusted", f);
      if (setxattr(s.P(f).c_str(), "user.visible", "u", 1, 0) != 0) s.Fail("set user", f);
    }
    s.As(kAlice, "A", [](S& c) {
      c.Do("set trusted.a own", [&] { return setxattr(c.P("own").c_str(), "trusted.a", "v", 1, 0); });
      c.Do("set trusted.a rootf", [&] { return setxattr(c.P("rootf").c_str(), "trusted.a", "v", 1, 0); });
      c.Do("set security.a own", [&] { return setxattr(c.P("own").c_str(), "security.a", "v", 1, 0); });
      c.Do("set system.a own", [&] { return setxattr(c.P("own").c_str(), "system.a", "v", 1, 0); });
      c.Do("set bogus.a own", [&] { return setxattr(c.P("own").c_str(), "bogus.a", "v", 1, 0); });
      c.Note("get trusted.secret own", XattrValue(c.P("own"), "trusted.secret"));
      c.Note("get trusted.secret rootf", XattrValue(c.P("rootf"), "trusted.secret"));
      c.Do("remove trusted.secret own", [&] { return removexattr(c.P("own").c_str(), "trusted.secret"); });
    });
    s.Note("list own", XattrNames(s.P("own")));
    s.Note("list rootf", XattrNames(s.P("rootf")));
  });
  EXPECT_LINE(t, "A: set trusted.a own = EPERM");
  EXPECT_LINE(t, "A: set security.a own = EPERM");
  EXPECT_LINE(t, "A: get trusted.secret own = ENODATA");
  EXPECT_LINE(t, "A: remove trusted.secret own = EPERM");
  EXPECT_LINE(t, "root: list own = [trusted.secret,user.visible]");
}

// Fixed difference, kept as a regression test (both modes): listxattr(2) by an unprivileged caller shows the
// names of trusted.* attributes through the mount; natively the backing file
// system lists them only to CAP_SYS_ADMIN. xattr_ops.cc Listxattr runs
// listxattr() in the daemon as root; the kernel passes the list through
// unfiltered. (getxattr of trusted.* is refused by the VFS before the daemon
// sees it, so only the names leak.)
TEST_P(PosixRulesTest, ListxattrHidesTrustedNamesFromUsers) {
  const std::string t = Differential([](S& s) {
    s.Dir("", 0755);
    s.File("rootf", 0644);
    s.File("own", 0644, 1000, 1000);
    for (const char* f : {"rootf", "own"}) {
      if (setxattr(s.P(f).c_str(), "trusted.secret", "t", 1, 0) != 0) s.Fail("set trusted", f);
      if (setxattr(s.P(f).c_str(), "user.visible", "u", 1, 0) != 0) s.Fail("set user", f);
    }
    s.As(kAlice, "A", [](S& c) {
      c.Note("list own", XattrNames(c.P("own")));
      c.Note("list rootf", XattrNames(c.P("rootf")));
      c.Do("listxattr size of own", [&] { return listxattr(c.P("own").c_str(), nullptr, 0); });
      c.Note("listxattr size of own",
             absl::StrCat(listxattr(c.P("own").c_str(), nullptr, 0)));
    });
    s.As(kRoot, "R", [](S& c) { c.Note("list own", XattrNames(c.P("own"))); });
  });
  EXPECT_LINE(t, "A: list own = [user.visible]");
  EXPECT_LINE(t, "A: list rootf = [user.visible]");
  EXPECT_LINE(t, "A: listxattr size of own = 13");
  EXPECT_LINE(t, "R: list own = [trusted.secret,user.visible]");
}

// POSIX ACLs (system.posix_acl_*).

// user::rw- user:1001:rw- group::--- mask::rw- other::---
std::string AclGrantingBob() {
  return AclXattr({{kAclUserObj, 6, kNoId},
                   {kAclUser, 6, 1001},
                   {kAclGroupObj, 0, kNoId},
                   {kAclMask, 6, kNoId},
                   {kAclOther, 0, kNoId}});
}

// Only the owner may set an ACL; the ACL's mask becomes the group bits.
TEST_P(PosixRulesTest, PosixAclWhoMaySetIt) {
  const std::string t = Differential([](S& s) {
    s.Dir("", 0755);
    s.File("root0600", 0600);
    s.File("root0666", 0666);
    s.File("own0600", 0600, 1000, 1000);
    const std::string acl = AclGrantingBob();
    s.As(kBob, "B", [&](S& c) {
      c.Do("set access ACL on root0600 (not owner)", [&] {
        return setxattr(c.P("root0600").c_str(), "system.posix_acl_access",
                        acl.data(), acl.size(), 0);
      });
      c.Do("set access ACL on root0666 (not owner, can write)", [&] {
        return setxattr(c.P("root0666").c_str(), "system.posix_acl_access",
                        acl.data(), acl.size(), 0);
      });
      c.Do("open root0600 O_RDWR", [&] { return OpenClose(c.P("root0600"), O_RDWR); });
    });
    s.As(kAlice, "A", [&](S& c) {
      c.Do("set access ACL on own0600", [&] {
        return setxattr(c.P("own0600").c_str(), "system.posix_acl_access",
                        acl.data(), acl.size(), 0);
      });
      c.Note("get it back",
             XattrValue(c.P("own0600"), "system.posix_acl_access") == "'" + acl + "'"
                 ? "the ACL set" : "other");
    });
    s.As(kBob, "B", [&](S& c) {
      c.Note("getxattr own0600 system.posix_acl_access",
             XattrValue(c.P("own0600"), "system.posix_acl_access") == "'" + acl + "'"
                 ? "the ACL set" : "other");
      c.Do("remove access ACL on own0600 (not owner)", [&] {
        return removexattr(c.P("own0600").c_str(), "system.posix_acl_access");
      });
    });
    s.Stats({"root0600", "root0666", "own0600"});
    s.Note("list own0600", XattrNames(s.P("own0600")));
    s.Note("list root0600", XattrNames(s.P("root0600")));
  });
  EXPECT_LINE(t, "B: set access ACL on root0600 (not owner) = EPERM");
  EXPECT_LINE(t, "B: set access ACL on root0666 (not owner, can write) = EPERM");
  EXPECT_LINE(t, "A: set access ACL on own0600 = ok");
  EXPECT_LINE(t, "B: remove access ACL on own0600 (not owner) = EPERM");
  EXPECT_LINE(t, "root: stat root0600 = f 0600 0:0 n1 s4");
  EXPECT_LINE(t, "root: stat own0600 = f 0660 1000:1000 n1 s4");
}

// Fixed difference, kept as a regression test (both modes): an ACL entry granting B read/write on A's 0600
// file lets B open it natively; through the mount B gets EACCES. The daemon
// does not enable FUSE_CAP_POSIX_ACL (lifecycle_ops.cc Init), so with
// default_permissions the kernel checks the mode bits only (the ACL xattr is
// stored on the backing file but never consulted).
TEST_P(PosixRulesTest, PosixAclGrantsAccess) {
  const std::string t = Differential([](S& s) {
    s.Dir("", 0755);
    s.File("own0600", 0600, 1000, 1000);
    const std::string acl = AclGrantingBob();
    s.As(kAlice, "A", [&](S& c) {
      c.Do("set access ACL on own0600", [&] {
        return setxattr(c.P("own0600").c_str(), "system.posix_acl_access",
                        acl.data(), acl.size(), 0);
      });
    });
    s.As(kBob, "B", [&](S& c) {
      c.Do("open own0600 O_RDWR (granted by ACL)",
           [&] { return OpenClose(c.P("own0600"), O_RDWR); });
      c.Do("access own0600 R_OK|W_OK", [&] { return access(c.P("own0600").c_str(), R_OK | W_OK); });
    });
    s.As(kCarol, "C", [&](S& c) {
      c.Do("open own0600 O_RDONLY (not in the ACL)",
           [&] { return OpenClose(c.P("own0600"), O_RDONLY); });
    });
    s.Stat("own0600");
  });
  EXPECT_LINE(t, "B: open own0600 O_RDWR (granted by ACL) = ok");
  EXPECT_LINE(t, "C: open own0600 O_RDONLY (not in the ACL) = EACCES");
}

// Fixed difference, kept as a regression test (both modes): in a directory with a default ACL the umask does
// not apply natively (mode = requested & ACL); through the mount the kernel
// applies the umask first (no FUSE_CAP_POSIX_ACL, so the FUSE superblock has
// no SB_POSIXACL; lifecycle_ops.cc also leaves FUSE_CAP_DONT_MASK off). With
// umask 022: native 0664/0775, mount 0644/0755.
TEST_P(PosixRulesTest, DefaultAclReplacesUmask) {
  const std::string t = Differential([](S& s) {
    s.Dir("", 0755);
    s.Dir("owndir", 0777, 1000, 1000);
    // user::rwx group::rwx other::r-x
    const std::string dflt = AclXattr({{kAclUserObj, 7, kNoId},
                                       {kAclGroupObj, 7, kNoId},
                                       {kAclOther, 5, kNoId}});
    s.As(kAlice, "A", [&](S& c) {
      c.Do("set default ACL on owndir", [&] {
        return setxattr(c.P("owndir").c_str(), "system.posix_acl_default",
                        dflt.data(), dflt.size(), 0);
      });
    });
    s.As(kBob, "B", [&](S& c) {
      c.Do("create owndir/f 0666", [&] {
        return OpenClose(c.P("owndir/f"), O_CREAT | O_EXCL | O_WRONLY, 0666);
      });
      c.Do("mkdir owndir/d 0777", [&] { return mkdir(c.P("owndir/d").c_str(), 0777); });
      c.Do("mkfifo owndir/p 0666", [&] { return mkfifo(c.P("owndir/p").c_str(), 0666); });
    });
    s.Stats({"owndir", "owndir/f", "owndir/d", "owndir/p"});
  });
  EXPECT_LINE(t, "root: stat owndir/f = f 0664 1001:1001 n1 s0");
  EXPECT_LINE(t, "root: stat owndir/d = d 0775 1001:1001 n2");
}

// ---------------------------------------------------------------------------
// access(2) and faccessat(2) with AT_EACCESS.

TEST_P(PosixRulesTest, AccessAndFaccessat) {
  struct F {
    const char* name;
    mode_t mode;
    uid_t uid;
    gid_t gid;
  };
  const std::vector<F> files = {
      {"root0644", 0644, 0, 0},      {"root0755", 0755, 0, 0},
      {"root0700", 0700, 0, 0},      {"root0000", 0000, 0, 0},
      {"root0640_3000", 0640, 0, 3000}, {"root0070_3000", 0070, 0, 3000},
      {"own0100", 0100, 1000, 1000}, {"own0600", 0600, 1000, 1000},
      {"b0600", 0600, 1001, 1001},   {"root0010", 0010, 0, 0},
  };
  const std::vector<std::pair<int, const char*>> modes = {
      {F_OK, "F_OK"}, {R_OK, "R_OK"}, {W_OK, "W_OK"}, {X_OK, "X_OK"},
      {R_OK | W_OK, "RW_OK"}};
  const std::string t = Differential([&](S& s) {
    s.Dir("", 0755);
    for (const F& f : files) s.File(f.name, f.mode, f.uid, f.gid);
    s.Dir("rootdir0711", 0711);
    s.File("rootdir0711/f", 0644);
    auto probe = [&](S& c) {
      for (const F& f : files) {
        for (const auto& [m, mname] : modes) {
          c.Do(absl::StrCat("access ", f.name, " ", mname),
               [&] { return access(c.P(f.name).c_str(), m); });
          c.Do(absl::StrCat("eaccess ", f.name, " ", mname), [&] {
            return faccessat(AT_FDCWD, c.P(f.name).c_str(), m, AT_EACCESS);
          });
        }
      }
      c.Do("access rootdir0711 R_OK", [&] { return access(c.P("rootdir0711").c_str(), R_OK); });
      c.Do("access rootdir0711 X_OK", [&] { return access(c.P("rootdir0711").c_str(), X_OK); });
      c.Do("access rootdir0711/f R_OK", [&] { return access(c.P("rootdir0711/f").c_str(), R_OK); });
    };
    s.As(kAlice3000, "A", probe);
    // Real uid 1000 (A), effective uid 1001 (B): access() answers for A,
    // faccessat(AT_EACCESS) for B.
    s.As(kAlice3000, "A/eB", probe, 022, 1001, 1001);
    s.As(kRoot, "R", probe);
  });
  EXPECT_LINE(t, "A: access root0644 R_OK = ok");
  EXPECT_LINE(t, "A: access root0644 W_OK = EACCES");
  EXPECT_LINE(t, "A: access root0640_3000 R_OK = ok");
  EXPECT_LINE(t, "A: access root0070_3000 X_OK = ok");
  EXPECT_LINE(t, "A: access own0100 X_OK = ok");
  EXPECT_LINE(t, "A: access own0100 R_OK = EACCES");
  EXPECT_LINE(t, "A/eB: access own0600 RW_OK = ok");
  EXPECT_LINE(t, "A/eB: eaccess own0600 RW_OK = EACCES");
  EXPECT_LINE(t, "A/eB: access b0600 R_OK = EACCES");
  EXPECT_LINE(t, "A/eB: eaccess b0600 R_OK = ok");
  EXPECT_LINE(t, "R: access root0000 RW_OK = ok");
  EXPECT_LINE(t, "R: access root0644 X_OK = EACCES");
  EXPECT_LINE(t, "R: access root0010 X_OK = ok");
  EXPECT_LINE(t, "A: access rootdir0711 R_OK = EACCES");
  EXPECT_LINE(t, "A: access rootdir0711/f R_OK = ok");
}

// ---------------------------------------------------------------------------
// Symbolic links.

TEST_P(PosixRulesTest, SymlinkRules) {
  const std::string t = Differential([](S& s) {
    s.Dir("", 0755);
    s.Dir("w", 0777);
    s.Dir("nw", 0755);
    s.Dir("private", 0700);
    s.File("private/f", 0644, 0, 0, "secret");
    s.File("rootf", 0600, 0, 0, "rootdata");
    s.File("pubf", 0644, 0, 0, "pubdata");
    s.As(kAlice, "A", [&](S& c) {
      c.Do("symlink nw/l", [&] { return symlink("x", c.P("nw/l").c_str()); });
      c.Do("symlink w/l -> ../private/f", [&] { return symlink("../private/f", c.P("w/l").c_str()); });
      c.Note("read via w/l", Content(c.P("w/l")));
      c.Do("symlink w/l2 -> ../rootf", [&] { return symlink("../rootf", c.P("w/l2").c_str()); });
      c.Note("read via w/l2", Content(c.P("w/l2")));
      c.Do("symlink w/l3 -> ../pubf", [&] { return symlink("../pubf", c.P("w/l3").c_str()); });
      c.Note("read via w/l3", Content(c.P("w/l3")));
      c.Do("symlink w/loop -> loop", [&] { return symlink("loop", c.P("w/loop").c_str()); });
      c.Note("read via w/loop", Content(c.P("w/loop")));
      c.Do("symlink w/long (4095 bytes)", [&] {
        return symlink(std::string(4095, 'x').c_str(), c.P("w/long").c_str());
      });
      c.Do("symlink w/toolong (4096 bytes)", [&] {
        return symlink(std::string(4096, 'x').c_str(), c.P("w/toolong").c_str());
      });
      c.Do("symlink w/empty -> ''", [&] { return symlink("", c.P("w/empty").c_str()); });
      c.Do("readlink w/long", [&] {
        std::string b(8192, '\0');
        return readlink(c.P("w/long").c_str(), b.data(), b.size()) == 4095 ? 0 : -1;
      });
      c.Do("symlink w/l (exists)", [&] { return symlink("y", c.P("w/l").c_str()); });
      c.Do("readlink w/l", [&] {
        char b[64];
        return readlink(c.P("w/l").c_str(), b, sizeof(b)) == 12 ? 0 : -1;
      });
      c.Do("readlink pubf (not a link)", [&] {
        char b[64];
        return readlink(c.P("pubf").c_str(), b, sizeof(b));
      });
      c.Do("lchown w/l -1:1000", [&] { return lchown(c.P("w/l").c_str(), -1, 1000); });
      c.Do("lchown w/l 1001:-1", [&] { return lchown(c.P("w/l").c_str(), 1001, -1); });
      c.Do("lutimes w/l explicit", [&] {
        const timespec ts[2] = {{1100000000, 0}, {1100000000, 0}};
        return utimensat(AT_FDCWD, c.P("w/l").c_str(), ts, AT_SYMLINK_NOFOLLOW);
      });
      c.Note("w/l mtime", TimesOf(c.P("w/l")).mtime.tv_sec == 1100000000 ? "explicit" : "other");
      c.Note("w/l3 target mtime",
             TimesOf(c.P("pubf")).mtime.tv_sec == 1100000000 ? "explicit" : "other");
      c.Do("chown via w/l3 (target root's)", [&] { return chown(c.P("w/l3").c_str(), 1000, 1000); });
      c.Do("unlink w/l3", [&] { return unlink(c.P("w/l3").c_str()); });
    });
    s.As(kBob, "B", [&](S& c) {
      c.Do("unlink w/l (not sticky)", [&] { return unlink(c.P("w/l").c_str()); });
      c.Do("lutimes w/l2 explicit (not owner)", [&] {
        const timespec ts[2] = {{1100000000, 0}, {1100000000, 0}};
        return utimensat(AT_FDCWD, c.P("w/l2").c_str(), ts, AT_SYMLINK_NOFOLLOW);
      });
    });
    s.Stats({"w/l", "w/l2", "w/long", "w/empty", "pubf"});
  });
  EXPECT_LINE(t, "A: symlink nw/l = EACCES");
  EXPECT_LINE(t, "A: read via w/l = EACCES");
  EXPECT_LINE(t, "A: read via w/l2 = EACCES");
  EXPECT_LINE(t, "A: read via w/l3 = 'pubdata'");
  EXPECT_LINE(t, "A: read via w/loop = ELOOP");
  EXPECT_LINE(t, "A: symlink w/toolong (4096 bytes) = ENAMETOOLONG");
  EXPECT_LINE(t, "A: symlink w/empty -> '' = ENOENT");
  EXPECT_LINE(t, "A: symlink w/l (exists) = EEXIST");
  EXPECT_LINE(t, "A: readlink pubf (not a link) = EINVAL");
  EXPECT_LINE(t, "A: lchown w/l 1001:-1 = EPERM");
  EXPECT_LINE(t, "A: chown via w/l3 (target root's) = EPERM");
  EXPECT_LINE(t, "A: w/l mtime = explicit");
  EXPECT_LINE(t, "B: lutimes w/l2 explicit (not owner) = EPERM");
  EXPECT_LINE(t, "root: stat w/l2 = l 0777 1000:1000 n1 s8");
}

// ---------------------------------------------------------------------------
// Which operations advance which times (pjdfstest checks these everywhere).

TEST_P(PosixRulesTest, TimestampUpdates) {
  constexpr time_t kOld = 1000000000;
  const std::string t = Differential([](S& s) {
    s.Dir("", 0755);
    s.Dir("w", 0777);
    s.Dir("w2", 0777);
    s.File("w/f", 0666);
    s.File("w/own", 0644, 1000, 1000);
    s.File("w/own2", 0644, 1000, 1000);
    s.File("w/victim", 0644, 1000, 1000);
    s.File("w/trunc", 0666, 0, 0, "0123456789");
    s.File("w/rd", 0644, 0, 0, "abc");
    // Each step: set old atime/mtime, stat before, act as A, stat after;
    // record relations. A watched "a>b" is a before the step and b after it.
    auto step = [&](const std::string& what, const std::vector<std::string>& watched,
                    const std::function<long(S&)>& act) {
      std::vector<std::pair<std::string, std::string>> names;
      for (const std::string& w : watched) {
        const size_t gt = w.find('>');
        names.emplace_back(w.substr(0, gt),
                           gt == std::string::npos ? w : w.substr(gt + 1));
      }
      std::vector<Times> before;
      for (const auto& n : names) {
        s.SetTimes(n.first, kOld);
        before.push_back(TimesOf(s.P(n.first)));
      }
      usleep(20000);
      s.As(kAlice2000, "A", [&](S& c) { c.Do(what, [&] { return act(c); }); });
      for (size_t i = 0; i < names.size(); ++i) {
        const Times after = TimesOf(s.P(names[i].second));
        s.Note("  " + names[i].second,
               after.ok ? absl::StrCat("atime ", Rel(before[i].atime, after.atime),
                                      " mtime ", Rel(before[i].mtime, after.mtime),
                                      " ctime ", Rel(before[i].ctime, after.ctime))
                        : "gone");
      }
    };
    step("create w/new", {"w"}, [](S& c) {
      return OpenClose(c.P("w/new"), O_CREAT | O_EXCL | O_WRONLY, 0644);
    });
    step("open existing w/f O_CREAT", {"w", "w/f"}, [](S& c) {
      return OpenClose(c.P("w/f"), O_CREAT | O_WRONLY, 0644);
    });
    step("write w/f", {"w", "w/f"}, [](S& c) { return WriteVia(c.P("w/f"), O_WRONLY, "x"); });
    step("read w/rd", {"w/rd"}, [](S& c) {
      return Content(c.P("w/rd")) == "'abc'" ? 0 : -1;
    });
    step("chmod w/own", {"w", "w/own"}, [](S& c) { return chmod(c.P("w/own").c_str(), 0640); });
    step("chown w/own -1:2000", {"w/own"}, [](S& c) {
      return chown(c.P("w/own").c_str(), -1, 2000);
    });
    step("chown w/own 1000:2000 (no change)", {"w/own"}, [](S& c) {
      return chown(c.P("w/own").c_str(), 1000, 2000);
    });
    step("setxattr w/own", {"w/own"}, [](S& c) {
      return setxattr(c.P("w/own").c_str(), "user.x", "1", 1, 0);
    });
    step("link w/own w/own_link", {"w", "w/own"}, [](S& c) {
      return link(c.P("w/own").c_str(), c.P("w/own_link").c_str());
    });
    step("unlink w/own_link", {"w", "w/own"}, [](S& c) {
      return unlink(c.P("w/own_link").c_str());
    });
    step("rename w/own w/own_r", {"w", "w/own>w/own_r"}, [](S& c) {
      return rename(c.P("w/own").c_str(), c.P("w/own_r").c_str());
    });
    step("rename w/own_r w2/own (across)", {"w", "w2", "w/own_r>w2/own"}, [](S& c) {
      return rename(c.P("w/own_r").c_str(), c.P("w2/own").c_str());
    });
    step("rename w/own2 over w/victim", {"w", "w/own2>w/victim"}, [](S& c) {
      return rename(c.P("w/own2").c_str(), c.P("w/victim").c_str());
    });
    step("mkdir w/d", {"w"}, [](S& c) { return mkdir(c.P("w/d").c_str(), 0755); });
    step("rmdir w/d", {"w"}, [](S& c) { return rmdir(c.P("w/d").c_str()); });
    step("mkfifo w/p", {"w"}, [](S& c) { return mkfifo(c.P("w/p").c_str(), 0644); });
    step("symlink w/s", {"w"}, [](S& c) { return symlink("x", c.P("w/s").c_str()); });
    step("truncate w/trunc 10 (same size)", {"w/trunc"}, [](S& c) {
      return truncate(c.P("w/trunc").c_str(), 10);
    });
    step("truncate w/trunc 5", {"w/trunc"}, [](S& c) {
      return truncate(c.P("w/trunc").c_str(), 5);
    });
    step("ftruncate w/trunc 5 (same size)", {"w/trunc"}, [](S& c) {
      return WithFd(c.P("w/trunc"), O_WRONLY, [](int fd) -> long { return ftruncate(fd, 5); });
    });
    step("open w/trunc O_TRUNC", {"w/trunc"}, [](S& c) {
      return OpenClose(c.P("w/trunc"), O_WRONLY | O_TRUNC);
    });
    step("open w/trunc O_TRUNC (empty)", {"w/trunc"}, [](S& c) {
      return OpenClose(c.P("w/trunc"), O_WRONLY | O_TRUNC);
    });
    step("utimensat w/f NULL", {"w/f"}, [](S& c) {
      return utimensat(AT_FDCWD, c.P("w/f").c_str(), nullptr, 0);
    });
    step("list w", {"w"}, [](S& c) { return Listing(c.P("w"))[0] == '[' ? 0 : -1; });
    step("failed chmod w/f (EPERM)", {"w/f"}, [](S& c) {
      return chmod(c.P("w/f").c_str(), 0600);
    });
  });
  EXPECT_LINE(t, "A: create w/new = ok");
  EXPECT_LINE(t, "root:   w/own = atime same mtime same ctime advanced");
  EXPECT_LINE(t, "root:   w/f = atime same mtime advanced ctime advanced");
  EXPECT_LINE(t, "root:   w = atime same mtime advanced ctime advanced");
  EXPECT_LINE(t, "root:   w/rd = atime advanced mtime same ctime same");
}

// Fixed difference, kept as a regression test (both modes; POSIX permits it, pjdfstest even expects
// the mount's answer, as a Linux "todo"): chown(f, -1, -1) by the owner
// advances ctime natively (ext4 notify_change with ATTR_CTIME); through the
// mount it does not. The kernel sends a SETATTR whose valid mask is empty
// (FATTR_CTIME only with writeback cache), and attr_ops.cc ApplySetattr
// does nothing for it.
TEST_P(PosixRulesTest, ChownMinusOneMinusOneCtime) {
  constexpr time_t kOld = 1000000000;
  const std::string t = Differential([](S& s) {
    s.Dir("", 0755);
    s.File("own", 0644, 1000, 1000);
    s.SetTimes("own", kOld);
    const Times before = TimesOf(s.P("own"));
    usleep(20000);
    s.As(kAlice, "A", [](S& c) {
      c.Do("chown own -1:-1", [&] { return chown(c.P("own").c_str(), -1, -1); });
    });
    const Times after = TimesOf(s.P("own"));
    s.Note("own ctime", Rel(before.ctime, after.ctime));
  });
  EXPECT_LINE(t, "root: own ctime = advanced");
}

// An open descriptor keeps its access after the mode changes.
TEST_P(PosixRulesTest, OpenDescriptorOutlivesChmod) {
  const std::string t = Differential([](S& s) {
    s.Dir("", 0755);
    s.File("own", 0644, 1000, 1000, "0123");
    s.As(kAlice, "A", [](S& c) {
      const int fd = open(c.P("own").c_str(), O_RDWR | O_CLOEXEC);
      c.Do("open own O_RDWR", [&] { return fd; });
      c.Do("chmod own 0000", [&] { return chmod(c.P("own").c_str(), 0); });
      c.Do("open own O_RDONLY", [&] { return OpenClose(c.P("own"), O_RDONLY); });
      c.Do("pwrite through old fd", [&] { return pwrite(fd, "ab", 2, 0); });
      c.Do("pread through old fd", [&] {
        char b[4];
        return pread(fd, b, 4, 0) == 4 && memcmp(b, "ab23", 4) == 0 ? 0 : -1;
      });
      c.Do("fchmod through old fd 0600", [&] { return fchmod(fd, 0600); });
      close(fd);
    });
    s.Stat("own");
  });
  EXPECT_LINE(t, "A: open own O_RDONLY = EACCES");
  EXPECT_LINE(t, "A: pwrite through old fd = ok");
  EXPECT_LINE(t, "root: stat own = f 0600 1000:1000 n1 s4");
}

INSTANTIATE_TEST_SUITE_P(Modes, PosixRulesTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Passthrough" : "NoPassthrough";
                         });

}  // namespace
}  // namespace scopedfs::testing
