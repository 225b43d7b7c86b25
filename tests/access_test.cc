// The decision point (daemon/access.h) without a mount: an AccessMediator
// over a backing directory, a policy store and an audit log, asked what the
// FUSE ops would ask. Views, the ESTALE rule, owner checks, content that no
// redactor vouches for, and the audit rows each decision leaves.
#include "daemon/access.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "audit/audit_log.h"
#include "daemon/node_table.h"
#include "daemon/policy_store.h"
#include "daemon/state_dir.h"
#include "daemon/stats.h"
#include "gtest/gtest.h"
#include "scopedfs/v1/audit.pb.h"
#include "tests/file_util.h"

namespace scopedfs {
namespace {

using testing::ReadFile;
using testing::WriteFile;

constexpr uint32_t kGallery = 10001;  // Reads photos as they are.
constexpr uint32_t kViewer = 10002;   // Reads photos redacted.
constexpr uint32_t kOther = 10003;    // Neither.

constexpr char kPolicy[] = R"pb(
  apps { name: "gallery" uids: 10001 }
  apps { name: "viewer" uids: 10002 }
  apps { name: "other" uids: 10003 }
  redaction_profiles { name: "location" mode: REDACTION_MODE_LOCATION_ONLY exif_gps: true xmp_location: true }
  rules { id: "gallery-photos" apps: "gallery" paths: "DCIM/" action: ALLOW }
  rules { id: "viewer-look" apps: "viewer" paths: "DCIM/" operations: LOOKUP action: ALLOW }
  rules { id: "viewer-redacted" apps: "viewer" paths: "DCIM/" operations: READ classes: IMAGE action: ALLOW_REDACTED redaction_profile: "location" }
  rules { id: "own-downloads" paths: "Download/" owner: CALLER action: ALLOW }
  rules { id: "make-downloads" paths: "Download/" operations: [LOOKUP, CREATE] action: ALLOW }
  rules { id: "hide-rest" paths: "DCIM/" action: HIDE }
  default_action: DENY
)pb";

// What `cmd` prints on stdout.
std::string Capture(const std::string& cmd) {
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[256];
    while (size_t n = fread(buf, 1, sizeof(buf), p)) out.append(buf, n);
    pclose(p);
  }
  return out;
}

// A JPEG with a GPS position in EXIF, made by ImageMagick and exiftool.
bool MakeLocatedJpeg(const std::string& path) {
  const std::string cmd = absl::StrCat(
      "convert -size 64x48 gradient:blue-red '", path,
      "' && exiftool -q -overwrite_original -GPSLatitude=48.8584 "
      "-GPSLatitudeRef=N -GPSLongitude=2.2945 -GPSLongitudeRef=E '",
      path, "' >/dev/null 2>&1");
  return system(cmd.c_str()) == 0;
}

class AccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sfs-access.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    backing_ = dir_ + "/backing";
    for (const std::string& d :
         {backing_, backing_ + "/DCIM", backing_ + "/Download"}) {
      ASSERT_EQ(mkdir(d.c_str(), 0777), 0) << d;
    }
    photo_ = backing_ + "/DCIM/eiffel.jpg";
    if (!MakeLocatedJpeg(photo_)) {
      std::fprintf(stderr, "\n*** SKIPPED: ImageMagick or exiftool missing ***\n");
      GTEST_SKIP() << "SKIPPED: ImageMagick or exiftool missing";
    }
    photo_bytes_ = ReadFile(photo_);
    ASSERT_NE(Capture(absl::StrCat("exiftool -q -s3 -GPSLatitude '", photo_, "'"))
                  .find("48 deg"),
              std::string::npos);
    // A text file named like a photo: no image parser can vouch for it.
    WriteFile(backing_ + "/DCIM/renamed.jpg", "not a photo, but named like one\n");
    WriteFile(dir_ + "/policy.textproto", kPolicy);

    auto state = StateDir::Open(dir_ + "/state");
    ASSERT_TRUE(state.ok()) << state.status();
    state_ = std::make_unique<StateDir>(*std::move(state));
    auto audit = audit::AuditLog::Open(state_->AuditDbPath(), {});
    ASSERT_TRUE(audit.ok()) << audit.status();
    audit_ = *std::move(audit);
    PolicyStore::LoadOptions load;
    load.seed_file = dir_ + "/policy.textproto";
    auto policy = PolicyStore::Load(state_.get(), load);
    ASSERT_TRUE(policy.ok()) << policy.status();
    policy_ = *std::move(policy);

    const int root_fd = open(backing_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(root_fd, 0);
    struct stat root_st;
    ASSERT_EQ(fstat(root_fd, &root_st), 0);
    nodes_ = std::make_unique<NodeTable>(root_fd, root_st);
    access_ = std::make_unique<AccessMediator>(policy_.get(), nodes_.get(), &stats_);
    access_->set_audit_log(audit_.get(), /*store_events=*/true);
    dcim_ = Acquire(nodes_->Root(), "DCIM");
    download_ = Acquire(nodes_->Root(), "Download");
  }

  void TearDown() override {
    access_.reset();
    nodes_.reset();
    policy_.reset();
    audit_.reset();
    state_.reset();
    if (!dir_.empty()) {
      EXPECT_EQ(system(absl::StrCat("rm -rf '", dir_, "'").c_str()), 0);
    }
  }

  // What a lookup through the mount adds to the node table: `name` under
  // `parent`, as the full or the redacted view.
  Node* Acquire(Node* parent, const std::string& name, bool redacted_view = false) {
    const int fd = openat(parent->fd, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
    EXPECT_GE(fd, 0) << name;
    struct stat st;
    EXPECT_EQ(fstat(fd, &st), 0);
    return nodes_->Acquire(fd, st, parent, name, redacted_view);
  }

  AccessMediator::LookupVerdict Lookup(uint32_t uid, Node* parent,
                                       const std::string& name) {
    struct stat st;
    EXPECT_EQ(fstatat(parent->fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW), 0) << name;
    return access_->CheckLookup(Caller{uid, uid, 1}, parent, name, st,
                                /*mediate=*/true, AuditMode::kIfRefused);
  }

  // Every audit row stored so far, oldest first.
  std::vector<v1::AuditEvent> Rows() {
    EXPECT_TRUE(audit_->Flush(absl::Seconds(10)));
    auto rows = audit_->Query(v1::AuditFilter(), 0, 0, /*newest_first=*/false, 1000);
    EXPECT_TRUE(rows.ok()) << rows.status();
    return rows.ok() ? *rows : std::vector<v1::AuditEvent>{};
  }
  // The last row about `path` by `uid`.
  v1::AuditEvent LastRow(const std::string& path, uint32_t uid) {
    v1::AuditEvent found;
    for (const v1::AuditEvent& e : Rows()) {
      if (e.path() == path && e.uid() == uid) found = e;
    }
    return found;
  }

  std::string dir_, backing_, photo_, photo_bytes_;
  std::unique_ptr<StateDir> state_;
  std::unique_ptr<audit::AuditLog> audit_;
  std::unique_ptr<PolicyStore> policy_;
  std::unique_ptr<NodeTable> nodes_;
  Stats stats_;
  std::unique_ptr<AccessMediator> access_;
  Node* dcim_ = nullptr;
  Node* download_ = nullptr;
};

TEST_F(AccessTest, EachCallerIsShownItsOwnViewOfAPhoto) {
  const auto gallery = Lookup(kGallery, dcim_, "eiffel.jpg");
  EXPECT_EQ(gallery.err, 0);
  EXPECT_FALSE(gallery.redacted);
  const auto viewer = Lookup(kViewer, dcim_, "eiffel.jpg");
  EXPECT_EQ(viewer.err, 0);
  EXPECT_TRUE(viewer.redacted);
  // Callers see different things there: the kernel must not share the entry.
  EXPECT_FALSE(viewer.shared_cache_ok);
  EXPECT_FALSE(gallery.shared_cache_ok);
  const auto other = Lookup(kOther, dcim_, "eiffel.jpg");
  EXPECT_EQ(other.err, ENOENT);
  EXPECT_EQ(LastRow("DCIM/eiffel.jpg", kOther).decision(), v1::HIDE);
  EXPECT_EQ(LastRow("DCIM/eiffel.jpg", kOther).rule_id(), "hide-rest");
}

TEST_F(AccessTest, AnOpenOnTheOtherViewIsStaleAndLeavesNoRow) {
  Node* full = Acquire(dcim_, "eiffel.jpg");
  Node* view = Acquire(dcim_, "eiffel.jpg", /*redacted_view=*/true);
  ASSERT_NE(full, view);
  const size_t rows_before = Rows().size();
  // The kernel cached the other caller's node: ESTALE makes it look again.
  EXPECT_EQ(access_->CheckOpen(Caller{kViewer, kViewer, 1}, full, v1::READ, O_RDONLY).err,
            ESTALE);
  EXPECT_EQ(access_->CheckOpen(Caller{kGallery, kGallery, 1}, view, v1::READ, O_RDONLY).err,
            ESTALE);
  EXPECT_EQ(Rows().size(), rows_before) << "a retried open is audited once, on retry";

  // On its own view, the viewer gets a planned redacted view...
  AccessMediator::OpenVerdict opened =
      access_->CheckOpen(Caller{kViewer, kViewer, 1}, view, v1::READ, O_RDONLY);
  ASSERT_EQ(opened.err, 0);
  ASSERT_NE(opened.view, nullptr);
  ASSERT_GE(opened.fd, 0);
  // ...whose bytes differ from the real file exactly where the GPS values
  // are, and nowhere in the pixels' part.
  std::string redacted(photo_bytes_.size(), '\0');
  ASSERT_EQ(opened.view->Read(opened.fd, redacted.data(), redacted.size(), 0),
            static_cast<ssize_t>(redacted.size()));
  close(opened.fd);
  EXPECT_NE(redacted, photo_bytes_);
  size_t first_diff = 0;
  while (redacted[first_diff] == photo_bytes_[first_diff]) ++first_diff;
  EXPECT_LT(first_diff, photo_bytes_.size() / 2) << "the EXIF segment leads the file";
  // The independent oracle: exiftool finds no position in what was read.
  const std::string out = dir_ + "/redacted.jpg";
  WriteFile(out, redacted);
  const std::string gps = Capture(absl::StrCat(
      "exiftool -q -s3 -GPSLatitude -GPSLongitude '", out, "'"));
  EXPECT_EQ(gps.find("48"), std::string::npos) << gps;
  EXPECT_NE(Capture(absl::StrCat("exiftool -q -s3 -ImageWidth '", out, "'")), "")
      << "still a readable JPEG";
  const v1::AuditEvent row = LastRow("DCIM/eiffel.jpg", kViewer);
  EXPECT_EQ(row.decision(), v1::ALLOW_REDACTED);
  EXPECT_EQ(row.rule_id(), "viewer-redacted");
  EXPECT_NE(row.redaction().find("profile=location"), std::string::npos) << row.redaction();

  // No writes for the viewer: its WRITE falls through to hide-rest.
  EXPECT_EQ(access_->CheckOpen(Caller{kViewer, kViewer, 1}, view, v1::WRITE, O_WRONLY).err,
            ENOENT);
  // The gallery reads the real file through the full node.
  EXPECT_EQ(access_->CheckOpen(Caller{kGallery, kGallery, 1}, full, v1::READ, O_RDONLY).err,
            0);
}

TEST_F(AccessTest, ARenamedPhotoIsStillRedacted) {
  // A JPEG named like a text file is an IMAGE by its content.
  WriteFile(backing_ + "/DCIM/notes.txt", photo_bytes_);
  const auto viewer = Lookup(kViewer, dcim_, "notes.txt");
  EXPECT_EQ(viewer.err, 0);
  EXPECT_TRUE(viewer.redacted);
  Node* full = Acquire(dcim_, "notes.txt");
  EXPECT_EQ(access_->CheckOpen(Caller{kViewer, kViewer, 1}, full, v1::READ, O_RDONLY).err,
            ESTALE);
  Node* view = Acquire(dcim_, "notes.txt", /*redacted_view=*/true);
  AccessMediator::OpenVerdict opened =
      access_->CheckOpen(Caller{kViewer, kViewer, 1}, view, v1::READ, O_RDONLY);
  ASSERT_EQ(opened.err, 0);
  ASSERT_NE(opened.view, nullptr);
  close(opened.fd);
  EXPECT_EQ(LastRow("DCIM/notes.txt", kViewer).decision(), v1::ALLOW_REDACTED);
}

TEST_F(AccessTest, ContentNoRedactorVouchesForIsRefusedNeverServedRaw) {
  // renamed.jpg is text: no parser knows the content, so its name decides
  // (IMAGE), the redacted rule applies, and no redactor can vouch for it.
  Node* view = Acquire(dcim_, "renamed.jpg", /*redacted_view=*/true);
  AccessMediator::OpenVerdict opened =
      access_->CheckOpen(Caller{kViewer, kViewer, 1}, view, v1::READ, O_RDONLY);
  EXPECT_EQ(opened.err, EACCES);
  EXPECT_EQ(opened.view, nullptr);
  EXPECT_LT(opened.fd, 0);
  const v1::AuditEvent row = LastRow("DCIM/renamed.jpg", kViewer);
  EXPECT_EQ(row.error(), EACCES);
  EXPECT_EQ(row.redaction().rfind("refused", 0), 0u) << row.redaction();
  // A photo broken after it was looked up (its first byte overwritten):
  // refused the same way, never served as it is.
  Node* photo = Acquire(dcim_, "eiffel.jpg", /*redacted_view=*/true);
  std::string broken = photo_bytes_;
  broken[0] = 'X';
  WriteFile(photo_, broken);
  opened = access_->CheckOpen(Caller{kViewer, kViewer, 1}, photo, v1::READ, O_RDONLY);
  EXPECT_EQ(opened.err, EACCES);
  EXPECT_EQ(opened.view, nullptr);
  EXPECT_EQ(LastRow("DCIM/eiffel.jpg", kViewer).redaction().rfind("refused", 0), 0u);
}

TEST_F(AccessTest, AListingHidesWhatALookupHides) {
  WriteFile(backing_ + "/DCIM/notes.txt", photo_bytes_);  // A renamed JPEG.
  struct Seen {
    int err;
    bool shared;
  };
  auto list = [&](uint32_t uid, const char* name) {
    AccessMediator::Listing listing(access_.get(), Caller{uid, uid, 1}, dcim_);
    const auto entry = listing.Check(name, DT_REG);
    return Seen{entry.err, entry.shared_cache_ok};
  };
  for (const char* name : {"eiffel.jpg", "notes.txt", "renamed.jpg"}) {
    SCOPED_TRACE(name);
    for (uint32_t uid : {kGallery, kViewer, kOther}) {
      const Seen seen = list(uid, name);
      EXPECT_EQ(seen.err, Lookup(uid, dcim_, name).err) << "uid " << uid;
      // Redaction rules: no regular file's entry is the same for everyone.
      EXPECT_FALSE(seen.shared);
    }
  }
  EXPECT_EQ(list(kOther, "eiffel.jpg").err, ENOENT);
  EXPECT_EQ(list(kGallery, "eiffel.jpg").err, 0);
  // One listing, many entries: the reused path buffer names each one.
  AccessMediator::Listing listing(access_.get(), Caller{kOther, kOther, 1},
                                  nodes_->Root());
  EXPECT_EQ(listing.Check("Download", DT_DIR).err, 0);
  EXPECT_EQ(listing.Check("DCIM", DT_DIR).err, ENOENT);
  EXPECT_EQ(listing.Check("Download", DT_DIR).err, 0);
}

TEST_F(AccessTest, OnlyTheCreatorPassesAnOwnerRule) {
  const Caller alice{kGallery, kGallery, 1};
  const Caller bob{kOther, kOther, 1};
  ASSERT_EQ(access_->CheckCreate(alice, download_, "a.txt", S_IFREG), 0);
  WriteFile(backing_ + "/Download/a.txt", "alice's");
  struct stat st;
  ASSERT_EQ(stat((backing_ + "/Download/a.txt").c_str(), &st), 0);
  access_->NoteCreated(alice, download_, "a.txt", st);
  EXPECT_EQ(access_->CheckName(alice, download_, "a.txt", v1::DELETE, false), 0);
  EXPECT_EQ(access_->CheckName(bob, download_, "a.txt", v1::DELETE, false), EACCES);
  EXPECT_EQ(access_->CheckName(bob, download_, "a.txt", v1::WRITE, false), EACCES);
  const v1::AuditEvent row = LastRow("Download/a.txt", kOther);
  EXPECT_EQ(row.decision(), v1::DENY);
  EXPECT_EQ(row.error(), EACCES);

  // A file made behind the daemon's back has no owner: nobody passes.
  WriteFile(backing_ + "/Download/b.txt", "nobody's");
  EXPECT_EQ(access_->CheckName(alice, download_, "b.txt", v1::DELETE, false), EACCES);

  // Renamed through the mount, the record moves with the file: alice still
  // owns it under the new name, and the old name owns nothing.
  ASSERT_EQ(rename((backing_ + "/Download/a.txt").c_str(),
                   (backing_ + "/Download/c.txt").c_str()), 0);
  access_->NoteRenamed(download_, "a.txt", download_, "c.txt", /*exchange=*/false);
  EXPECT_EQ(access_->CheckName(alice, download_, "c.txt", v1::WRITE, false), 0);
  EXPECT_EQ(access_->CheckName(bob, download_, "c.txt", v1::WRITE, false), EACCES);
}

TEST_F(AccessTest, WithoutAnOwnerStoreOwnerRulesFailClosed) {
  const Caller alice{kGallery, kGallery, 1};
  WriteFile(backing_ + "/Download/a.txt", "alice's");
  struct stat st;
  ASSERT_EQ(stat((backing_ + "/Download/a.txt").c_str(), &st), 0);
  access_->NoteCreated(alice, download_, "a.txt", st);
  EXPECT_EQ(access_->CheckName(alice, download_, "a.txt", v1::DELETE, false), 0);
  access_->set_audit_log(nullptr, false);
  access_->Clear();
  EXPECT_EQ(access_->CheckName(alice, download_, "a.txt", v1::DELETE, false), EACCES);
}

}  // namespace
}  // namespace scopedfs
