#include "daemon/node_table.h"

#include <unistd.h>

#include "daemon/log.h"

namespace scopedfs {

namespace {
constexpr uint64_t kRootId = 1;  // FUSE_ROOT_ID; no FUSE header needed here.
}  // namespace

Node::~Node() {
  if (backing_refs != 0) {
    SFS_LOG(kError, "node %lu:%lu destroyed with %d backing refs", dev, ino,
            backing_refs);
  }
  close(fd);
}

NodeTable::NodeTable(int root_fd, const struct stat& root_st)
    : root_(std::make_unique<Node>(root_fd, root_st.st_dev, root_st.st_ino,
                                   root_st.st_mode & S_IFMT)) {
  root_->nlookup = 1;  // The kernel holds the root for the mount's life.
}

uint64_t NodeTable::IdOf(const Node* node) const {
  return node == root_.get() ? kRootId : reinterpret_cast<uintptr_t>(node);
}

Node* NodeTable::Get(uint64_t id) const {
  if (id == kRootId) return root_.get();
  return reinterpret_cast<Node*>(static_cast<uintptr_t>(id));
}

Node* NodeTable::Acquire(int fd, const struct stat& st) {
  if (st.st_dev == root_->dev && st.st_ino == root_->ino) {
    // The root reached by a name (e.g. a bind mount loop): the kernel knows it
    // as FUSE_ROOT_ID only; never hand out a second id for it.
    close(fd);
    return root_.get();
  }
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = nodes_.try_emplace(Key{st.st_dev, st.st_ino});
  if (inserted) {
    it->second = std::make_unique<Node>(fd, st.st_dev, st.st_ino,
                                        st.st_mode & S_IFMT);
  } else {
    close(fd);
  }
  ++it->second->nlookup;
  return it->second.get();
}

bool NodeTable::Forget(Node* node, uint64_t n) {
  if (node == root_.get()) return false;
  std::unique_ptr<Node> doomed;  // Destroyed (fd closed) outside the lock.
  {
    absl::MutexLock lock(&mu_);
    if (n > node->nlookup) {
      SFS_LOG(kError, "forget of %lu exceeds lookup count %lu of %lu:%lu", n,
              node->nlookup, node->dev, node->ino);
      n = node->nlookup;
    }
    node->nlookup -= n;
    if (node->nlookup != 0) return false;
    auto it = nodes_.find(Key{node->dev, node->ino});
    if (it == nodes_.end() || it->second.get() != node) return false;
    doomed = std::move(it->second);
    nodes_.erase(it);
  }
  return true;
}

size_t NodeTable::size() const {
  absl::MutexLock lock(&mu_);
  return nodes_.size();
}

uint64_t NodeTable::LookupCount(const Node* node) const {
  absl::MutexLock lock(&mu_);
  return node->nlookup;
}

}  // namespace scopedfs
