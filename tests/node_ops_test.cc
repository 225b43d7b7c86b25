// Every operation on a node is decided on the node, whichever descriptor
// reached it, under the embedded Android default policy, in both I/O modes:
// the gallery (uid 1010001: media, media_location) owns
// Android/data/10/com.example.gallery/, hidden from the social app (uid
// 1010002: media only, so images of others are redacted for it).
//
//   - extended attributes: reading those of a hidden file through a passed
//     O_PATH descriptor is refused (get and list); a caller that reads the
//     redacted view finds no user.* attribute while the gallery does, and
//     still reads ACLs and security.* labels; changing attributes through a
//     passed descriptor is refused;
//   - fstat, fstatfs and readlinkat through a passed O_PATH descriptor of a
//     hidden node, after the attribute cache timed out, are refused, while
//     reading through a passed open descriptor still works (the policy
//     decides opens, not the I/O of open files); root and system uids bypass;
//   - opening a directory through a passed descriptor of a hidden one, and
//     listing through a passed open listing, are refused;
//   - a hard link to a hidden file through a passed descriptor is refused;
//   - a symlink planted by one app is not followed for another (protected
//     symlinks): the gallery writing through the social app's link into its
//     own private directory gets EACCES, its file is unchanged and the audit
//     trail names the link; links the gallery, root or a system uid made
//     still work for it.
// Every refusal is checked for its errno and its audit row.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "audit/database.h"
#include "gtest/gtest.h"
#include "policy/default_policy.h"
#include "tests/mount_test_base.h"

namespace scopedfs::testing {
namespace {

constexpr uid_t kGallery = 1010001;  // com.example.gallery
constexpr uid_t kSocial = 1010002;   // com.example.social
constexpr uid_t kSystem = 1000;      // the default policy's system uid
constexpr char kPrivate[] = "Android/data/10/com.example.gallery";
constexpr char kSecret[] = "Android/data/10/com.example.gallery/secret.txt";
constexpr char kLink[] = "Android/data/10/com.example.gallery/link";
constexpr char kPhoto[] = "DCIM/Camera/photo.jpg";
constexpr char kSecretText[] = "gallery secret\n";
constexpr char kWhere[] = "48.8584,2.2945";

std::string ErrName(int err) {
  if (err == 0) return "ok";
  const char* name = strerrorname_np(err);
  return name != nullptr ? name : absl::StrCat("errno ", err);
}

// "ok", or the errno's name, for a call that returns -1 on failure.
std::string Result(long res) { return res < 0 ? ErrName(errno) : "ok"; }

// Runs `fn` in a child process as `uid` (its own group, no others) and
// returns what `fn` returned, so a test can assert on content and errnos.
std::string As(uid_t uid, const std::function<std::string()>& fn) {
  int p[2];
  if (pipe(p) != 0) return "pipe failed";
  fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    close(p[0]);
    const std::string out =
        BecomeIdentity(User(uid)) ? fn() : std::string("identity switch failed");
    size_t done = 0;
    while (done < out.size()) {
      const ssize_t n = write(p[1], out.data() + done, out.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    _exit(0);
  }
  close(p[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof(buf))) > 0) out.append(buf, n);
  close(p[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) out += " [child died]";
  return out;
}

// SCM_RIGHTS over a Unix socket.
bool SendFd(int sock, int fd) {
  char byte = 'x';
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  return sendmsg(sock, &msg, 0) == 1;
}

int ReceiveFd(int sock) {
  char byte;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1) return -1;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (c == nullptr || c->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof(int));
  return fd;
}

std::string ProcFd(int fd) { return absl::StrCat("/proc/self/fd/", fd); }

// getxattr's value, or the errno's name.
std::string GetXattr(const std::string& path, const char* name) {
  char buf[256];
  const ssize_t n = getxattr(path.c_str(), name, buf, sizeof(buf));
  return n < 0 ? ErrName(errno) : std::string(buf, n);
}

// listxattr's names, sorted and joined by ',', or the errno's name.
std::string ListXattr(const std::string& path) {
  char buf[1024];
  const ssize_t n = listxattr(path.c_str(), buf, sizeof(buf));
  if (n < 0) return ErrName(errno);
  std::vector<std::string> names;
  for (ssize_t i = 0; i < n;) {
    names.emplace_back(buf + i);
    i += static_cast<ssize_t>(names.back().size()) + 1;
  }
  std::sort(names.begin(), names.end());
  return absl::StrJoin(names, ",");
}

// The names in a directory, as getdents64 on `fd` returns them, or the
// errno's name.
std::string Getdents(int fd) {
  char buf[8192];
  std::vector<std::string> names;
  while (true) {
    const long n = syscall(SYS_getdents64, fd, buf, sizeof(buf));
    if (n < 0) return ErrName(errno);
    if (n == 0) break;
    for (long off = 0; off < n;) {
      const auto* d = reinterpret_cast<const dirent64*>(buf + off);
      names.emplace_back(d->d_name);
      off += d->d_reclen;
    }
  }
  std::sort(names.begin(), names.end());
  return absl::StrJoin(names, ",");
}

// A POSIX access ACL (system.posix_acl_access) granting uid 4242 rw- and
// leaving the mode at 0666.
std::string AccessAcl() {
  std::string v;
  const auto u16 = [&](uint16_t x) {
    v.push_back(static_cast<char>(x & 0xff));
    v.push_back(static_cast<char>(x >> 8));
  };
  const auto u32 = [&](uint32_t x) {
    for (int i = 0; i < 4; ++i) v.push_back(static_cast<char>(x >> (8 * i)));
  };
  const auto entry = [&](uint16_t tag, uint16_t perm, uint32_t id) {
    u16(tag);
    u16(perm);
    u32(id);
  };
  u32(2);                         // POSIX_ACL_XATTR_VERSION
  entry(0x01, 6, 0xffffffff);     // ACL_USER_OBJ rw-
  entry(0x02, 6, 4242);           // ACL_USER 4242 rw-
  entry(0x04, 6, 0xffffffff);     // ACL_GROUP_OBJ rw-
  entry(0x10, 6, 0xffffffff);     // ACL_MASK rw-
  entry(0x20, 6, 0xffffffff);     // ACL_OTHER rw-
  return v;
}

class NodeOpsTest : public MountTest, public ::testing::WithParamInterface<bool> {
 protected:
  std::vector<std::string> DaemonFlags() const override {
    WriteFile(dir_.Sub("default.textproto"),
              std::string(policy::DefaultPolicyText()));
    return {"--policy=" + dir_.Sub("default.textproto"),
            absl::StrCat("--passthrough=", GetParam() ? "true" : "false"),
            "--timeout=" + AttrTimeout()};
  }
  // The kernel's entry and attribute cache time (--timeout).
  virtual std::string AttrTimeout() const { return "1"; }

  void SetUp() override {
    MountTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    // World-writable dirs and files: the backing file system's permissions
    // allow everything, so any refusal below is the policy's.
    for (const char* d : {"DCIM", "DCIM/Camera", "Android", "Android/data", "Android/data/10",
                          kPrivate}) {
      ASSERT_EQ(mkdir(B(d).c_str(), 0777), 0) << d;
      chmod(B(d).c_str(), 0777);
    }
    WriteFile(B(kSecret), kSecretText);
    chmod(B(kSecret).c_str(), 0666);
    ASSERT_EQ(setxattr(B(kSecret).c_str(), "user.where", kWhere,
                       strlen(kWhere), 0),
              0);
    ASSERT_EQ(symlink("secret.txt", B(kLink).c_str()), 0);
    ASSERT_EQ(lchown(B(kLink).c_str(), kGallery, kGallery), 0);
    // A photo of root's (JPEG by its first bytes): redacted for the social
    // app, in full for the gallery.
    std::string jpeg("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01"
                     "\x00\x01\x00\x00",
                     20);
    jpeg += std::string(200, '\0') + "\xff\xd9";
    WriteFile(B(kPhoto), jpeg);
    chmod(B(kPhoto).c_str(), 0666);
    ASSERT_EQ(setxattr(B(kPhoto).c_str(), "user.location", kWhere,
                       strlen(kWhere), 0),
              0);
    ASSERT_EQ(setxattr(B(kPhoto).c_str(), "security.label", "photo-label", 11,
                       0),
              0);
    const std::string acl = AccessAcl();
    ASSERT_EQ(setxattr(B(kPhoto).c_str(), "system.posix_acl_access", acl.data(),
                       acl.size(), 0),
              0)
        << strerror(errno);
    struct stat st;
    ASSERT_EQ(stat(B(kPhoto).c_str(), &st), 0);
    ASSERT_EQ(st.st_mode & 0777, 0666u);
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, socks_), 0);
    // A descriptor that never comes (the sender failed) fails the test
    // instead of hanging it.
    const timeval limit = {10, 0};
    for (int s : socks_) {
      ASSERT_EQ(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit)), 0);
    }
  }

  void TearDown() override {
    for (int& s : socks_) {
      if (s >= 0) close(s);
      s = -1;
    }
    MountTest::TearDown();
  }

  // The gallery opens `rel` through the mount with `flags` and passes the
  // descriptor into the socket (ReceiveFd(socks_[1]) takes it out).
  void GalleryPasses(const std::string& rel, int flags) {
    ASSERT_EQ(As(kGallery,
                 [&]() -> std::string {
                   const int fd = open(M(rel).c_str(), flags);
                   if (fd < 0) return "open: " + ErrName(errno);
                   return SendFd(socks_[0], fd) ? "sent" : "send failed";
                 }),
              "sent")
        << rel;
  }

  // Audit rows of `uid` for exactly `path` and `op`, once there are at
  // least `min` (waiting up to 5 s for the writer).
  std::vector<v1::AuditEvent> Rows(uid_t uid, const std::string& path,
                                   v1::Operation op, size_t min = 1) {
    std::vector<v1::AuditEvent> rows;
    for (int i = 0; i < 100; ++i) {
      rows.clear();
      auto db = audit::Database::Open(mnt_->state_dir() + "/audit.db",
                                      audit::Database::Mode::kReadOnly);
      if (db.ok()) {
        v1::AuditFilter filter;
        filter.add_uids(uid);
        filter.set_path_prefix(path);
        filter.add_operations(op);
        auto events = (*db)->Query(filter, 0, 0, false, 1000);
        if (events.ok()) {
          for (const v1::AuditEvent& e : *events) {
            if (e.path() == path) rows.push_back(e);
          }
        }
      }
      if (rows.size() >= min) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return rows;
  }

  // Expects at least `min` rows of `uid` for `path` and `op`, each with
  // this decision, errno and rule.
  void ExpectRefusals(uid_t uid, const std::string& path, v1::Operation op,
                      v1::Action decision, int err, const std::string& rule,
                      size_t min) {
    const std::vector<v1::AuditEvent> rows = Rows(uid, path, op, min);
    EXPECT_GE(rows.size(), min)
        << "audit rows of uid " << uid << " for " << v1::Operation_Name(op)
        << " " << path;
    for (const v1::AuditEvent& e : rows) {
      EXPECT_EQ(e.decision(), decision) << e.DebugString();
      EXPECT_EQ(e.error(), err) << e.DebugString();
      EXPECT_EQ(e.rule_id(), rule) << e.DebugString();
    }
  }

  // Waits until every audit event submitted so far is stored (or counted as
  // dropped), so that a missing row means none was made.
  void AuditSettled() {
    const auto s = StatsWhen([](std::map<std::string, uint64_t>& s) {
      return s["audit_queue_depth"] == 0 &&
             s["audit_events_stored"] +
                     s["audit_events_dropped{reason=\"queue_full\"}"] +
                     s["audit_events_dropped{reason=\"db_error\"}"] >=
                 s["audit_events_submitted"];
    });
    ASSERT_EQ(s.count("audit_events_submitted"), 1u) << "no counters";
    ASSERT_EQ(s.at("audit_queue_depth"), 0u);
    ASSERT_EQ(s.at("audit_events_dropped{reason=\"queue_full\"}"), 0u);
  }

  // Waits out the kernel's attribute cache (--timeout, 1 s by default), so
  // what follows reaches the daemon.
  static void AfterAttrTimeout() {
    std::this_thread::sleep_for(std::chrono::milliseconds(1300));
  }

  TempDir dir_;
  int socks_[2] = {-1, -1};
};

// The same with attributes cached for an hour. The kernel checks a
// caller's permission (default_permissions) before it sends most requests,
// from the node's cached attributes and ACL, and asks the daemon for them
// (GETATTR, GETXATTR of system.posix_acl_access) as the caller when they
// are not cached: for a hidden node that refresh is what is refused first
// (and linkat's protected_hardlinks check turns its refusal into EPERM).
// Here the gallery's own accesses fill those caches, so the social app's
// request reaches the daemon as the operation under test (GETXATTR,
// LISTXATTR, SETXATTR, REMOVEXATTR, LINK, OPENDIR, READDIR) and that
// operation's own decision answers. A lookup of a name forgets the node's
// cached ACL, so the gallery's last access before the social app's request
// must be one that checks a permission (an open), not an O_PATH open.
class NodeOpsCachedTest : public NodeOpsTest {
 protected:
  std::string AttrTimeout() const override { return "3600"; }
  // The gallery reads `rel`: attributes and ACL cached for what follows.
  void GalleryReads(const std::string& rel) {
    ASSERT_EQ(As(kGallery, [&] { return ReadFile(M(rel)); }), kSecretText);
  }
};

// Attack 1: the xattrs of a hidden file through a passed O_PATH descriptor.
TEST_P(NodeOpsCachedTest, XattrsOfHiddenFileThroughPassedOPathFdAreRefused) {
  GalleryPasses(kSecret, O_PATH);
  GalleryReads(kSecret);
  EXPECT_EQ(As(kSocial,
               [&] {
                 const int fd = ReceiveFd(socks_[1]);
                 if (fd < 0) return std::string("no fd");
                 return absl::StrCat(
                     "get=", GetXattr(ProcFd(fd), "user.where"),
                     " probe=", Result(getxattr(ProcFd(fd).c_str(),
                                                "user.where", nullptr, 0)),
                     " list=", ListXattr(ProcFd(fd)));
               }),
            "get=ENOENT probe=ENOENT list=ENOENT");
  // The gallery reads them by name; root through the descriptor's path.
  EXPECT_EQ(As(kGallery, [&] { return GetXattr(M(kSecret), "user.where"); }),
            kWhere);
  EXPECT_EQ(As(kGallery, [&] { return ListXattr(M(kSecret)); }), "user.where");
  EXPECT_EQ(GetXattr(M(kSecret), "user.where"), kWhere);
  // Each refusal is audited: a hidden node (LOOKUP, HIDE).
  ExpectRefusals(kSocial, kSecret, v1::LOOKUP, v1::HIDE, ENOENT,
                 "app-private-hide", 3);
}

// A caller that reads the redacted view gets no user.* attribute (they can
// carry a location), but still the ACL and security.* labels; the gallery
// gets them all. Also through a descriptor of the real file's node.
TEST_P(NodeOpsCachedTest, RedactedCallerGetsNoUserXattrs) {
  const std::string acl = AccessAcl();
  EXPECT_EQ(As(kGallery,
               [&] {
                 return absl::StrCat(
                     GetXattr(M(kPhoto), "user.location"), " ",
                     GetXattr(M(kPhoto), "security.label"), " [",
                     ListXattr(M(kPhoto)), "]");
               }),
            absl::StrCat(kWhere,
                         " photo-label [security.label,"
                         "system.posix_acl_access,user.location]"));
  const std::string social = As(kSocial, [&] {
    const std::string got_acl =
        GetXattr(M(kPhoto), "system.posix_acl_access");
    return absl::StrCat(
        GetXattr(M(kPhoto), "user.location"), " probe=",
        Result(getxattr(M(kPhoto).c_str(), "user.location", nullptr, 0)), " ",
        GetXattr(M(kPhoto), "security.label"), " acl=",
        got_acl == acl ? "same" : "differs", " [", ListXattr(M(kPhoto)), "]");
  });
  EXPECT_EQ(social,
            "ENODATA probe=ENODATA photo-label acl=same "
            "[security.label,system.posix_acl_access]");
  // The gallery's descriptor reaches the full view's node: the decision is
  // by caller, not by node.
  GalleryPasses(kPhoto, O_PATH);
  EXPECT_EQ(As(kSocial,
               [&] {
                 const int fd = ReceiveFd(socks_[1]);
                 if (fd < 0) return std::string("no fd");
                 return absl::StrCat(GetXattr(ProcFd(fd), "user.location"),
                                     " [", ListXattr(ProcFd(fd)), "]");
               }),
            "ENODATA [security.label,system.posix_acl_access]");
  // Treated as absent, not refused: nothing audited as a refusal.
  AuditSettled();
  EXPECT_TRUE(Rows(kSocial, kPhoto, v1::READ, 0).empty());
  EXPECT_TRUE(Rows(kSocial, kPhoto, v1::LOOKUP, 0).empty());
}

// Changing xattrs through a passed descriptor stays a SETATTR, decided on
// the node: hidden -> ENOENT, denied -> EACCES, audited; nothing changes.
TEST_P(NodeOpsCachedTest, SetxattrThroughPassedDescriptorIsRefused) {
  GalleryPasses(kSecret, O_PATH);
  GalleryPasses(kSecret, O_RDONLY);
  EXPECT_EQ(As(kSocial,
               [&] {
                 const int path_fd = ReceiveFd(socks_[1]);
                 const int fd = ReceiveFd(socks_[1]);
                 if (fd < 0 || path_fd < 0) return std::string("no fd");
                 return absl::StrCat(
                     "fset=", Result(fsetxattr(fd, "user.where", "0,0", 3, 0)),
                     " fremove=", Result(fremovexattr(fd, "user.where")),
                     " set=",
                     Result(setxattr(ProcFd(path_fd).c_str(), "user.where",
                                     "0,0", 3, 0)),
                     " remove=",
                     Result(removexattr(ProcFd(path_fd).c_str(), "user.where")));
               }),
            "fset=ENOENT fremove=ENOENT set=ENOENT remove=ENOENT");
  char buf[64];
  const ssize_t n = getxattr(B(kSecret).c_str(), "user.where", buf, sizeof(buf));
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, n), kWhere);
  ExpectRefusals(kSocial, kSecret, v1::SETATTR, v1::HIDE, ENOENT,
                 "app-private-hide", 4);
  // A visible file the social app may not change: EACCES.
  EXPECT_EQ(As(kSocial,
               [&] {
                 return Result(setxattr(M(kPhoto).c_str(), "user.location",
                                        "0,0", 3, 0));
               }),
            "EACCES");
  const ssize_t m =
      getxattr(B(kPhoto).c_str(), "user.location", buf, sizeof(buf));
  ASSERT_GT(m, 0);
  EXPECT_EQ(std::string(buf, m), kWhere);
  ExpectRefusals(kSocial, kPhoto, v1::SETATTR, v1::DENY, EACCES, "", 1);
}

// Attack 2: fstat, fstatfs and readlinkat through passed O_PATH descriptors
// of hidden nodes, once the kernel's attribute cache timed out. Reading
// through a passed open descriptor still works: the policy decided that
// open. Root and system uids bypass the rules.
TEST_P(NodeOpsTest, GetattrStatfsReadlinkThroughPassedOPathFdAreRefused) {
  GalleryPasses(kSecret, O_PATH);
  GalleryPasses(kLink, O_PATH | O_NOFOLLOW);
  GalleryPasses(kSecret, O_RDONLY);
  AfterAttrTimeout();
  EXPECT_EQ(As(kSocial,
               [&] {
                 const int fd = ReceiveFd(socks_[1]);
                 const int link = ReceiveFd(socks_[1]);
                 const int open_fd = ReceiveFd(socks_[1]);
                 if (fd < 0 || link < 0 || open_fd < 0) return std::string("no fd");
                 struct stat st;
                 struct statfs sfs;
                 char target[64];
                 const ssize_t n = readlinkat(link, "", target, sizeof(target));
                 char data[64];
                 const ssize_t got = pread(open_fd, data, sizeof(data), 0);
                 return absl::StrCat(
                     "fstat=", Result(fstat(fd, &st)),
                     " fstatfs=", Result(fstatfs(fd, &sfs)),
                     " fstatat=", Result(fstatat(fd, "", &st, AT_EMPTY_PATH)),
                     " readlink=",
                     n < 0 ? ErrName(errno) : std::string(target, n),
                     " read=", got < 0 ? ErrName(errno) : std::string(data, got));
               }),
            absl::StrCat("fstat=ENOENT fstatfs=ENOENT fstatat=ENOENT "
                         "readlink=ENOENT read=",
                         kSecretText));
  ExpectRefusals(kSocial, kSecret, v1::LOOKUP, v1::HIDE, ENOENT,
                 "app-private-hide", 3);
  ExpectRefusals(kSocial, kLink, v1::LOOKUP, v1::HIDE, ENOENT,
                 "app-private-hide", 1);
  // The refusal is the social app's alone: the gallery still stats its file
  // (the kernel did not mark the inode bad), and the system uid, given the
  // same descriptors, bypasses the rules.
  EXPECT_EQ(As(kGallery,
               [&] {
                 struct stat st;
                 return stat(M(kSecret).c_str(), &st) == 0
                            ? absl::StrCat("size=", st.st_size)
                            : ErrName(errno);
               }),
            absl::StrCat("size=", strlen(kSecretText)));
  GalleryPasses(kSecret, O_PATH);
  GalleryPasses(kLink, O_PATH | O_NOFOLLOW);
  AfterAttrTimeout();
  EXPECT_EQ(As(kSystem,
               [&] {
                 const int fd = ReceiveFd(socks_[1]);
                 const int link = ReceiveFd(socks_[1]);
                 if (fd < 0 || link < 0) return std::string("no fd");
                 struct stat st;
                 struct statfs sfs;
                 char target[64];
                 const ssize_t n = readlinkat(link, "", target, sizeof(target));
                 const std::string size =
                     fstat(fd, &st) == 0 ? absl::StrCat(st.st_size)
                                         : ErrName(errno);
                 return absl::StrCat(
                     "fstat=", size, " fstatfs=", Result(fstatfs(fd, &sfs)),
                     " readlink=",
                     n < 0 ? ErrName(errno) : std::string(target, n));
               }),
            absl::StrCat("fstat=", strlen(kSecretText),
                         " fstatfs=ok readlink=secret.txt"));
}

// Opening a hidden directory through a passed descriptor, and listing it
// through a passed open listing, are refused.
TEST_P(NodeOpsCachedTest, OpendirAndReaddirThroughPassedDirfdAreRefused) {
  GalleryPasses(kPrivate, O_PATH | O_DIRECTORY);
  GalleryPasses(kPrivate, O_RDONLY | O_DIRECTORY);
  EXPECT_EQ(As(kSocial,
               [&] {
                 const int dirfd = ReceiveFd(socks_[1]);
                 const int listing = ReceiveFd(socks_[1]);
                 if (dirfd < 0 || listing < 0) return std::string("no fd");
                 const int opened =
                     openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                 const std::string opendir =
                     opened < 0 ? ErrName(errno) : "opened: " + Getdents(opened);
                 return absl::StrCat("opendir=", opendir,
                                     " readdir=", Getdents(listing));
               }),
            "opendir=ENOENT readdir=ENOENT");
  ExpectRefusals(kSocial, kPrivate, v1::LOOKUP, v1::HIDE, ENOENT,
                 "app-private-hide", 2);
  // The gallery lists its own directory.
  EXPECT_EQ(As(kGallery,
               [&] {
                 const int fd = open(M(kPrivate).c_str(),
                                     O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                 return fd < 0 ? ErrName(errno) : Getdents(fd);
               }),
            ".,..,link,secret.txt");
}

// A hard link to a hidden file, made through a passed descriptor, would give
// it a visible name (and the linker ownership of that name).
TEST_P(NodeOpsCachedTest, LinkOfHiddenFileThroughPassedFdIsRefused) {
  GalleryPasses(kSecret, O_PATH);
  GalleryReads(kSecret);
  EXPECT_EQ(As(kSocial,
               [&] {
                 const int fd = ReceiveFd(socks_[1]);
                 if (fd < 0) return std::string("no fd");
                 return Result(linkat(AT_FDCWD, ProcFd(fd).c_str(), AT_FDCWD,
                                      M("DCIM/stolen.txt").c_str(),
                                      AT_SYMLINK_FOLLOW));
               }),
            "ENOENT");
  struct stat st;
  EXPECT_NE(lstat(B("DCIM/stolen.txt").c_str(), &st), 0);
  ExpectRefusals(kSocial, kSecret, v1::LOOKUP, v1::HIDE, ENOENT,
                 "app-private-hide", 1);
}

// Attack 3: the social app plants a symlink in DCIM pointing into the
// gallery's private directory; the gallery saving through the name must not
// overwrite its own private file.
TEST_P(NodeOpsTest, SymlinkPlantedByAnotherAppIsNotFollowed) {
  constexpr char kPlanted[] = "DCIM/save.jpg";
  const std::string target = absl::StrCat("../", kSecret);
  ASSERT_EQ(As(kSocial,
               [&] { return Result(symlink(target.c_str(), M(kPlanted).c_str())); }),
            "ok");
  struct stat st;
  ASSERT_EQ(lstat(B(kPlanted).c_str(), &st), 0);
  ASSERT_EQ(st.st_uid, kSocial);  // Made as its creator.
  // Root reads and follows it first: were link targets cached by the
  // kernel, the gallery's follow below would never reach the daemon.
  char buf[256];
  const ssize_t n = readlink(M(kPlanted).c_str(), buf, sizeof(buf));
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, n), target);
  EXPECT_EQ(ReadFile(M(kPlanted)), kSecretText);
  EXPECT_EQ(As(kGallery,
               [&] {
                 const int fd = open(M(kPlanted).c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                                     0644);
                 std::string saved = fd < 0 ? ErrName(errno) : "opened";
                 if (fd >= 0) {
                   (void)!write(fd, "overwritten\n", 12);
                   close(fd);
                 }
                 char link[256];
                 const ssize_t len = readlink(M(kPlanted).c_str(), link,
                                              sizeof(link));
                 struct stat followed;
                 return absl::StrCat(
                     "save=", saved, " readlink=",
                     len < 0 ? ErrName(errno) : std::string(link, len),
                     " stat=", Result(stat(M(kPlanted).c_str(), &followed)));
               }),
            "save=EACCES readlink=EACCES stat=EACCES");
  EXPECT_EQ(ReadFile(B(kSecret)), kSecretText);  // Unchanged.
  const std::vector<v1::AuditEvent> rows =
      Rows(kGallery, kPlanted, v1::READ, 3);
  EXPECT_GE(rows.size(), 3u);
  for (const v1::AuditEvent& e : rows) {
    EXPECT_EQ(e.decision(), v1::DENY) << e.DebugString();
    EXPECT_EQ(e.error(), EACCES) << e.DebugString();
    EXPECT_EQ(e.rule_id(), "protected-symlink") << e.DebugString();
    EXPECT_EQ(e.app(), "com.example.gallery") << e.DebugString();
  }
  // The social app's own link still works for it.
  WriteFile(B("DCIM/Camera/notes.txt"), "shared notes\n");
  chmod(B("DCIM/Camera/notes.txt").c_str(), 0644);
  ASSERT_EQ(As(kSocial,
               [&] {
                 return Result(symlink("Camera/notes.txt",
                                       M("DCIM/mine.txt").c_str()));
               }),
            "ok");
  EXPECT_EQ(As(kSocial, [&] { return ReadFile(M("DCIM/mine.txt")); }),
            "shared notes\n");
}

// Links the gallery made itself, and links root or a system uid made, are
// followed for it; nothing is refused.
TEST_P(NodeOpsTest, OwnRootAndSystemSymlinksStillWork) {
  const std::string target = absl::StrCat("../", kSecret);
  ASSERT_EQ(As(kGallery,
               [&] {
                 return Result(symlink(target.c_str(), M("DCIM/mine.txt").c_str()));
               }),
            "ok");
  ASSERT_EQ(symlink(target.c_str(), M("DCIM/byroot.txt").c_str()), 0);
  ASSERT_EQ(symlink(target.c_str(), B("DCIM/bysystem.txt").c_str()), 0);
  ASSERT_EQ(lchown(B("DCIM/bysystem.txt").c_str(), kSystem, kSystem), 0);
  struct stat st;
  ASSERT_EQ(lstat(B("DCIM/mine.txt").c_str(), &st), 0);
  ASSERT_EQ(st.st_uid, kGallery);
  ASSERT_EQ(lstat(B("DCIM/byroot.txt").c_str(), &st), 0);
  ASSERT_EQ(st.st_uid, 0u);
  EXPECT_EQ(As(kGallery,
               [&] {
                 std::string out;
                 for (const char* l :
                      {"DCIM/mine.txt", "DCIM/byroot.txt", "DCIM/bysystem.txt"}) {
                   char buf[256];
                   const ssize_t n = readlink(M(l).c_str(), buf, sizeof(buf));
                   absl::StrAppend(&out, l, ": ",
                                   n < 0 ? ErrName(errno) : std::string(buf, n),
                                   " ", ReadFile(M(l)));
                 }
                 // Saving through its own link reaches its own file.
                 WriteFile(M("DCIM/mine.txt"), "saved\n");
                 return out;
               }),
            absl::StrCat("DCIM/mine.txt: ", target, " ", kSecretText,
                         "DCIM/byroot.txt: ", target, " ", kSecretText,
                         "DCIM/bysystem.txt: ", target, " ", kSecretText));
  EXPECT_EQ(ReadFile(B(kSecret)), "saved\n");
  AuditSettled();
  for (const char* l : {"DCIM/mine.txt", "DCIM/byroot.txt", "DCIM/bysystem.txt"}) {
    EXPECT_TRUE(Rows(kGallery, l, v1::READ, 0).empty()) << l;
  }
}

std::string IoModeName(const ::testing::TestParamInfo<bool>& info) {
  return info.param ? "Passthrough" : "NoPassthrough";
}
INSTANTIATE_TEST_SUITE_P(IoModes, NodeOpsTest, ::testing::Bool(), IoModeName);
INSTANTIATE_TEST_SUITE_P(IoModes, NodeOpsCachedTest, ::testing::Bool(),
                         IoModeName);

}  // namespace
}  // namespace scopedfs::testing
