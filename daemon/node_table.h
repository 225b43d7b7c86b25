// The inode table: one Node per backing inode, keyed by (st_dev, st_ino).
//
// Each Node owns an O_PATH descriptor of its backing inode; every name is
// resolved with openat-family calls relative to such a descriptor, never by
// joining path strings. Holding the descriptor also pins the backing inode, so
// its number cannot be reused by another file while the kernel still knows the
// node.
//
// Lifetime follows the FUSE protocol exactly: every reply that hands the kernel
// an entry (lookup, create, mknod, mkdir, symlink, link, readdirplus) adds one
// lookup; FORGET subtracts what the kernel says. The node (and its descriptor)
// goes away when the count reaches zero. The root node is never forgotten.
//
// The FUSE node id is the Node's address, as in libfuse's passthrough_hp: the
// kernel only ever sends ids we gave it, and a node outlives all of them.
//
// Each node also remembers the name it was last reached by (parent + name):
// the policy decides by path. A parent is kept alive by its children's
// references, so a path can always be rebuilt. Renames through the mount move
// the name; a hard-linked file is judged by the name it was last looked up by.
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

struct Node {
  Node(int fd, dev_t dev, ino_t ino, mode_t type, bool redacted_view = false)
      : fd(fd), dev(dev), ino(ino), type(type), redacted_view(redacted_view) {}
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

  // Kernel passthrough: one backing id per inode, registered on the first
  // passthrough open, shared by every further open, released on the last
  // release (see passthrough.h). Guarded by `mu`.
  absl::Mutex mu;
  int backing_id = 0;
  int backing_refs = 0;
  // Opens served through the daemon (no backing id). The kernel refuses to
  // mix them with passthrough opens of the same inode, so a node has one
  // kind or the other at any time.
  int daemon_opens = 0;
  int daemon_writers = 0;  // Of those, opened for writing.

  // Guarded by NodeTable::mu_.
  uint64_t nlookup = 0;
  std::shared_ptr<Node> parent;  // Null for the root.
  std::string name;              // Last name under `parent`.
  uint64_t last_lookup = 0;      // The table's clock then (see Coldest).

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

  // Finds or inserts the node for `st`, reached as `name` under `parent`, adds
  // one lookup and returns it. Takes ownership of `fd`: kept for a new node,
  // closed when the node already exists.
  Node* Acquire(int fd, const struct stat& st, Node* parent,
                absl::string_view name, bool redacted_view = false);

  // Like Acquire for an inode the table already has (no descriptor needed:
  // the common revalidating lookup); null if it has none.
  Node* AcquireKnown(const struct stat& st, Node* parent, absl::string_view name,
                     bool redacted_view = false);

  // The node of a backing inode (in one view) the kernel knows, or null.
  Node* Find(dev_t dev, ino_t ino, bool redacted_view = false) const;

  // Records that `node` is now `name` under `parent` (after a rename).
  void Rename(Node* node, Node* parent, absl::string_view name);

  // The node's path relative to the root ("" for the root itself).
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
  uint64_t LookupCount(const Node* node) const;

 private:
  using Key = std::tuple<dev_t, ino_t, bool>;  // (dev, ino, redacted view)
  mutable absl::Mutex mu_;
  std::shared_ptr<Node> SharedOf(Node* node) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The entry (parent id and name) by which the kernel knows a non-root node.
  Entry EntryOf(const Node& node) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // One more lookup of `node`, now known as `name` under `parent`.
  void AddLookup(Node* node, Node* parent, absl::string_view name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::flat_hash_map<Key, std::shared_ptr<Node>> nodes_ ABSL_GUARDED_BY(mu_);
  uint64_t clock_ ABSL_GUARDED_BY(mu_) = 0;  // Counts lookups.
  size_t grow_above_ = 0;
  std::function<void()> grow_listener_;
  std::shared_ptr<Node> root_;
  std::atomic<uint64_t> next_tag_{1};
};

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_NODE_TABLE_H_
