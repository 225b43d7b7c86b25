// The inode table: the nodes (FUSE node ids) the kernel knows, each holding
// an O_PATH descriptor of its backing inode.
//
// Every name is resolved with openat-family calls relative to such a
// descriptor, never by joining path strings. Holding the descriptor also pins
// the backing inode, so its number cannot be reused by another file while the
// kernel still knows the node.
//
// Lifetime follows the FUSE protocol exactly: every reply that hands the kernel
// an entry (lookup, create, mknod, mkdir, symlink, link, readdirplus) adds one
// lookup; FORGET subtracts what the kernel says. The node (and its descriptor)
// goes away when the count reaches zero. The root node is never forgotten.
//
// The FUSE node id is the Node's address, as in libfuse's passthrough_hp: the
// kernel only ever sends ids we gave it, and a node outlives all of them.
//
// Names: the policy decides by path, and an OPEN, SETATTR or xattr request
// names only the node, so a node must stand for exactly one name. Each node
// remembers its name (parent + name); a parent is kept alive by its
// children's references, so a path can always be rebuilt. Which node a
// lookup of `name` under `parent` (file `st`) gets:
//   - a per-name node of that file already known under that very name, if
//     any (whatever its link count is now);
//   - else, for a non-directory with st_nlink > 1, a new per-name node: a
//     file with several names (hard links) has one node per name, keyed by
//     (dev, ino, view, parent's dev and ino, name), and is judged by the
//     name its node stands for, never by another name somebody else used;
//   - else the shared node of (dev, ino, view): directories (they have one
//     name), and files with one link, whose node follows the name they are
//     looked up by (a rename behind the daemon's back).
// A file that gains a link keeps its shared node for the dentries the kernel
// already has; fresh lookups of either name yield per-name nodes, and the
// kernel replaces a dentry whose lookup returns another node id. Renames
// through the mount move the nodes reached by the old name (Renamed).
//
// Several nodes of one backing inode (names, views) are several FUSE inodes
// to the kernel: each has its own passthrough backing id (all on the same
// backing file, so passthrough I/O stays coherent), its own page cache and
// attribute cache (daemon/server.h: NoteFileChanged), and every one reports
// the backing st_ino, so tools that compare st_dev/st_ino still see one file.
#ifndef SCOPEDFS_DAEMON_NODE_TABLE_H_
#define SCOPEDFS_DAEMON_NODE_TABLE_H_

#include <sys/stat.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace scopedfs {

class ViewCopy;  // daemon/reflinked_views.h

// Which tree a node is in: the shared mount, or the per-app view of one uid
// (MOUNT/.apps/<uid>/, daemon/app_views.h). Each tree has its own nodes for
// the same backing inodes: the kernel then caches each view's entries and
// attributes apart, and a view's identity is fixed.
inline constexpr uint32_t kSharedTree = UINT32_MAX;

// What a node stands for.
enum class NodeKind : uint8_t {
  kBacking,   // A backing inode reached by a name.
  kMountRoot, // The mount's root: SOURCE itself.
  kAppsDir,   // MOUNT/.apps: made up, lists the views; nothing in SOURCE.
  kViewRoot,  // MOUNT/.apps/<uid>: the backing root, as seen in that view.
};

// Shared ownership: the table, and each child (its `parent`).
struct Node : std::enable_shared_from_this<Node> {
  Node(int fd, dev_t dev, ino_t ino, mode_t type, bool redacted_view = false,
       bool per_name = false, uint32_t app_uid = kSharedTree,
       NodeKind kind = NodeKind::kBacking)
      : fd(fd),
        dev(dev),
        ino(ino),
        type(type),
        redacted_view(redacted_view),
        per_name(per_name),
        app_uid(app_uid),
        kind(kind) {}
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const int fd;      // O_PATH descriptor of the backing inode, owned.
  const dev_t dev;
  const ino_t ino;
  const mode_t type;  // S_IFMT bits, fixed for the life of an inode.
  // The location-redacted view of a regular file: its own node id, so the
  // kernel keeps its page cache and backing apart from the full view's
  // (daemon/access.h, "Views"). Same backing inode, same attributes.
  const bool redacted_view;
  // Stands for one name of a file with several (see the top of this file):
  // found by its name only, never by another name of the same file.
  const bool per_name;
  // kSharedTree, or the uid whose per-app view this node is in (its
  // parent's, down from the view's root).
  const uint32_t app_uid;
  const NodeKind kind;
  bool in_app_view() const { return app_uid != kSharedTree; }
  // The root of its tree: the mount root or a view's root. Paths (PathOf)
  // are relative to it, and `.apps` is reserved in it.
  bool is_tree_root() const {
    return kind == NodeKind::kMountRoot || kind == NodeKind::kViewRoot;
  }

  // Kernel passthrough: one backing id per node (FUSE inode), registered on
  // the first passthrough open, shared by every further open, released on
  // the last release (see passthrough.h). Guarded by `mu`.
  mutable absl::Mutex mu;
  int backing_id = 0;
  int backing_refs = 0;
  // For a redacted view served over a reflinked copy: the copy the backing
  // id was registered on (the kernel takes no other while it is open).
  std::shared_ptr<const ViewCopy> backing_copy;
  // Opens served through the daemon (no backing id). The kernel refuses to
  // mix them with passthrough opens of the same inode, so a node has one
  // kind or the other at any time.
  int daemon_opens = 0;
  int daemon_writers = 0;  // Of those, opened for writing.

  // Guarded by NodeTable::mu_.
  uint64_t nlookup = 0;
  std::shared_ptr<Node> parent;  // Null for the root.
  std::string name;              // Its name under `parent` (see above).
  uint64_t last_lookup = 0;      // The table's clock then (see Coldest).
  // A per-name node whose name another node of the same file took (a rename
  // through the mount over another name of the same file), a node of a tree
  // that cannot name the file any more, or a retired one (Retire): no
  // lookup finds it any more; it stays until the kernel forgets it.
  bool superseded = false;

  // Identifies this node *and its current name* in decision caches: unique
  // over the daemon's life (a node's address may be reused), renewed
  // whenever the node's own name changes.
  std::atomic<uint64_t> cache_tag{0};
};

class NodeTable {
 public:
  // Takes ownership of `root_fd` (O_PATH of the backing root).
  explicit NodeTable(int root_fd, const struct stat& root_st);

  uint64_t IdOf(const Node* node) const;
  Node* Root() const { return root_.get(); }
  // Maps a kernel node id back to its node (FUSE_ROOT_ID is the root).
  Node* Get(uint64_t id) const;

  // Finds or inserts the node for `st` (its mode and link count say which
  // kind, see the top of this file), reached as `name` under `parent`, adds
  // one lookup and returns it. Takes ownership of `fd`: kept for a new node,
  // closed when the node already exists.
  Node* Acquire(int fd, const struct stat& st, Node* parent,
                absl::string_view name, bool redacted_view = false);

  // MOUNT/.apps: made with the table, never forgotten.
  Node* AppsDir() const { return apps_dir_.get(); }
  // One more lookup of `.apps` (the kernel counts them like any node's).
  void AcquireAppsDir();
  // The root of `uid`'s per-app view (MOUNT/.apps/<uid>), adding one lookup.
  // Null if no descriptor of the backing root could be made.
  Node* AcquireViewRoot(uint32_t uid);
  // Whether any app view was ever entered (until then there is one tree).
  bool HasAppViews() const { return has_app_views_.load(std::memory_order_relaxed); }

  // Like Acquire when the table already has that node (no descriptor
  // needed: the common revalidating lookup); null if it has none.
  Node* AcquireKnown(const struct stat& st, Node* parent, absl::string_view name,
                     bool redacted_view = false);

  // Every node of the backing inode (dev, ino) the kernel knows: its names
  // and views, in every tree (for a directory: one per tree).
  struct NodeRef {
    uint64_t id;
    bool redacted_view;
  };
  std::vector<NodeRef> NodesOf(dev_t dev, ino_t ino) const;

  // After a rename through the mount of `name` under `from` (the file `src`,
  // as it was before) to `newname` under `to`: the nodes reached by the old
  // name now stand for the new one, in both redacted and full views and in
  // every tree (the shared mount and each app view) that knows both
  // directories; in a tree that does not know `to`, they stand for nothing
  // any more (superseded). `dst` is the file that
  // `newname` named before, if any: with `exchange` its nodes take the old
  // name; otherwise it lost that name.
  void Renamed(Node* from, absl::string_view name, const struct stat& src,
               Node* to, absl::string_view newname, const struct stat* dst,
               bool exchange);

  // The node stands for nothing any more: no lookup finds it, the next one
  // makes a new node (a redacted view bound to an older copy of its file,
  // daemon/reflinked_views.h). It stays until the kernel forgets it.
  void Retire(Node* node);

  // The node's path relative to its tree's root ("" for the root itself).
  std::string PathOf(const Node* node) const;

  // Every known node with its parent's id and name (for cache invalidation).
  struct Entry {
    uint64_t parent_id;
    std::string name;
    uint64_t id;
    bool is_dir;
    bool redacted_view;
  };
  std::vector<Entry> Snapshot() const;

  // The `n` least recently looked-up nodes the kernel could be asked to
  // forget (NodeReclaimer): never the root nor a directory (dropping a
  // directory's entry would detach mounts below it, and its cached children
  // keep it anyway).
  std::vector<Entry> Coldest(size_t n) const;

  // Calls `fn` (without the table's lock) each time a new node makes the
  // table larger than `above`. Set before the table is shared; reset (empty
  // `fn`) only once nothing acquires nodes any more.
  void SetGrowthListener(size_t above, std::function<void()> fn);

  // Subtracts `n` lookups; erases and destroys the node at zero. Returns true
  // if the node was erased. The root is never erased.
  bool Forget(Node* node, uint64_t n);

  size_t size() const;
  // Of those, per-name nodes.
  size_t per_name_size() const;
  uint64_t LookupCount(const Node* node) const;

 private:
  using InodeKey = std::pair<dev_t, ino_t>;
  mutable absl::Mutex mu_;
  // The shared node of (st's inode, view, tree), if any.
  Node* FindShared(dev_t dev, ino_t ino, bool redacted_view,
                   uint32_t app_uid) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The node of directory (dev, ino) in tree `app_uid`, if the kernel knows
  // it there: the mount root for the root's inode in the shared tree.
  Node* DirInLocked(dev_t dev, ino_t ino, uint32_t app_uid) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The root of view `tree` with one more lookup, if the table has it
  // (SOURCE's root reached by a name inside that view).
  Node* AcquireViewRootLocked(uint32_t tree) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Files a new shared node.
  Node* AddShared(std::shared_ptr<Node> node) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The per-name node of (st, view) that stands for `name` under `parent`
  // (in `parent`'s tree).
  Node* FindPerName(const struct stat& st, bool redacted_view,
                    const Node* parent, absl::string_view name) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The nodes of `st` that stand for `name` under `dir` (both views, `dir`'s
  // tree).
  std::vector<Node*> NodesNamed(const struct stat& st, const Node* dir,
                                absl::string_view name) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `node` now stands for `name` under `parent`.
  void SetName(Node* node, Node* parent, absl::string_view name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The entry (parent id and name) by which the kernel knows a non-root node.
  Entry EntryOf(const Node& node) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // One more lookup of `node`, now known as `name` under `parent`.
  void AddLookup(Node* node, Node* parent, absl::string_view name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Calls `fn` on every node but the root.
  template <typename Fn>
  void ForEachNode(Fn fn) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Shared nodes: directories, files with one link; by inode, one per
  // (redacted view, tree) pair: a short list.
  absl::flat_hash_map<InodeKey, std::vector<std::shared_ptr<Node>>> shared_
      ABSL_GUARDED_BY(mu_);
  size_t shared_count_ ABSL_GUARDED_BY(mu_) = 0;
  // Per-name nodes, by inode: a file has few names, so a short list.
  absl::flat_hash_map<InodeKey, std::vector<std::shared_ptr<Node>>> per_name_
      ABSL_GUARDED_BY(mu_);
  size_t per_name_count_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t clock_ ABSL_GUARDED_BY(mu_) = 0;  // Counts lookups.
  size_t grow_above_ = 0;
  std::function<void()> grow_listener_;
  std::shared_ptr<Node> root_;
  std::shared_ptr<Node> apps_dir_;
  std::atomic<bool> has_app_views_{false};
  std::atomic<uint64_t> next_tag_{1};
};

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_NODE_TABLE_H_
