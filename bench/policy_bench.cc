// Policy decision latency: p50/p99 (ns) of Engine::Decide (uncached) and of a
// DecisionCache hit (cached), for generated policies of about 10, 1k and 10k
// rules. Goal (issue 3): <= 2 us p50 uncached at 10k rules.
//
//   bazel run //bench:policy_bench [-- --requests=N --seed=S]
//
// The policies look like a real device's: the embedded Android-style default
// (10 rules), plus, per installed app, rules for its private directories, its
// own media folder, a per-app hidden cache pattern anywhere ("**/.cache-<app>/")
// and a write ban; plus shared folders for any caller. Requests mix lookups
// (half of them), reads, writes and creates by installed apps, by unknown
// uids and by root, in private directories (own and others'), media
// collections, shared folders and elsewhere, 1 to 6 components deep.
//
// Every request is timed on its own (steady_clock around one call); the
// clock's own cost is printed and not subtracted. "cached" replays the same
// requests as DecisionCache hits (~200k distinct keys: the map does not fit
// in the CPU caches); "cached, hot" replays 1024 keys.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "policy/decision_cache.h"
#include "policy/default_policy.h"
#include "policy/engine.h"
#include "policy/policy_text.h"

namespace scopedfs::policy {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  size_t requests = 200000;
  uint32_t seed = 1;
};

std::string AppName(int i) { return absl::StrCat("com.bench.app", i); }

// About `target` rules: the default policy's rules come last, after the
// per-app and shared rules (which are more specific).
v1::Policy MakePolicy(int target, int* apps_out) {
  auto def = ParsePolicyText(DefaultPolicyText());
  if (!def.ok()) {
    std::fprintf(stderr, "default policy: %s\n", std::string(def.status().message()).c_str());
    std::exit(1);
  }
  v1::Policy p = *def;
  const int base = p.rules_size();
  google::protobuf::RepeatedPtrField<v1::Rule> default_rules;
  default_rules.Swap(p.mutable_rules());

  const int extra = std::max(0, target - base);
  const int per_app = 4;
  const int apps = extra / (per_app + 1);       // ~4/5 per-app rules...
  const int shared = extra - apps * per_app;    // ...the rest shared folders
  for (int i = 0; i < apps; ++i) {
    v1::App* a = p.add_apps();
    a->set_name(AppName(i));
    a->add_android_app_ids(20000 + i);
    if (i % 2 == 0) a->add_permissions("media");
    if (i % 4 == 0) a->add_permissions("media_location");
  }
  for (int i = 0; i < apps; ++i) {
    const std::string name = AppName(i);
    v1::Rule* r = p.add_rules();
    r->set_id(absl::StrCat(name, "-private"));
    r->add_apps(name);
    r->add_paths(absl::StrCat("Android/data/", name, "/"));
    r->add_paths(absl::StrCat("Android/obb/", name, "/"));
    r->set_action(v1::ALLOW);
    r->set_audit(false);

    r = p.add_rules();
    r->set_id(absl::StrCat(name, "-pictures"));
    r->add_apps(name);
    r->add_paths(absl::StrCat("Pictures/App", i, "/"));
    r->set_action(v1::ALLOW);

    r = p.add_rules();
    r->set_id(absl::StrCat(name, "-hidden-cache"));
    r->add_apps(name);
    r->add_paths(absl::StrCat("**/.cache-", i, "/"));
    r->set_action(v1::HIDE);

    r = p.add_rules();
    r->set_id(absl::StrCat(name, "-no-doc-writes"));
    r->add_apps(name);
    r->add_paths("Documents/Locked/**/*.pdf");
    r->add_operations(v1::WRITE);
    r->add_operations(v1::DELETE);
    r->set_action(v1::DENY);
  }
  for (int k = 0; k < shared; ++k) {
    v1::Rule* r = p.add_rules();
    r->set_id(absl::StrCat("shared-", k));
    r->add_paths(absl::StrCat("Shared/team", k, "/"));
    if (k % 3 == 0) r->add_require_permissions("media");
    if (k % 5 == 0) r->add_classes(v1::DOCUMENT);
    r->set_action(k % 7 == 0 ? v1::HIDE : v1::ALLOW);
  }
  for (v1::Rule& r : default_rules) *p.add_rules() = std::move(r);
  *apps_out = apps;
  return p;
}

struct Sample {
  uint32_t uid;
  std::string path;
  v1::Operation op;
  bool is_dir;
  bool owner;
  uint64_t node_id;
};

std::vector<Sample> MakeRequests(int apps, size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const char* files[] = {"IMG_0001.jpg", "VID_0002.mp4", "notes.txt", "song.mp3",
                         "data.bin",     "report.pdf",   "a.png",     "cache.db"};
  const char* media[] = {"DCIM/Camera", "Pictures", "Movies", "Music", "Download", "Documents"};
  std::vector<Sample> out;
  out.reserve(n);
  // A bounded set of distinct paths, so node ids repeat like a live mount's.
  std::vector<std::string> paths;
  for (int i = 0; i < 4096; ++i) {
    const int app = apps > 0 ? pick(0, apps - 1) : 0;
    std::string path;
    switch (pick(0, 9)) {
      case 0:
      case 1:
        path = absl::StrCat("Android/data/", apps > 0 ? AppName(app) : "com.example.gallery",
                            "/files");
        break;
      case 2:
        path = absl::StrCat("Android/obb/", apps > 0 ? AppName(app) : "com.example.social");
        break;
      case 3:
      case 4:
        path = media[pick(0, 5)];
        break;
      case 5:
        path = absl::StrCat("Pictures/App", app);
        break;
      case 6:
        path = absl::StrCat("Shared/team", pick(0, 2000));
        break;
      case 7:
        path = absl::StrCat("Documents/Locked/", pick(0, 9));
        break;
      case 8:
        path = absl::StrCat("DCIM/.cache-", app);
        break;
      default:
        path = absl::StrCat("misc/dir", pick(0, 50));
        break;
    }
    const int extra_depth = pick(0, 3);
    for (int d = 0; d < extra_depth; ++d) absl::StrAppend(&path, "/sub", pick(0, 9));
    if (pick(0, 3) != 0) absl::StrAppend(&path, "/", files[pick(0, 7)]);
    paths.push_back(std::move(path));
  }
  for (size_t i = 0; i < n; ++i) {
    Sample s;
    const int who = pick(0, 19);
    if (who == 0) {
      s.uid = 0;  // root
    } else if (who <= 2) {
      s.uid = static_cast<uint32_t>(pick(50000, 99999));  // no app
    } else if (apps > 0) {
      s.uid = static_cast<uint32_t>(pick(0, 3) * 100000 + 20000 + pick(0, apps - 1));
    } else {
      s.uid = static_cast<uint32_t>(10001 + pick(0, 2));
    }
    s.node_id = static_cast<uint64_t>(pick(0, static_cast<int>(paths.size()) - 1));
    s.path = paths[s.node_id];
    const int op = pick(0, 9);
    s.op = op < 5 ? v1::LOOKUP : op < 8 ? v1::READ : op < 9 ? v1::WRITE : v1::CREATE;
    s.is_dir = s.path.find('.') == std::string::npos;
    s.owner = pick(0, 9) == 0;
    out.push_back(std::move(s));
  }
  return out;
}

struct Stats {
  double p50, p90, p99, p999, mean;
};

Stats Summarize(std::vector<int64_t>* ns) {
  std::sort(ns->begin(), ns->end());
  auto at = [&](double q) {
    return static_cast<double>((*ns)[std::min(ns->size() - 1, static_cast<size_t>(q * ns->size()))]);
  };
  double sum = 0;
  for (int64_t v : *ns) sum += static_cast<double>(v);
  return {at(0.50), at(0.90), at(0.99), at(0.999), sum / ns->size()};
}

Request ToRequest(const Sample& s) {
  Request r;
  r.uid = s.uid;
  r.gid = s.uid;
  r.path = s.path;
  r.op = s.op;
  r.is_dir = s.is_dir;
  r.caller_is_owner = s.owner;
  return r;
}

volatile int sink;

void Run(int target, const Options& opt) {
  int apps = 0;
  const v1::Policy policy = MakePolicy(target, &apps);
  const auto t0 = Clock::now();
  auto compiled = Engine::Compile(policy, 1);
  const double compile_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  if (!compiled.ok()) {
    std::fprintf(stderr, "compile: %s\n", std::string(compiled.status().message()).c_str());
    std::exit(1);
  }
  const Engine& engine = **compiled;
  const std::vector<Sample> reqs = MakeRequests(apps, opt.requests, opt.seed);

  // Warm up (page in, train branch predictors), then one timed call each.
  int acc = 0;
  for (size_t i = 0; i < std::min<size_t>(reqs.size(), 20000); ++i) {
    acc += engine.Decide(ToRequest(reqs[i])).action;
  }
  std::vector<int64_t> uncached;
  uncached.reserve(reqs.size());
  int counts[5] = {0, 0, 0, 0, 0};
  for (const Sample& s : reqs) {
    const Request r = ToRequest(s);
    const auto a = Clock::now();
    const Verdict v = engine.Decide(r);
    const auto b = Clock::now();
    uncached.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count());
    ++counts[v.action];
  }

  auto key_of = [](const Sample& s) {
    return DecisionCache::Key{s.uid, s.uid, s.node_id, static_cast<int>(s.op), 1};
  };
  // Room for every distinct key (x2: shards fill unevenly), so that the timed
  // pass measures hits, over a working set as large as the request mix's.
  absl::flat_hash_set<DecisionCache::Key> distinct;
  for (const Sample& s : reqs) distinct.insert(key_of(s));
  DecisionCache cache(std::max<size_t>(size_t{1} << 16, 2 * distinct.size()));
  for (const Sample& s : reqs) cache.Put(key_of(s), engine.Decide(ToRequest(s)));
  std::vector<int64_t> cached;
  cached.reserve(reqs.size());
  size_t misses = 0;
  for (const Sample& s : reqs) {
    const DecisionCache::Key k = key_of(s);
    const auto a = Clock::now();
    const std::optional<Verdict> v = cache.Get(k);
    const auto b = Clock::now();
    if (!v) {
      ++misses;  // evicted: not a hit, not timed
      continue;
    }
    acc += v->action;
    cached.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count());
  }
  // The same over a hot working set (1024 keys, as when one app walks a
  // directory): the floor of a hit, the map in the CPU caches.
  std::vector<DecisionCache::Key> hot_keys;
  for (const Sample& s : reqs) {
    if (hot_keys.size() == 1024) break;
    hot_keys.push_back(key_of(s));
  }
  std::vector<int64_t> hot;
  hot.reserve(reqs.size());
  for (size_t i = 0; i < reqs.size(); ++i) {
    const DecisionCache::Key& k = hot_keys[i % hot_keys.size()];
    const auto a = Clock::now();
    const std::optional<Verdict> v = cache.Get(k);
    const auto b = Clock::now();
    acc += v ? v->action : 0;
    hot.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count());
  }
  sink = acc;

  const Stats u = Summarize(&uncached);
  const Stats c = Summarize(&cached);
  const Stats h = Summarize(&hot);
  std::printf("%6d %6d %7.1f | %7.0f %7.0f %7.0f %7.0f %7.0f | %6.0f %6.0f %6.0f %6.0f | %6.0f"
              " %6.0f | %5.1f%% %5.1f%% %5.1f%% %5.1f%%\n",
              policy.rules_size(), apps, compile_ms, u.p50, u.p90, u.p99, u.p999, u.mean, c.p50,
              c.p99, c.p999, c.mean, h.p50, h.p99, 100.0 * counts[v1::ALLOW] / reqs.size(),
              100.0 * counts[v1::ALLOW_REDACTED] / reqs.size(),
              100.0 * counts[v1::DENY] / reqs.size(), 100.0 * counts[v1::HIDE] / reqs.size());
  std::printf("       cache: %zu distinct keys, capacity %zu, %zu evicted before the timed pass\n",
              distinct.size(), cache.capacity(), misses);
}

}  // namespace
}  // namespace scopedfs::policy

int main(int argc, char** argv) {
  scopedfs::policy::Options opt;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--requests=", 11) == 0) {
      opt.requests = std::strtoull(argv[i] + 11, nullptr, 10);
    } else if (std::strncmp(argv[i], "--seed=", 7) == 0) {
      opt.seed = static_cast<uint32_t>(std::strtoul(argv[i] + 7, nullptr, 10));
    } else {
      std::fprintf(stderr, "usage: %s [--requests=N] [--seed=S]\n", argv[0]);
      return 2;
    }
  }
  if (opt.requests == 0) opt.requests = 1;

  // The clock's own cost, included in every sample below.
  std::vector<int64_t> clock_ns;
  for (int i = 0; i < 100000; ++i) {
    const auto a = scopedfs::policy::Clock::now();
    const auto b = scopedfs::policy::Clock::now();
    clock_ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count());
  }
  std::sort(clock_ns.begin(), clock_ns.end());
  std::printf("policy decision latency, ns per request (%zu requests per row; steady_clock "
              "overhead p50 %lld ns, included)\n\n",
              opt.requests, static_cast<long long>(clock_ns[clock_ns.size() / 2]));
  std::printf("%6s %6s %7s | %-39s | %-27s | %-13s | %s\n", "rules", "apps", "compile",
              "uncached: Engine::Decide", "cached: DecisionCache hit", "cached, hot",
              "verdicts (uncached pass)");
  std::printf("%6s %6s %7s | %7s %7s %7s %7s %7s | %6s %6s %6s %6s | %6s %6s | %6s %6s %6s %6s\n",
              "", "", "ms", "p50", "p90", "p99", "p99.9", "mean", "p50", "p99", "p99.9", "mean",
              "p50", "p99", "ALLOW", "REDACT", "DENY", "HIDE");
  for (int target : {10, 1000, 10000}) scopedfs::policy::Run(target, opt);
  return 0;
}
