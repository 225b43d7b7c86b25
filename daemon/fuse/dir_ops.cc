// Directories: listing (readdir and readdirplus) and fsyncdir. A listing keeps
// its own descriptor of the directory; offsets are the backing file system's
// d_off cookies, so a listing resumes exactly where the kernel left off.
//
// Opening and listing a directory are decided on the directory itself
// (LOOKUP, AccessMediator::CheckVisible) as well as entry by entry: a caller
// can reach a directory hidden from it without any lookup, through a
// descriptor passed to it (openat(passed_fd, ".", O_DIRECTORY), or a listing
// another process opened).
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <memory>
#include <vector>

#include "daemon/access.h"
#include "daemon/fuse/ops.h"
#include "daemon/fuse/request.h"

namespace scopedfs {
namespace {

struct DirHandle {
  ~DirHandle() {
    if (dir != nullptr) closedir(dir);
  }
  DIR* dir = nullptr;  // Null for `.apps`, which has no backing directory.
  off_t offset = 0;  // Position of the next entry to hand out.
};

DirHandle& DirOf(const fuse_file_info* fi) {
  return *reinterpret_cast<DirHandle*>(static_cast<uintptr_t>(fi->fh));
}

bool IsDotOrDotDot(const char* name) {
  return name[0] == '.' &&
         (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

void Opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  if (int err = ServerOf(req).access().CheckVisible(CallerOf(req),
                                                    NodeOf(req, ino));
      err != 0) {
    fuse_reply_err(req, err);
    return;
  }
  if (NodeOf(req, ino)->kind == NodeKind::kAppsDir) {
    // Listed per caller (ReadAppsDir): never from the kernel's cache.
    fi->fh = reinterpret_cast<uintptr_t>(new DirHandle);
    fuse_reply_open(req, fi);
    return;
  }
  const int fd = openat(NodeOf(req, ino)->fd, ".",
                        O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    fuse_reply_err(req, errno);
    return;
  }
  auto handle = std::make_unique<DirHandle>();
  handle->dir = fdopendir(fd);
  if (handle->dir == nullptr) {
    const int err = errno;
    close(fd);
    fuse_reply_err(req, err);
    return;
  }
  fi->fh = reinterpret_cast<uintptr_t>(handle.get());
  // Let the kernel keep listings: changes through the mount invalidate them
  // (in every tree: Server::NoteNameChanged), and changes made directly in
  // the backing dir show once the directory's attributes (mtime) are
  // revalidated, i.e. within the --timeout. Not where the policy could hide
  // an entry from one caller and show it to another: the kernel's listing
  // cache is shared by all of them. Nor under -o strictatime: a listing
  // must reach SOURCE to stamp the directory's access time.
  Server& server = ServerOf(req);
  if (server.options().timeout > 0 && !server.options().stamp_every_access &&
      server.access().ListingCacheAllowed(NodeOf(req, ino))) {
    fi->cache_readdir = 1;
    fi->keep_cache = 1;
  }
  if (fuse_reply_open(req, fi) == 0) handle.release();
}

// Lists `.apps`: ".", "..", and the caller's own view (if its uid has
// one). Offsets are the entries' positions. Root sees no view listed: any
// uid's is there for it to enter by name.
void ReadAppsDir(fuse_req_t req, size_t size, off_t offset, bool plus) {
  const Caller caller = CallerOf(req);
  std::vector<std::string> names = {".", ".."};
  if (caller.uid != 0 &&
      ServerOf(req).policy().engine()->IdentifiesByUid(caller.uid)) {
    names.push_back(std::to_string(caller.uid));
  }
  std::vector<char> buf(size);
  size_t used = 0;
  for (size_t i = static_cast<size_t>(std::max<off_t>(offset, 0));
       i < names.size(); ++i) {
    struct stat st = {};
    st.st_mode = S_IFDIR;
    // readdir(3) skips entries whose d_ino is 0: the share root's, which is
    // what every node of this directory reports.
    st.st_ino = NodeOf(req, FUSE_ROOT_ID)->ino;
    // No attributes with readdirplus (nodeid 0): the kernel looks each up.
    fuse_entry_param e = {};
    e.attr = st;
    const size_t entry_size =
        plus ? fuse_add_direntry_plus(req, buf.data() + used, size - used,
                                      names[i].c_str(), &e, i + 1)
             : fuse_add_direntry(req, buf.data() + used, size - used,
                                 names[i].c_str(), &st, i + 1);
    if (entry_size > size - used) break;
    used += entry_size;
  }
  fuse_reply_buf(req, buf.data(), used);
}

// Fills one reply of at most `size` bytes starting at `offset`.
void ReadDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset,
             fuse_file_info* fi, bool plus) {
  if (NodeOf(req, ino)->kind == NodeKind::kAppsDir) {
    ReadAppsDir(req, size, offset, plus);
    return;
  }
  // The caller may not be the one that opened the listing.
  if (int err = ServerOf(req).access().CheckVisible(CallerOf(req),
                                                    NodeOf(req, ino));
      err != 0) {
    fuse_reply_err(req, err);
    return;
  }
  DirHandle& d = DirOf(fi);
  if (offset != d.offset) {
    seekdir(d.dir, offset);
    d.offset = offset;
  }
  std::vector<char> buf(size);
  size_t used = 0;
  int err = 0;
  Node* parent = NodeOf(req, ino);
  Server& server = ServerOf(req);
  AccessMediator::Listing listing(&server.access(), CallerOf(req), parent);
  while (true) {
    errno = 0;
    dirent* de = readdir(d.dir);
    if (de == nullptr) {
      err = errno;
      break;
    }
    const char* name = de->d_name;
    struct stat st = {};
    st.st_ino = de->d_ino;
    st.st_mode = static_cast<mode_t>(DTTOIF(de->d_type));
    // One decision per entry. Hidden entries are only counted: a listing is
    // no access to audit.
    AccessMediator::Listing::Entry verdict;
    if (!IsDotOrDotDot(name)) {
      verdict = listing.Check(name, de->d_type);
      if (verdict.err == ENOENT) {
        Stats::Add(server.stats().readdir_hidden);
        d.offset = de->d_off;  // Hidden from this caller (or gone).
        continue;
      }
    }
    size_t entry_size;
    if (!plus) {
      entry_size = fuse_add_direntry(req, buf.data() + used, size - used,
                                     name, &st, de->d_off);
    } else if (fuse_add_direntry_plus(req, nullptr, 0, name, nullptr, 0) >
               size - used) {
      entry_size = size;  // Does not fit: stop below.
    } else {
      // With ino 0 the kernel makes no dentry: for . and .., for a denied
      // entry (listed without attributes), and for one the kernel could not
      // keep for every caller (entry timeout 0: any use looks it up again,
      // so a node and its descriptor made now would only be waste).
      fuse_entry_param e = {};
      e.attr = st;
      if (!IsDotOrDotDot(name) && verdict.err == 0 && verdict.shared_cache_ok) {
        const int lookup_err = LookupChild(req, parent, name, &e,
                                           /*mediate=*/false,
                                           /*audit_refusal=*/false);
        if (lookup_err == ENOENT) {  // Removed since readdir saw it.
          d.offset = de->d_off;
          continue;
        } else if (lookup_err != 0) {
          err = lookup_err;
          break;
        }
      }
      entry_size = fuse_add_direntry_plus(req, buf.data() + used,
                                          size - used, name, &e, de->d_off);
    }
    if (entry_size > size - used) {
      seekdir(d.dir, d.offset);  // Hand this entry out in the next reply.
      break;
    }
    used += entry_size;
    d.offset = de->d_off;
  }
  if (used == 0 && err != 0) {
    fuse_reply_err(req, err);
    return;
  }
  fuse_reply_buf(req, buf.data(), used);
}

void Readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset,
             fuse_file_info* fi) {
  ReadDir(req, ino, size, offset, fi, /*plus=*/false);
}

void Readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset,
                 fuse_file_info* fi) {
  ReadDir(req, ino, size, offset, fi, /*plus=*/true);
}

void Releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  delete &DirOf(fi);
  fuse_reply_err(req, 0);
}

void Fsyncdir(fuse_req_t req, fuse_ino_t, int datasync, fuse_file_info* fi) {
  if (DirOf(fi).dir == nullptr) {  // `.apps`: nothing to sync.
    fuse_reply_err(req, 0);
    return;
  }
  const int fd = dirfd(DirOf(fi).dir);
  const int res = datasync ? fdatasync(fd) : fsync(fd);
  fuse_reply_err(req, res == 0 ? 0 : errno);
}

}  // namespace

void AddDirOps(fuse_lowlevel_ops& ops) {
  ops.opendir = Opendir;
  ops.readdir = Readdir;
  ops.readdirplus = Readdirplus;
  ops.releasedir = Releasedir;
  ops.fsyncdir = Fsyncdir;
}

}  // namespace scopedfs
