// scopedfsd as a service: configuration file (flags override it),
// --check-config, systemd's notify protocol against a fake NOTIFY_SOCKET
// (READY only once the mount is live, WATCHDOG pings, STOPPING), and the
// debug trace of decisions as structured log lines.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/mount_test_base.h"
#include "tests/shell.h"

namespace scopedfs::testing {
namespace {

constexpr long kFuseSuperMagic = 0x65735546;

bool IsLiveFuse(const std::string& path) {
  struct statfs sf;
  return statfs(path.c_str(), &sf) == 0 && sf.f_type == kFuseSuperMagic;
}

// A scopedfsd started by hand (fork + exec) with extra environment and its
// stderr in a file; SIGTERM and a lazy unmount on destruction.
class Daemon {
 public:
  Daemon(std::vector<std::string> args, std::vector<std::string> env,
         const std::string& stderr_path, const std::string& mountpoint)
      : mountpoint_(mountpoint) {
    args.insert(args.begin(), DaemonBinary());
    pid_ = fork();
    if (pid_ == 0) {
      const int fd = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 2);
      for (std::string& e : env) {
        if (e == "WATCHDOG_PID=self") e = absl::StrCat("WATCHDOG_PID=", getpid());
        putenv(e.data());
      }
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  ~Daemon() {
    Stop();
    if (IsFuseMounted(mountpoint_)) umount2(mountpoint_.c_str(), MNT_DETACH);
  }
  // SIGTERM; the exit status (or -1 if it had to be killed).
  int Stop() {
    if (pid_ <= 0) return -1;
    kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 500; ++i) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      usleep(10000);
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return -1;
  }
  // Exit status if it exited within `ms`, else -2.
  int WaitExit(int ms) {
    int status = 0;
    for (int i = 0; i < ms / 10; ++i) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      usleep(10000);
    }
    return -2;
  }
  bool WaitMounted(int ms) {
    for (int i = 0; i < ms / 10; ++i) {
      if (IsLiveFuse(mountpoint_)) return true;
      usleep(10000);
    }
    return false;
  }
  pid_t pid() const { return pid_; }

 private:
  std::string mountpoint_;
  pid_t pid_ = -1;
};

struct Dirs {
  TempDir tmp;
  std::string backing = tmp.Sub("backing"), mnt = tmp.Sub("mnt"), state = tmp.Sub("state");
  Dirs() {
    mkdir(backing.c_str(), 0777);
    mkdir(mnt.c_str(), 0755);
  }
};

ShellResult Check(const std::string& args) {
  return RunShell(absl::StrCat(DaemonBinary(), " ", args, " 2>&1"));
}

TEST(ServiceTest, ConfigFileMountsAndCommandLineFlagsOverrideIt) {
  SFS_SKIP_UNLESS_MOUNTING_WORKS();
  Dirs d;
  const std::string config = d.tmp.Sub("scopedfs.textproto");
  WriteFile(config, absl::StrCat("source: \"", d.backing, "\"\nmountpoint: \"", d.mnt,
                                 "\"\nstate_dir: \"", d.state,
                                 "\"\nthreads: 3\ntimeout: 0\npassthrough: false\nmax_nodes: 777\n"
                                 "mount_options: \"fsname=from-config\"\n"));
  WriteFile(d.backing + "/f", "hello");
  // --passthrough on the command line wins over the file's false.
  Daemon daemon({"--config=" + config, "--foreground", "--passthrough=true"}, {},
                d.tmp.Sub("stderr"), d.mnt);
  ASSERT_TRUE(daemon.WaitMounted(10000)) << ReadFile(d.tmp.Sub("stderr"));
  EXPECT_EQ(ReadFile(d.mnt + "/f"), "hello");
  struct stat st;
  EXPECT_EQ(stat((d.state + "/admin.sock").c_str(), &st), 0) << "state_dir from the file";
  EXPECT_NE(ReadFile("/proc/self/mountinfo").find("from-config"), std::string::npos);
  const std::string log = ReadFile(d.tmp.Sub("stderr"));
  EXPECT_NE(log.find("(3 threads, up to 777 nodes)"), std::string::npos) << log;
  EXPECT_NE(log.find("kernel passthrough on"), std::string::npos) << log;
  EXPECT_EQ(daemon.Stop(), 0);
}

TEST(ServiceTest, CheckConfigValidatesWithoutMounting) {
  SFS_SKIP_UNLESS_MOUNTING_WORKS();
  Dirs d;
  const std::string config = d.tmp.Sub("c.textproto");
  WriteFile(config, absl::StrCat("source: \"", d.backing, "\"\nmountpoint: \"", d.mnt,
                                 "\"\nstate_dir: \"", d.state, "\"\n"));
  ShellResult r = Check("--config=" + config + " --check-config");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("configuration is valid"), std::string::npos) << r.output;
  EXPECT_FALSE(IsFuseMounted(d.mnt));

  // Each problem is one line naming what is wrong; exit 2.
  WriteFile(d.tmp.Sub("unknown.textproto"), "threads: 2\ncolour: 1\n");
  r = Check("--config=" + d.tmp.Sub("unknown.textproto") + " --check-config");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("unknown.textproto': line 2:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("colour"), std::string::npos) << r.output;

  r = Check("--config=" + config + " --check-config --threads=0");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("--threads"), std::string::npos) << r.output;

  mkdir(d.state.c_str(), 0700);
  WriteFile(d.state + "/policy.textproto", "rules { id: \"x\" action: ALLOW\n");
  WriteFile(d.state + "/audit.db", "this is not a database, but someone's data");
  r = Check("--config=" + config + " --check-config");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find(d.state + "/policy.textproto"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(d.state + "/audit.db"), std::string::npos) << r.output;
  EXPECT_EQ(ReadFile(d.state + "/audit.db"), "this is not a database, but someone's data");
}

// Every bad flag, unknown flag, bad -o option and unusable --policy or
// --config: exactly one stderr line "scopedfsd: error: ...", exit status 2,
// nothing mounted, nothing on stdout. (absl used to print "ERROR: ..." lines
// and exit 1; libfuse four lines for -o bogus_opt=1; --policy=<a directory>
// said "default_action: must be set".)
TEST(ServiceTest, BadArgumentsAreOneErrorLineAndExitTwo) {
  SFS_SKIP_UNLESS_MOUNTING_WORKS();
  Dirs d;
  const std::string dir = d.tmp.Sub("a-dir");
  mkdir(dir.c_str(), 0755);
  const std::string bad_options = d.tmp.Sub("bad-options.textproto");
  WriteFile(bad_options, "mount_options: \"noatime\"\nmount_options: \"ro,bogus\"\n");
  const std::string paths = absl::StrCat(" --state_dir=", d.state, " ", d.backing, " ", d.mnt);
  struct Case {
    std::string args;
    std::string says;  // Part of the one line.
  };
  const std::vector<Case> cases = {
      {"--threads=abc", "--threads: invalid value 'abc' (expected an integer)"},
      {"--threads", "--threads needs a value"},  // Not --state_dir=... as its value.
      {"--bogus_flag=1", "unknown flag --bogus_flag (see --help)"},
      {"--bogus-flag", "unknown flag --bogus_flag (see --help)"},
      {"-x", "unknown flag -x (see --help)"},
      {"--audit_max_age=soon", "--audit_max_age: invalid value 'soon' (expected a duration"},
      {"--passthrough=perhaps", "--passthrough: invalid value 'perhaps' (expected true or false)"},
      {"--nopassthrough=1", "--nopassthrough takes no value"},
      {"--flagfile=/dev/null", "--flagfile is not supported: put flags in --config=FILE"},
      {"-o bogus_opt=1", "-o bogus_opt=1: unknown mount option (scopedfsd takes "},
      {"-o ro,max_read=131072", "-o max_read=131072: not supported: scopedfsd does not"},
      {"-o ro,subtype", "-o subtype: subtype needs a value (subtype=...)"},
      {"-onoatime=1", "-o noatime=1: noatime takes no value"},
      {"-o lazytime", "-o lazytime: unknown mount option"},
      {"-o allow_root", "-o allow_root: not supported"},
      {"--config=" + bad_options,
       "config file '" + bad_options + "': mount_options bogus: unknown mount option"},
      {"--policy=" + dir, "--policy: '" + dir + "' is a directory, expected a policy file"},
      {"--policy=" + d.tmp.Sub("missing"),
       "--policy: cannot read '" + d.tmp.Sub("missing") + "': No such file or directory"},
      {"--config=" + dir, "--config: '" + dir + "' is a directory, expected a config file"},
      {"--check-config --threads=abc", "--threads: invalid value 'abc'"},
      {"--check-config -o bogus_opt=1", "-o bogus_opt=1: unknown mount option"},
      {"--check-config --policy=" + dir,
       "scopedfsd: error: --policy: '" + dir + "' is a directory, expected a policy file"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.args);
    const std::string out_file = d.tmp.Sub("stdout");
    // stderr to the pipe, stdout to a file (--check-config prints "ok:" lines there).
    const ShellResult r = RunShell(
        absl::StrCat(DaemonBinary(), " ", c.args, paths, " 2>&1 >", out_file));
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    EXPECT_TRUE(absl::StartsWith(r.output, "scopedfsd: error: ")) << r.output;
    EXPECT_NE(r.output.find(c.says), std::string::npos) << r.output;
    if (!absl::StrContains(c.args, "--check-config")) {
      EXPECT_EQ(ReadFile(out_file), "");
    }
    EXPECT_FALSE(IsFuseMounted(d.mnt));
  }
  // The same flags, well formed, still start (so the cases above failed
  // for the reason they name).
  const std::string policy = d.tmp.Sub("p.textproto");
  WriteFile(policy, "default_action: ALLOW\n");
  Daemon daemon({"--foreground", "--threads", "2", "--passthrough=false", "--audit_max_age=1h",
                 "-o", "ro,noatime,subtype=sfs,fsname=a\\,b", "--policy=" + policy,
                 "--state_dir=" + d.state, d.backing, d.mnt},
                {}, d.tmp.Sub("stderr"), d.mnt);
  ASSERT_TRUE(daemon.WaitMounted(10000)) << ReadFile(d.tmp.Sub("stderr"));
  EXPECT_NE(ReadFile("/proc/self/mountinfo").find("a,b"), std::string::npos);
  EXPECT_EQ(daemon.Stop(), 0);
}

TEST(ServiceTest, NotifyProtocolReadyWatchdogStopping) {
  SFS_SKIP_UNLESS_MOUNTING_WORKS();
  Dirs d;
  const std::string sock_path = d.tmp.Sub("notify");
  const int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(sock, 0);
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(sock_path.size(), sizeof(addr.sun_path));
  std::strcpy(addr.sun_path, sock_path.c_str());
  ASSERT_EQ(bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  timeval tv{5, 0};
  setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

  Daemon daemon({"--foreground", "--state_dir=" + d.state, d.backing, d.mnt},
                {"NOTIFY_SOCKET=" + sock_path, "WATCHDOG_USEC=200000", "WATCHDOG_PID=self"},
                d.tmp.Sub("stderr"), d.mnt);
  auto receive = [&]() -> std::string {
    char buf[4096];
    const ssize_t n = recv(sock, buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, n) : std::string();
  };
  const std::string ready = receive();
  ASSERT_TRUE(absl::StrContains(ready, "READY=1")) << ready << ReadFile(d.tmp.Sub("stderr"));
  // READY means usable: the mount is live at that moment.
  EXPECT_TRUE(IsLiveFuse(d.mnt));
  EXPECT_TRUE(absl::StrContains(ready, absl::StrCat("MAINPID=", daemon.pid()))) << ready;
  EXPECT_TRUE(absl::StrContains(ready, "STATUS=serving")) << ready;
  int pings = 0;
  const auto t0 = std::chrono::steady_clock::now();
  while (pings < 3 && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(3)) {
    if (receive() == "WATCHDOG=1") ++pings;
  }
  EXPECT_EQ(pings, 3) << "WATCHDOG_USEC=200000 wants a ping every 100 ms";
  kill(daemon.pid(), SIGTERM);
  std::string msg;
  for (int i = 0; i < 20 && !absl::StrContains(msg, "STOPPING=1"); ++i) msg = receive();
  EXPECT_TRUE(absl::StrContains(msg, "STOPPING=1")) << msg;
  EXPECT_EQ(daemon.WaitExit(5000), 0);
  close(sock);
}

TEST(ServiceTest, DebugTracesEachDecisionAsStructuredFields) {
  SFS_SKIP_UNLESS_MOUNTING_WORKS();
  Dirs d;
  WriteFile(d.backing + "/traced.txt", "x");
  Daemon daemon({"--debug", "--log_format=text", "--state_dir=" + d.state, d.backing, d.mnt},
                {}, d.tmp.Sub("stderr"), d.mnt);
  ASSERT_TRUE(daemon.WaitMounted(10000));
  ASSERT_EQ(ReadFile(d.mnt + "/traced.txt"), "x");
  EXPECT_EQ(daemon.Stop(), 0);
  const std::string log = ReadFile(d.tmp.Sub("stderr"));
  EXPECT_NE(log.find("DEBUG"), std::string::npos);
  EXPECT_NE(log.find("decision op=READ path=traced.txt uid=0"), std::string::npos) << log;
  EXPECT_NE(log.find("action=ALLOW"), std::string::npos);
  // libfuse's own trace of the request is there too.
  EXPECT_NE(log.find("OPEN"), std::string::npos);
}

}  // namespace
}  // namespace scopedfs::testing
