#include "policy/policy_text.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace scopedfs::policy {
namespace {

class Collector : public google::protobuf::io::ErrorCollector {
 public:
  explicit Collector(std::vector<std::string>* errors) : errors_(errors) {}

  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    // The parser counts from 0; people (and editors) from 1. A line of -1
    // means "no position". Its sentences' full stops would read badly
    // before the "; " that joins errors.
    absl::string_view text = message;
    absl::ConsumeSuffix(&text, ".");
    if (line < 0) {
      errors_->emplace_back(text);
    } else {
      errors_->push_back(absl::StrCat("line ", line + 1, ":", column + 1, ": ", text));
    }
  }
  // Warnings (none with unknown fields refused) do not make a file invalid.
  void AddWarning(int, google::protobuf::io::ColumnNumber, const std::string&) override {}

 private:
  std::vector<std::string>* const errors_;
};

}  // namespace

std::vector<std::string> ParseTextFormat(absl::string_view text,
                                         google::protobuf::Message* message) {
  std::vector<std::string> errors;
  Collector collector(&errors);
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&collector);
  parser.AllowUnknownField(false);
  parser.AllowUnknownExtension(false);
  message->Clear();
  if (!parser.ParseFromString(std::string(text), message) && errors.empty()) {
    errors.push_back(absl::StrCat("not a ", message->GetDescriptor()->full_name(),
                                  " in protobuf text format"));
  }
  return errors;
}

absl::Status TextFormatStatus(const std::vector<std::string>& errors) {
  if (errors.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrJoin(errors, "; "));
}

absl::StatusOr<v1::Policy> ParsePolicyText(absl::string_view text) {
  v1::Policy policy;
  if (absl::Status st = TextFormatStatus(ParseTextFormat(text, &policy)); !st.ok()) {
    return st;
  }
  return policy;
}

std::string MessageToText(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::TextFormat::Printer printer;
  printer.PrintToString(message, &out);
  return out;
}

std::string PolicyToText(const v1::Policy& policy) { return MessageToText(policy); }

}  // namespace scopedfs::policy
