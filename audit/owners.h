// Who created what: the owner store. An inode created through the mount
// (create, mknod, mkdir, symlink) records its owner: the creating caller's
// uid (and, for display, its app). Policies test it with `owner: CALLER`.
// Nothing else makes an owner: a link() copies the record the source name
// has (the same inode, the same owner), a rename moves it, and only an admin
// (`scopedctl owner set`) gives a file to somebody else.
//
// Keyed by path relative to the mount root, like MediaProvider's rows: a
// rename moves the record (a directory rename every record below it), an
// unlink or rmdir removes it. Each record also keeps the inode (dev, ino) it
// was made for, and the inode's birth time (statx btime): a record whose
// inode no longer matches the file at its path (the file was replaced or
// renamed behind the daemon's back, in the backing dir) is stale. The birth
// time matters because file systems reuse the number of a deleted inode at
// once (ext4 does): a file deleted and re-created behind our back often has
// the old number, never the old birth time. Stale records are never honoured
// (the file counts as owned by nobody: fail closed) and are dropped when
// found.
//
// The index lives in memory (the FUSE threads ask it on every decision the
// policy's owner rules need) and every change is also logged for the
// database: the audit writer thread drains the log into the `owners` table in
// the same transactions as the events, in order. Owner changes are never
// dropped (unlike events); a crash can lose at most the changes of the last
// few milliseconds (not yet committed), which leaves those files unowned.
#ifndef SCOPEDFS_AUDIT_OWNERS_H_
#define SCOPEDFS_AUDIT_OWNERS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace scopedfs::audit {

struct Owner {
  std::string app;     // the creating caller's app; empty if it was none
  uint32_t uid = 0;    // the creating caller's uid
  uint64_t dev = 0;    // the inode the record is for
  uint64_t ino = 0;
  // The inode's birth time; 0 if its file system keeps none (or the record
  // predates birth times), in which case (dev, ino) alone identify it.
  int64_t birth_nanos = 0;
  int64_t time_unix_nanos = 0;
};

// The birth time of the file a question is about, asked only when a record
// for its (dev, ino) keeps one: 0 if its file system keeps none, nullopt if
// it cannot be told now (the file is then not owned, and the record kept).
using BirthTimeFn = absl::FunctionRef<std::optional<int64_t>()>;

// One change for the database, in the order the index applied them.
struct OwnerChange {
  enum Kind { kSet, kRemove, kMoveTree, kRemoveTree, kExchange } kind = kSet;
  std::string path;
  std::string to;  // kMoveTree: the new path; kExchange: the other path
  Owner owner;     // kSet
};

class OwnerIndex {
 public:
  OwnerIndex() = default;
  OwnerIndex(const OwnerIndex&) = delete;
  OwnerIndex& operator=(const OwnerIndex&) = delete;

  // Fills the index from the database at start (no changes logged).
  void Load(std::vector<std::pair<std::string, Owner>> records);

  // The record at `path` if it is for inode (dev, ino) born at
  // `birth_time()`. A record for another inode is stale: removed (and the
  // removal logged), nullopt returned.
  std::optional<Owner> Get(absl::string_view path, uint64_t dev, uint64_t ino,
                           BirthTimeFn birth_time);

  // Whether the caller with uid `caller_uid` owns the file (dev, ino,
  // birth_time()) at `path`: the record's uid is the caller's. The uid, not
  // the app name, is the identity: with Android uids it names the app *and*
  // the user (uid = user * 100000 + app id), so the same app of another
  // user, or another uid mapped to the same app, owns nothing here.
  bool IsOwner(absl::string_view path, uint64_t dev, uint64_t ino,
               BirthTimeFn birth_time, uint32_t caller_uid);

  // Records (or replaces) the owner of `path`.
  void Set(absl::string_view path, Owner owner);
  // Forgets `path` (unlink, rmdir). Removing an absent record is a no-op,
  // but still logged only when something was removed.
  void Remove(absl::string_view path);
  // Forgets `path` and everything below it.
  void RemoveTree(absl::string_view path);
  // A rename: the record of `from` and those below it move under `to`,
  // replacing what was there (the rename replaced the target).
  void MoveTree(absl::string_view from, absl::string_view to);
  // RENAME_EXCHANGE: the two trees swap.
  void Exchange(absl::string_view a, absl::string_view b);

  size_t size() const;

  // The changes since the last call, in order (for the writer thread).
  std::vector<OwnerChange> TakeChanges();
  // Puts changes the writer could not commit back at the front, to retry.
  void ReturnChanges(std::vector<OwnerChange> changes);
  // Number of changes waiting for the writer.
  size_t pending_changes() const;
  // Number of changes ever logged (not counting ReturnChanges): the writer
  // has committed everything logged before a call once it has committed
  // this many.
  uint64_t changes_logged() const;

  // Called (without the index's lock held) after every call that logged a
  // change, e.g. to wake the writer. Set once, before concurrent use.
  void SetChangeListener(std::function<void()> listener);

 private:
  // Drops the record at `path` as stale if it still is `seen`.
  void DropStale(absl::string_view path, const Owner& seen);
  // Appends to the log; the caller holds mu_.
  void LogLocked(OwnerChange change) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Erases `root` and its descendants; returns how many were erased.
  size_t EraseTreeLocked(absl::string_view root)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Removes `root` and its descendants from records_ into the result, with
  // paths relative to `root` ("" for root itself, "/x" below it).
  std::vector<std::pair<std::string, Owner>> ExtractTreeLocked(
      absl::string_view root) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Notify();

  mutable absl::Mutex mu_;
  absl::btree_map<std::string, Owner> records_ ABSL_GUARDED_BY(mu_);
  std::vector<OwnerChange> changes_ ABSL_GUARDED_BY(mu_);
  uint64_t changes_logged_ ABSL_GUARDED_BY(mu_) = 0;
  std::function<void()> listener_;
};

}  // namespace scopedfs::audit

#endif  // SCOPEDFS_AUDIT_OWNERS_H_
