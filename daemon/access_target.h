// The file an access decision is about (daemon/access.cc and
// daemon/access_moves.cc only): where it is, what type it is, and what is
// already known about its class and owner.
#ifndef SCOPEDFS_DAEMON_ACCESS_TARGET_H_
#define SCOPEDFS_DAEMON_ACCESS_TARGET_H_

#include <fcntl.h>
#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "daemon/access.h"
#include "daemon/content_class.h"
#include "daemon/node_table.h"

namespace scopedfs {
namespace access_internal {

// The class a file's type gives it whatever its name: symlinks and special
// files (FIFOs, sockets, devices) are never an IMAGE or a DOCUMENT. None for
// regular files (their content or name decides) and directories.
inline std::optional<v1::FileClass> TypeClass(mode_t type) {
  switch (type) {
    case S_IFLNK: return v1::SYMLINK;
    case S_IFIFO: case S_IFSOCK: case S_IFCHR: case S_IFBLK:
      return v1::SPECIAL;
    default: return std::nullopt;
  }
}

// The birth time (statx btime) of `name` under `dirfd` ("": `dirfd` itself)
// if it is still inode `ino`: 0 if its file system keeps none; nullopt if
// it cannot be told (gone, replaced, or statx failed).
inline std::optional<int64_t> BirthTimeAt(int dirfd, const std::string& name,
                                          uint64_t ino) {
  struct statx stx;
  const int flags = AT_SYMLINK_NOFOLLOW | (name.empty() ? AT_EMPTY_PATH : 0);
  if (statx(dirfd, name.c_str(), flags, STATX_INO | STATX_BTIME, &stx) != 0 ||
      stx.stx_ino != ino) {
    return std::nullopt;
  }
  if ((stx.stx_mask & STATX_BTIME) == 0) return 0;
  return static_cast<int64_t>(stx.stx_btime.tv_sec) * 1000000000 +
         stx.stx_btime.tv_nsec;
}

}  // namespace access_internal

// The file a decision is about, for the owner store and the content class:
// (dev, ino), ino 0 when the name does not exist (yet), and where to find it
// (for its birth time, only asked when an owner record keeps one, and its
// first bytes, only read when a class condition takes part): `name` under
// `dirfd`, or `dirfd` itself (an O_PATH descriptor) when `name` is empty.
struct AccessMediator::Target {
  uint64_t dev = 0;
  uint64_t ino = 0;
  int dirfd = -1;
  absl::string_view name;
  mode_t type = 0;                    // S_IFMT bits; 0 when it does not exist.
  const struct stat* st = nullptr;    // Its status, when the caller has it.
  // The content class when the caller already knows it; for symlinks and
  // special files their type's class.
  std::optional<v1::FileClass> content_class;
  // Whether the caller owns the file, when that is already known (a move's
  // new name: the record travels with the file); else the owner store says.
  std::optional<bool> owner;

  static Target Of(const Node* node) {
    Target t;
    t.dev = node->dev;
    t.ino = node->ino;
    t.dirfd = node->fd;
    t.type = node->type;
    t.content_class = access_internal::TypeClass(t.type);
    return t;
  }
  static Target Of(const struct stat* st, const Node* parent,
                   absl::string_view name) {
    if (st == nullptr) return Target{};
    Target t;
    t.dev = st->st_dev;
    t.ino = st->st_ino;
    t.dirfd = parent->fd;
    t.name = name;
    t.type = st->st_mode & S_IFMT;
    t.st = st;
    t.content_class = access_internal::TypeClass(t.type);
    return t;
  }
  std::optional<int64_t> BirthNanos() const {
    return access_internal::BirthTimeAt(dirfd, std::string(name), ino);
  }
  // Only regular files are classed by content (directories are DIRECTORY,
  // and reading a device or FIFO could block or have effects).
  std::optional<v1::FileClass> ContentClass(ContentClasses& contents) const {
    if (name.empty()) return contents.Of(dirfd);
    if (st == nullptr) return std::nullopt;
    return contents.At(dirfd, std::string(name).c_str(), *st);
  }
};

}  // namespace scopedfs

#endif  // SCOPEDFS_DAEMON_ACCESS_TARGET_H_
