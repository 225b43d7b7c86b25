// Per-app views (daemon/app_views.h): MOUNT/.apps/<uid>/ is the share as that
// uid's app sees it, with kernel caching, under the embedded Android default
// policy, in both I/O modes. Apps (Android uid = user * 100000 + app id):
//   gallery  1010001  media + media_location: real photos
//   social   1010002  media only: photos redacted
//   notes    1010003  no permission
// Each test is what a hostile app would try against a view (enter another
// app's view, use a descriptor passed out of one, watch one, move names
// between trees), next to what the view must do for its own app, checked
// against the shared mount as the oracle: a view answers exactly what the
// shared mount answers that app.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "policy/default_policy.h"
#include "tests/file_util.h"
#include "tests/mount_test_base.h"
#include "tests/shell.h"

namespace scopedfs::testing {
namespace {

constexpr uid_t kGallery = 1010001;
constexpr uid_t kSocial = 1010002;
constexpr uid_t kNotes = 1010003;
constexpr uid_t kSystem = 1000;

constexpr char kPhoto[] = "DCIM/Camera/p.jpg";
constexpr char kGalleryPrivate[] = "Android/data/10/com.example.gallery";
constexpr char kSocialPrivate[] = "Android/data/10/com.example.social";

std::string View(uid_t uid, const std::string& rel = "") {
  return absl::StrCat(".apps/", uid, rel.empty() ? "" : "/", rel);
}

// The names in a directory (no . and ..), sorted; or the errno as "!N".
std::vector<std::string> List(const std::string& dir) {
  std::vector<std::string> names;
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return {absl::StrCat("!", errno)};
  DIR* d = fdopendir(fd);
  while (dirent* de = readdir(d)) {
    const std::string name = de->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

// A file's bytes, or "!errno".
std::string Read(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) return absl::StrCat("!", errno);
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, n);
  close(fd);
  return out;
}

// The same bytes through a shared mapping: redaction holds for mmap too.
std::string Mapped(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) return absl::StrCat("!", errno);
  struct stat st;
  fstat(fd, &st);
  void* p = mmap(nullptr, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (p == MAP_FAILED) return absl::StrCat("!mmap", errno);
  std::string out(static_cast<const char*>(p), st.st_size);
  munmap(p, st.st_size);
  return out;
}

// errno of stat(path), 0 if it succeeds.
int StatErr(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? 0 : errno;
}

class AppViewTest : public MountTest, public ::testing::WithParamInterface<bool> {
 protected:
  virtual std::string ExtraPolicy() const { return ""; }
  std::vector<std::string> DaemonFlags() const override {
    WriteFile(dir_.Sub("default.textproto"),
              std::string(policy::DefaultPolicyText()) + ExtraPolicy());
    // Long kernel caches: whatever the kernel keeps in a view must stay
    // right that long, for every caller.
    return {"--policy=" + dir_.Sub("default.textproto"), "--timeout=60",
            absl::StrCat("--passthrough=", GetParam() ? "true" : "false")};
  }

  void SetUp() override {
    if (!HaveTool("exiftool") || !HaveTool("convert")) {
      std::fprintf(stderr, "\n*** SKIPPED: exiftool or ImageMagick missing ***\n");
      GTEST_SKIP() << "SKIPPED: exiftool or ImageMagick missing";
    }
    MountTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    for (const char* d : {"DCIM", "DCIM/Camera", "Android", "Android/data",
                          "Android/data/10", kGalleryPrivate, kSocialPrivate}) {
      ASSERT_EQ(mkdir(B(d).c_str(), 0777), 0) << d;
      chmod(B(d).c_str(), 0777);
    }
    ASSERT_EQ(Shell(absl::StrCat(
                  "convert -size 64x64 xc:orange ", B(kPhoto),
                  " && exiftool -q -overwrite_original -GPSLatitude=48.8584 "
                  "-GPSLatitudeRef=N -GPSLongitude=2.2945 -GPSLongitudeRef=E ",
                  B(kPhoto), " && chmod 0666 ", B(kPhoto))),
              0);
    original_ = ReadFile(B(kPhoto));
    WriteFile(B(absl::StrCat(kGalleryPrivate, "/g.txt")), "gallery's own");
    WriteFile(B(absl::StrCat(kSocialPrivate, "/s.txt")), "social's own");
    chmod(B(absl::StrCat(kGalleryPrivate, "/g.txt")).c_str(), 0666);
    chmod(B(absl::StrCat(kSocialPrivate, "/s.txt")).c_str(), 0666);
  }

  // Runs `fn` as `uid` and returns what it returns (0: success).
  int As(uid_t uid, const std::function<int()>& fn) { return RunAs(User(uid), fn); }

  // What exiftool, run as `uid`, reads of the GPS latitude at `path`.
  std::string LatitudeAs(uid_t uid, const std::string& path) {
    return RunShell(absl::StrCat("setpriv --reuid=", uid, " --regid=", uid,
                                 " --clear-groups exiftool -s3 -GPSLatitude ",
                                 path))
        .output;
  }

  TempDir dir_;
  std::string original_;
};

// The view answers what the shared mount answers its app: same names, same
// errors, same bytes (real for the gallery, redacted for social: exiftool
// finds no position), and its private directory is there, others' hidden.
TEST_P(AppViewTest, AViewShowsWhatTheSharedMountShowsItsApp) {
  for (uid_t uid : {kGallery, kSocial, kNotes}) {
    const std::vector<std::string> paths = {
        kPhoto, kGalleryPrivate + std::string("/g.txt"),
        kSocialPrivate + std::string("/s.txt")};
    for (const std::string& rel : paths) {
      ASSERT_EQ(As(uid, [&] {
                  return (Read(M(rel)) == Read(M(View(uid, rel))) &&
                          StatErr(M(rel)) == StatErr(M(View(uid, rel))))
                             ? 0
                             : 1;
                }),
                0)
          << "uid " << uid << " " << rel;
    }
    for (const std::string& dir :
         {std::string(""), std::string("DCIM/Camera"),
          std::string("Android/data/10")}) {
      ASSERT_EQ(As(uid, [&] {
                  std::vector<std::string> shared = List(M(dir));
                  std::vector<std::string> view = List(M(View(uid, dir)));
                  return shared == view ? 0 : 1;
                }),
                0)
          << "uid " << uid << " lists " << dir;
    }
  }
  // Not vacuous: what each app really gets.
  EXPECT_EQ(LatitudeAs(kGallery, M(View(kGallery, kPhoto))), "48 deg 51' 30.24\" N\n");
  EXPECT_EQ(LatitudeAs(kSocial, M(View(kSocial, kPhoto))), "");
  EXPECT_EQ(As(kSocial, [&] {
              const std::string bytes = Mapped(M(View(kSocial, kPhoto)));
              return bytes.size() == original_.size() && bytes != original_ &&
                             bytes == Read(M(View(kSocial, kPhoto)))
                         ? 0
                         : 1;
            }),
            0)
      << "social's view maps the redacted bytes";
  EXPECT_EQ(As(kGallery, [&] { return Read(M(View(kGallery, kPhoto))) == original_ ? 0 : 1; }), 0);
  EXPECT_EQ(As(kSocial, [&] {
              return List(M(View(kSocial, "Android/data/10"))) ==
                             std::vector<std::string>{"com.example.social"}
                         ? 0
                         : 1;
            }),
            0);
  EXPECT_EQ(As(kNotes, [&] { return StatErr(M(View(kNotes, kPhoto))); }), EACCES);
}

// Only the view's uid and root get in, by path (cached or not) and by
// request: another app, a system uid and a passed descriptor get EACCES.
TEST_P(AppViewTest, OnlyItsUidAndRootEnterAView) {
  // The gallery walks its view first, so the kernel holds its entries.
  ASSERT_EQ(As(kGallery, [&] { return StatErr(M(View(kGallery, kPhoto))); }), 0);
  for (uid_t intruder : {kSocial, kNotes, kSystem}) {
    EXPECT_EQ(As(intruder, [&] { return StatErr(M(View(kGallery, kPhoto))); }), EACCES)
        << intruder;
    EXPECT_EQ(As(intruder, [&] { return ErrnoOf(open(M(View(kGallery, kPhoto)).c_str(), O_RDONLY)); }),
              EACCES)
        << intruder;
    EXPECT_EQ(As(intruder, [&] {
                return List(M(View(kGallery))) == std::vector<std::string>{"!13"} ? 0 : 1;
              }),
              0)
        << intruder;
    EXPECT_EQ(As(intruder, [&] { return ErrnoOf(chdir(M(View(kGallery)).c_str())); }), EACCES)
        << intruder;
  }
  // Root enters any view and sees what that app sees.
  EXPECT_EQ(Read(M(View(kSocial, absl::StrCat(kSocialPrivate, "/s.txt")))), "social's own");
  EXPECT_EQ(StatErr(M(View(kSocial, absl::StrCat(kGalleryPrivate, "/g.txt")))), ENOENT);
  // `.apps` lists the caller's own view only, and the root does not list it.
  EXPECT_EQ(As(kGallery, [&] {
              return List(M(".apps")) == std::vector<std::string>{"1010001"} ? 0 : 1;
            }),
            0);
  const std::vector<std::string> root = List(M(""));
  EXPECT_EQ(std::count(root.begin(), root.end(), ".apps"), 0);
  // So far the kernel refused every intruder itself (the view root's ACL):
  // nothing reached the daemon.
  EXPECT_EQ(Stat("app_view_refusals"), 0u);

  // A descriptor of a directory in the gallery's view, passed to social:
  // opening, making or listing through it is refused (the daemon checks the
  // view's uid on every request; names the kernel keeps may still show).
  const int dirfd = open(M(View(kGallery, "DCIM/Camera")).c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(dirfd, 0);
  EXPECT_EQ(As(kSocial, [&] { return ErrnoOf(openat(dirfd, "p.jpg", O_RDONLY)); }), EACCES);
  EXPECT_EQ(As(kSocial, [&] { return ErrnoOf(mkdirat(dirfd, "new", 0777)); }), EACCES);
  EXPECT_EQ(As(kSocial, [&] {
              return ErrnoOf(openat(dirfd, "x.jpg", O_WRONLY | O_CREAT, 0666));
            }),
            EACCES);
  close(dirfd);
  EXPECT_GE(Stat("app_view_refusals"), 3u) << "the daemon refused these";
}

// Inside a view the kernel keeps entries, attributes and listings: after a
// first walk the daemon hears of almost none of 4000 stats (uncached, each
// walk would look up three names), for a full and a redacted app. Not
// exactly none: under ASan the kernel was once seen to walk the path again.
TEST_P(AppViewTest, TheKernelKeepsAViewsEntriesAndListings) {
  for (uid_t uid : {kGallery, kSocial}) {
    const std::string photo = M(View(uid, kPhoto));
    const std::string dir = M(View(uid, "DCIM/Camera"));
    ASSERT_EQ(As(uid, [&] { return StatErr(photo) + (List(dir).size() == 1 ? 0 : 1); }), 0);
    const uint64_t lookups = Stat("lookups");
    const uint64_t decisions = Stat("decisions_allow") + Stat("decisions_deny") +
                               Stat("decisions_hide");
    ASSERT_EQ(As(uid, [&] {
                chdir(dir.c_str());  // Also relative walks.
                for (int i = 0; i < 2000; ++i) {
                  if (StatErr(photo) != 0 || StatErr("p.jpg") != 0) return 1;
                }
                return 0;
              }),
              0);
    EXPECT_LT(Stat("lookups") - lookups, 50u) << uid << ": the kernel kept nothing";
    EXPECT_LT(Stat("decisions_allow") + Stat("decisions_deny") + Stat("decisions_hide") -
                  decisions,
              100u)
        << uid << ": stats in a view reached the policy";
  }
}

// A redacted app reads its view without the shared mount's retries: the
// view's entry is the redacted file's own node. Full and redacted readers
// alternate on the same photo: no error, no wrong byte.
TEST_P(AppViewTest, FullAndRedactedReadersAlternateWithoutErrors) {
  std::string redacted;
  ASSERT_EQ(As(kSocial, [&] { return Read(M(View(kSocial, kPhoto))).empty() ? 1 : 0; }), 0);
  redacted = RunShell(absl::StrCat("setpriv --reuid=", kSocial, " --regid=", kSocial,
                                   " --clear-groups cat ", M(View(kSocial, kPhoto))))
                 .output;
  ASSERT_EQ(redacted.size(), original_.size());
  ASSERT_NE(redacted, original_);
  for (int round = 0; round < 100; ++round) {
    ASSERT_EQ(As(kGallery, [&] { return Read(M(View(kGallery, kPhoto))) == original_ ? 0 : 1; }), 0)
        << round;
    ASSERT_EQ(As(kSocial, [&] { return Mapped(M(View(kSocial, kPhoto))) == redacted ? 0 : 1; }), 0)
        << round;
    ASSERT_EQ(As(kSocial, [&] { return Read(M(kPhoto)) == redacted ? 0 : 1; }), 0) << round;
  }
}

// A policy change drops what every view's kernel caches hold: a name the new
// policy hides, and redaction it lifts, take effect at the next call.
TEST_P(AppViewTest, APolicyChangeReachesEveryViewAtOnce) {
  ASSERT_EQ(As(kSocial, [&] { return StatErr(M(View(kSocial, kPhoto))); }), 0);
  ASSERT_EQ(LatitudeAs(kSocial, M(View(kSocial, kPhoto))), "");
  const auto apply = [&](const std::string& policy) {
    WriteFile(dir_.Sub("next.textproto"), policy);
    return Shell(absl::StrCat(getenv("TEST_SRCDIR"),
                              "/scopedfs/tools/scopedctl --state_dir=", mnt_->state_dir(),
                              " policy apply ", dir_.Sub("next.textproto"), " >/dev/null"));
  };
  std::string policy(policy::DefaultPolicyText());
  // Social gets media_location: the real photo at its next open.
  std::string located = policy;
  const std::string social = "name: \"com.example.social\"";
  located.insert(located.find(social) + social.size(), "\n  permissions: \"media_location\"");
  ASSERT_EQ(apply(located), 0);
  EXPECT_EQ(LatitudeAs(kSocial, M(View(kSocial, kPhoto))), "48 deg 51' 30.24\" N\n");
  // Social loses media: DCIM is denied at once, though the kernel held it.
  std::string no_media = policy;
  const std::string perm = "android_app_ids: 10002\n  permissions: \"media\"";
  ASSERT_NE(no_media.find(perm), std::string::npos);
  no_media.replace(no_media.find(perm), perm.size(), "android_app_ids: 10002");
  ASSERT_EQ(apply(no_media), 0);
  EXPECT_EQ(As(kSocial, [&] { return StatErr(M(View(kSocial, kPhoto))); }), EACCES);
  // This kernel (6.16 and later) takes one message for every name.
  EXPECT_EQ(Stat("kernel_epoch_bumps"), 2u);
}

// A name made or removed through one tree shows in the others at once, even
// where their kernel caches held the directory's listing and entries.
// `fn` returns 0 within 2 s, polled: the other trees' entries are dropped
// by the invalidator thread a moment after the change returns (long before
// the 60 s these kernel caches would otherwise keep them).
int Eventually(const std::function<int()>& fn) {
  int last = fn();
  for (int i = 0; i < 200 && last != 0; ++i) {
    usleep(10000);
    last = fn();
  }
  return last;
}

TEST_P(AppViewTest, ChangesThroughOneTreeShowInTheOthersAtOnce) {
  const std::string fresh = "DCIM/Camera/fresh.jpg";
  ASSERT_EQ(As(kSocial, [&] {
              return List(M(View(kSocial, "DCIM/Camera"))) == std::vector<std::string>{"p.jpg"} &&
                             StatErr(M(View(kSocial, fresh))) == ENOENT
                         ? 0
                         : 1;
            }),
            0);
  ASSERT_EQ(As(kGallery, [&] {
              const int fd = open(M(View(kGallery, fresh)).c_str(), O_WRONLY | O_CREAT | O_EXCL, 0666);
              if (fd < 0) return errno;
              write(fd, original_.data(), original_.size());
              close(fd);
              return 0;
            }),
            0);
  // The gallery owns it (the view's uid made it): the shared mount agrees.
  EXPECT_EQ(As(kGallery, [&] { return StatErr(M(fresh)); }), 0);
  EXPECT_EQ(As(kSocial, [&] {
              return Eventually([&] {
                return List(M(View(kSocial, "DCIM/Camera"))) ==
                               std::vector<std::string>{"fresh.jpg", "p.jpg"} &&
                               StatErr(M(View(kSocial, fresh))) == 0
                           ? 0
                           : 1;
              });
            }),
            0);
  // Removed through the shared mount: gone from both views.
  ASSERT_EQ(As(kGallery, [&] { return ErrnoOf(unlink(M(fresh).c_str())); }), 0);
  EXPECT_EQ(As(kSocial, [&] {
              return Eventually([&] { return StatErr(M(View(kSocial, fresh))) == ENOENT ? 0 : 1; });
            }),
            0);
  EXPECT_EQ(As(kGallery, [&] {
              return Eventually([&] { return StatErr(M(View(kGallery, fresh))) == ENOENT ? 0 : 1; });
            }),
            0);
  EXPECT_GT(Stat("cross_tree_invalidations"), 0u);
}

// inotify on a view sees only what happens through that view: another
// app's activity in the same backing directory shows nothing.
TEST_P(AppViewTest, InotifyInAViewSeesNothingOfAnotherApp) {
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  const pid_t watcher = fork();
  if (watcher == 0) {
    close(pipefd[0]);
    if (!BecomeIdentity(User(kSocial))) _exit(99);
    const int in = inotify_init1(IN_NONBLOCK);
    if (inotify_add_watch(in, M(View(kSocial, "DCIM/Camera")).c_str(),
                          IN_ALL_EVENTS) < 0) {
      _exit(98);
    }
    write(pipefd[1], "w", 1);
    sleep(2);  // While the others act.
    char buf[4096];
    const ssize_t n = read(in, buf, sizeof buf);
    _exit(n > 0 ? 1 : 0);
  }
  close(pipefd[1]);
  char c;
  ASSERT_EQ(read(pipefd[0], &c, 1), 1);
  close(pipefd[0]);
  ASSERT_EQ(As(kGallery, [&] {
              const int fd = open(M(View(kGallery, "DCIM/Camera/g1.jpg")).c_str(),
                                  O_WRONLY | O_CREAT, 0666);
              if (fd < 0) return errno;
              close(fd);
              Read(M(View(kGallery, kPhoto)));
              return ErrnoOf(unlink(M("DCIM/Camera/g1.jpg").c_str()));
            }),
            0);
  int status = 0;
  waitpid(watcher, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "social's watch on its view saw the gallery's activity (exit "
      << WEXITSTATUS(status) << ")";
  // Not vacuous: its own activity in its view is seen.
  EXPECT_EQ(As(kSocial, [&] {
              const int in = inotify_init1(IN_NONBLOCK);
              inotify_add_watch(in, M(View(kSocial, "DCIM/Camera")).c_str(), IN_CREATE);
              const int fd = open(M(View(kSocial, "DCIM/Camera/s1.jpg")).c_str(),
                                  O_WRONLY | O_CREAT, 0666);
              close(fd);
              char buf[4096];
              return read(in, buf, sizeof buf) > 0 ? 0 : 1;
            }),
            0);
}

// How a sandbox uses a view: a private mount namespace with the app's view
// bound at the share's usual path; the app inside sees its share there.
TEST_P(AppViewTest, ASandboxBindsItsViewAtTheSharesPath) {
  const std::string sdcard = dir_.Sub("sdcard");
  ASSERT_EQ(mkdir(sdcard.c_str(), 0755), 0);
  const pid_t child = fork();
  if (child == 0) {
    if (unshare(CLONE_NEWNS) != 0 ||
        mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        mount(M(View(kSocial)).c_str(), sdcard.c_str(), nullptr, MS_BIND,
              nullptr) != 0) {
      _exit(90);
    }
    if (!BecomeIdentity(User(kSocial))) _exit(99);
    if (Read(sdcard + "/" + kSocialPrivate + "/s.txt") != "social's own") _exit(1);
    if (StatErr(sdcard + "/" + kGalleryPrivate) != ENOENT) _exit(2);
    const std::string photo = Read(sdcard + "/" + kPhoto);
    if (photo.size() != original_.size() || photo == original_) _exit(3);
    if (StatErr(sdcard + "/.apps") != ENOENT) _exit(4);
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// The README's bubblewrap line, as written there: the app runs with its view
// at /sdcard and nothing of the others.
TEST_P(AppViewTest, TheReadmesBubblewrapLineRunsTheAppInItsView) {
  if (!HaveTool("bwrap")) {
    std::fprintf(stderr, "\n*** SKIPPED: bubblewrap missing (./setup.sh installs it) ***\n");
    GTEST_SKIP() << "SKIPPED: bubblewrap missing";
  }
  const ShellResult r = RunShell(absl::StrCat(
      "MNT=", M(""), " && bwrap --dev-bind / / --tmpfs /mnt "
      "--bind $MNT/.apps/1010002 /mnt/sdcard "
      "-- setpriv --reuid=1010002 --regid=1010002 --clear-groups "
      "sh -c 'cat /mnt/sdcard/", kSocialPrivate, "/s.txt; echo; "
      "ls /mnt/sdcard/Android/data/10; "
      "exiftool -s3 -GPSLatitude /mnt/sdcard/", kPhoto,
      "; ls /mnt/sdcard/.apps 2>&1 | wc -l'"));
  EXPECT_EQ(r.output, "social's own\ncom.example.social\n1\n") << r.output;
}

// `.apps` is the daemon's: not made, renamed over or removed through the
// mount, and a backing `.apps` is shadowed. Names do not move between
// trees (EXDEV, as between file systems: mv copies, each decided).
TEST_P(AppViewTest, AppsIsReservedAndNamesStayInTheirTree) {
  ASSERT_EQ(mkdir(B(".apps").c_str(), 0777), 0);  // Behind the daemon's back.
  WriteFile(B(".apps/planted"), "x");
  EXPECT_EQ(StatErr(M(".apps/planted")), ENOENT);
  EXPECT_EQ(ErrnoOf(mkdir(M(".apps/123x").c_str(), 0777)), EPERM);
  EXPECT_EQ(ErrnoOf(rmdir(M(".apps").c_str())), EPERM);
  EXPECT_EQ(ErrnoOf(rename(M("DCIM").c_str(), M(".apps").c_str())), EPERM);
  EXPECT_EQ(StatErr(M(View(kGallery, ".apps"))), ENOENT);
  EXPECT_EQ(ErrnoOf(mkdir(M(View(kGallery, ".apps")).c_str(), 0777)), EPERM);
  EXPECT_EQ(StatErr(M(".apps/0123")), ENOENT);
  EXPECT_EQ(StatErr(M(".apps/4294967295")), ENOENT);
  EXPECT_EQ(ErrnoOf(rename(M(kPhoto).c_str(), M(View(kGallery, "DCIM/Camera/q.jpg")).c_str())),
            EXDEV);
  EXPECT_EQ(ErrnoOf(link(M(kPhoto).c_str(), M(View(kGallery, "DCIM/Camera/q.jpg")).c_str())),
            EXDEV);
  EXPECT_EQ(ErrnoOf(rename(M(View(kGallery, kPhoto)).c_str(),
                           M(View(kSocial, "DCIM/Camera/q.jpg")).c_str())),
            EXDEV);
  // Within one view names move as on the shared mount, decided as its app:
  // its own photo, yes; another's (root made p.jpg), no.
  EXPECT_EQ(As(kGallery, [&] {
              const int fd = open(M(View(kGallery, "DCIM/Camera/mine.jpg")).c_str(),
                                  O_WRONLY | O_CREAT | O_EXCL, 0666);
              if (fd < 0) return errno;
              close(fd);
              return ErrnoOf(rename(M(View(kGallery, "DCIM/Camera/mine.jpg")).c_str(),
                                    M(View(kGallery, "DCIM/Camera/q.jpg")).c_str()));
            }),
            0);
  EXPECT_EQ(StatErr(B("DCIM/Camera/q.jpg")), 0);
  EXPECT_EQ(As(kGallery, [&] {
              return ErrnoOf(rename(M(View(kGallery, kPhoto)).c_str(),
                                    M(View(kGallery, "DCIM/Camera/r.jpg")).c_str()));
            }),
            As(kGallery, [&] {
              return ErrnoOf(rename(M(kPhoto).c_str(), M("DCIM/Camera/r.jpg").c_str()));
            }));
}

INSTANTIATE_TEST_SUITE_P(IoModes, AppViewTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "passthrough" : "daemon_io";
                         });

// A policy that names some app by gid: a uid whose app is not named by the
// uid alone could be two apps, so it has no view.
class GidPolicyViewTest : public AppViewTest {
 protected:
  std::string ExtraPolicy() const override {
    return "apps { name: \"by-gid\" gids: 4242 permissions: \"media\" }\n";
  }
};

TEST_P(GidPolicyViewTest, AUidWhoseAppDependsOnItsGidHasNoView) {
  EXPECT_EQ(As(kGallery, [&] { return StatErr(M(View(kGallery))); }), ENOENT);
  EXPECT_EQ(As(kGallery, [&] { return List(M(".apps")).empty() ? 0 : 1; }), 0);
  // The shared mount still serves it.
  EXPECT_EQ(As(kGallery, [&] { return StatErr(M(kPhoto)); }), 0);
}

INSTANTIATE_TEST_SUITE_P(IoModes, GidPolicyViewTest, ::testing::Values(true));

}  // namespace
}  // namespace scopedfs::testing
