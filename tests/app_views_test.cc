// Unit tests of daemon/app_views.h: which names are views, who may enter,
// and the attributes and ACL that let the kernel enforce it.
#include "daemon/app_views.h"

#include <errno.h>
#include <sys/stat.h>

#include <cstring>
#include <memory>
#include <string>

#include "daemon/access.h"
#include "gtest/gtest.h"
#include "policy/default_policy.h"
#include "policy/engine.h"
#include "policy/policy_text.h"

namespace scopedfs {
namespace {

TEST(AppViewsTest, OnlyCanonicalDecimalUidsAreViews) {
  EXPECT_EQ(ParseViewUid("0"), 0u);
  EXPECT_EQ(ParseViewUid("1010001"), 1010001u);
  EXPECT_EQ(ParseViewUid("4294967294"), 4294967294u);
  for (const char* bad : {"", "01", "+1", "-1", "1 ", "1a", "4294967295",
                          "99999999999", "0x10", ".apps"}) {
    EXPECT_FALSE(ParseViewUid(bad).has_value()) << bad;
  }
}

// The kernel's posix_acl_xattr layout, read back.
struct AclEntry {
  uint16_t tag, perm;
  uint32_t id;
};
std::vector<AclEntry> Decode(const std::string& acl) {
  uint32_t version;
  std::memcpy(&version, acl.data(), 4);
  EXPECT_EQ(version, 2u);
  std::vector<AclEntry> out((acl.size() - 4) / 8);
  std::memcpy(out.data(), acl.data() + 4, out.size() * 8);
  return out;
}

TEST(AppViewsTest, TheViewRootLetsInOnlyItsUidWithItsNativeRights) {
  struct stat root = {};
  root.st_mode = S_IFDIR | S_ISVTX | 0775;
  root.st_uid = 0;
  root.st_gid = 100;
  // Another uid: no rights for owner, group or others; the ACL names it
  // with the rights others have on the share root (r-x), as the mask.
  const struct stat attr = ViewRootAttr(root, 1010001);
  EXPECT_EQ(attr.st_mode, static_cast<mode_t>(S_IFDIR | S_ISVTX | 0050));
  EXPECT_EQ(attr.st_uid, 0u);
  EXPECT_EQ(attr.st_gid, 100u);
  const std::vector<AclEntry> acl = Decode(ViewRootAcl(root, 1010001));
  ASSERT_EQ(acl.size(), 5u);
  EXPECT_EQ(acl[0].tag, 0x01);  // user::---
  EXPECT_EQ(acl[0].perm, 0);
  EXPECT_EQ(acl[1].tag, 0x02);  // user:1010001:r-x
  EXPECT_EQ(acl[1].id, 1010001u);
  EXPECT_EQ(acl[1].perm, 5);
  EXPECT_EQ(acl[2].tag, 0x04);  // group::---
  EXPECT_EQ(acl[2].perm, 0);
  EXPECT_EQ(acl[3].tag, 0x10);  // mask::r-x
  EXPECT_EQ(acl[3].perm, 5);
  EXPECT_EQ(acl[4].tag, 0x20);  // other::---
  EXPECT_EQ(acl[4].perm, 0);
  // The root's owner: its owner bits, nobody else, no ACL needed.
  root.st_uid = 1010001;
  EXPECT_EQ(ViewRootAttr(root, 1010001).st_mode,
            static_cast<mode_t>(S_IFDIR | S_ISVTX | 0700));
  EXPECT_TRUE(ViewRootAcl(root, 1010001).empty());
}

std::shared_ptr<const policy::Engine> Compile(const std::string& extra) {
  auto policy = policy::ParsePolicyText(std::string(policy::DefaultPolicyText()) + extra);
  EXPECT_TRUE(policy.ok());
  auto engine = policy::Engine::Compile(*policy, 1);
  EXPECT_TRUE(engine.ok());
  return *engine;
}

TEST(AppViewsTest, OnlyTheViewsUidAndRootAreAdmittedAndActAsTheView) {
  const auto engine = Compile("");
  struct stat st = {};
  st.st_mode = S_IFDIR | 0755;
  Node shared(-1, 1, 2, S_IFDIR);
  Node view(-1, 1, 2, S_IFDIR, false, false, 1010001, NodeKind::kViewRoot);
  Caller acting;
  EXPECT_EQ(AdmitToView(*engine, Caller{1010002, 1010002, 7}, &shared, &acting), 0);
  EXPECT_EQ(acting.uid, 1010002u);
  EXPECT_EQ(AdmitToView(*engine, Caller{1010001, 1010001, 7}, &view, &acting), 0);
  EXPECT_EQ(acting.uid, 1010001u);
  EXPECT_EQ(AdmitToView(*engine, Caller{0, 0, 7}, &view, &acting), 0);
  EXPECT_EQ(acting.uid, 1010001u) << "root in a view acts as its app";
  EXPECT_EQ(acting.pid, 7u);
  for (uint32_t intruder : {1010002u, 1000u, 1110001u}) {
    EXPECT_EQ(AdmitToView(*engine, Caller{intruder, intruder, 7}, &view, &acting), EACCES)
        << intruder;
  }
  // A policy naming an app by gid: the uid alone no longer says which app
  // it is, so even its own uid is refused.
  const auto by_gid = Compile("apps { name: \"g\" gids: 4242 }\n");
  EXPECT_EQ(AdmitToView(*by_gid, Caller{1010001, 1010001, 7}, &view, &acting), EACCES);
  EXPECT_EQ(
      AdmitToView(*Compile("apps { name: \"g\" gids: 4242 }\napps { name: \"u\" uids: 1010001 }\n"),
                  Caller{1010001, 4242, 7}, &view, &acting),
      0)
      << "listed by uid: one app whatever the gid";
}

TEST(AppViewsTest, AppsIsReservedInEveryTreesRootOnly) {
  Node root(-1, 1, 2, S_IFDIR, false, false, kSharedTree, NodeKind::kMountRoot);
  Node view(-1, 1, 2, S_IFDIR, false, false, 5, NodeKind::kViewRoot);
  Node dir(-1, 1, 3, S_IFDIR);
  EXPECT_TRUE(IsReservedName(&root, ".apps"));
  EXPECT_TRUE(IsReservedName(&view, ".apps"));
  EXPECT_FALSE(IsReservedName(&dir, ".apps"));
  EXPECT_FALSE(IsReservedName(&root, ".apps2"));
}

}  // namespace
}  // namespace scopedfs
