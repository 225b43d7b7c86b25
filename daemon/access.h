// Where every access through the mount is decided.
//
// The FUSE ops (daemon/fuse/) call these before they touch the backing tree:
//   lookup, readdir         -> LOOKUP   (HIDE: ENOENT, the entry is left out)
//   open                    -> READ or WRITE (by access mode, O_TRUNC)
//   create, mknod, mkdir, symlink -> CREATE on the new name (of the new
//                              file's type: a FIFO is SPECIAL, a symlink
//                              SYMLINK, whatever the name says)
//   unlink, rmdir           -> DELETE
//   rename                  -> RENAME on the source; on the target RENAME if
//                              it exists, else CREATE; and the move must not
//                              give the caller any right on the file it does
//                              not have now (see "Moves" below)
//   link                    -> CREATE on the new name, and as a move
//   setattr, set/removexattr-> SETATTR (a size change is a WRITE)
// and, on the node itself, whichever descriptor reached it (a passed O_PATH
// descriptor, /proc/self/fd/N, an open directory):
//   getattr (not one the kernel sends for an open file's I/O), opendir,
//   readdir, readlink, statfs, getxattr, listxattr
//                           -> LOOKUP (CheckVisible; the mount root is always
//                              visible); refusals audited
//   getxattr, listxattr of user.* and trusted.*
//                           -> READ (CheckXattrValues): a caller that reads
//                              the redacted view finds them absent (ENODATA,
//                              left out of lists); one refused READ gets the
//                              refusal (left out of lists)
//   readlink                -> protected symlinks (CheckFollow): with a policy
//                              that has rules, a caller that is not root or a
//                              system uid follows (or reads) only the links it,
//                              root or a system uid owns; else EACCES, audited
//                              as READ with rule "protected-symlink". Symlink
//                              targets are never cached by the kernel
//                              (FUSE_CAP_CACHE_SYMLINKS off), so every follow
//                              by every caller is decided
//   link                    -> LOOKUP on the source node, CREATE on the new name
// The policy engine (//policy) answers; DENY becomes EACCES, HIDE ENOENT.
//
// Views: a caller whose READ verdict for a regular file is ALLOW_REDACTED
// (and who may not write it) reaches the file through its redacted view, a
// node of its own (CheckLookup). An open then lands on the right
// view (CheckOpen); one on the other view answers ESTALE, and the kernel
// looks the name up again and retries. Writes through a redacted view are
// refused (EACCES).
// Node decisions are cached per (uid, gid, node name tag, operation,
// generation): a new policy generation is never answered from an old
// decision, and a renamed node is decided again (a directory rename clears
// the cache: every path below it changed).
//
// The kernel's own permission checks (default_permissions) still apply on
// top: the policy can only take access away, never grant what the backing
// file system refuses the caller.
//
// Audit: every decision made here for a request (not the internal ones, such
// as the WRITE verdict that picks a view) becomes an audit event, handed to
// the audit log without waiting (audit/audit_log.h). Lookups are audited when
// they refuse (a hidden or denied name); readdir leaves hidden entries out
// and only counts them. A rule with `audit: false` is counted, not stored.
//
// Ownership: when the policy has owner rules, a decision on an existing file
// asks the owner store whether the caller's uid created it; the Note*
// methods keep the store in step with the names made, removed and moved
// through the mount. Only a new inode makes an owner (NoteCreated); a link
// copies the source name's record, a rename moves it.
//
// Moves (rename, link; daemon/access_moves.cc): a name is a capability, so
// moving or linking a file elsewhere must not widen what the caller may do
// with it. For every operation (LOOKUP, READ, WRITE, DELETE, RENAME,
// SETATTR) the verdict at the new name, for this same file with its same
// owner, must be no more than at the old one (ALLOW > ALLOW_REDACTED > the
// refusals). A directory rename applies this, and "RENAME, or DELETE and
// CREATE", to every entry below it (at most kMaxRenameTreeEntries: above,
// EXDEV, and mv copies file by file, each decided). Move decisions are
// always audited, even under rules with `audit: false`.
#ifndef SCOPEDFS_DAEMON_ACCESS_H_
#define SCOPEDFS_DAEMON_ACCESS_H_

#include <sys/stat.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"
#include "audit/audit_log.h"
#include "audit/process_info.h"
#include "daemon/content_class.h"
#include "daemon/node_table.h"
#include "daemon/open_writers.h"
#include "daemon/policy_store.h"
#include "daemon/redacted_view.h"
#include "daemon/redaction_cache.h"
#include "daemon/stats.h"
#include "policy/decision_cache.h"
#include "redact/redact.h"
#include "scopedfs/v1/policy.pb.h"

namespace scopedfs {

struct Caller {
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t pid = 0;  // For the audit trail only.
};

// Which outcomes of a decision go to the audit trail. kAlways and kIfRefused
// honour the deciding rule's `audit: false`; kForced does not (moves).
enum class AuditMode { kAlways, kIfRefused, kNever, kForced };

// Above this many entries below a directory, renaming it answers EXDEV
// instead of checking them all (rename(2) callers such as mv then copy and
// delete file by file, each decided). Checking costs a few microseconds per
// entry (bench/README.md).
inline constexpr size_t kMaxRenameTreeEntries = 10000;

class AccessMediator {
 public:
  AccessMediator(PolicyStore* policy, NodeTable* nodes, Stats* stats)
      : policy_(policy), nodes_(nodes), stats_(stats), contents_(stats) {}

  // Opens for writing through the mount, per file (kept by the FUSE ops).
  OpenWriters& open_writers() { return open_writers_; }

  // The audit log and owner store; null (the default) means neither; with
  // `store_events` false, decisions are counted but not stored. Set before
  // the mount serves.
  void set_audit_log(audit::AuditLog* log, bool store_events) {
    audit_ = log;
    store_events_ = store_events;
  }

  // 0 to proceed, else the errno to answer.
  int CheckNode(const Caller& caller, Node* node, v1::Operation op,
                AuditMode audit = AuditMode::kAlways);
  // `existing`: the file the name refers to, when the caller already has
  // its attributes (for the owner store; looked up when needed otherwise).
  int CheckName(const Caller& caller, Node* parent, absl::string_view name,
                v1::Operation op, bool is_dir,
                AuditMode audit = AuditMode::kAlways, int open_flags = 0,
                const struct stat* existing = nullptr);

  // CREATE of a new `name` under `parent` whose file type (S_IFMT bits) is
  // `type` (create, mknod, mkdir, symlink): special files and symlinks are
  // decided as their type's class, not by their name.
  int CheckCreate(const Caller& caller, Node* parent, absl::string_view name,
                  mode_t type, AuditMode audit = AuditMode::kAlways,
                  int open_flags = 0);

  // A rename of `name` under `from` (the file `src`) to `newname` under `to`
  // (the file `dst`, null if there is none) with rename(2) `flags`: both
  // names, and the move itself (see "Moves"). 0 to proceed, else the errno.
  int CheckRename(const Caller& caller, Node* from, absl::string_view name,
                  const struct stat& src, Node* to, absl::string_view newname,
                  const struct stat* dst, unsigned int flags);
  // A link of `node` (reached by the caller under the name it has in the
  // node table) as `newname` under `to`: CREATE there, and as a move.
  int CheckLink(const Caller& caller, Node* node, Node* to,
                absl::string_view newname);

  struct OpenVerdict {
    int err = 0;  // 0, or the errno to answer.
    // For an open of a redacted view: a read-only descriptor of the file
    // (the handle's, owned by the caller) and the view serving its reads,
    // planned on that descriptor.
    int fd = -1;
    std::unique_ptr<RedactedView> view;
    // Who the policy decided for (an app view's uid) and what it said: what
    // the handle keeps for revocation (AccessStands).
    Caller acting;
    std::string app;
    std::string profile;  // the redacted view's profile
    uint64_t generation = 0;  // of the engine that decided
  };
  // An open of `node` (READ or WRITE, `open_flags` for the audit trail),
  // view included. A redacted view is planned here, so the audit row says
  // what it redacts, and a file no redactor can vouch for is refused
  // (EACCES) whatever its name says.
  OpenVerdict CheckOpen(const Caller& caller, Node* node, v1::Operation op,
                        int open_flags);

  // Whether an open of `node` by `caller` as `op` (READ, WRITE or CREATE;
  // through the redacted view made with `view_profile`, or the real file
  // when null) would still be allowed by `engine`: the test a policy or
  // grant change puts open handles to. Decides without the cache (`engine`
  // may be one not yet in force) and records nothing. `*verdict` (if
  // given): the engine's verdict for `op`.
  bool AccessStands(const policy::Engine& engine, const Caller& caller,
                    Node* node, v1::Operation op,
                    const std::string* view_profile,
                    policy::Verdict* verdict = nullptr);
  // The same with the engine in force, for a handle's first daemon-served
  // read or write after a change: when the access no longer stands, the
  // refusal is audited (operation `op`, error EACCES) and EACCES returned.
  int RecheckHandle(const Caller& caller, Node* node, v1::Operation op,
                    const std::string* view_profile);
  // The caller the policy decides for when `real` acts on `node` (an app
  // view's uid inside one; `real` elsewhere or if it may not enter).
  Caller ActingCaller(const Caller& real, const Node* node);

  struct LookupVerdict {
    int err = 0;  // With mediation: ENOENT for HIDE, EACCES for DENY.
    // Whether the kernel may keep the entry for every caller: in an app view
    // always; on the shared tree where no caller that may look up the
    // parent could be shown another visibility, and none at all could find
    // it hidden (EntryIsSameForAll).
    bool shared_cache_ok = true;
    bool redacted = false;        // A regular file's redacted view.
  };
  // A lookup of `name` (file type `type`, S_IFMT bits) under `parent`: with
  // `mediate`, the LOOKUP verdict; whether the kernel may share the entry;
  // and which view of a regular file this caller gets. One path
  // computation, one engine.
  LookupVerdict CheckLookup(const Caller& caller, Node* parent,
                            absl::string_view name, const struct stat& st,
                            bool mediate, AuditMode audit);

  // A listing of `parent` (readdir, readdirplus) by `caller`: one LOOKUP
  // decision per entry, made on a path built in a buffer the listing
  // reuses (no allocation per entry once it has grown), counted, never
  // audited (a listing is no access; hidden entries are only counted).
  // The entry's status is read only when the policy can use it (owner or
  // class conditions), so an entry is hidden exactly when a lookup of it
  // would be. Use it within one request: it holds the engine of its start.
  class Listing {
   public:
    Listing(AccessMediator* access, const Caller& caller, Node* parent);
    struct Entry {
      int err = 0;  // ENOENT: hidden (leave it out); EACCES: denied (listed).
      // As LookupVerdict: whether the kernel may keep the entry for every
      // caller (else a readdirplus entry is better sent without attributes:
      // the kernel would have to look it up again anyway).
      bool shared_cache_ok = true;
    };
    // `name` as readdir returned it, `d_type` its type (DT_UNKNOWN allowed).
    Entry Check(absl::string_view name, unsigned char d_type);

   private:
    AccessMediator* const access_;
    Caller caller_;         // Who decides: in an app view, the view's uid.
    bool admitted_ = true;  // False: may not list here; every entry hidden.
    Node* const parent_;
    const std::shared_ptr<const policy::Engine> engine_;
    std::string path_;     // The parent's path and '/', then the entry's name.
    size_t prefix_ = 0;    // Length of the parent's part.
    std::optional<uint32_t> parent_owner_;  // For EntryIsSameForAll.
  };

  // Whether the kernel may keep a listing of `dir` for every caller who
  // lists it: in an app view always (its identity is fixed), `.apps` never
  // (listed per caller), on the shared tree where no caller could find a
  // child hidden that another sees (Engine::ListingMayVary; denied entries
  // are listed for everyone).
  bool ListingCacheAllowed(Node* dir);

  // Forgets cached decisions: after a directory rename, and after a policy
  // change (a new generation makes them misses anyway; this frees memory).
  void Clear() { cache_.Clear(); }

  // The owner store, after the change succeeded in the backing dir: `name`
  // under `parent` was made by `caller` (create, mknod, mkdir, symlink,
  // link) and is the file `st`...
  void NoteCreated(const Caller& caller, Node* parent, absl::string_view name,
                   const struct stat& st);
  // ...was linked from `node` as `newname` under `to` (the new name gets the
  // record the node's name has, if any: the same inode, the same owner)...
  void NoteLinked(Node* node, Node* to, absl::string_view newname,
                  const struct stat& st);
  // ...was removed (unlink, rmdir)...
  void NoteRemoved(Node* parent, absl::string_view name);
  // ...was renamed (its record, and for a directory those below it, move;
  // with `exchange` the two swap).
  void NoteRenamed(Node* from, absl::string_view name, Node* to,
                   absl::string_view newname, bool exchange);

  // Operations on a node, whichever descriptor reached it (see the table at
  // the top). 0 to proceed, else the errno to answer.
  //
  // Whether `caller` may see `node`: its LOOKUP verdict (cached per node),
  // audited when refused. The mount root is always visible: it is the mount
  // point itself, and the policy decides its entries one by one.
  int CheckVisible(const Caller& caller, Node* node);
  // Whether `caller` may learn the values of `node`'s user.* and trusted.*
  // attributes, which are data like the file's content: 0 if it reads the
  // real file; ENODATA (treat them as absent) if it reads the redacted view;
  // the READ refusal's errno otherwise (audited as `audit` says).
  int CheckXattrValues(const Caller& caller, Node* node, AuditMode audit);
  // Whether the kernel may follow, or read, the symlink `node` for `caller`
  // (protected symlinks, as fs.protected_symlinks does for sticky
  // directories, across policy domains): with a policy that has rules, a
  // caller that is not root or a system uid follows only links owned by
  // itself, root or a system uid; else EACCES, audited (READ of the link's
  // path, DENY, rule "protected-symlink").
  int CheckFollow(const Caller& caller, Node* node);

 private:
  struct Target;
  // Decides `op` on `path` (the file `target`, if it exists). A decision
  // that a class condition took part in is made again with the file's
  // content class (read only then: Target::ContentClass); content that
  // cannot be read fails closed (DENY).
  policy::Verdict Decide(const policy::Engine& engine, const Caller& caller,
                         absl::string_view path, v1::Operation op, bool is_dir,
                         const Target& target);
  // Finish's `redecide` for a decision about `node` itself.
  auto NodeRedecide(const Caller& caller, Node* node, v1::Operation op);
  // Plans the redacted view of `node` for an allowed redacted open.
  void PlanView(const policy::Engine& engine, const policy::Verdict& verdict,
                Node* node, OpenVerdict* out, std::string* described);
  // After a decision: its latency, the debug trace line, and the audit
  // event as `audit` says.
  // `path_of` is called only when a trace line or a stored event needs the
  // path (building a node's path walks its parents).
  // `redaction`: what a redacted open redacted (audit rows only).
  // Also counts the deciding rule's hit (PolicyStore::hits) and, with a
  // shadow policy installed, decides the request with it through
  // `redecide` (the same request, another engine): a verdict that differs
  // is counted in the shadow report and stored in the audit trail with
  // the shadow's verdict, whatever `audit` says. Decisions the engine did
  // not make alone (the no-wider-rights rule of moves, protected symlinks)
  // pass no `redecide` and are not shadowed.
  using Redecide = absl::FunctionRef<policy::Verdict(const policy::Engine&)>;
  void Finish(const policy::Engine& engine, const Caller& caller,
              absl::FunctionRef<std::string()> path_of, v1::Operation op,
              int open_flags, const policy::Verdict& verdict, int err,
              uint64_t latency_nanos, AuditMode audit,
              std::optional<Redecide> redecide, std::string redaction = {});
  // The rule hit of a decision (Finish).
  void CountHit(const policy::Engine& engine, const policy::Verdict& verdict,
                int err, int64_t now);
  // Hands a decision to be stored to the audit log (`shadow`: the shadow
  // policy's differing verdict, if any).
  void Audit(const policy::Engine& engine, const Caller& caller,
             std::string path, v1::Operation op, int open_flags,
             const policy::Verdict& verdict, int err, uint64_t latency_nanos,
             std::string redaction, const policy::Verdict* shadow = nullptr);
  // A name decision on `path` about `target`, counted and audited.
  int CheckTarget(const Caller& caller, const policy::Engine& engine,
                  const std::string& path, v1::Operation op, bool is_dir,
                  const Target& target, AuditMode audit, int open_flags);
  // Whether moving the file `target` from `from_path` to `to_path` gives the
  // caller no right it lacks now (see "Moves"); if it would, `*denied`
  // gets the verdict at `to_path` that is wider and `*op` its operation.
  bool MoveKeepsRights(const policy::Engine& engine, const Caller& caller,
                       const std::string& from_path, const std::string& to_path,
                       bool is_dir, const Target& target,
                       policy::Verdict* denied, v1::Operation* op);
  // Every entry below the directory `src` (name under `from`) moved to
  // `to_path`: 0, EACCES (with an audit row naming the entry), or EXDEV
  // above kMaxRenameTreeEntries.
  int CheckTreeMove(const policy::Engine& engine, const Caller& caller,
                    Node* from, absl::string_view name,
                    const std::string& from_path, const std::string& to_path);
  // Whether the kernel may keep the entry `name` under the directory
  // `parent_path` (whose owner is `parent_owner`), the file `child` at
  // `path`, for every caller: no caller that may look up the parent could
  // be shown another visibility, and no caller at all could find it hidden
  // (a passed descriptor of the parent reaches it without a lookup). Which
  // view of a file a caller gets does not matter (CheckOpen's ESTALE).
  // Lookups and listings.
  bool EntryIsSameForAll(const policy::Engine& engine,
                         absl::string_view parent_path,
                         std::optional<uint32_t> parent_owner,
                         absl::string_view name, absl::string_view path,
                         const Target& child);
  // The uid the owner store records for the file `target` at `path`, when
  // the policy has owner rules and there is a record for that very inode.
  std::optional<uint32_t> OwnerUid(const policy::Engine& engine,
                                   absl::string_view path,
                                   const Target& target);
  // Who decisions about `node` are made for (daemon/app_views.h): `caller`
  // on the shared tree, the view's uid in an app view; 0, else the errno
  // (EACCES: may not enter that view; EPERM: `.apps` itself), counted.
  int Acting(const policy::Engine& engine, const Caller& caller,
             const Node* node, Caller* acting);
  // The same for a name under `parent`, which must not be the reserved
  // `.apps` of a tree's root (EPERM).
  int ActingOnName(const policy::Engine& engine, const Caller& caller,
                   const Node* parent, absl::string_view name,
                   Caller* acting);
  // `name` under `parent` as a policy path ("" name: the parent itself).
  std::string ChildPath(Node* parent, absl::string_view name) const;
  // Counts the outcome and maps it to an errno.
  int RecordOutcome(v1::Action action, v1::Operation op);

  // A verdict for `node`, from the cache when possible.
  policy::Verdict NodeVerdict(const Caller& caller, Node* node,
                              v1::Operation op, const policy::Engine& engine);

  PolicyStore* const policy_;
  NodeTable* const nodes_;
  Stats* const stats_;
  audit::AuditLog* audit_ = nullptr;
  bool store_events_ = false;
  // Callers' process names, read while their request is in flight.
  audit::SharedProcessInfoCache process_info_;
  policy::DecisionCache cache_;
  ContentClasses contents_;
  RedactionCache redactions_;
  OpenWriters open_writers_;
};

// The errno a decision means for an operation (0: proceed).
int ErrnoForAction(v1::Action action, v1::Operation op);

// The owner record of the file `st`, `name` under `dirfd`, for a file made
// by `uid` (the policy's app `app`, null if none): its inode and birth
// time, now. What NoteCreated records, and an admin's `scopedctl owner set`
// too. nullopt if the file is no longer that inode or its birth time
// cannot be read (record nothing: fail closed).
std::optional<audit::Owner> OwnerRecordFor(int dirfd, absl::string_view name,
                                           const struct stat& st,
                                           const std::string* app,
                                           uint32_t uid);
// The birth time of `name` under `dirfd` ("": `dirfd` itself) if it is
// still inode `ino` (0: its file system keeps none); nullopt if it cannot
// be told. For OwnerIndex::Get.
std::optional<int64_t> BirthNanosAt(int dirfd, absl::string_view name,
                                    uint64_t ino);

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_ACCESS_H_
