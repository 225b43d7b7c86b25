// What a hostile app tries with links, renames and other users' files, under
// the embedded Android default policy, with the backing tree made
// world-writable so that only the policy stands between apps. Both I/O modes
// (passthrough on and off). Apps (Android uid = user * 100000 + app id):
//   gallery  1010001  user 10, media + media_location
//   social   1010002  user 10, media only (others' photos redacted)
//   notes    1010003  user 10, no permission at all
//   social   1110002  user 11: the same app for another Android user
//
// Each test is an attack that worked before the fix (issue 12, items 1, 2,
// 4 and 6 of "Why"), plus the legitimate move next to it that must keep
// working, and the audit rows it must leave.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "audit/database.h"
#include "gtest/gtest.h"
#include "policy/default_policy.h"
#include "tests/mount_test_base.h"

namespace scopedfs::testing {
namespace {

constexpr uid_t kGallery = 1010001;
constexpr uid_t kSocial = 1010002;
constexpr uid_t kNotes = 1010003;
constexpr uid_t kSocial11 = 1110002;

// daemon/access.h's kMaxRenameTreeEntries.
constexpr size_t kMaxRenameTreeEntriesForTest = 10000;

constexpr char kSocialPrivate[] = "Android/data/10/com.example.social";
constexpr char kNotesPrivate[] = "Android/data/10/com.example.notes";

class HostileAppTest : public MountTest,
                       public ::testing::WithParamInterface<bool> {
 protected:
  // The default policy, plus what a subclass appends.
  virtual std::string ExtraRules() const { return ""; }

  std::vector<std::string> DaemonFlags() const override {
    WriteFile(dir_.Sub("default.textproto"),
              std::string(policy::DefaultPolicyText()) + ExtraRules());
    return {"--policy=" + dir_.Sub("default.textproto"),
            absl::StrCat("--passthrough=", GetParam() ? "true" : "false")};
  }

  void SetUp() override {
    MountTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    // World-writable, made by the admin (root) in the backing dir: the
    // collections and the per-user directories under Android/.
    for (const char* d : {"DCIM", "DCIM/Camera", "Android", "Android/data",
                          "Android/data/10", "Android/data/11"}) {
      ASSERT_EQ(mkdir(B(d).c_str(), 0777), 0) << d;
      chmod(B(d).c_str(), 0777);
    }
    // The apps make their private directories themselves, through the
    // mount (so they own them).
    for (auto [uid, dir] :
         std::vector<std::pair<uid_t, std::string>>{
             {kSocial, kSocialPrivate},
             {kNotes, kNotesPrivate},
             {kSocial11, "Android/data/11/com.example.social"}}) {
      ASSERT_EQ(RunAs(User(uid), [&] {
                  if (mkdir(M(dir).c_str(), 0777) != 0) return errno;
                  return ErrnoOf(chmod(M(dir).c_str(), 0777));
                }),
                0)
          << dir;
    }
  }

  // Creates `rel` through the mount as `uid` (so `uid` owns it), mode 0666.
  int CreateAs(uid_t uid, const std::string& rel, const std::string& data) {
    return RunAs(User(uid), [&] {
      const int fd = open(M(rel).c_str(), O_WRONLY | O_CREAT | O_EXCL, 0666);
      if (fd < 0) return errno;
      const bool ok = write(fd, data.data(), data.size()) ==
                          static_cast<ssize_t>(data.size()) &&
                      fchmod(fd, 0666) == 0;
      const int err = errno;
      close(fd);
      return ok ? 0 : err;
    });
  }

  // 0 if `uid` can open `rel` with `flags`, else the errno.
  int OpenAs(uid_t uid, const std::string& rel, int flags) {
    return RunAs(User(uid), [&] {
      const int fd = open(M(rel).c_str(), flags);
      if (fd < 0) return errno;
      close(fd);
      return 0;
    });
  }

  // The stored audit rows below `rel` by `uid` for which `want` holds,
  // waiting up to 5 s for at least one.
  std::vector<v1::AuditEvent> AuditRows(
      const std::string& rel, uid_t uid,
      const std::function<bool(const v1::AuditEvent&)>& want) {
    std::vector<v1::AuditEvent> rows;
    for (int i = 0; i < 100 && rows.empty(); ++i) {
      if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      auto db = audit::Database::Open(mnt_->state_dir() + "/audit.db",
                                      audit::Database::Mode::kReadOnly);
      if (!db.ok()) continue;
      v1::AuditFilter filter;
      filter.set_path_prefix(rel);
      filter.add_uids(uid);
      auto events = (*db)->Query(filter, 0, 0, false, 10000);
      if (!events.ok()) continue;
      for (const v1::AuditEvent& e : *events) {
        if (want(e)) rows.push_back(e);
      }
    }
    return rows;
  }

  TempDir dir_;
};

// Item 1: link() used to make the linking app an owner of another app's
// inode (then: write access and the unredacted file). Now a link makes no
// owner: the new name keeps the inode's owner, so the social app gains
// nothing, and cannot even remove the gallery's original.
TEST_P(HostileAppTest, LinkMakesNoOwner) {
  ASSERT_EQ(CreateAs(kGallery, "DCIM/Camera/gal.txt", "gallery's words"), 0);
  const int linked = RunAs(User(kSocial), [&] {
    return ErrnoOf(link(M("DCIM/Camera/gal.txt").c_str(),
                        M("DCIM/mine.txt").c_str()));
  });
  // Allowed or refused, the name must give the social app nothing.
  EXPECT_TRUE(linked == 0 || linked == EACCES) << std::strerror(linked);
  for (const char* name : {"DCIM/mine.txt", "DCIM/Camera/gal.txt"}) {
    EXPECT_EQ(OpenAs(kSocial, name, O_WRONLY), EACCES) << name;
    EXPECT_EQ(OpenAs(kSocial, name, O_RDWR), EACCES) << name;
  }
  EXPECT_EQ(RunAs(User(kSocial),
                  [&] {
                    return ErrnoOf(unlink(M("DCIM/Camera/gal.txt").c_str()));
                  }),
            EACCES);
  EXPECT_EQ(ReadFile(B("DCIM/Camera/gal.txt")), "gallery's words");
  // The gallery still owns both names: it may write and remove them.
  EXPECT_EQ(OpenAs(kGallery, "DCIM/Camera/gal.txt", O_WRONLY), 0);
  if (linked == 0) {
    EXPECT_EQ(OpenAs(kGallery, "DCIM/mine.txt", O_WRONLY), 0);
    EXPECT_EQ(RunAs(User(kGallery),
                    [&] {
                      return ErrnoOf(unlink(M("DCIM/mine.txt").c_str()));
                    }),
              0);
  }
}

// O_TMPFILE (issue 16): making an unnamed file is a create in the
// directory, and giving it a name is a create of that name, by whoever
// links it, who then owns it. An app cannot use one to put a file where it
// may not create one, nor to reach another app's private directory.
TEST_P(HostileAppTest, TmpfileIsACreateAndItsNameTooOwnedByItsLinker) {
  // An unnamed file needs create rights in its directory: the notes app
  // sees the share's root (world-writable here) but may create nothing in it.
  EXPECT_EQ(RunAs(User(kNotes),
                  [&] {
                    const int fd = open(M("").c_str(), O_TMPFILE | O_RDWR, 0644);
                    if (fd < 0) return errno;
                    close(fd);
                    return 0;
                  }),
            EACCES);
  // The social app makes one in its private directory, writes it, and tries
  // to name it in the notes app's private directory (refused), then in DCIM.
  int into_notes = -1, into_dcim = -1;
  ASSERT_EQ(RunAs(User(kSocial),
                  [&] {
                    const int fd = open(M(kSocialPrivate).c_str(), O_TMPFILE | O_RDWR, 0644);
                    if (fd < 0) return errno;
                    if (write(fd, "draft", 5) != 5) return errno;
                    const std::string self = absl::StrCat("/proc/self/fd/", fd);
                    into_notes = linkat(AT_FDCWD, self.c_str(), AT_FDCWD,
                                        M(absl::StrCat(kNotesPrivate, "/planted.txt")).c_str(),
                                        AT_SYMLINK_FOLLOW) == 0 ? 0 : errno;
                    into_dcim = linkat(AT_FDCWD, self.c_str(), AT_FDCWD,
                                       M("DCIM/Camera/draft.txt").c_str(), AT_SYMLINK_FOLLOW) == 0
                                    ? 0
                                    : errno;
                    close(fd);
                    // RunAs reports one number: both outcomes go in it. The
                    // notes app's directory is hidden from the social app.
                    const bool refused = into_notes == ENOENT || into_notes == EACCES;
                    return (refused ? 0 : 100) + (into_dcim == 0 ? 0 : 200);
                  }),
            0);
  EXPECT_NE(access(B(absl::StrCat(kNotesPrivate, "/planted.txt")).c_str(), F_OK), 0);
  EXPECT_EQ(ReadFile(B("DCIM/Camera/draft.txt")), "draft");
  // The name is the social app's: it may write and remove it, the gallery
  // (a media app too) may not write it.
  EXPECT_EQ(OpenAs(kSocial, "DCIM/Camera/draft.txt", O_WRONLY), 0);
  EXPECT_EQ(OpenAs(kGallery, "DCIM/Camera/draft.txt", O_WRONLY), EACCES);
  const int notes_read = OpenAs(kNotes, "DCIM/Camera/draft.txt", O_RDONLY);
  EXPECT_TRUE(notes_read == EACCES || notes_read == ENOENT) << notes_read;
  // Audited: the refused unnamed create (as a file of its own name in the
  // directory), and the create of the name.
  EXPECT_FALSE(AuditRows(".O_TMPFILE", kNotes, [](const v1::AuditEvent& e) {
                 return e.operation() == v1::CREATE && e.decision() != v1::ALLOW;
               }).empty());
  EXPECT_FALSE(AuditRows("DCIM/Camera/draft.txt", kSocial, [](const v1::AuditEvent& e) {
                 return e.operation() == v1::CREATE && e.decision() == v1::ALLOW;
               }).empty());
}

// Item 2: the social app renames a directory it made, into which the
// gallery saved a photo, into its private directory (or just elsewhere in
// DCIM). Refused: it could not move the gallery's file by itself.
TEST_P(HostileAppTest, DirectoryRenameCannotCarryOthersFiles) {
  ASSERT_EQ(RunAs(User(kSocial),
                  [&] {
                    if (mkdir(M("DCIM/Shared").c_str(), 0777) != 0) return errno;
                    return ErrnoOf(chmod(M("DCIM/Shared").c_str(), 0777));
                  }),
            0);
  ASSERT_EQ(CreateAs(kGallery, "DCIM/Shared/g.jpg", "gallery photo"), 0);
  ASSERT_EQ(CreateAs(kSocial, "DCIM/Shared/s.jpg", "social photo"), 0);
  for (const std::string& to :
       {absl::StrCat(kSocialPrivate, "/loot"), std::string("DCIM/Mine")}) {
    EXPECT_EQ(RunAs(User(kSocial),
                    [&] {
                      return ErrnoOf(rename(M("DCIM/Shared").c_str(),
                                            M(to).c_str()));
                    }),
              EACCES)
        << to;
  }
  // Nothing moved: the gallery still has its photo, the social app does
  // not.
  EXPECT_EQ(ReadFile(M("DCIM/Shared/g.jpg")), "gallery photo");
  EXPECT_EQ(RunAs(User(kGallery),
                  [&] {
                    const int fd = open(M("DCIM/Shared/g.jpg").c_str(), O_RDWR);
                    if (fd < 0) return errno;
                    close(fd);
                    return 0;
                  }),
            0);
  struct stat st;
  EXPECT_NE(stat(B(absl::StrCat(kSocialPrivate, "/loot")).c_str(), &st), 0);
  // The refusal names the entry that could not move.
  EXPECT_FALSE(AuditRows("DCIM/Shared/g.jpg", kSocial, [](const v1::AuditEvent& e) {
                 return e.operation() == v1::RENAME && e.error() == EACCES;
               }).empty());

  // Once the gallery's photo is gone, the social app's own tree moves,
  // into its private directory too, and its files stay its own there.
  ASSERT_EQ(RunAs(User(kGallery),
                  [&] { return ErrnoOf(unlink(M("DCIM/Shared/g.jpg").c_str())); }),
            0);
  const std::string mine = absl::StrCat(kSocialPrivate, "/mine");
  EXPECT_EQ(RunAs(User(kSocial),
                  [&] {
                    return ErrnoOf(rename(M("DCIM/Shared").c_str(), M(mine).c_str()));
                  }),
            0);
  EXPECT_EQ(ReadFile(B(mine + "/s.jpg")), "social photo");
  // Moves into a private directory are audited although the private rule
  // (audit: false) is not.
  EXPECT_FALSE(AuditRows(mine, kSocial, [](const v1::AuditEvent& e) {
                 return e.operation() == v1::CREATE && e.error() == 0;
               }).empty());
}

// A file rename into a private directory must not make a readable file
// writable either, and a file rename keeps the owner.
TEST_P(HostileAppTest, FileRenameIsCheckedOnTheFileItself) {
  ASSERT_EQ(CreateAs(kGallery, "DCIM/Camera/g.txt", "gallery's"), 0);
  const std::string loot = absl::StrCat(kSocialPrivate, "/g.txt");
  EXPECT_EQ(RunAs(User(kSocial),
                  [&] {
                    return ErrnoOf(rename(M("DCIM/Camera/g.txt").c_str(),
                                          M(loot).c_str()));
                  }),
            EACCES);
  EXPECT_EQ(ReadFile(B("DCIM/Camera/g.txt")), "gallery's");
  // The social app's own file moves both ways.
  ASSERT_EQ(CreateAs(kSocial, "DCIM/Camera/s.txt", "social's"), 0);
  const std::string kept = absl::StrCat(kSocialPrivate, "/s.txt");
  EXPECT_EQ(RunAs(User(kSocial),
                  [&] {
                    if (rename(M("DCIM/Camera/s.txt").c_str(), M(kept).c_str()) != 0)
                      return errno;
                    return ErrnoOf(rename(M(kept).c_str(), M("DCIM/s2.txt").c_str()));
                  }),
            0);
  EXPECT_EQ(OpenAs(kSocial, "DCIM/s2.txt", O_RDWR), 0);  // Still its own.
}

// Item 6: a file one may read, linked into one's app-private directory
// (where the private rule allows everything), used to become writable,
// unaudited. And an app without any media permission could do the same
// from a descriptor another app passed it.
TEST_P(HostileAppTest, LinkIntoPrivateDirectoryGainsNothing) {
  ASSERT_EQ(CreateAs(kGallery, "DCIM/Camera/gal.txt", "original"), 0);
  const std::string stolen = absl::StrCat(kSocialPrivate, "/stolen.txt");
  EXPECT_EQ(RunAs(User(kSocial),
                  [&] {
                    return ErrnoOf(link(M("DCIM/Camera/gal.txt").c_str(),
                                        M(stolen).c_str()));
                  }),
            EACCES);
  EXPECT_NE(access(B(stolen).c_str(), F_OK), 0);
  // Audited, although the private rule's ordinary accesses are not.
  const auto rows = AuditRows(stolen, kSocial, [](const v1::AuditEvent& e) {
    return e.error() == EACCES;
  });
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows[0].rule_id().rfind("move-widens-", 0), 0u) << rows[0].rule_id();

  // The notes app (no media permission) holds a descriptor of the photo
  // (as if passed to it) and links it through /proc/self/fd.
  const int fd = open(M("DCIM/Camera/gal.txt").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  const std::string notes_copy = absl::StrCat(kNotesPrivate, "/x.txt");
  EXPECT_EQ(RunAs(User(kNotes),
                  [&] {
                    return ErrnoOf(linkat(AT_FDCWD,
                                          absl::StrCat("/proc/self/fd/", fd).c_str(),
                                          AT_FDCWD, M(notes_copy).c_str(),
                                          AT_SYMLINK_FOLLOW));
                  }),
            EACCES);
  close(fd);
  EXPECT_NE(access(B(notes_copy).c_str(), F_OK), 0);
  EXPECT_EQ(ReadFile(B("DCIM/Camera/gal.txt")), "original");

  // Linking one's own file into one's private directory is fine, and the
  // new name is still one's own (the record is copied, not made anew).
  ASSERT_EQ(CreateAs(kSocial, "DCIM/own.txt", "social's"), 0);
  const std::string own_link = absl::StrCat(kSocialPrivate, "/own.txt");
  EXPECT_EQ(RunAs(User(kSocial),
                  [&] {
                    return ErrnoOf(link(M("DCIM/own.txt").c_str(), M(own_link).c_str()));
                  }),
            0);
  EXPECT_EQ(OpenAs(kSocial, own_link, O_RDWR), 0);
  EXPECT_FALSE(AuditRows(own_link, kSocial, [](const v1::AuditEvent& e) {
                 return e.operation() == v1::CREATE && e.error() == 0;
               }).empty());
}

// Item 4: owners were compared by app name, so the social app of Android
// user 11 owned what the social app of user 10 created, and saw user 10's
// private directory.
TEST_P(HostileAppTest, AndroidUsersAreIsolated) {
  ASSERT_EQ(CreateAs(kSocial, "DCIM/social10.txt", "user 10's"), 0);
  ASSERT_EQ(CreateAs(kSocial, absl::StrCat(kSocialPrivate, "/p.txt"), "private"), 0);
  // User 11's social app: another user's private directory does not exist.
  EXPECT_EQ(RunAs(User(kSocial11),
                  [&] {
                    struct stat st;
                    return ErrnoOf(stat(M(kSocialPrivate).c_str(), &st));
                  }),
            ENOENT);
  EXPECT_EQ(OpenAs(kSocial11, absl::StrCat(kSocialPrivate, "/p.txt"), O_RDONLY),
            ENOENT);
  EXPECT_EQ(RunAs(User(kSocial11),
                  [&] {
                    struct stat st;
                    return ErrnoOf(stat(M("Android/data/10").c_str(), &st));
                  }),
            ENOENT);
  // Another user's file in a shared collection is not its own: readable
  // (it holds media), not writable, not removable.
  EXPECT_EQ(OpenAs(kSocial11, "DCIM/social10.txt", O_RDONLY), 0);
  EXPECT_EQ(OpenAs(kSocial11, "DCIM/social10.txt", O_WRONLY), EACCES);
  EXPECT_EQ(RunAs(User(kSocial11),
                  [&] { return ErrnoOf(unlink(M("DCIM/social10.txt").c_str())); }),
            EACCES);
  EXPECT_EQ(ReadFile(B("DCIM/social10.txt")), "user 10's");
  // Its own files and its own private directory work as for user 10.
  ASSERT_EQ(CreateAs(kSocial11, "DCIM/social11.txt", "user 11's"), 0);
  EXPECT_EQ(OpenAs(kSocial11, "DCIM/social11.txt", O_RDWR), 0);
  EXPECT_EQ(OpenAs(kSocial, "DCIM/social11.txt", O_WRONLY), EACCES);
  ASSERT_EQ(CreateAs(kSocial11, "Android/data/11/com.example.social/q.txt", "q"), 0);
  EXPECT_EQ(OpenAs(kSocial, "Android/data/11/com.example.social/q.txt", O_RDONLY),
            ENOENT);
}

// Only regular files, directories and symlinks may be created in media
// collections: a FIFO or socket named like a photo would block or talk to
// whoever opens it.
TEST_P(HostileAppTest, NoSpecialFilesInCollections) {
  EXPECT_EQ(RunAs(User(kSocial),
                  [&] { return ErrnoOf(mkfifo(M("DCIM/trap.jpg").c_str(), 0666)); }),
            EACCES);
  EXPECT_EQ(RunAs(User(kSocial),
                  [&] {
                    const int s = socket(AF_UNIX, SOCK_STREAM, 0);
                    sockaddr_un addr = {};
                    addr.sun_family = AF_UNIX;
                    const std::string path = M("DCIM/sock.jpg");
                    if (path.size() >= sizeof(addr.sun_path)) return ENAMETOOLONG;
                    std::strcpy(addr.sun_path, path.c_str());
                    const int res =
                        bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
                    const int err = errno;
                    close(s);
                    return res == 0 ? 0 : err;
                  }),
            EACCES);
  struct stat st;
  EXPECT_NE(lstat(B("DCIM/trap.jpg").c_str(), &st), 0);
  // Regular files, directories and symlinks are fine; and in its own
  // private directory an app may make a FIFO.
  EXPECT_EQ(RunAs(User(kSocial),
                  [&] {
                    if (mkdir(M("DCIM/d").c_str(), 0755) != 0) return errno;
                    if (symlink("d", M("DCIM/l").c_str()) != 0) return errno;
                    return ErrnoOf(mkfifo(M(absl::StrCat(kSocialPrivate, "/fifo")).c_str(),
                                          0600));
                  }),
            0);
  // A FIFO cannot be moved into a collection either.
  EXPECT_EQ(RunAs(User(kSocial),
                  [&] {
                    return ErrnoOf(rename(M(absl::StrCat(kSocialPrivate, "/fifo")).c_str(),
                                          M("DCIM/fifo.jpg").c_str()));
                  }),
            EACCES);
}

// Renaming a directory checks every entry below it; above the bound the
// daemon answers EXDEV (mv then copies file by file).
TEST_P(HostileAppTest, HugeDirectoryRenameIsBounded) {
  ASSERT_EQ(RunAs(User(kSocial),
                  [&] {
                    if (mkdir(M("DCIM/big").c_str(), 0777) != 0) return errno;
                    for (size_t i = 0; i <= kMaxRenameTreeEntriesForTest; ++i) {
                      const int fd = open(M(absl::StrCat("DCIM/big/", i)).c_str(),
                                          O_WRONLY | O_CREAT | O_EXCL, 0644);
                      if (fd < 0) return errno;
                      close(fd);
                    }
                    return 0;
                  }),
            0);
  EXPECT_EQ(RunAs(User(kSocial),
                  [&] {
                    return ErrnoOf(rename(M("DCIM/big").c_str(), M("DCIM/big2").c_str()));
                  }),
            EXDEV);
  // One fewer entry and it moves.
  ASSERT_EQ(RunAs(User(kSocial),
                  [&] { return ErrnoOf(unlink(M("DCIM/big/0").c_str())); }),
            0);
  EXPECT_EQ(RunAs(User(kSocial),
                  [&] {
                    return ErrnoOf(rename(M("DCIM/big").c_str(), M("DCIM/big2").c_str()));
                  }),
            0);
}

// An admin lets media apps tidy up Download/ (rename anything there). That
// must not let them rename somebody else's file into their private
// directory, where the private rule would make it theirs to write: the
// move is checked with the caller's rights on the file itself.
class TidyDownloadsTest : public HostileAppTest {
 protected:
  std::string ExtraRules() const override {
    return R"pb(
      rules {
        id: "download-tidy"
        paths: "Download/"
        operations: RENAME
        require_permissions: "media"
        action: ALLOW
      }
    )pb";
  }
};

TEST_P(TidyDownloadsTest, RenameRightDoesNotCarryWriteRight) {
  ASSERT_EQ(mkdir(B("Download").c_str(), 0777), 0);
  chmod(B("Download").c_str(), 0777);
  ASSERT_EQ(CreateAs(kGallery, "Download/g.pdf", "gallery's"), 0);
  // Within Download/ the rule applies: renaming is fine, and gives nothing.
  EXPECT_EQ(RunAs(User(kSocial),
                  [&] {
                    return ErrnoOf(rename(M("Download/g.pdf").c_str(),
                                      M("Download/h.pdf").c_str()));
                  }),
            0);
  EXPECT_EQ(OpenAs(kSocial, "Download/h.pdf", O_WRONLY), EACCES);
  // Into the private directory: refused, the file stays where it was.
  const std::string loot = absl::StrCat(kSocialPrivate, "/h.pdf");
  EXPECT_EQ(RunAs(User(kSocial),
                  [&] {
                    return ErrnoOf(rename(M("Download/h.pdf").c_str(), M(loot).c_str()));
                  }),
            EACCES);
  EXPECT_EQ(ReadFile(B("Download/h.pdf")), "gallery's");
  EXPECT_NE(access(B(loot).c_str(), F_OK), 0);
  const auto rows = AuditRows(loot, kSocial, [](const v1::AuditEvent& e) {
    return e.error() == EACCES && e.operation() == v1::RENAME;
  });
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows[0].rule_id(), "move-widens-WRITE");
}

INSTANTIATE_TEST_SUITE_P(IoModes, TidyDownloadsTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Passthrough" : "DaemonIo";
                         });

INSTANTIATE_TEST_SUITE_P(IoModes, HostileAppTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Passthrough" : "DaemonIo";
                         });

}  // namespace
}  // namespace scopedfs::testing
