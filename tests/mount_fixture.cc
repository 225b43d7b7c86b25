#include "tests/mount_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/ascii.h"

namespace scopedfs::testing {
namespace {

constexpr long kFuseSuperMagic = 0x65735546;

bool WaitFor(const std::function<bool()>& cond, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return cond();
}

}  // namespace

std::string WhyMountingCannotRun() {
  if (geteuid() != 0) return "not running as root (needs CAP_SYS_ADMIN)";
  if (access("/dev/fuse", R_OK | W_OK) != 0) return "no usable /dev/fuse";
  return "";
}

std::string DaemonBinary() {
  if (const char* env = getenv("SCOPEDFSD")) return env;
  const char* srcdir = getenv("TEST_SRCDIR");
  const std::string base = srcdir ? srcdir : ".";
  return base + "/scopedfs/daemon/scopedfsd";
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/sfs.XXXXXX";
  if (mkdtemp(tmpl) == nullptr) abort();
  chmod(tmpl, 0755);
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

bool IsFuseMounted(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    // "... mount_point options ... - fstype source ..."
    std::vector<std::string> f = absl::StrSplit(line, ' ');
    if (f.size() < 5 || f[4] != path) continue;
    auto dash = std::find(f.begin(), f.end(), "-");
    if (dash != f.end() && dash + 1 != f.end() &&
        (dash + 1)->rfind("fuse", 0) == 0) {
      return true;
    }
  }
  return false;
}

absl::StatusOr<std::unique_ptr<ScopedfsMount>> ScopedfsMount::Start(
    const std::vector<std::string>& flags) {
  return StartWith(flags, DaemonOptions());
}

absl::StatusOr<std::unique_ptr<ScopedfsMount>>
ScopedfsMount::StartCapturingStderr(const std::vector<std::string>& flags) {
  DaemonOptions options;
  options.capture_stderr = true;
  return StartWith(flags, options);
}

absl::StatusOr<std::unique_ptr<ScopedfsMount>> ScopedfsMount::StartWith(
    const std::vector<std::string>& flags, const DaemonOptions& options) {
  std::unique_ptr<ScopedfsMount> m(new ScopedfsMount());
  m->dir_ = std::make_unique<TempDir>();
  m->backing_ = m->dir_->Sub("backing");
  m->mount_ = m->dir_->Sub("mnt");
  m->state_dir_ = m->dir_->Sub("state");
  mkdir(m->backing_.c_str(), 0777);
  chmod(m->backing_.c_str(), 0777);
  if (options.backing_on_xfs) {
    auto xfs = LoopXfs::Mount(m->dir_->Sub("xfs.img"), m->backing_);
    if (!xfs.ok()) return xfs.status();
    m->xfs_ = *std::move(xfs);
  }
  mkdir(m->mount_.c_str(), 0755);
  m->flags_ = flags;
  m->capture_stderr_ = options.capture_stderr;
  m->umask_ = options.umask;
  if (absl::Status st = m->Launch(); !st.ok()) return st;
  return m;
}

std::string ScopedfsMount::DaemonStderr() const {
  return capture_stderr_ ? ReadFile(dir_->Sub("daemon.stderr")) : "";
}

int ScopedfsMount::DaemonThreads() const {
  if (pid_ <= 0) return -1;
  std::ifstream in(absl::StrCat("/proc/", pid_, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    int n;
    if (line.rfind("Threads:", 0) == 0 &&
        absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(8)), &n)) {
      return n;
    }
  }
  return -1;
}

absl::Status ScopedfsMount::Restart() {
  Stop(SIGTERM);
  return Launch();
}

absl::Status ScopedfsMount::Launch() {
  std::vector<std::string> args = {DaemonBinary(), "--foreground",
                                    "--state_dir=" + state_dir_};
  // Unless the test brings its own policy, allow everything: the tests of
  // POSIX behaviour must see only the backing file system's rules.
  const bool has_policy = std::any_of(flags_.begin(), flags_.end(), [](auto& f) {
    return f.rfind("--policy=", 0) == 0;
  });
  if (!has_policy) {
    const std::string allow_all = dir_->Sub("allow_all.textproto");
    WriteFile(allow_all, "default_action: ALLOW\n");
    args.push_back("--policy=" + allow_all);
  }
  // SCOPEDFS_TEST_TRANSPORT=dev|uring|auto runs every mount test over that
  // transport (daemon/fuse/transport.h); test.sh runs them once over each.
  if (const char* transport = getenv("SCOPEDFS_TEST_TRANSPORT");
      transport != nullptr && *transport != '\0') {
    args.push_back(absl::StrCat("--transport=", transport));
  }
  args.insert(args.end(), flags_.begin(), flags_.end());
  args.push_back(backing_);
  args.push_back(mount_);
  const std::string stderr_file = dir_->Sub("daemon.stderr");
  // The previous daemon's last counters (written at its exit) must not pass
  // for this one's: its sequence starts over.
  unlink((state_dir_ + "/stats").c_str());
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    if (umask_ >= 0) umask(static_cast<mode_t>(umask_));
    if (capture_stderr_) {
      const int fd = open(stderr_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd >= 0) dup2(fd, 2);
    }
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  pid_ = pid;
  last_stats_sequence_ = 0;
  const std::string mnt = mount_;
  int status = 0;
  bool exited = false;
  const bool up = WaitFor(
      [&] {
        struct statfs sf;
        if (statfs(mnt.c_str(), &sf) == 0 && sf.f_type == kFuseSuperMagic) {
          return true;
        }
        exited = waitpid(pid, &status, WNOHANG) == pid;  // Fail fast.
        return exited;
      },
      10000) && !exited;
  if (!up) {
    if (exited) pid_ = -1;
    return absl::InternalError(absl::StrCat(
        "scopedfsd did not mount ", mnt,
        exited ? absl::StrCat(" (exited with ", WEXITSTATUS(status), ")")
               : std::string(" within 10 s")));
  }
  return absl::OkStatus();
}

int ScopedfsMount::Stop(int sig) {
  if (pid_ <= 0) return -1;
  kill(pid_, sig);
  int status = 0;
  bool done = false;
  for (int i = 0; i < 1000 && !done; ++i) {
    done = waitpid(pid_, &status, WNOHANG) == pid_;
    if (!done) usleep(10000);
  }
  if (!done) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
  }
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

ScopedfsMount::~ScopedfsMount() {
  Stop(SIGTERM);
  if (IsFuseMounted(mount_)) umount2(mount_.c_str(), MNT_DETACH);
  xfs_.reset();  // Before dir_ removes the image's directory.
}

absl::StatusOr<std::map<std::string, uint64_t>> ScopedfsMount::Stats() {
  if (pid_ <= 0) return absl::FailedPreconditionError("daemon not running");
  const std::string path = state_dir_ + "/stats";
  std::map<std::string, uint64_t> out;
  auto load = [&] {
    out.clear();
    std::ifstream in(path);
    std::string name;
    uint64_t value;
    while (in >> name >> value) out[name] = value;
    return out.count("sequence") && out["sequence"] > last_stats_sequence_;
  };
  kill(pid_, SIGUSR1);
  if (!WaitFor(load, 5000)) return absl::DeadlineExceededError("no stats");
  last_stats_sequence_ = out["sequence"];
  return out;
}

bool BecomeIdentity(const Identity& who) {
  return setgroups(who.groups.size(), who.groups.data()) == 0 &&
         setresgid(who.gid, who.gid, who.gid) == 0 &&
         setresuid(who.uid, who.uid, who.uid) == 0;
}

int RunAs(const Identity& who, const std::function<int()>& fn) {
  fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return 254;
  if (pid == 0) {
    if (!BecomeIdentity(who)) _exit(255);
    _exit(fn() & 0xff);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return 254;
  return WEXITSTATUS(status);
}

}  // namespace scopedfs::testing
