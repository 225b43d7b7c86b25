#include "tools/policy_text.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/retry_eintr.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace scopedfs::tools {
namespace {

class FirstError : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (error_.empty()) error_ = absl::StrCat(line + 1, ":", column + 1, ": ", message);
  }
  const std::string& error() const { return error_; }

 private:
  std::string error_;
};

}  // namespace

absl::StatusOr<std::string> ReadPolicyFile(const std::string& path) {
  const bool stdin_path = path == "-";
  const std::string name = stdin_path ? "standard input" : path;
  const int fd = stdin_path ? STDIN_FILENO : open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::NotFoundError(absl::StrCat("cannot read ", name, ": ", std::strerror(errno)));
  }
  std::string text;
  char buf[65536];
  int err = 0;
  for (;;) {
    const ssize_t n = RetryEintr([&] { return read(fd, buf, sizeof buf); });
    if (n > 0) {
      text.append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      break;
    } else {
      err = errno;  // EISDIR for a directory.
      break;
    }
  }
  if (!stdin_path) close(fd);
  if (err != 0) {
    return absl::UnknownError(absl::StrCat("cannot read ", name, ": ", std::strerror(err)));
  }
  return text;
}

absl::StatusOr<v1::Policy> ParsePolicyText(absl::string_view text) {
  google::protobuf::TextFormat::Parser parser;
  FirstError errors;
  parser.RecordErrorsTo(&errors);
  v1::Policy policy;
  if (!parser.ParseFromString(std::string(text), &policy)) {
    return absl::InvalidArgumentError(
        errors.error().empty() ? "not a policy in protobuf text format" : errors.error());
  }
  return policy;
}

std::string CanonicalPolicyText(v1::Policy policy) {
  policy.clear_generation();
  google::protobuf::TextFormat::Printer printer;
  std::string out;
  printer.PrintToString(policy, &out);
  return out;
}

}  // namespace scopedfs::tools
