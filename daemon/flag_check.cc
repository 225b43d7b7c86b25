#include "daemon/flag_check.h"

#include <cstdint>
#include <string>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"

namespace scopedfs {
namespace {

// absl::ParseCommandLine handles these by name; they are not in the flag
// registry, so they are left to it.
bool IsUsageFlag(absl::string_view name) {
  return name == "help" || name == "helpfull" || name == "helpshort" ||
         name == "helppackage" || name == "helpon" || name == "helpmatch" ||
         name == "version" || name == "only_check_args";
}

// What a flag's values look like, for the error message.
std::string ExpectedValue(const absl::CommandLineFlag& flag) {
  if (flag.IsOfType<bool>()) return "true or false";
  if (flag.IsOfType<int>() || flag.IsOfType<int64_t>()) return "an integer";
  if (flag.IsOfType<uint32_t>() || flag.IsOfType<uint64_t>()) {
    return "a non-negative integer";
  }
  if (flag.IsOfType<double>()) return "a number";
  if (flag.IsOfType<absl::Duration>()) return "a duration such as 90s, 30m or 720h";
  return "";
}

// absl's "Illegal value 'x' specified for flag 'y'" adds nothing to our
// message; what may follow it ("; ...") does.
std::string FlagParseDetail(const std::string& error) {
  if (!absl::StartsWith(error, "Illegal value")) return error;
  const size_t semi = error.find("; ");
  return semi == std::string::npos ? "" : error.substr(semi + 2);
}

// "--threads --foreground": the next argument is another flag, not the
// value that was forgotten (absl would take it, and then complain about it
// or, for a string flag, warn). "-1" is still a value.
bool LooksLikeFlag(absl::string_view arg) {
  return arg.size() > 1 && arg[0] == '-' && !absl::ascii_isdigit(arg[1]) && arg[1] != '.';
}

}  // namespace

absl::Status CheckAndSetFlags(const std::vector<char*>& args) {
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == nullptr) break;
    const absl::string_view arg = args[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') continue;  // Positional (or "-").
    absl::string_view body = arg;
    if (!absl::ConsumePrefix(&body, "--")) absl::ConsumePrefix(&body, "-");
    const size_t eq = body.find('=');
    const std::string name(body.substr(0, eq));
    const bool has_value = eq != absl::string_view::npos;
    std::string value = has_value ? std::string(body.substr(eq + 1)) : "";
    if (IsUsageFlag(name)) continue;
    if (name == "flagfile" || name == "fromenv" || name == "tryfromenv" ||
        name == "undefok") {
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, " is not supported: put flags in --config=FILE"));
    }
    absl::CommandLineFlag* flag = name.empty() ? nullptr : absl::FindCommandLineFlag(name);
    bool negated = false;
    if (flag == nullptr && absl::StartsWith(name, "no")) {
      absl::CommandLineFlag* base = absl::FindCommandLineFlag(name.substr(2));
      if (base != nullptr && base->IsOfType<bool>()) {
        flag = base;
        negated = true;
      }
    }
    if (flag == nullptr || flag->IsRetired()) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag ", arg.substr(0, arg.find('=')), " (see --help)"));
    }
    const std::string shown = absl::StrCat("--", flag->Name());
    if (negated) {
      if (has_value) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", name, " takes no value (or use ", shown, "=true|false)"));
      }
      value = "false";
    } else if (!has_value) {
      if (flag->IsOfType<bool>()) {
        value = "true";
      } else if (i + 1 < args.size() && args[i + 1] != nullptr &&
                 !LooksLikeFlag(args[i + 1])) {
        value = args[++i];  // "--threads 4", as absl takes it.
      } else {
        return absl::InvalidArgumentError(absl::StrCat(shown, " needs a value"));
      }
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      const std::string expected = ExpectedValue(*flag);
      const std::string detail = FlagParseDetail(error);
      return absl::InvalidArgumentError(absl::StrCat(
          shown, ": invalid value '", value, "'",
          expected.empty() ? "" : absl::StrCat(" (expected ", expected, ")"),
          detail.empty() ? "" : absl::StrCat(": ", detail)));
    }
  }
  return absl::OkStatus();
}

}  // namespace scopedfs
