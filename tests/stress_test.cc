// Stress: N client processes (each its own uid) run mixed operations for T
// seconds on their own subtree and on a shared one, once with kernel
// passthrough and once daemon-served. Each client keeps a model of its files
// and checks every read against it, and at the end checks the backing dir.
//
//   SCOPEDFS_STRESS_SECONDS  seconds per mode (default 20)
//   SCOPEDFS_STRESS_CLIENTS  client processes (default 4)
//   SCOPEDFS_STRESS_SEED     base seed (default: from the clock; printed)
// Long run, e.g.:
//   SCOPEDFS_STRESS_SECONDS=600 SCOPEDFS_STRESS_CLIENTS=8
//     TEST_SRCDIR=$PWD/.bazel/bin/tests/stress_test.runfiles
//     .bazel/bin/tests/stress_test          (one command line)
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdarg>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/mount_test_base.h"
#include "tests/test_util.h"

namespace scopedfs::testing {
namespace {

using Clock = std::chrono::steady_clock;



enum Op { kCreate, kWrite, kPwrite, kRename, kUnlink, kReaddir, kMmap, kTruncate,
          kFsync, kRead, kNumOps };
const char* const kOpNames[] = {"create", "write", "pwrite", "rename", "unlink", "readdir",
                                "mmap", "truncate", "fsync", "read"};

struct ClientResult {
  uint64_t ops[kNumOps];
  uint64_t bytes_checked;
  int done;
  char error[1024];
};

// One client: returns 0, or fills r->error and returns 1.
class Client {
 public:
  Client(const ScopedfsMount& m, int index, uint64_t seed, ClientResult* r)
      : m_(m), i_(index), rng_{seed * 0x9E3779B97F4A7C15ull + 1}, r_(r) {}

  int Run(Clock::time_point deadline) {
    own_ = absl::StrCat("c", i_);
    if (mkdir(m_.M(own_).c_str(), 0755) != 0) return Fail("mkdir %s: %s", own_.c_str(), strerror(errno));
    while (Clock::now() < deadline) {
      const Op op = static_cast<Op>(rng_.Below(kNumOps));
      if (!Step(op)) return 1;
      ++r_->ops[op];
    }
    for (auto& [path, data] : model_) {
      if (!CheckRead(path, "final")) return 1;
    }
    return CheckBacking() ? 0 : 1;
  }

 private:
  int Fail(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r_->error, sizeof(r_->error), fmt, ap);
    va_end(ap);
    return 1;
  }
  // Own names: c<i>/f<k> and shared/c<i>_f<k>.
  std::string RandomName() {
    const int k = static_cast<int>(rng_.Below(12));
    return rng_.Below(3) == 0 ? absl::StrCat("shared/c", i_, "_f", k)
                              : absl::StrCat(own_, "/f", k);
  }
  std::string ExistingOrNew(bool want_existing) {
    if (want_existing && !model_.empty()) {
      auto it = model_.begin();
      std::advance(it, rng_.Below(model_.size()));
      return it->first;
    }
    return RandomName();
  }
  bool CheckRead(const std::string& path, const char* when) {
    const auto it = model_.find(path);
    const int fd = open(m_.M(path).c_str(), O_RDONLY);
    if (it == model_.end()) {
      if (fd >= 0 || errno != ENOENT) {
        Fail("%s: %s exists though removed (%s)", when, path.c_str(), strerror(errno));
        return false;
      }
      return true;
    }
    if (fd < 0) {
      Fail("%s: open %s: %s", when, path.c_str(), strerror(errno));
      return false;
    }
    std::string got(it->second.size() + 4096, '\0');
    size_t n = 0;
    ssize_t k;
    while ((k = read(fd, got.data() + n, got.size() - n)) > 0) n += k;
    close(fd);
    if (k < 0) {
      Fail("%s: read %s: %s", when, path.c_str(), strerror(errno));
      return false;
    }
    got.resize(n);
    r_->bytes_checked += n;
    if (got != it->second) {
      size_t at = 0;
      while (at < std::min(got.size(), it->second.size()) && got[at] == it->second[at]) ++at;
      Fail("%s: %s has %zu bytes, model %zu, first difference at %zu", when, path.c_str(),
           got.size(), it->second.size(), at);
      return false;
    }
    return true;
  }
  void ModelWrite(std::string& data, size_t off, const std::string& bytes) {
    if (data.size() < off + bytes.size()) data.resize(off + bytes.size(), '\0');
    data.replace(off, bytes.size(), bytes);
  }

  bool Step(Op op) {
    switch (op) {
      case kCreate: {
        const std::string p = RandomName();
        const int fd = open(m_.M(p).c_str(), O_CREAT | O_EXCL | O_RDWR, 0644);
        const bool exists = model_.count(p) > 0;
        if (exists) {
          if (fd >= 0 || errno != EEXIST) return Fail("create %s over existing: %s", p.c_str(), strerror(errno)), false;
          return true;
        }
        if (fd < 0) return Fail("create %s: %s", p.c_str(), strerror(errno)), false;
        const std::string data = rng_.Bytes(rng_.Below(20000));
        const ssize_t n = write(fd, data.data(), data.size());
        close(fd);
        if (n != static_cast<ssize_t>(data.size())) return Fail("write %s: %s", p.c_str(), strerror(errno)), false;
        model_[p] = data;
        return CheckRead(p, "after create");
      }
      case kWrite:
      case kFsync: {
        if (model_.empty()) return true;
        const std::string p = ExistingOrNew(true);
        const int fd = open(m_.M(p).c_str(), O_WRONLY | O_APPEND);
        if (fd < 0) return Fail("open %s: %s", p.c_str(), strerror(errno)), false;
        const std::string data = rng_.Bytes(1 + rng_.Below(9000));
        const ssize_t n = write(fd, data.data(), data.size());
        if (n != static_cast<ssize_t>(data.size())) {
          close(fd);
          return Fail("append %s: %s", p.c_str(), strerror(errno)), false;
        }
        if (op == kFsync && fsync(fd) != 0) {
          close(fd);
          return Fail("fsync %s: %s", p.c_str(), strerror(errno)), false;
        }
        close(fd);
        model_[p] += data;
        return op == kFsync ? CheckRead(p, "after fsync") : true;
      }
      case kPwrite: {
        if (model_.empty()) return true;
        const std::string p = ExistingOrNew(true);
        std::string& data = model_[p];
        const size_t off = rng_.Below(data.size() + 5000);
        const std::string bytes = rng_.Bytes(1 + rng_.Below(6000));
        const int fd = open(m_.M(p).c_str(), O_RDWR);
        if (fd < 0) return Fail("open %s: %s", p.c_str(), strerror(errno)), false;
        const ssize_t n = pwrite(fd, bytes.data(), bytes.size(), off);
        if (n != static_cast<ssize_t>(bytes.size())) {
          close(fd);
          return Fail("pwrite %s: %s", p.c_str(), strerror(errno)), false;
        }
        ModelWrite(data, off, bytes);
        // Read back through the same descriptor.
        std::string back(bytes.size(), '\0');
        const ssize_t m = pread(fd, back.data(), back.size(), off);
        close(fd);
        if (m != n || back != bytes) return Fail("pread after pwrite %s differs", p.c_str()), false;
        return true;
      }
      case kRename: {
        if (model_.empty()) return true;
        const std::string from = ExistingOrNew(true);
        const std::string to = ExistingOrNew(rng_.Below(2) == 0);  // Sometimes over one.
        if (rename(m_.M(from).c_str(), m_.M(to).c_str()) != 0) {
          return Fail("rename %s -> %s: %s", from.c_str(), to.c_str(), strerror(errno)), false;
        }
        if (from != to) {
          model_[to] = std::move(model_[from]);
          model_.erase(from);
        }
        return CheckRead(to, "after rename") && CheckRead(from, "after rename");
      }
      case kUnlink: {
        const std::string p = ExistingOrNew(rng_.Below(4) != 0);
        const int res = unlink(m_.M(p).c_str());
        if (model_.count(p) ? res != 0 : (res == 0 || errno != ENOENT)) {
          return Fail("unlink %s: %d %s", p.c_str(), res, strerror(errno)), false;
        }
        model_.erase(p);
        return CheckRead(p, "after unlink");
      }
      case kReaddir: {
        const bool shared = rng_.Below(2) == 0;
        const std::string dir = shared ? "shared" : own_;
        const std::string prefix = shared ? absl::StrCat("c", i_, "_") : "";
        return ListingMatchesModel(m_.M(dir), dir, prefix, "readdir");
      }
      case kMmap: {
        if (model_.empty()) return true;
        const std::string p = ExistingOrNew(true);
        std::string& data = model_[p];
        if (data.empty()) return true;
        const int fd = open(m_.M(p).c_str(), O_RDWR);
        if (fd < 0) return Fail("open %s: %s", p.c_str(), strerror(errno)), false;
        void* map = mmap(nullptr, data.size(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (map == MAP_FAILED) {
          close(fd);
          return Fail("mmap %s: %s", p.c_str(), strerror(errno)), false;
        }
        char* c = static_cast<char*>(map);
        const bool same = memcmp(c, data.data(), data.size()) == 0;
        const size_t off = rng_.Below(data.size());
        const std::string bytes = rng_.Bytes(std::min<size_t>(1 + rng_.Below(3000), data.size() - off));
        memcpy(c + off, bytes.data(), bytes.size());
        r_->bytes_checked += data.size();
        munmap(map, data.size());
        close(fd);
        if (!same) return Fail("mmap read of %s differs from the model", p.c_str()), false;
        data.replace(off, bytes.size(), bytes);
        return CheckRead(p, "after mmap write");
      }
      case kTruncate: {
        if (model_.empty()) return true;
        const std::string p = ExistingOrNew(true);
        std::string& data = model_[p];
        const size_t len = rng_.Below(data.size() + 8000);
        if (truncate(m_.M(p).c_str(), len) != 0) {
          return Fail("truncate %s: %s", p.c_str(), strerror(errno)), false;
        }
        data.resize(len, '\0');
        return CheckRead(p, "after truncate");
      }
      case kRead:
        return CheckRead(ExistingOrNew(rng_.Below(5) != 0), "read");
      case kNumOps:
        break;
    }
    return true;
  }

  // Whether the names starting with `prefix` in `listed_dir` (`dir` in the
  // mount or in the backing dir) are exactly the model's files in `dir`.
  bool ListingMatchesModel(const std::string& listed_dir, const std::string& dir,
                           const std::string& prefix, const char* what) {
    std::set<std::string> listed, expected;
    DIR* d = opendir(listed_dir.c_str());
    if (!d) return Fail("%s: opendir %s: %s", what, dir.c_str(), strerror(errno)), false;
    while (dirent* e = readdir(d)) {
      const std::string n = e->d_name;
      if (n != "." && n != ".." && n.rfind(prefix, 0) == 0) listed.insert(dir + "/" + n);
    }
    closedir(d);
    for (auto& [path, data] : model_) {
      if (path.rfind(dir + "/" + prefix, 0) == 0) expected.insert(path);
    }
    if (listed != expected) {
      return Fail("%s %s: %zu names, model %zu", what, dir.c_str(), listed.size(),
                  expected.size()), false;
    }
    return true;
  }

  bool CheckBacking() {
    for (const std::string& dir : {own_, std::string("shared")}) {
      const std::string prefix = dir == own_ ? "" : absl::StrCat("c", i_, "_");
      if (!ListingMatchesModel(m_.B(dir), dir, prefix, "backing")) return false;
    }
    for (auto& [path, data] : model_) {
      if (ReadFile(m_.B(path)) != data) {
        return Fail("backing %s differs from the model", path.c_str()), false;
      }
    }
    return true;
  }

  const ScopedfsMount& m_;
  const int i_;
  Rng rng_;
  ClientResult* const r_;
  std::string own_;
  std::map<std::string, std::string> model_;
};

class StressTest : public ::testing::TestWithParam<bool> {};

TEST_P(StressTest, ClientsWithModelsAgreeWithTheMountAndTheBackingDir) {
  SFS_SKIP_UNLESS_MOUNTING_WORKS();
  const bool passthrough = GetParam();
  const uint64_t seconds = EnvOr("SCOPEDFS_STRESS_SECONDS", 20);
  const int clients = static_cast<int>(EnvOr("SCOPEDFS_STRESS_CLIENTS", 4));
  const uint64_t seed = EnvOr("SCOPEDFS_STRESS_SEED",
                              static_cast<uint64_t>(time(nullptr)) ^ (getpid() << 16));
  std::printf("stress: %s, %d clients x %lu s, SCOPEDFS_STRESS_SEED=%lu\n",
              passthrough ? "passthrough" : "daemon-served", clients,
              static_cast<unsigned long>(seconds), static_cast<unsigned long>(seed));
  auto m = ScopedfsMount::Start({passthrough ? "--passthrough=true" : "--passthrough=false"});
  ASSERT_TRUE(m.ok()) << m.status();
  ScopedfsMount& mnt = **m;
  ASSERT_EQ(mkdir(mnt.B("shared").c_str(), 0777), 0);
  ASSERT_EQ(chmod(mnt.B("shared").c_str(), 0777), 0);

  auto* results = static_cast<ClientResult*>(mmap(nullptr, sizeof(ClientResult) * clients,
                                                  PROT_READ | PROT_WRITE,
                                                  MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(results, MAP_FAILED);
  memset(results, 0, sizeof(ClientResult) * clients);
  const auto deadline = Clock::now() + std::chrono::seconds(seconds);
  std::vector<pid_t> pids;
  for (int i = 0; i < clients; ++i) {
    fflush(nullptr);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      if (!BecomeIdentity(User(4001 + i))) _exit(255);
      umask(022);
      Client c(mnt, i, seed + i, &results[i]);
      const int rc = c.Run(deadline);
      results[i].done = 1;
      _exit(rc);
    }
    pids.push_back(pid);
  }
  const auto hard_deadline = deadline + std::chrono::seconds(60);
  for (int i = 0; i < clients; ++i) {
    int status = 0;
    bool done = false;
    while (!(done = waitpid(pids[i], &status, WNOHANG) == pids[i]) &&
           Clock::now() < hard_deadline) {
      usleep(10000);
    }
    if (!done) {
      kill(pids[i], SIGKILL);
      waitpid(pids[i], &status, 0);
      ADD_FAILURE() << "client " << i << " hung";
      continue;
    }
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "client " << i << " (uid " << 4001 + i << ", SCOPEDFS_STRESS_SEED=" << seed
        << "): " << results[i].error;
    uint64_t total = 0;
    std::string line;
    for (int op = 0; op < kNumOps; ++op) {
      total += results[i].ops[op];
      absl::StrAppend(&line, " ", kOpNames[op], "=", results[i].ops[op]);
    }
    std::printf("client %d: %lu ops (%s ), %lu bytes checked\n", i,
                static_cast<unsigned long>(total), line.c_str(),
                static_cast<unsigned long>(results[i].bytes_checked));
    EXPECT_GT(total, 100u) << "client " << i << " hardly ran";
  }
  auto stats = mnt.Stats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  if (passthrough) {
    EXPECT_GT((*stats)["opens_passthrough"], 0u);
  } else {
    EXPECT_GT((*stats)["write_requests"], 0u);
    EXPECT_GT((*stats)["read_requests"], 0u);
  }
  munmap(results, sizeof(ClientResult) * clients);
}

INSTANTIATE_TEST_SUITE_P(Modes, StressTest, ::testing::Bool(), [](const auto& info) {
  return info.param ? "Passthrough" : "DaemonServed";
});

}  // namespace
}  // namespace scopedfs::testing
