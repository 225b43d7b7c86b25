#include "daemon/config_file.h"

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "daemon/text_file.h"
#include "policy/policy_text.h"

namespace scopedfs {
namespace {

namespace pb = google::protobuf;

// Fields that are not flags.
bool IsPositional(const std::string& name) {
  return name == "source" || name == "mountpoint" || name == "mount_options";
}

// The field's value as the flag parser takes it.
std::string FieldValue(const pb::Message& m, const pb::FieldDescriptor* f) {
  const pb::Reflection* r = m.GetReflection();
  if (f->is_repeated()) {
    std::vector<std::string> parts;
    for (int i = 0; i < r->FieldSize(m, f); ++i) {
      switch (f->cpp_type()) {
        case pb::FieldDescriptor::CPPTYPE_UINT32:
          parts.push_back(absl::StrCat(r->GetRepeatedUInt32(m, f, i)));
          break;
        default:
          parts.push_back(r->GetRepeatedString(m, f, i));
      }
    }
    return absl::StrJoin(parts, ",");
  }
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_BOOL: return r->GetBool(m, f) ? "true" : "false";
    case pb::FieldDescriptor::CPPTYPE_INT32: return absl::StrCat(r->GetInt32(m, f));
    case pb::FieldDescriptor::CPPTYPE_UINT32: return absl::StrCat(r->GetUInt32(m, f));
    case pb::FieldDescriptor::CPPTYPE_INT64: return absl::StrCat(r->GetInt64(m, f));
    case pb::FieldDescriptor::CPPTYPE_UINT64: return absl::StrCat(r->GetUInt64(m, f));
    case pb::FieldDescriptor::CPPTYPE_DOUBLE: return absl::StrCat(r->GetDouble(m, f));
    default: return r->GetString(m, f);
  }
}

}  // namespace

std::set<std::string> FlagsOnCommandLine(const std::vector<char*>& args) {
  std::set<std::string> names;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == nullptr) break;
    absl::string_view a = args[i];
    if (a == "--") break;
    if (!absl::ConsumePrefix(&a, "--") && !absl::ConsumePrefix(&a, "-")) continue;
    std::string name(a.substr(0, a.find('=')));
    names.insert(name);
    // --nofoo sets the boolean foo.
    if (absl::StartsWith(name, "no")) {
      const std::string base = name.substr(2);
      if (const absl::CommandLineFlag* f = absl::FindCommandLineFlag(base);
          f != nullptr && f->IsOfType<bool>()) {
        names.insert(base);
      }
    }
  }
  return names;
}

void NormalizeFlagDashes(std::vector<std::string>* storage,
                         std::vector<char*>* args) {
  storage->reserve(args->size());
  for (size_t i = 1; i < args->size(); ++i) {
    if ((*args)[i] == nullptr) break;
    std::string a = (*args)[i];
    if (a == "--") break;
    if (!absl::StartsWith(a, "--")) continue;
    const size_t eq = a.find('=');
    const std::string name = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    if (name.find('-') == std::string::npos) continue;
    storage->push_back(absl::StrCat("--", absl::StrReplaceAll(name, {{"-", "_"}}),
                                    eq == std::string::npos ? "" : a.substr(eq)));
    (*args)[i] = storage->back().data();
  }
}

absl::StatusOr<v1::DaemonConfig> ReadConfigFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadTextFile(path, "a config file");
  if (!text.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--config: ", text.status().message()));
  }
  v1::DaemonConfig config;
  if (absl::Status st = policy::TextFormatStatus(policy::ParseTextFormat(*text, &config));
      !st.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("config file '", path, "': ", st.message()));
  }
  return config;
}

absl::Status ApplyConfigToFlags(const v1::DaemonConfig& config,
                                const std::set<std::string>& given) {
  const pb::Descriptor* d = config.GetDescriptor();
  const pb::Reflection* r = config.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    if (IsPositional(f->name()) || given.count(f->name())) continue;
    const bool set = f->is_repeated() ? r->FieldSize(config, f) > 0 : r->HasField(config, f);
    if (!set) continue;
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(f->name());
    if (flag == nullptr) {
      return absl::InternalError(absl::StrCat("config field ", f->name(), " has no flag"));
    }
    std::string error;
    const std::string value = FieldValue(config, f);
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(
          absl::StrCat("config field ", f->name(), ": invalid value '", value, "': ", error));
    }
  }
  return absl::OkStatus();
}

}  // namespace scopedfs
