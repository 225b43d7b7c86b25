#include "policy/policy_text.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace scopedfs::policy {
namespace {

class Collector : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    // The parser counts from 0; people (and editors) from 1. A line of -1
    // means "no position".
    if (line < 0) {
      errors_.push_back(message);
    } else {
      errors_.push_back(absl::StrCat("line ", line + 1, ":", column + 1, ": ", message));
    }
  }
  void AddWarning(int line, google::protobuf::io::ColumnNumber column,
                  const std::string& message) override {}

  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::vector<std::string> errors_;
};

}  // namespace

absl::StatusOr<v1::Policy> ParsePolicyText(absl::string_view text) {
  v1::Policy policy;
  Collector collector;
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&collector);
  parser.AllowUnknownField(false);
  parser.AllowUnknownExtension(false);
  const bool ok = parser.ParseFromString(std::string(text), &policy);
  if (!ok || !collector.errors().empty()) {
    std::string message = collector.errors().empty()
                              ? std::string("cannot parse policy text")
                              : absl::StrJoin(collector.errors(), "; ");
    return absl::InvalidArgumentError(message);
  }
  return policy;
}

std::string PolicyToText(const v1::Policy& policy) {
  std::string out;
  google::protobuf::TextFormat::Printer printer;
  printer.PrintToString(policy, &out);
  return out;
}

}  // namespace scopedfs::policy
