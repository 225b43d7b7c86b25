#include "audit/owners.h"

#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"
#include "audit/path_util.h"

namespace scopedfs::audit {

void OwnerIndex::Load(std::vector<std::pair<std::string, Owner>> records) {
  absl::MutexLock lock(&mu_);
  records_.clear();
  for (auto& [path, owner] : records) {
    records_.insert_or_assign(std::move(path), std::move(owner));
  }
}

void OwnerIndex::LogLocked(OwnerChange change) {
  changes_.push_back(std::move(change));
  ++changes_logged_;
}

void OwnerIndex::Notify() {
  if (listener_) listener_();
}

std::optional<Owner> OwnerIndex::Get(absl::string_view path, uint64_t dev,
                                     uint64_t ino, BirthTimeFn birth_time) {
  Owner owner;
  {
    absl::MutexLock lock(&mu_);
    auto it = records_.find(path);
    if (it == records_.end()) return std::nullopt;
    owner = it->second;
  }
  // The birth time is a system call: asked without the lock held.
  if (owner.dev == dev && owner.ino == ino) {
    if (owner.birth_nanos == 0) return owner;
    const std::optional<int64_t> born = birth_time();
    if (!born.has_value()) return std::nullopt;  // Cannot tell: not owned.
    if (*born == owner.birth_nanos) return owner;
  }
  // Replaced or renamed behind our back: fail closed, forget it.
  DropStale(path, owner);
  return std::nullopt;
}

void OwnerIndex::DropStale(absl::string_view path, const Owner& seen) {
  {
    absl::MutexLock lock(&mu_);
    auto it = records_.find(path);
    // A record set meanwhile (a create through the mount) is not ours to drop.
    if (it == records_.end() || it->second.dev != seen.dev ||
        it->second.ino != seen.ino ||
        it->second.birth_nanos != seen.birth_nanos ||
        it->second.time_unix_nanos != seen.time_unix_nanos) {
      return;
    }
    records_.erase(it);
    OwnerChange change;
    change.kind = OwnerChange::kRemove;
    change.path = std::string(path);
    LogLocked(std::move(change));
  }
  Notify();
}

bool OwnerIndex::IsOwner(absl::string_view path, uint64_t dev, uint64_t ino,
                         BirthTimeFn birth_time, uint32_t caller_uid) {
  const std::optional<Owner> owner = Get(path, dev, ino, birth_time);
  return owner.has_value() && owner->uid == caller_uid;
}

void OwnerIndex::Set(absl::string_view path, Owner owner) {
  {
    absl::MutexLock lock(&mu_);
    records_.insert_or_assign(std::string(path), owner);
    OwnerChange change;
    change.kind = OwnerChange::kSet;
    change.path = std::string(path);
    change.owner = std::move(owner);
    LogLocked(std::move(change));
  }
  Notify();
}

void OwnerIndex::Remove(absl::string_view path) {
  {
    absl::MutexLock lock(&mu_);
    auto it = records_.find(path);
    if (it == records_.end()) return;
    records_.erase(it);
    OwnerChange change;
    change.kind = OwnerChange::kRemove;
    change.path = std::string(path);
    LogLocked(std::move(change));
  }
  Notify();
}

size_t OwnerIndex::EraseTreeLocked(absl::string_view root) {
  size_t n = records_.erase(root);
  auto first = records_.lower_bound(internal::DescendantsLow(root));
  auto last = records_.lower_bound(internal::DescendantsHigh(root));
  n += static_cast<size_t>(std::distance(first, last));
  records_.erase(first, last);
  return n;
}

std::vector<std::pair<std::string, Owner>> OwnerIndex::ExtractTreeLocked(
    absl::string_view root) {
  std::vector<std::pair<std::string, Owner>> out;
  auto it = records_.find(root);
  if (it != records_.end()) {
    out.emplace_back("", std::move(it->second));
    records_.erase(it);
  }
  auto first = records_.lower_bound(internal::DescendantsLow(root));
  auto last = records_.lower_bound(internal::DescendantsHigh(root));
  for (auto i = first; i != last; ++i) {
    out.emplace_back(i->first.substr(root.size()), std::move(i->second));
  }
  records_.erase(first, last);
  return out;
}

void OwnerIndex::RemoveTree(absl::string_view path) {
  {
    absl::MutexLock lock(&mu_);
    if (EraseTreeLocked(path) == 0) return;
    OwnerChange change;
    change.kind = OwnerChange::kRemoveTree;
    change.path = std::string(path);
    LogLocked(std::move(change));
  }
  Notify();
}

void OwnerIndex::MoveTree(absl::string_view from, absl::string_view to) {
  if (from == to) return;
  {
    absl::MutexLock lock(&mu_);
    // Same order as the database: the target tree goes first, then whatever
    // is (still) at or below `from` moves.
    const size_t replaced = EraseTreeLocked(to);
    auto moved = ExtractTreeLocked(from);
    if (replaced == 0 && moved.empty()) return;
    for (auto& [suffix, owner] : moved) {
      records_.insert_or_assign(absl::StrCat(to, suffix), std::move(owner));
    }
    OwnerChange change;
    change.kind = OwnerChange::kMoveTree;
    change.path = std::string(from);
    change.to = std::string(to);
    LogLocked(std::move(change));
  }
  Notify();
}

void OwnerIndex::Exchange(absl::string_view a, absl::string_view b) {
  // The kernel refuses to exchange a tree with one inside it; so do we.
  if (internal::PathIsUnder(a, b) || internal::PathIsUnder(b, a)) return;
  {
    absl::MutexLock lock(&mu_);
    auto tree_a = ExtractTreeLocked(a);
    auto tree_b = ExtractTreeLocked(b);
    if (tree_a.empty() && tree_b.empty()) return;
    for (auto& [suffix, owner] : tree_a) {
      records_.insert_or_assign(absl::StrCat(b, suffix), std::move(owner));
    }
    for (auto& [suffix, owner] : tree_b) {
      records_.insert_or_assign(absl::StrCat(a, suffix), std::move(owner));
    }
    OwnerChange change;
    change.kind = OwnerChange::kExchange;
    change.path = std::string(a);
    change.to = std::string(b);
    LogLocked(std::move(change));
  }
  Notify();
}

size_t OwnerIndex::size() const {
  absl::MutexLock lock(&mu_);
  return records_.size();
}

std::vector<OwnerChange> OwnerIndex::TakeChanges() {
  absl::MutexLock lock(&mu_);
  std::vector<OwnerChange> out;
  out.swap(changes_);
  return out;
}

void OwnerIndex::ReturnChanges(std::vector<OwnerChange> changes) {
  if (changes.empty()) return;
  absl::MutexLock lock(&mu_);
  changes.insert(changes.end(), std::make_move_iterator(changes_.begin()),
                 std::make_move_iterator(changes_.end()));
  changes_ = std::move(changes);
}

size_t OwnerIndex::pending_changes() const {
  absl::MutexLock lock(&mu_);
  return changes_.size();
}

uint64_t OwnerIndex::changes_logged() const {
  absl::MutexLock lock(&mu_);
  return changes_logged_;
}

void OwnerIndex::SetChangeListener(std::function<void()> listener) {
  listener_ = std::move(listener);
}

}  // namespace scopedfs::audit
