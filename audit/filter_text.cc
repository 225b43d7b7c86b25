#include "audit/filter_text.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "audit/escape.h"
#include "audit/path_util.h"
#include "scopedfs/v1/policy.pb.h"

namespace scopedfs::audit {
namespace {

constexpr char kKeys[] = "app, uid, path, op, decision, since, until";
constexpr char kOps[] =
    "open, read, write, create, delete, rename, setattr, lookup";
constexpr char kDecisions[] = "allow, redacted, deny, hide";
constexpr char kTimeForms[] =
    "RFC 3339 like 2026-11-25T10:00:00Z, @UNIX_SECONDS, or a duration before "
    "now like 10m, 2h30m, 1d";

absl::Status Bad(absl::string_view what, absl::string_view value,
                 absl::string_view term, absl::string_view expected) {
  return absl::InvalidArgumentError(absl::StrCat(what, " \"", value, "\" in \"",
                                                 term, "\" (expected ",
                                                 expected, ")"));
}

// A duration before now: absl::ParseDuration plus a leading "Nd" (days).
bool ParseAgo(absl::string_view text, absl::Duration* out) {
  absl::Duration total = absl::ZeroDuration();
  const size_t d = text.find('d');
  if (d != absl::string_view::npos) {
    int64_t days;
    if (d == 0 || !absl::SimpleAtoi(text.substr(0, d), &days) || days < 0 ||
        days > 365 * 1000) {
      return false;
    }
    total += absl::Hours(24) * days;
    text.remove_prefix(d + 1);
    if (text.empty()) {
      *out = total;
      return true;
    }
  }
  absl::Duration rest;
  if (!absl::ParseDuration(text, &rest) || rest < absl::ZeroDuration() ||
      rest == absl::InfiniteDuration()) {
    return false;
  }
  // A bare number has no unit: ParseDuration takes only "0" that way.
  if (text == "0" && d == absl::string_view::npos) return false;
  *out = total + rest;
  return true;
}

bool ParseTimeValue(absl::string_view text, absl::Time now, int64_t* nanos) {
  if (text.empty()) return false;
  if (text.front() == '@') {
    int64_t seconds;
    if (!absl::SimpleAtoi(text.substr(1), &seconds) || seconds <= 0 ||
        seconds > std::numeric_limits<int64_t>::max() / 1000000000) {
      return false;
    }
    *nanos = seconds * 1000000000;
    return true;
  }
  absl::Time t;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, std::string(text), &t, &err)) {
    if (t <= absl::UnixEpoch()) return false;
    *nanos = absl::ToUnixNanos(t);
    return true;
  }
  absl::Duration ago;
  if (ParseAgo(absl::AsciiStrToLower(text), &ago)) {
    const absl::Time when = now - ago;
    if (when <= absl::UnixEpoch()) return false;
    *nanos = absl::ToUnixNanos(when);
    return true;
  }
  return false;
}

template <typename T>
void AddUnique(google::protobuf::RepeatedField<T>* field, T value) {
  if (std::find(field->begin(), field->end(), value) == field->end()) {
    field->Add(value);
  }
}

}  // namespace

absl::StatusOr<v1::AuditFilter> ParseFilter(absl::Span<const std::string> terms,
                                            absl::Time now) {
  v1::AuditFilter filter;
  absl::flat_hash_set<std::string> seen;
  for (const std::string& term : terms) {
    if (term.empty()) continue;
    const size_t eq = term.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "term \"", term, "\" is not KEY=VALUE (keys: ", kKeys, ")"));
    }
    const std::string key = absl::AsciiStrToLower(term.substr(0, eq));
    const absl::string_view value = absl::string_view(term).substr(eq + 1);
    static const auto* const kKnown = new absl::flat_hash_set<std::string>{
        "app", "uid", "path", "op", "decision", "since", "until"};
    if (!kKnown->contains(key)) {
      return Bad("unknown key", term.substr(0, eq), term, kKeys);
    }
    if (!seen.insert(key).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "key \"", key, "\" given twice (in \"", term,
          "\"); put alternatives in one term: ", key, "=A,B"));
    }
    if (value.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("empty value in \"", term, "\""));
    }
    if (key == "path") {  // one path; commas are ordinary characters in it
      // In the escaped form the audit trail shows (audit/escape.h); raw
      // control characters and bytes that are not UTF-8 are escaped here,
      // so a name may also be given as the shell passes it. Kept in the
      // canonical escaped form ("\x2f" is "/", "\x41" is "A").
      absl::StatusOr<std::string> raw = Unescape(EscapeControls(value));
      if (!raw.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "bad path in \"", EscapeControls(term), "\": ", raw.status().message()));
      }
      filter.set_path_prefix(Escape(*raw));
      continue;
    }
    if (key == "since" || key == "until") {
      int64_t nanos;
      if (!ParseTimeValue(value, now, &nanos)) {
        return Bad("bad time", value, term, kTimeForms);
      }
      if (key == "since") {
        filter.set_since_unix_nanos(nanos);
      } else {
        filter.set_until_unix_nanos(nanos);
      }
      continue;
    }
    for (absl::string_view v : absl::StrSplit(value, ',')) {
      if (v.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("empty value in \"", term, "\""));
      }
      if (key == "app") {
        if (absl::c_find(filter.apps(), v) == filter.apps().end()) {
          filter.add_apps(std::string(v));
        }
      } else if (key == "uid") {
        uint32_t uid;
        if (!absl::SimpleAtoi(v, &uid)) {
          return Bad("bad uid", v, term, "a number");
        }
        AddUnique(filter.mutable_uids(), uid);
      } else if (key == "op") {
        const std::string op = absl::AsciiStrToLower(v);
        std::vector<v1::Operation> ops;
        if (op == "open") {
          ops = {v1::READ, v1::WRITE};
        } else if (op == "read") {
          ops = {v1::READ};
        } else if (op == "write") {
          ops = {v1::WRITE};
        } else if (op == "create") {
          ops = {v1::CREATE};
        } else if (op == "delete") {
          ops = {v1::DELETE};
        } else if (op == "rename") {
          ops = {v1::RENAME};
        } else if (op == "setattr") {
          ops = {v1::SETATTR};
        } else if (op == "lookup") {
          ops = {v1::LOOKUP};
        } else {
          return Bad("unknown op", v, term, kOps);
        }
        for (v1::Operation o : ops) {
          AddUnique(filter.mutable_operations(), static_cast<int>(o));
        }
      } else {  // decision
        const std::string d = absl::AsciiStrToLower(v);
        v1::Action a;
        if (d == "allow") {
          a = v1::ALLOW;
        } else if (d == "redacted" || d == "allow_redacted") {
          a = v1::ALLOW_REDACTED;
        } else if (d == "deny") {
          a = v1::DENY;
        } else if (d == "hide") {
          a = v1::HIDE;
        } else {
          return Bad("unknown decision", v, term, kDecisions);
        }
        AddUnique(filter.mutable_decisions(), static_cast<int>(a));
      }
    }
  }
  if (filter.since_unix_nanos() != 0 && filter.until_unix_nanos() != 0 &&
      filter.since_unix_nanos() >= filter.until_unix_nanos()) {
    return absl::InvalidArgumentError(
        "since is not before until: the time range is empty");
  }
  return filter;
}

absl::StatusOr<v1::AuditFilter> ParseFilterText(absl::string_view text,
                                                absl::Time now) {
  std::vector<std::string> terms =
      absl::StrSplit(text, absl::ByAnyChar(" \t\n\r\f\v"), absl::SkipEmpty());
  return ParseFilter(terms, now);
}

bool Matches(const v1::AuditFilter& filter, const v1::AuditEvent& event) {
  if (filter.apps_size() > 0 &&
      absl::c_find(filter.apps(), event.app()) == filter.apps().end()) {
    return false;
  }
  if (filter.uids_size() > 0 &&
      absl::c_find(filter.uids(), event.uid()) == filter.uids().end()) {
    return false;
  }
  if (!filter.path_prefix().empty()) {
    // Both in the escaped form; compared as the bytes they stand for, as
    // the database compares them.
    absl::StatusOr<std::string> raw_prefix = Unescape(filter.path_prefix());
    if (!raw_prefix.ok()) return false;
    const absl::string_view prefix = internal::NormalizePrefix(*raw_prefix);
    absl::StatusOr<std::string> raw_path = Unescape(event.path());
    const std::string& path = raw_path.ok() ? *raw_path : event.path();
    if (!prefix.empty() && !internal::PathIsUnder(path, prefix)) return false;
  }
  if (filter.operations_size() > 0 &&
      absl::c_find(filter.operations(), static_cast<int>(event.operation())) ==
          filter.operations().end()) {
    return false;
  }
  if (filter.decisions_size() > 0 &&
      absl::c_find(filter.decisions(), static_cast<int>(event.decision())) ==
          filter.decisions().end()) {
    return false;
  }
  if (filter.shadow_differs() && !event.has_shadow_decision()) return false;
  if (filter.since_unix_nanos() != 0 &&
      event.time_unix_nanos() < filter.since_unix_nanos()) {
    return false;
  }
  if (filter.until_unix_nanos() != 0 &&
      event.time_unix_nanos() >= filter.until_unix_nanos()) {
    return false;
  }
  return true;
}

}  // namespace scopedfs::audit
