#include "daemon/node_table.h"

#include <unistd.h>

#include <algorithm>

#include "daemon/log.h"

namespace scopedfs {

namespace {
constexpr uint64_t kRootId = 1;  // FUSE_ROOT_ID; no FUSE header needed here.
}  // namespace

Node::~Node() {
  if (backing_refs != 0) {
    // Normal when the daemon stops with files still open (the kernel never
    // releases them): one line a second, not one per node.
    SFS_LOG_EVERY_SEC(kWarning, "node %lu:%lu destroyed with %d backing refs",
                      dev, ino, backing_refs);
  }
  close(fd);
}

NodeTable::NodeTable(int root_fd, const struct stat& root_st)
    : root_(std::make_shared<Node>(root_fd, root_st.st_dev, root_st.st_ino,
                                   root_st.st_mode & S_IFMT)) {
  root_->nlookup = 1;  // The kernel holds the root for the mount's life.
  root_->cache_tag = next_tag_++;
}

uint64_t NodeTable::IdOf(const Node* node) const {
  return node == root_.get() ? kRootId : reinterpret_cast<uintptr_t>(node);
}

Node* NodeTable::Get(uint64_t id) const {
  if (id == kRootId) return root_.get();
  return reinterpret_cast<Node*>(static_cast<uintptr_t>(id));
}

std::shared_ptr<Node> NodeTable::SharedOf(Node* node) const {
  if (node == root_.get()) return root_;
  auto it = nodes_.find(Key{node->dev, node->ino, node->redacted_view});
  return it != nodes_.end() && it->second.get() == node ? it->second : nullptr;
}

Node* NodeTable::Acquire(int fd, const struct stat& st, Node* parent,
                         absl::string_view name, bool redacted_view) {
  if (st.st_dev == root_->dev && st.st_ino == root_->ino) {
    // The root reached by a name (e.g. a bind mount loop): the kernel knows it
    // as FUSE_ROOT_ID only; never hand out a second id for it.
    close(fd);
    return root_.get();
  }
  Node* node;
  bool grew = false;
  {
    absl::MutexLock lock(&mu_);
    auto [it, inserted] =
        nodes_.try_emplace(Key{st.st_dev, st.st_ino, redacted_view});
    if (inserted) {
      it->second = std::make_shared<Node>(fd, st.st_dev, st.st_ino,
                                          st.st_mode & S_IFMT, redacted_view);
      it->second->cache_tag = next_tag_++;
      grew = nodes_.size() > grow_above_;
    } else {
      close(fd);
    }
    node = it->second.get();
    AddLookup(node, parent, name);
  }
  if (grew && grow_listener_) grow_listener_();
  return node;
}

void NodeTable::AddLookup(Node* node, Node* parent, absl::string_view name) {
  ++node->nlookup;
  node->last_lookup = ++clock_;
  if (parent != nullptr && parent != node &&
      (node->parent.get() != parent || node->name != name)) {
    node->parent = SharedOf(parent);
    node->name = std::string(name);
    node->cache_tag = next_tag_++;
  }
}

Node* NodeTable::AcquireKnown(const struct stat& st, Node* parent,
                              absl::string_view name, bool redacted_view) {
  if (st.st_dev == root_->dev && st.st_ino == root_->ino) return root_.get();
  absl::MutexLock lock(&mu_);
  auto it = nodes_.find(Key{st.st_dev, st.st_ino, redacted_view});
  if (it == nodes_.end()) return nullptr;
  AddLookup(it->second.get(), parent, name);
  return it->second.get();
}

bool NodeTable::Forget(Node* node, uint64_t n) {
  if (node == root_.get()) return false;
  std::shared_ptr<Node> doomed;  // Released (fd closed) outside the lock.
  {
    absl::MutexLock lock(&mu_);
    if (n > node->nlookup) {
      SFS_LOG(kError, "forget of %lu exceeds lookup count %lu of %lu:%lu", n,
              node->nlookup, node->dev, node->ino);
      n = node->nlookup;
    }
    node->nlookup -= n;
    if (node->nlookup != 0) return false;
    auto it = nodes_.find(Key{node->dev, node->ino, node->redacted_view});
    if (it == nodes_.end() || it->second.get() != node) return false;
    doomed = std::move(it->second);
    nodes_.erase(it);
  }
  return true;
}

Node* NodeTable::Find(dev_t dev, ino_t ino, bool redacted_view) const {
  absl::MutexLock lock(&mu_);
  if (dev == root_->dev && ino == root_->ino) return root_.get();
  auto it = nodes_.find(Key{dev, ino, redacted_view});
  return it == nodes_.end() ? nullptr : it->second.get();
}

void NodeTable::Rename(Node* node, Node* parent, absl::string_view name) {
  absl::MutexLock lock(&mu_);
  if (node == root_.get() || node == parent) return;
  node->parent = SharedOf(parent);
  node->name = std::string(name);
  node->cache_tag = next_tag_++;
}

std::string NodeTable::PathOf(const Node* node) const {
  absl::MutexLock lock(&mu_);
  std::vector<const std::string*> parts;
  for (const Node* n = node; n != nullptr && n->parent != nullptr;
       n = n->parent.get()) {
    parts.push_back(&n->name);
  }
  std::string path;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    if (!path.empty()) path.push_back('/');
    path.append(**it);
  }
  return path;
}

NodeTable::Entry NodeTable::EntryOf(const Node& node) const {
  return Entry{IdOf(node.parent.get()), node.name, IdOf(&node),
               node.type == S_IFDIR, node.redacted_view};
}

std::vector<NodeTable::Entry> NodeTable::Snapshot() const {
  absl::MutexLock lock(&mu_);
  std::vector<Entry> out;
  out.reserve(nodes_.size());
  for (const auto& [key, node] : nodes_) {
    if (node->parent == nullptr) continue;
    out.push_back(EntryOf(*node));
  }
  return out;
}

std::vector<NodeTable::Entry> NodeTable::Coldest(size_t n) const {
  std::vector<std::pair<uint64_t, const Node*>> candidates;
  std::vector<Entry> out;
  absl::MutexLock lock(&mu_);
  candidates.reserve(nodes_.size());
  for (const auto& [key, node] : nodes_) {
    if (node->parent == nullptr || node->type == S_IFDIR) continue;
    candidates.emplace_back(node->last_lookup, node.get());
  }
  n = std::min(n, candidates.size());
  std::nth_element(candidates.begin(), candidates.begin() + n, candidates.end());
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(EntryOf(*candidates[i].second));
  }
  return out;
}

void NodeTable::SetGrowthListener(size_t above, std::function<void()> fn) {
  grow_above_ = above;
  grow_listener_ = std::move(fn);
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
