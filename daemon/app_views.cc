#include "daemon/app_views.h"

#include <errno.h>

#include <cstring>

#include "absl/strings/ascii.h"
#include "daemon/access.h"
#include "policy/engine.h"

namespace scopedfs {
namespace {

// The rights (rwx, 0-7) the share root grants `uid` by its mode: owner bits
// for its owner, else the bits for others. (Its groups are not known here;
// a group's extra rights on the share root are not carried into a view.)
mode_t RightsOf(const struct stat& root, uint32_t uid) {
  return root.st_uid == uid ? (root.st_mode >> 6) & 7 : root.st_mode & 7;
}

// The layout of a system.posix_acl_access value (the kernel's
// posix_acl_xattr_header and _entry, little-endian).
constexpr uint32_t kAclVersion = 2;
enum AclTag : uint16_t {
  kUserObj = 0x01,
  kUser = 0x02,
  kGroupObj = 0x04,
  kMask = 0x10,
  kOther = 0x20,
};
constexpr uint32_t kUndefinedId = UINT32_MAX;

void PutLe(std::string* out, uint32_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>(value >> (8 * i)));
}

void PutEntry(std::string* out, AclTag tag, mode_t perm, uint32_t id) {
  PutLe(out, tag, 2);
  PutLe(out, perm, 2);
  PutLe(out, id, 4);
}

}  // namespace

bool IsReservedName(const Node* parent, absl::string_view name) {
  return parent->is_tree_root() && name == kAppsDirName;
}

std::optional<uint32_t> ParseViewUid(absl::string_view name) {
  if (name.empty() || name.size() > 10 || (name[0] == '0' && name.size() > 1)) {
    return std::nullopt;
  }
  uint64_t uid = 0;
  for (char c : name) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    uid = uid * 10 + static_cast<uint64_t>(c - '0');
  }
  if (uid >= kSharedTree) return std::nullopt;
  return static_cast<uint32_t>(uid);
}

int AdmitToView(const policy::Engine& engine, const Caller& caller,
                const Node* node, Caller* acting) {
  *acting = caller;
  if (!node->in_app_view()) return 0;
  const uint32_t uid = node->app_uid;
  if ((caller.uid != uid && caller.uid != 0) || !engine.IdentifiesByUid(uid)) {
    return EACCES;
  }
  acting->uid = uid;
  return 0;
}

struct stat ViewRootAttr(const struct stat& root, uint32_t uid) {
  struct stat st = root;
  const mode_t special = root.st_mode & (S_ISUID | S_ISGID | S_ISVTX);
  const mode_t rights = RightsOf(root, uid);
  st.st_mode = S_IFDIR | special |
               (root.st_uid == uid ? rights << 6 : rights << 3);
  return st;
}

std::string ViewRootAcl(const struct stat& root, uint32_t uid) {
  if (root.st_uid == uid) return {};
  const mode_t rights = RightsOf(root, uid);
  std::string acl;
  PutLe(&acl, kAclVersion, 4);
  PutEntry(&acl, kUserObj, 0, kUndefinedId);
  PutEntry(&acl, kUser, rights, uid);
  PutEntry(&acl, kGroupObj, 0, kUndefinedId);
  PutEntry(&acl, kMask, rights, kUndefinedId);
  PutEntry(&acl, kOther, 0, kUndefinedId);
  return acl;
}

struct stat AppsDirAttr(const struct stat& root) {
  struct stat st = root;
  st.st_mode = S_IFDIR | 0555;
  st.st_uid = 0;
  st.st_gid = 0;
  st.st_nlink = 2;
  st.st_size = 0;
  return st;
}

}  // namespace scopedfs
