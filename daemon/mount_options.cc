#include "daemon/mount_options.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace scopedfs {
namespace {

enum class Kind { kSwitch, kText };

struct KnownOption {
  const char* name;
  Kind kind;
};

// What libfuse 3.18.3 takes with -o, less those RefusedOption names (and
// io_uring, which is --transport's), plus the access-time options it does
// not take (atime, diratime, relatime, norelatime, strictatime), which the
// daemon honours itself (daemon/source_tree.h) and keeps from libfuse. Not
// lazytime: the kernel keeps no times of FUSE files to be lazy about.
constexpr KnownOption kKnownOptions[] = {
    // lib/fuse_lowlevel.c, fuse_ll_opts.
    {"debug", Kind::kSwitch},
    // lib/mount.c, fuse_mount_opts.
    {"allow_other", Kind::kSwitch},
    {"auto_unmount", Kind::kSwitch},
    {"default_permissions", Kind::kSwitch},
    {"fsname", Kind::kText},
    {"subtype", Kind::kText},
    {"context", Kind::kText},
    {"fscontext", Kind::kText},
    {"defcontext", Kind::kText},
    {"rootcontext", Kind::kText},
    {"user", Kind::kText},
    {"ro", Kind::kSwitch},
    {"rw", Kind::kSwitch},
    {"suid", Kind::kSwitch},
    {"nosuid", Kind::kSwitch},
    {"dev", Kind::kSwitch},
    {"nodev", Kind::kSwitch},
    {"exec", Kind::kSwitch},
    {"noexec", Kind::kSwitch},
    {"async", Kind::kSwitch},
    {"sync", Kind::kSwitch},
    {"dirsync", Kind::kSwitch},
    {"noatime", Kind::kSwitch},
    {"nodiratime", Kind::kSwitch},
    {"nostrictatime", Kind::kSwitch},
    // daemon/source_tree.h.
    {"atime", Kind::kSwitch},
    {"diratime", Kind::kSwitch},
    {"relatime", Kind::kSwitch},
    {"norelatime", Kind::kSwitch},
    {"strictatime", Kind::kSwitch},
    {"symfollow", Kind::kSwitch},
    {"nosymfollow", Kind::kSwitch},
};

// Why the daemon refuses an option libfuse takes, or null. Each would
// mount and then fail, or serve other than scopedfs promises.
const char* RefusedOption(const std::string& name) {
  if (name == "allow_root") {
    return "not supported: the mount serves every uid (it is always allow_other)";
  }
  if (name == "blkdev" || name == "blksize") {
    return "not supported: it is for block device (fuseblk) mounts, and SOURCE is a directory";
  }
  if (name == "max_read") {
    // libfuse ends the session at INIT unless the file system's init asks
    // for the same size, which scopedfsd does not.
    return "not supported: scopedfsd does not negotiate a read size";
  }
  return nullptr;
}

}  // namespace

std::vector<std::string> SplitMountOptions(absl::string_view value) {
  std::vector<std::string> options;
  std::string current;
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\\' && i + 1 < value.size()) {
      current.append(value.data() + i, 2);  // The escape stays for libfuse.
      ++i;
    } else if (value[i] == ',') {
      if (!current.empty()) options.push_back(std::move(current));
      current.clear();
    } else {
      current.push_back(value[i]);
    }
  }
  if (!current.empty()) options.push_back(std::move(current));
  return options;
}

absl::Status CheckMountOption(const std::string& option) {
  const size_t eq = option.find('=');
  const std::string name = option.substr(0, eq);
  const bool has_value = eq != std::string::npos;
  const std::string value = has_value ? option.substr(eq + 1) : "";
  if (const char* why = RefusedOption(name)) return absl::InvalidArgumentError(why);
  // Options for mount helpers, which libfuse passes on and ignores.
  if (absl::StartsWith(name, "x-")) return absl::OkStatus();
  const KnownOption* known = nullptr;
  for (const KnownOption& o : kKnownOptions) {
    if (name == o.name) known = &o;
  }
  if (known == nullptr) {
    return absl::InvalidArgumentError(
        "unknown mount option (scopedfsd takes fsname=, subtype=, ro, rw, noatime, "
        "relatime, strictatime, nodiratime, nosuid, nodev, noexec, sync, dirsync, "
        "context=, auto_unmount, ...)");
  }
  switch (known->kind) {
    case Kind::kSwitch:
      if (has_value) {
        return absl::InvalidArgumentError(absl::StrCat(name, " takes no value"));
      }
      break;
    case Kind::kText:
      if (value.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(name, " needs a value (", name, "=...)"));
      }
      break;
  }
  return absl::OkStatus();
}

absl::Status CheckMountOptions(const std::vector<std::string>& options,
                               absl::string_view prefix) {
  for (const std::string& option : options) {
    if (absl::Status st = CheckMountOption(option); !st.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(prefix, option, ": ", st.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace scopedfs
