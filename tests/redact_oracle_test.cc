// exiftool differential test of redact/: many variants of real files per
// format (tests/media_variants.h: base files from ImageMagick and ffmpeg,
// location metadata from exiftool, seeded byte-level transforms). For each
// variant exiftool still reads a location from, and for each profile
// (default allowlist; location-only), PlanRedaction then ZeroRanges, and
// the redacted copy must
//   (a) show exiftool no location tag with a value (`exiftool -a -G1 -s -n
//       -m -ee`; all-zero numbers count as redacted); for the location-only
//       profile, leaks only in the fields it does not claim to zero
//       (IPTC-IIM, free-form PNG text keywords) are reported in their own
//       column ("scope") and do not fail,
//   (b) allowlist only: not contain the written strings ("48.858", "Paris",
//       ...) anywhere in its bytes,
//   (c) still decode: `identify` for images; `ffprobe -v error` and
//       `ffmpeg -v error -i F -f null -` for videos, with the original's
//       frame count (ffmpeg's).
// A PlanRedaction error is a refusal: safe, but a usability failure for a
// valid file; the test fails if more than kMaxRefusedPercent of a profile's
// valid variants are refused. UnimplementedError (a redactor not written
// yet) is counted apart and does not fail the test. A summary table per
// format is printed for each profile.
//
// Knobs: SCOPEDFS_ORACLE_VARIANTS (variants per format, default 20: the
// whole test in well under 3 minutes on 2 cores), SCOPEDFS_ORACLE_SEED
// (default 1). The long run:
//   SCOPEDFS_ORACLE_VARIANTS=500 bazel test //tests:redact_oracle_test \
//     --test_output=all --test_timeout=7200
// Tools (convert, identify, exiftool, ffmpeg, ffprobe) missing: SKIPPED,
// loudly.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "redact/ranges.h"
#include "redact/redact.h"
#include "redact/source.h"
#include "tests/file_util.h"
#include "tests/media_variants.h"
#include "tests/redact_test_util.h"
#include "tests/shell.h"

namespace scopedfs::redact {
namespace {

using Clock = std::chrono::steady_clock;
using ::scopedfs::testing::DecodeResult;
using ::scopedfs::testing::ExifTag;
using ::scopedfs::testing::MediaVariant;
using ::scopedfs::testing::ReadFile;
using ::scopedfs::testing::RunShell;
using ::scopedfs::testing::WriteFile;

constexpr double kMaxRefusedPercent = 5.0;

int EnvInt(const char* name, int def) {
  const char* v = std::getenv(name);
  int n;
  return v != nullptr && absl::SimpleAtoi(v, &n) && n > 0 ? n : def;
}

std::string Dir() {
  const char* d = std::getenv("TEST_TMPDIR");
  return absl::StrCat(d != nullptr ? d : "/tmp", "/oracle");
}

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

std::string Apply(const std::string& data, const std::vector<ByteRange>& r) {
  // In odd-sized pieces, the way reads reach the daemon.
  return testing::ApplyInPieces(data, r, 4093);
}

std::vector<std::string> LeakLines(const std::vector<ExifTag>& tags) {
  std::vector<std::string> out;
  for (const ExifTag& t : tags) {
    if (testing::IsLocationLeak(t)) out.push_back(t.line);
  }
  return out;
}

// What the location-only profile does not claim to zero (README, "Location
// redaction"): IPTC-IIM fields and free-form PNG text keywords. Leaks there
// are reported, not failures, for that profile; the allowlist (the
// default) must leave nothing anywhere.
bool OutsideLocationOnlyScope(const std::string& line) {
  return absl::StartsWith(line, "[IPTC") || absl::StartsWith(line, "[PNG]");
}

// A variant exiftool reads a location from, and its original's decoding.
struct Item {
  MediaVariant v;
  std::vector<std::string> located;  // exiftool's location lines.
  DecodeResult decode;
};

struct Row {
  int generated = 0, located = 0, undecodable = 0, valid = 0;
  int clean = 0, refused = 0, unimplemented = 0, leaks = 0, byte_leaks = 0,
      decode_failures = 0;
  // Location-only profile: leaks only in fields it does not claim.
  int out_of_scope = 0;
};

class RedactOracleTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!testing::HaveMediaTools(&missing_)) return;
    const int per_format = EnvInt("SCOPEDFS_ORACLE_VARIANTS", 20);
    const int seed = EnvInt("SCOPEDFS_ORACLE_SEED", 1);
    std::printf("oracle: %d variants per format, seed %d, in %s\n",
                per_format, seed, Dir().c_str());
    RunShell("rm -rf '" + Dir() + "' && mkdir -p '" + Dir() + "'");
    const Clock::time_point t0 = Clock::now();
    std::vector<MediaVariant> all;
    if (!testing::GenerateMediaVariants(Dir(), per_format, seed, &all,
                                        &error_)) {
      return;
    }
    std::vector<std::string> paths;
    std::vector<std::pair<std::string, bool>> decode;
    for (const MediaVariant& v : all) {
      paths.push_back(v.path);
      decode.push_back({v.path, testing::IsVideoFormat(v.format)});
      ++generated_[v.format];
    }
    const Clock::time_point t1 = Clock::now();
    auto tags = testing::ExiftoolBatch(paths, Dir());
    const Clock::time_point t2 = Clock::now();
    auto decoded = testing::DecodeBatch(decode, Dir());
    const Clock::time_point t3 = Clock::now();
    std::printf("oracle: %zu variants generated in %.1f s, exiftool %.1f s, "
                "decoding %.1f s\n",
                all.size(), Seconds(t1 - t0), Seconds(t2 - t1),
                Seconds(t3 - t2));
    for (const MediaVariant& v : all) {
      Item item{v, LeakLines(tags[v.path]), decoded[v.path]};
      if (item.located.empty()) {
        not_located_[v.format].push_back(v.name + " " +
                                         testing::DescribeTransforms(v));
        continue;
      }
      if (!item.decode.ok) {
        undecodable_[v.format].push_back(v.name + " " +
                                         testing::DescribeTransforms(v));
        continue;
      }
      items_.push_back(std::move(item));
    }
  }

  void SetUp() override {
    if (!missing_.empty()) {
      std::fprintf(stderr,
                   "\n*** SKIPPED: %s missing; the exiftool redaction oracle "
                   "did NOT run ***\n\n",
                   missing_.c_str());
      GTEST_SKIP() << missing_ << " missing";
    }
    ASSERT_TRUE(error_.empty()) << error_;
  }

  void RunProfile(const char* label, const Profile& profile);

  static std::string missing_, error_;
  static std::vector<Item> items_;
  static std::map<std::string, int> generated_;
  static std::map<std::string, std::vector<std::string>> not_located_,
      undecodable_;
};
std::string RedactOracleTest::missing_, RedactOracleTest::error_;
std::vector<Item> RedactOracleTest::items_;
std::map<std::string, int> RedactOracleTest::generated_;
std::map<std::string, std::vector<std::string>> RedactOracleTest::not_located_,
    RedactOracleTest::undecodable_;

void RedactOracleTest::RunProfile(const char* label, const Profile& profile) {
  const bool allowlist = profile.mode == Profile::Mode::kAllowlist;
  const std::string out_dir = absl::StrCat(Dir(), "/", label);
  RunShell("rm -rf '" + out_dir + "' && mkdir -p '" + out_dir + "'");
  std::map<std::string, Row> rows;
  for (const auto& [format, n] : generated_) {
    rows[format].generated = n;
    rows[format].undecodable = undecodable_[format].size();
    rows[format].located =
        n - static_cast<int>(not_located_[format].size());
  }
  // Plan and apply.
  struct Done {
    const Item* item;
    std::string path;
    std::vector<std::string> byte_leaks;
  };
  std::vector<Done> done;
  std::map<std::string, std::vector<std::string>> refusals, unimplemented;
  for (const Item& item : items_) {
    Row& row = rows[item.v.format];
    ++row.valid;
    const std::string data = ReadFile(item.v.path);
    StringSource source(data);
    absl::StatusOr<Redaction> plan = PlanRedaction(source, profile);
    if (!plan.ok()) {
      const std::string what = absl::StrCat(
          item.v.name, " [", testing::DescribeTransforms(item.v), "]: ",
          plan.status().ToString());
      if (absl::IsUnimplemented(plan.status())) {
        ++row.unimplemented;
        unimplemented[item.v.format].push_back(what);
      } else {
        ++row.refused;
        refusals[item.v.format].push_back(what);
      }
      continue;
    }
    const std::string redacted = Apply(data, plan->ranges);
    Done d{&item, out_dir + "/" + item.v.path.substr(item.v.path.rfind('/') + 1),
           {}};
    WriteFile(d.path, redacted);
    if (allowlist) {
      for (const std::string& s : testing::LocationSecrets()) {
        if (absl::StrContains(redacted, s)) d.byte_leaks.push_back(s);
      }
    }
    done.push_back(std::move(d));
  }
  // The oracle, in batch.
  std::vector<std::string> paths;
  std::vector<std::pair<std::string, bool>> decode;
  for (const Done& d : done) {
    paths.push_back(d.path);
    decode.push_back({d.path, testing::IsVideoFormat(d.item->v.format)});
  }
  const Clock::time_point t0 = Clock::now();
  auto tags = testing::ExiftoolBatch(paths, out_dir);
  const Clock::time_point t1 = Clock::now();
  auto decoded = testing::DecodeBatch(decode, out_dir);
  std::printf("%s: %zu redacted copies, exiftool %.1f s, decoding %.1f s\n",
              label, done.size(), Seconds(t1 - t0),
              Seconds(Clock::now() - t1));
  std::map<std::string, std::vector<std::string>> leak_list, decode_list,
      out_of_scope_list;
  // format -> base or transform kind -> (redacted variants, leaking or
  // broken ones): which quirk a failure comes with.
  std::map<std::string, std::map<std::string, std::pair<int, int>>>
      by_transform;
  for (const Done& d : done) {
    const Item& item = *d.item;
    Row& row = rows[item.v.format];
    const std::string what =
        absl::StrCat(item.v.name, " [", testing::DescribeTransforms(item.v), "]");
    const std::vector<std::string> leaks = LeakLines(tags[d.path]);
    const DecodeResult& dec = decoded[d.path];
    const bool decode_ok =
        dec.ok && (!testing::IsVideoFormat(item.v.format) ||
                   dec.frames == item.decode.frames);
    bool all_out_of_scope = !allowlist && !leaks.empty();
    for (const std::string& l : leaks) {
      all_out_of_scope &= OutsideLocationOnlyScope(l);
    }
    if (all_out_of_scope) {
      ++row.out_of_scope;
      out_of_scope_list[item.v.format].push_back(
          absl::StrCat(what, "\n      exiftool: ",
                       absl::StrJoin(leaks, "\n      exiftool: ")));
    } else if (!leaks.empty() || !d.byte_leaks.empty()) {
      ++row.leaks;
      if (!d.byte_leaks.empty()) ++row.byte_leaks;
      std::string msg = what;
      if (!leaks.empty()) absl::StrAppend(&msg, "\n      exiftool: ",
                                          absl::StrJoin(leaks, "\n      exiftool: "));
      if (!d.byte_leaks.empty()) {
        absl::StrAppend(&msg, "\n      bytes: \"",
                        absl::StrJoin(d.byte_leaks, "\", \""), "\"");
      }
      leak_list[item.v.format].push_back(msg);
      ADD_FAILURE() << label << ": location survives redaction in " << msg
                    << "\n  original: " << item.v.path
                    << "\n  redacted: " << d.path;
    }
    if (!decode_ok) {
      ++row.decode_failures;
      const std::string msg = absl::StrCat(
          what, " (", dec.ok ? "decodes" : "does not decode", ", frames ",
          dec.frames, " vs ", item.decode.frames, ")",
          dec.error.empty() ? "" : "\n      ", dec.error);
      decode_list[item.v.format].push_back(msg);
      ADD_FAILURE() << label << ": redacted copy broken: " << msg
                    << "\n  redacted: " << d.path;
    }
    const bool bad = (!leaks.empty() && !all_out_of_scope) ||
                     !d.byte_leaks.empty() || !decode_ok;
    if (!bad && !all_out_of_scope) ++row.clean;
    std::set<std::string> kinds;
    for (const std::string& t : item.v.transforms) {
      kinds.insert(t.substr(0, t.find('(')));
    }
    for (const std::string& k : kinds) {
      auto& [n, failed] = by_transform[item.v.format][k];
      ++n;
      failed += bad;
    }
  }

  // The report.
  std::printf(
      "\n=== %s profile ===\n"
      "%-6s %9s %7s %7s %6s %6s %7s %6s %6s %6s %7s %6s\n",
      label, "format", "generated", "located", "undecod", "valid", "clean",
      "refused", "unimpl", "leaks", "bytes", "decfail", "scope");
  Row total;
  for (const std::string& f : testing::MediaFormats()) {
    const Row& r = rows[f];
    std::printf("%-6s %9d %7d %7d %6d %6d %7d %6d %6d %6d %7d %6d\n",
                f.c_str(), r.generated, r.located, r.undecodable, r.valid,
                r.clean, r.refused, r.unimplemented, r.leaks, r.byte_leaks,
                r.decode_failures, r.out_of_scope);
    total.generated += r.generated;
    total.located += r.located;
    total.undecodable += r.undecodable;
    total.valid += r.valid;
    total.clean += r.clean;
    total.refused += r.refused;
    total.unimplemented += r.unimplemented;
    total.leaks += r.leaks;
    total.byte_leaks += r.byte_leaks;
    total.decode_failures += r.decode_failures;
    total.out_of_scope += r.out_of_scope;
  }
  std::printf("%-6s %9d %7d %7d %6d %6d %7d %6d %6d %6d %7d %6d\n", "total",
              total.generated, total.located, total.undecodable, total.valid,
              total.clean, total.refused, total.unimplemented, total.leaks,
              total.byte_leaks, total.decode_failures, total.out_of_scope);
  auto print = [](const char* title,
                  const std::map<std::string, std::vector<std::string>>& m,
                  size_t limit) {
    for (const auto& [format, list] : m) {
      if (list.empty()) continue;
      std::printf("--- %s, %s (%zu):\n", title, format.c_str(), list.size());
      for (size_t i = 0; i < list.size() && i < limit; ++i) {
        std::printf("  %s\n", list[i].c_str());
      }
      if (list.size() > limit) std::printf("  ... %zu more\n", list.size() - limit);
    }
  };
  for (const auto& [format, kinds] : by_transform) {
    if (leak_list[format].empty() && decode_list[format].empty()) continue;
    std::printf("--- %s: leaking or broken / redacted variants, by base and "
                "transform:\n", format.c_str());
    for (const auto& [kind, counts] : kinds) {
      std::printf("  %-28s %3d / %3d%s\n", kind.c_str(), counts.second,
                  counts.first, counts.second == counts.first ? "  ALL" : "");
    }
  }
  print("LEAKS", leak_list, 1000);
  print("OUTSIDE THE LOCATION-ONLY PROFILE'S SCOPE (IPTC-IIM, PNG text "
        "keywords; reported, not failures)", out_of_scope_list, 1000);
  print("DECODE FAILURES", decode_list, 1000);
  print("REFUSED", refusals, 1000);
  print("UNIMPLEMENTED (not counted as refusals)", unimplemented, 3);
  if (std::string(label) == "location_only") {
    print("not located by exiftool (dropped)", not_located_, 1000);
    print("original does not decode (dropped)", undecodable_, 1000);
  }
  std::fflush(stdout);
  const int counted = total.valid - total.unimplemented;
  if (counted > 0) {
    EXPECT_LE(100.0 * total.refused / counted, kMaxRefusedPercent)
        << label << ": " << total.refused << " of " << counted
        << " valid variants refused";
  }
  if (total.unimplemented > 0) {
    std::printf("\n*** %s: %d of %d valid variants hit an UNIMPLEMENTED "
                "redactor: not tested ***\n",
                label, total.unimplemented, total.valid);
  }
}

TEST_F(RedactOracleTest, LocationOnlyProfile) {
  Profile p;
  p.mode = Profile::Mode::kLocationOnly;
  RunProfile("location_only", p);
}

TEST_F(RedactOracleTest, AllowlistProfile) {
  RunProfile("allowlist", Profile());
}

}  // namespace
}  // namespace scopedfs::redact
