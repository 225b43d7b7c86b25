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
#ifndef SCOPEDFS_DAEMON_NODE_TABLE_H_
#define SCOPEDFS_DAEMON_NODE_TABLE_H_

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace scopedfs {

struct Node {
  Node(int fd, dev_t dev, ino_t ino, mode_t type)
      : fd(fd), dev(dev), ino(ino), type(type) {}
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const int fd;      // O_PATH descriptor of the backing inode, owned.
  const dev_t dev;
  const ino_t ino;
  const mode_t type;  // S_IFMT bits, fixed for the life of an inode.

  // Kernel passthrough: one backing id per inode, registered on the first
  // passthrough open, shared by every further open, released on the last
  // release (see passthrough.h). Guarded by `mu`.
  absl::Mutex mu;
  int backing_id = 0;
  int backing_refs = 0;

  // Guarded by NodeTable::mu_.
  uint64_t nlookup = 0;
};

class NodeTable {
 public:
  // Takes ownership of `root_fd` (O_PATH of the backing root).
  explicit NodeTable(int root_fd, const struct stat& root_st);

  uint64_t IdOf(const Node* node) const;
  Node* Root() const { return root_.get(); }
  // Maps a kernel node id back to its node (FUSE_ROOT_ID is the root).
  Node* Get(uint64_t id) const;

  // Finds or inserts the node for `st`, adds one lookup and returns it. Takes
  // ownership of `fd`: kept for a new node, closed when the node already exists.
  Node* Acquire(int fd, const struct stat& st);

  // Subtracts `n` lookups; erases and destroys the node at zero. Returns true
  // if the node was erased. The root is never erased.
  bool Forget(Node* node, uint64_t n);

  size_t size() const;
  uint64_t LookupCount(const Node* node) const;

 private:
  using Key = std::pair<dev_t, ino_t>;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<Key, std::unique_ptr<Node>> nodes_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<Node> root_;
};

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_NODE_TABLE_H_
