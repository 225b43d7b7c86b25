#include "tools/policy_text.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/read_all.h"
#include "google/protobuf/text_format.h"

namespace scopedfs::tools {

absl::StatusOr<std::string> ReadPolicyFile(const std::string& path) {
  const bool stdin_path = path == "-";
  const std::string name = stdin_path ? "standard input" : path;
  const int fd = stdin_path ? STDIN_FILENO : open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::NotFoundError(absl::StrCat("cannot read ", name, ": ", std::strerror(errno)));
  }
  std::string text;
  const int err = ReadAll(fd, &text);  // EISDIR for a directory.
  if (!stdin_path) close(fd);
  if (err != 0) {
    return absl::UnknownError(absl::StrCat("cannot read ", name, ": ", std::strerror(err)));
  }
  return text;
}

std::string CanonicalPolicyText(v1::Policy policy) {
  policy.clear_generation();
  google::protobuf::TextFormat::Printer printer;
  std::string out;
  printer.PrintToString(policy, &out);
  return out;
}

}  // namespace scopedfs::tools
