#include "daemon/node_table.h"

#include <fcntl.h>
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
// Only in `dir`'s tree.
bool StandsFor(const Node& node, const Node* dir, absl::string_view name) {
  return node.parent != nullptr && node.parent->dev == dir->dev &&
         node.parent->ino == dir->ino && node.app_uid == dir->app_uid &&
         node.name == name;
}

// Removes `node` from its inode's list in `map` (the list goes when empty)
// and returns the table's reference; null if it is not there.
std::shared_ptr<Node> TakeFrom(
    absl::flat_hash_map<std::pair<dev_t, ino_t>, std::vector<std::shared_ptr<Node>>>* map,
    const Node* node) {
  auto it = map->find(std::make_pair(node->dev, node->ino));
  if (it == map->end()) return nullptr;
  std::vector<std::shared_ptr<Node>>& nodes = it->second;
  auto pos = std::find_if(nodes.begin(), nodes.end(),
                          [node](const std::shared_ptr<Node>& candidate) {
                            return candidate.get() == node;
                          });
  if (pos == nodes.end()) return nullptr;
  std::shared_ptr<Node> taken = std::move(*pos);
  if (pos != nodes.end() - 1) *pos = std::move(nodes.back());
  nodes.pop_back();
  if (nodes.empty()) map->erase(it);
  return taken;
}

// A descriptor of the backing root for a made-up node (`.apps`, a view's
// root): its own, so every node closes exactly one.
int DupRoot(int root_fd) { return fcntl(root_fd, F_DUPFD_CLOEXEC, 0); }

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
                                   root_st.st_mode & S_IFMT,
                                   /*redacted_view=*/false, /*per_name=*/false,
                                   kSharedTree, NodeKind::kMountRoot)) {
  root_->nlookup = 1;  // The kernel holds the root for the mount's life.
  root_->cache_tag = next_tag_++;
  apps_dir_ = std::make_shared<Node>(DupRoot(root_fd), root_st.st_dev,
                                     root_st.st_ino, S_IFDIR,
                                     /*redacted_view=*/false,
                                     /*per_name=*/false, kSharedTree,
                                     NodeKind::kAppsDir);
  apps_dir_->parent = root_;
  apps_dir_->name = ".apps";
  apps_dir_->cache_tag = next_tag_++;
}

Node* NodeTable::FindShared(dev_t dev, ino_t ino, bool redacted_view,
                            uint32_t app_uid) const {
  auto it = shared_.find(InodeKey{dev, ino});
  if (it == shared_.end()) return nullptr;
  for (const std::shared_ptr<Node>& node : it->second) {
    if (node->redacted_view == redacted_view && node->app_uid == app_uid &&
        !node->superseded) {
      return node.get();
    }
  }
  return nullptr;
}

Node* NodeTable::AddShared(std::shared_ptr<Node> node) {
  node->cache_tag = next_tag_++;
  Node* raw = node.get();
  shared_[InodeKey{node->dev, node->ino}].push_back(std::move(node));
  ++shared_count_;
  return raw;
}

void NodeTable::AcquireAppsDir() {
  absl::MutexLock lock(&mu_);
  ++apps_dir_->nlookup;
}

Node* NodeTable::AcquireViewRoot(uint32_t uid) {
  has_app_views_ = true;
  absl::MutexLock lock(&mu_);
  Node* node = FindShared(root_->dev, root_->ino, false, uid);
  if (node == nullptr) {
    const int fd = DupRoot(root_->fd);
    if (fd < 0) return nullptr;
    node = AddShared(std::make_shared<Node>(
        fd, root_->dev, root_->ino, root_->type, /*redacted_view=*/false,
        /*per_name=*/false, uid, NodeKind::kViewRoot));
  }
  AddLookup(node, apps_dir_.get(), std::to_string(uid));
  return node;
}

Node* NodeTable::AcquireViewRootLocked(uint32_t tree) {
  Node* view_root = FindShared(root_->dev, root_->ino, false, tree);
  if (view_root != nullptr) AddLookup(view_root, nullptr, {});
  return view_root;
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
  const uint32_t tree = parent->app_uid;
  if (st.st_dev == root_->dev && st.st_ino == root_->ino) {
    // The root reached by a name (e.g. a bind mount loop): the kernel knows it
    // as its tree's root only; never hand out a second id for it.
    close(fd);
    if (tree == kSharedTree) return root_.get();
    absl::MutexLock lock(&mu_);
    return AcquireViewRootLocked(tree);
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
                                         /*per_name=*/true, tree);
      made->cache_tag = next_tag_++;
      node = made.get();
      per_name_[InodeKey{st.st_dev, st.st_ino}].push_back(std::move(made));
      ++per_name_count_;
      grew = shared_count_ + per_name_count_ > grow_above_;
    } else {
      node = FindShared(st.st_dev, st.st_ino, redacted_view, tree);
      if (node == nullptr) {
        node = AddShared(std::make_shared<Node>(fd, st.st_dev, st.st_ino,
                                                st.st_mode & S_IFMT,
                                                redacted_view,
                                                /*per_name=*/false, tree));
        grew = shared_count_ + per_name_count_ > grow_above_;
      } else {
        close(fd);
      }
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
  const uint32_t tree = parent->app_uid;
  const bool is_root = st.st_dev == root_->dev && st.st_ino == root_->ino;
  if (is_root && tree == kSharedTree) return root_.get();
  absl::MutexLock lock(&mu_);
  if (is_root) return AcquireViewRootLocked(tree);
  Node* node = FindPerName(st, redacted_view, parent, name);
  if (node == nullptr && !HasSeveralNames(st)) {
    node = FindShared(st.st_dev, st.st_ino, redacted_view, tree);
  }
  if (node == nullptr) return nullptr;
  AddLookup(node, parent, name);
  return node;
}

bool NodeTable::Forget(Node* node, uint64_t n) {
  if (node == root_.get()) return false;
  if (node == apps_dir_.get()) {
    absl::MutexLock lock(&mu_);
    node->nlookup -= std::min(n, node->nlookup);
    return false;
  }
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
    auto& map = node->per_name ? per_name_ : shared_;
    doomed = TakeFrom(&map, node);
    if (doomed == nullptr) return false;
    --(node->per_name ? per_name_count_ : shared_count_);
  }
  return true;
}

std::vector<NodeTable::NodeRef> NodeTable::NodesOf(dev_t dev, ino_t ino) const {
  std::vector<NodeRef> out;
  if (dev == root_->dev && ino == root_->ino) {
    out.push_back(NodeRef{kRootId, false});
  }
  absl::MutexLock lock(&mu_);
  for (const auto* map : {&shared_, &per_name_}) {
    auto it = map->find(InodeKey{dev, ino});
    if (it == map->end()) continue;
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
  auto shared = shared_.find(InodeKey{st.st_dev, st.st_ino});
  if (shared != shared_.end()) {
    for (const std::shared_ptr<Node>& node : shared->second) {
      if (node->app_uid == dir->app_uid && !node->superseded &&
          (one_name || StandsFor(*node, dir, name))) {
        out.push_back(node.get());
      }
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
  // Every tree that knows the source directory: the shared one, and the app
  // views with a node of it. Their nodes of the file must follow it too,
  // or a decision there would judge it by a name it no longer has.
  std::vector<uint32_t> trees = {kSharedTree};
  if (auto it = shared_.find(InodeKey{from->dev, from->ino}); it != shared_.end()) {
    for (const std::shared_ptr<Node>& node : it->second) {
      if (node->in_app_view() && !node->redacted_view) trees.push_back(node->app_uid);
    }
  }
  for (uint32_t tree : trees) {
    Node* from_dir = DirInLocked(from->dev, from->ino, tree);
    if (from_dir == nullptr) continue;
    Node* to_dir = DirInLocked(to->dev, to->ino, tree);
    const std::vector<Node*> moving = NodesNamed(src, from_dir, name);
    std::vector<Node*> swapping;
    if (to_dir != nullptr && dst != nullptr && exchange) {
      swapping = NodesNamed(*dst, to_dir, newname);
    } else if (to_dir != nullptr && dst != nullptr) {
      // `newname` is the source's now. Its former file's per-name nodes must
      // not be found by that name again: when both names were links of one
      // file (a rename the backing file system makes a no-op, which the
      // kernel takes for a move), one of the source's nodes stands for it.
      auto it = per_name_.find(InodeKey{dst->st_dev, dst->st_ino});
      if (it != per_name_.end()) {
        for (const std::shared_ptr<Node>& node : it->second) {
          if (StandsFor(*node, to_dir, newname)) node->superseded = true;
        }
      }
    }
    for (Node* node : moving) {
      // A tree that does not know the new directory cannot name the file:
      // its nodes stand for nothing now; a later lookup makes new ones.
      if (to_dir == nullptr) {
        node->superseded = true;
      } else {
        SetName(node, to_dir, newname);
      }
    }
    for (Node* node : swapping) SetName(node, from_dir, name);
  }
}

Node* NodeTable::DirInLocked(dev_t dev, ino_t ino, uint32_t app_uid) const {
  if (app_uid == kSharedTree && dev == root_->dev && ino == root_->ino) {
    return root_.get();
  }
  return FindShared(dev, ino, false, app_uid);
}

void NodeTable::Retire(Node* node) {
  absl::MutexLock lock(&mu_);
  node->superseded = true;
}

std::string NodeTable::PathOf(const Node* node) const {
  absl::MutexLock lock(&mu_);
  std::vector<const std::string*> parts;
  for (const Node* n = node; n != nullptr && !n->is_tree_root();
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
  for (const auto& [key, nodes] : shared_) {
    for (const std::shared_ptr<Node>& node : nodes) fn(*node);
  }
  for (const auto& [key, nodes] : per_name_) {
    for (const std::shared_ptr<Node>& node : nodes) fn(*node);
  }
}

std::vector<NodeTable::Entry> NodeTable::Snapshot() const {
  absl::MutexLock lock(&mu_);
  std::vector<Entry> out;
  out.reserve(shared_count_ + per_name_count_);
  ForEachNode([&](const Node& node) {
    if (node.parent != nullptr) out.push_back(EntryOf(node));
  });
  return out;
}

std::vector<NodeTable::Entry> NodeTable::Coldest(size_t n) const {
  std::vector<std::pair<uint64_t, const Node*>> candidates;
  std::vector<Entry> out;
  absl::MutexLock lock(&mu_);
  candidates.reserve(shared_count_ + per_name_count_);
  ForEachNode([&](const Node& node) {
    if (node.parent == nullptr || node.type == S_IFDIR) return;  // Roots too.
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
  return shared_count_ + per_name_count_;
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
