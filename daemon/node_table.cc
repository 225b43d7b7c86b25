#include "daemon/node_table.h"

#include <unistd.h>

#include <algorithm>

#include "daemon/log.h"

namespace scopedfs {

namespace {

constexpr uint64_t kRootId = 1;  // FUSE_ROOT_ID; no FUSE header needed here.

// Whether a lookup of `st` that finds no per-name node of it makes one: a
// file with several names. A directory has one (its st_nlink counts its
// subdirectories).
bool HasSeveralNames(const struct stat& st) {
  return !S_ISDIR(st.st_mode) && st.st_nlink > 1;
}

// Whether `node` stands for `name` in the directory `dir`. Compared by the
// directory's inode, not its node: a directory the kernel forgot while a
// child kept its node alive, then looked up again, is a new node.
bool StandsFor(const Node& node, const Node* dir, absl::string_view name) {
  return node.parent != nullptr && node.parent->dev == dir->dev &&
         node.parent->ino == dir->ino && node.name == name;
}

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

Node* NodeTable::FindPerName(const struct stat& st, bool redacted_view,
                             const Node* parent,
                             absl::string_view name) const {
  auto it = per_name_.find(InodeKey{st.st_dev, st.st_ino});
  if (it == per_name_.end()) return nullptr;
  for (const std::shared_ptr<Node>& node : it->second) {
    if (node->redacted_view == redacted_view && !node->superseded &&
        StandsFor(*node, parent, name)) {
      return node.get();
    }
  }
  return nullptr;
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
    node = FindPerName(st, redacted_view, parent, name);
    if (node != nullptr) {
      close(fd);
    } else if (HasSeveralNames(st)) {
      auto made = std::make_shared<Node>(fd, st.st_dev, st.st_ino,
                                         st.st_mode & S_IFMT, redacted_view,
                                         /*per_name=*/true);
      made->cache_tag = next_tag_++;
      node = made.get();
      per_name_[InodeKey{st.st_dev, st.st_ino}].push_back(std::move(made));
      ++per_name_count_;
      grew = shared_.size() + per_name_count_ > grow_above_;
    } else {
      auto [it, inserted] =
          shared_.try_emplace(SharedKey{st.st_dev, st.st_ino, redacted_view});
      if (inserted) {
        it->second = std::make_shared<Node>(fd, st.st_dev, st.st_ino,
                                            st.st_mode & S_IFMT, redacted_view);
        it->second->cache_tag = next_tag_++;
        grew = shared_.size() + per_name_count_ > grow_above_;
      } else {
        close(fd);
      }
      node = it->second.get();
    }
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
    SetName(node, parent, name);
  }
}

void NodeTable::SetName(Node* node, Node* parent, absl::string_view name) {
  if (node == root_.get() || node == parent) return;
  // `parent` is a node the kernel knows (it named it in this request), so
  // it is alive and owned by the table or a child.
  node->parent = parent->shared_from_this();
  node->name = std::string(name);
  node->cache_tag = next_tag_++;
}

Node* NodeTable::AcquireKnown(const struct stat& st, Node* parent,
                              absl::string_view name, bool redacted_view) {
  if (st.st_dev == root_->dev && st.st_ino == root_->ino) return root_.get();
  absl::MutexLock lock(&mu_);
  Node* node = FindPerName(st, redacted_view, parent, name);
  if (node == nullptr && !HasSeveralNames(st)) {
    auto it = shared_.find(SharedKey{st.st_dev, st.st_ino, redacted_view});
    if (it != shared_.end()) node = it->second.get();
  }
  if (node == nullptr) return nullptr;
  AddLookup(node, parent, name);
  return node;
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
    if (node->per_name) {
      auto it = per_name_.find(InodeKey{node->dev, node->ino});
      if (it == per_name_.end()) return false;
      std::vector<std::shared_ptr<Node>>& nodes = it->second;
      auto pos = std::find_if(nodes.begin(), nodes.end(),
                              [node](const std::shared_ptr<Node>& candidate) {
                                return candidate.get() == node;
                              });
      if (pos == nodes.end()) return false;
      doomed = std::move(*pos);
      if (pos != nodes.end() - 1) *pos = std::move(nodes.back());
      nodes.pop_back();
      if (nodes.empty()) per_name_.erase(it);
      --per_name_count_;
    } else {
      auto it = shared_.find(SharedKey{node->dev, node->ino, node->redacted_view});
      if (it == shared_.end() || it->second.get() != node) return false;
      doomed = std::move(it->second);
      shared_.erase(it);
    }
  }
  return true;
}

std::vector<NodeTable::NodeRef> NodeTable::NodesOf(dev_t dev, ino_t ino) const {
  std::vector<NodeRef> out;
  if (dev == root_->dev && ino == root_->ino) {
    out.push_back(NodeRef{kRootId, false});
    return out;
  }
  absl::MutexLock lock(&mu_);
  for (bool view : {false, true}) {
    auto it = shared_.find(SharedKey{dev, ino, view});
    if (it != shared_.end()) out.push_back(NodeRef{IdOf(it->second.get()), view});
  }
  auto it = per_name_.find(InodeKey{dev, ino});
  if (it != per_name_.end()) {
    for (const std::shared_ptr<Node>& node : it->second) {
      out.push_back(NodeRef{IdOf(node.get()), node->redacted_view});
    }
  }
  return out;
}

std::vector<Node*> NodeTable::NodesNamed(const struct stat& st, const Node* dir,
                                         absl::string_view name) const {
  std::vector<Node*> out;
  auto it = per_name_.find(InodeKey{st.st_dev, st.st_ino});
  if (it != per_name_.end()) {
    for (const std::shared_ptr<Node>& node : it->second) {
      if (!node->superseded && StandsFor(*node, dir, name)) {
        out.push_back(node.get());
      }
    }
  }
  // A shared node stands for its file's only name, whatever name it last
  // recorded (the file may have been renamed behind the daemon's back); for
  // a file with several names, only for the name it records (the kernel
  // knew it by that name before the file got another).
  const bool one_name = !HasSeveralNames(st);
  for (bool view : {false, true}) {
    auto shared = shared_.find(SharedKey{st.st_dev, st.st_ino, view});
    if (shared != shared_.end() &&
        (one_name || StandsFor(*shared->second, dir, name))) {
      out.push_back(shared->second.get());
    }
  }
  return out;
}

void NodeTable::Renamed(Node* from, absl::string_view name,
                        const struct stat& src, Node* to,
                        absl::string_view newname, const struct stat* dst,
                        bool exchange) {
  absl::MutexLock lock(&mu_);
  if (from->dev == to->dev && from->ino == to->ino && name == newname) return;
  const std::vector<Node*> moving = NodesNamed(src, from, name);
  std::vector<Node*> swapping;
  if (dst != nullptr && exchange) {
    swapping = NodesNamed(*dst, to, newname);
  } else if (dst != nullptr) {
    // `newname` is the source's now. Its former file's per-name nodes must
    // not be found by that name again: when both names were links of one
    // file (a rename the backing file system makes a no-op, which the
    // kernel takes for a move), one of the source's nodes stands for it.
    auto it = per_name_.find(InodeKey{dst->st_dev, dst->st_ino});
    if (it != per_name_.end()) {
      for (const std::shared_ptr<Node>& node : it->second) {
        if (StandsFor(*node, to, newname)) node->superseded = true;
      }
    }
  }
  for (Node* node : moving) SetName(node, to, newname);
  for (Node* node : swapping) SetName(node, from, name);
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

template <typename Fn>
void NodeTable::ForEachNode(Fn fn) const {
  for (const auto& [key, node] : shared_) fn(*node);
  for (const auto& [key, nodes] : per_name_) {
    for (const std::shared_ptr<Node>& node : nodes) fn(*node);
  }
}

std::vector<NodeTable::Entry> NodeTable::Snapshot() const {
  absl::MutexLock lock(&mu_);
  std::vector<Entry> out;
  out.reserve(shared_.size() + per_name_count_);
  ForEachNode([&](const Node& node) {
    if (node.parent != nullptr) out.push_back(EntryOf(node));
  });
  return out;
}

std::vector<NodeTable::Entry> NodeTable::Coldest(size_t n) const {
  std::vector<std::pair<uint64_t, const Node*>> candidates;
  std::vector<Entry> out;
  absl::MutexLock lock(&mu_);
  candidates.reserve(shared_.size() + per_name_count_);
  ForEachNode([&](const Node& node) {
    if (node.parent == nullptr || node.type == S_IFDIR) return;
    candidates.emplace_back(node.last_lookup, &node);
  });
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
  return shared_.size() + per_name_count_;
}

size_t NodeTable::per_name_size() const {
  absl::MutexLock lock(&mu_);
  return per_name_count_;
}

uint64_t NodeTable::LookupCount(const Node* node) const {
  absl::MutexLock lock(&mu_);
  return node->nlookup;
}

}  // namespace scopedfs
