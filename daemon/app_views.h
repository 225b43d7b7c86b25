// Per-app views: MOUNT/.apps/<uid>/ is the whole share as the app with that
// uid sees it.
//
// Why: the kernel's dentry, attribute and listing caches are shared by every
// caller of a mount, so on the shared tree whatever the policy shows callers
// differently must be asked again on every path walk. Inside a view the
// identity is fixed (every decision is made for the view's uid, whoever
// asks), so the kernel may keep entries, attributes and listings for
// --timeout like any file system: an app that works in its view (a sandbox
// bind-mounts it at the share's usual path) gets kernel-speed metadata, sees
// redacted files as plain files of their own inode (no ESTALE dance), and its
// inotify watches see only its view's activity.
//
// Who may enter: the view's uid and root. The kernel enforces it on every
// path walk, cached or not: the view's root reports the share root's owner
// and group with no rights for them, and an ACL granting the view's uid
// (ViewRootAcl) what the share root grants it natively (its owner's bits if
// it owns the root, else the bits for others). The daemon checks it again on
// every request about a node of a view (AdmitToView), so a descriptor passed
// out of a view opens nothing.
//
// Only a uid that names its app by itself has a view (Engine::
// IdentifiesByUid): with apps identified by gid, two processes of one uid
// could be two apps, and a view must be one.
//
// `.apps` is reserved in the share's root and in every view's root: a
// backing entry of that name is shadowed (never listed, looked up, made,
// renamed or removed through the mount). `.apps` itself is never listed in
// the root (tools that walk the share do not descend into a copy of it);
// listing it shows the caller's own view (root: the views the kernel knows).
#ifndef SCOPEDFS_DAEMON_APP_VIEWS_H_
#define SCOPEDFS_DAEMON_APP_VIEWS_H_

#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "daemon/node_table.h"

namespace scopedfs {

struct Caller;
namespace policy {
class Engine;
}

inline constexpr absl::string_view kAppsDirName = ".apps";

// Whether `name` under `parent` is the reserved `.apps` of a tree's root.
bool IsReservedName(const Node* parent, absl::string_view name);

// The uid a name in `.apps` stands for: decimal digits without a sign or a
// leading zero, below 2^32 - 1; nullopt for any other name.
std::optional<uint32_t> ParseViewUid(absl::string_view name);

// 0 and the identity decisions are made for (`acting`): `caller` itself
// on the shared tree; the view's uid in an app view, if `caller` may enter
// it (EACCES if not, or if the policy no longer names the uid's app by the
// uid alone).
int AdmitToView(const policy::Engine& engine, const Caller& caller,
                const Node* node, Caller* acting);

// What a view's root reports, from the share root's status `root`: its
// owner and group, no rights for them or for others, and (as the ACL's
// mask) the rights of `uid`. When `uid` owns the root, plain owner bits.
struct stat ViewRootAttr(const struct stat& root, uint32_t uid);
// Its system.posix_acl_access value (empty: none, the mode says it all).
std::string ViewRootAcl(const struct stat& root, uint32_t uid);
// What `.apps` reports: a read-only directory of root's, with the share
// root's times.
struct stat AppsDirAttr(const struct stat& root);

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_APP_VIEWS_H_
