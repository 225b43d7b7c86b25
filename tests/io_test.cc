// Data paths: kernel passthrough really used, O_DIRECT through the daemon,
// the daemon-served mode, sparse files, concurrent writers, mmap coherence,
// sendfile/splice/copy_file_range, and no descriptor leaks.
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/mount_test_base.h"

namespace scopedfs::testing {
namespace {

std::string Pattern(size_t size, unsigned seed) {
  std::string s(size, '\0');
  unsigned x = seed * 2654435761u + 1;
  for (size_t i = 0; i < size; ++i) {
    x = x * 1103515245u + 12345u;
    s[i] = static_cast<char>(x >> 16);
  }
  return s;
}

void DropCaches() {
  sync();
  std::ofstream("/proc/sys/vm/drop_caches") << "2";
}

class IoTest : public MountTest {};

// The transport the tests were asked to run over (test.sh runs them over
// both: SCOPEDFS_TEST_TRANSPORT) is the one the kernel and daemon use, and
// requests work over it.
TEST_F(IoTest, RequestsTravelOverTheTransportAskedFor) {
  const char* asked = getenv("SCOPEDFS_TEST_TRANSPORT");
  WriteFile(M("t.txt"), "over the wire");
  EXPECT_EQ(ReadFile(M("t.txt")), "over the wire");
  const uint64_t uring = Stat("transport_io_uring");
  if (asked != nullptr && std::string(asked) == "uring") {
    EXPECT_EQ(uring, 1u) << "asked for io_uring, got /dev/fuse";
  } else if (asked != nullptr && std::string(asked) == "dev") {
    EXPECT_EQ(uring, 0u) << "asked for /dev/fuse, got io_uring";
  } else {
    std::fprintf(stderr, "transport: %s (SCOPEDFS_TEST_TRANSPORT unset: auto)\n",
                 uring == 1 ? "io_uring" : "/dev/fuse");
    EXPECT_LE(uring, 1u);
  }
}

TEST_F(IoTest, PassthroughServesReadWriteAndMmapWithoutTheDaemon) {
  const std::string data = Pattern(8 << 20, 1);
  {
    const int fd = open(M("f").c_str(), O_CREAT | O_RDWR, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
    std::string back(data.size(), '\0');
    ASSERT_EQ(pread(fd, back.data(), back.size(), 0), static_cast<ssize_t>(back.size()));
    EXPECT_EQ(back, data);
    void* p = mmap(nullptr, data.size(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ASSERT_NE(p, MAP_FAILED);
    EXPECT_EQ(memcmp(p, data.data(), data.size()), 0);
    memcpy(p, "MMAP", 4);
    munmap(p, data.size());
    close(fd);
  }
  EXPECT_EQ(ReadFile(B("f")).substr(0, 4), "MMAP");
  EXPECT_EQ(ReadFile(M("f")).substr(4), data.substr(4));
  auto stats = StatsWhen([](auto& s) {
    return s["backing_registered"] == s["backing_released"];
  });
  EXPECT_GE(stats["opens_passthrough"], 2u);
  EXPECT_EQ(stats["read_requests"], 0u) << "reads reached the daemon";
  EXPECT_EQ(stats["write_requests"], 0u) << "writes reached the daemon";
  EXPECT_EQ(stats["opens_cached"], 0u);
  EXPECT_EQ(stats["backing_failures"], 0u);
  EXPECT_GE(stats["backing_registered"], 1u);
  EXPECT_EQ(stats["backing_registered"], stats["backing_released"])
      << "every backing id is closed on the last release";
}

TEST_F(IoTest, ConcurrentOpensShareOneBackingId) {
  WriteFile(B("f"), "shared");
  std::vector<int> fds;
  for (int i = 0; i < 16; ++i) {
    fds.push_back(open(M("f").c_str(), i % 2 ? O_RDONLY : O_RDWR));
    ASSERT_GE(fds.back(), 0) << strerror(errno);
  }
  EXPECT_EQ(Stat("backing_registered"), 1u);
  for (int fd : fds) {
    char buf[6];
    EXPECT_EQ(pread(fd, buf, 6, 0), 6);
    close(fd);
  }
  auto stats = StatsWhen([](auto& s) { return s["backing_released"] >= 1; });
  EXPECT_EQ(stats["backing_registered"], 1u);
  EXPECT_EQ(stats["backing_released"], 1u);
}

TEST_F(IoTest, ODirectReachesTheDaemonAndMmapStillWorks) {
  const std::string data = Pattern(1 << 20, 2);
  WriteFile(B("f"), data);
  const int fd = open(M("f").c_str(), O_RDWR | O_DIRECT);
  ASSERT_GE(fd, 0) << strerror(errno);
  void* buf = nullptr;
  ASSERT_EQ(posix_memalign(&buf, 4096, 1 << 20), 0);
  ASSERT_EQ(pread(fd, buf, 1 << 20, 0), 1 << 20);
  EXPECT_EQ(memcmp(buf, data.data(), data.size()), 0);
  memset(buf, 'Z', 4096);
  ASSERT_EQ(pwrite(fd, buf, 4096, 4096), 4096);
  free(buf);
  // mmap of a FOPEN_DIRECT_IO|FOPEN_PASSTHROUGH file goes to the backing file.
  void* p = mmap(nullptr, 1 << 20, PROT_READ, MAP_SHARED, fd, 0);
  ASSERT_NE(p, MAP_FAILED) << strerror(errno);
  EXPECT_EQ(static_cast<char*>(p)[4096], 'Z');
  EXPECT_EQ(memcmp(p, data.data(), 4096), 0);
  munmap(p, 1 << 20);
  close(fd);
  EXPECT_EQ(ReadFile(B("f")).substr(4096, 4096), std::string(4096, 'Z'));
  auto stats = mnt_->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ((*stats)["opens_direct_passthrough"], 1u);
  EXPECT_GE((*stats)["read_requests"], 1u);
  EXPECT_GE((*stats)["write_requests"], 1u);
}

TEST_F(IoTest, SparseMultiGibFile) {
  const off_t size = 5ll << 30;
  const int fd = open(M("sparse").c_str(), O_CREAT | O_RDWR, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, size), 0);
  ASSERT_EQ(pwrite(fd, "tail", 4, size - 4), 4);
  ASSERT_EQ(pwrite(fd, "mid", 3, 3ll << 30), 3);
  close(fd);
  struct stat m, b;
  ASSERT_EQ(stat(M("sparse").c_str(), &m), 0);
  ASSERT_EQ(stat(B("sparse").c_str(), &b), 0);
  EXPECT_EQ(m.st_size, size);
  EXPECT_EQ(m.st_blocks, b.st_blocks);
  EXPECT_LT(m.st_blocks * 512, 1 << 20) << "the file must stay sparse";
  const int rfd = open(M("sparse").c_str(), O_RDONLY);
  char buf[8] = {};
  EXPECT_EQ(pread(rfd, buf, 4, size - 4), 4);
  EXPECT_STREQ(buf, "tail");
  EXPECT_EQ(pread(rfd, buf, 4, 1ll << 30), 4);
  EXPECT_EQ(std::string(buf, 4), std::string(4, '\0'));
  EXPECT_EQ(lseek(rfd, 0, SEEK_DATA), 3ll << 30);
  close(rfd);
}

TEST_F(IoTest, ConcurrentWritersFromSeveralUsers) {
  constexpr int kWriters = 4;
  constexpr size_t kChunk = 256 << 10;
  const int fd = open(M("shared").c_str(), O_CREAT | O_RDWR, 0666);
  ASSERT_GE(fd, 0);
  fchmod(fd, 0666);
  close(fd);
  WriteFile(M("log"), "");
  chmod(M("log").c_str(), 0666);
  std::vector<pid_t> kids;
  for (int w = 0; w < kWriters; ++w) {
    const pid_t pid = fork();
    if (pid == 0) {
      const uid_t uid = 2000 + w;
      if (!BecomeIdentity(User(uid))) _exit(99);
      const std::string chunk = Pattern(kChunk, 10 + w);
      const int f = open(M("shared").c_str(), O_WRONLY);
      const int l = open(M("log").c_str(), O_WRONLY | O_APPEND);
      if (f < 0 || l < 0) _exit(98);
      for (int round = 0; round < 8; ++round) {
        const off_t off = (static_cast<off_t>(round) * kWriters + w) * kChunk;
        if (pwrite(f, chunk.data(), kChunk, off) != static_cast<ssize_t>(kChunk)) _exit(97);
        const std::string rec = absl::StrCat("writer", w, "-round", round, "\n");
        if (write(l, rec.data(), rec.size()) != static_cast<ssize_t>(rec.size())) _exit(96);
      }
      _exit(0);
    }
    kids.push_back(pid);
  }
  for (pid_t pid : kids) {
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  const std::string all = ReadFile(B("shared"));
  ASSERT_EQ(all.size(), kWriters * 8 * kChunk);
  for (int round = 0; round < 8; ++round) {
    for (int w = 0; w < kWriters; ++w) {
      const size_t off = (static_cast<size_t>(round) * kWriters + w) * kChunk;
      EXPECT_TRUE(all.compare(off, kChunk, Pattern(kChunk, 10 + w)) == 0)
          << "round " << round << " writer " << w;
    }
  }
  const std::string log = ReadFile(M("log"));
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), kWriters * 8);
  for (int w = 0; w < kWriters; ++w) {
    EXPECT_NE(log.find(absl::StrCat("writer", w, "-round7\n")), std::string::npos);
  }
}

TEST_F(IoTest, MmapIsCoherentWithTheBackingFile) {
  const size_t size = 1 << 20;
  WriteFile(B("f"), std::string(size, 'a'));
  const int fd = open(M("f").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  char* p = static_cast<char*>(
      mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  ASSERT_NE(p, MAP_FAILED);
  // Written in the backing file: visible in the mount's mapping.
  const int bfd = open(B("f").c_str(), O_RDWR);
  ASSERT_EQ(pwrite(bfd, "BACKING", 7, 1000), 7);
  EXPECT_EQ(std::string(p + 1000, 7), "BACKING");
  // Written in the mapping: visible to a read of the backing file.
  memcpy(p + 5000, "MAPPED", 6);
  char buf[6];
  ASSERT_EQ(pread(bfd, buf, 6, 5000), 6);
  EXPECT_EQ(std::string(buf, 6), "MAPPED");
  ASSERT_EQ(msync(p, size, MS_SYNC), 0);
  munmap(p, size);
  // MAP_PRIVATE writes stay private.
  p = static_cast<char*>(mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0));
  ASSERT_NE(p, MAP_FAILED);
  p[0] = 'P';
  munmap(p, size);
  ASSERT_EQ(pread(bfd, buf, 1, 0), 1);
  EXPECT_EQ(buf[0], 'a');
  close(bfd);
  close(fd);
}

TEST_F(IoTest, SendfileSpliceAndCopyFileRange) {
  const std::string data = Pattern(3 << 20, 3);
  WriteFile(B("src"), data);
  // sendfile out of the mount into a backing file, and into the mount.
  const int in = open(M("src").c_str(), O_RDONLY);
  const int out = open(M("dst").c_str(), O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(in, 0);
  ASSERT_GE(out, 0);
  off_t off = 0;
  size_t left = data.size();
  while (left > 0) {
    const ssize_t n = sendfile(out, in, &off, left);
    ASSERT_GT(n, 0) << strerror(errno);
    left -= n;
  }
  close(out);
  EXPECT_EQ(ReadFile(B("dst")), data);
  // splice: mount file -> pipe -> mount file.
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  const int out2 = open(M("dst2").c_str(), O_CREAT | O_WRONLY, 0644);
  loff_t in_off = 0, out_off = 0;
  left = data.size();
  while (left > 0) {
    const ssize_t n = splice(in, &in_off, pipefd[1], nullptr, std::min<size_t>(left, 65536), 0);
    ASSERT_GT(n, 0) << strerror(errno);
    ssize_t moved = 0;
    while (moved < n) {
      const ssize_t m = splice(pipefd[0], nullptr, out2, &out_off, n - moved, 0);
      ASSERT_GT(m, 0) << strerror(errno);
      moved += m;
    }
    left -= n;
  }
  close(out2);
  close(pipefd[0]);
  close(pipefd[1]);
  EXPECT_EQ(ReadFile(B("dst2")), data);
  // copy_file_range between two files of the mount.
  const int out3 = open(M("dst3").c_str(), O_CREAT | O_WRONLY, 0644);
  in_off = 0;
  out_off = 0;
  left = data.size();
  while (left > 0) {
    const ssize_t n = copy_file_range(in, &in_off, out3, &out_off, left, 0);
    ASSERT_GT(n, 0) << strerror(errno);
    left -= n;
  }
  close(out3);
  close(in);
  EXPECT_EQ(ReadFile(B("dst3")), data);
}

TEST_F(IoTest, NoDescriptorGrowthAfter10kOpenCloseCycles) {
  WriteFile(B("f"), "x");
  for (int i = 0; i < 100; ++i) {  // Warm up: nodes and threads exist.
    close(open(M("f").c_str(), O_RDONLY));
  }
  // Splice pipes come and go with worker threads (two per thread); every
  // other descriptor must be back where it was.
  auto non_pipe = [](auto& s) { return s["open_fds"] - s["open_pipe_fds"]; };
  auto warm = StatsWhen([](auto& s) {
    return s["backing_registered"] == s["backing_released"];
  });
  const uint64_t before = non_pipe(warm);
  for (int i = 0; i < 10000; ++i) {
    const int fd = open(M("f").c_str(), i % 3 ? O_RDONLY : O_RDWR);
    ASSERT_GE(fd, 0) << i << ": " << strerror(errno);
    close(fd);
  }
  auto stats = StatsWhen([&](auto& s) {
    return non_pipe(s) <= before &&
           s["backing_registered"] == s["backing_released"];
  });
  EXPECT_LE(non_pipe(stats), before) << "descriptors leaked";
  // At most one more splice pipe pair per worker thread (8) than at warm-up
  // (gRPC keeps wakeup pipes of its own).
  EXPECT_LE(stats["open_pipe_fds"], warm["open_pipe_fds"] + 2u * 8)
      << "more splice pipes than threads";
  EXPECT_EQ(stats["backing_registered"], stats["backing_released"]);
  EXPECT_GE(stats["opens_passthrough"], 10000u);
  EXPECT_EQ(stats["read_requests"], 0u);
}

TEST_F(IoTest, ForgottenNodesReleaseTheirDescriptors) {
  const uint64_t before = Stat("nodes");
  for (int i = 0; i < 2000; ++i) {
    const std::string name = absl::StrCat("tmp", i);
    WriteFile(M(name), "x");
    ASSERT_EQ(unlink(M(name).c_str()), 0);
  }
  DropCaches();  // The kernel forgets the inodes it no longer needs.
  auto stats = StatsWhen([&](auto& s) { return s["nodes"] <= before; });
  EXPECT_LE(stats["nodes"], before) << "forgotten nodes must go, with their fds";
  EXPECT_GE(stats["forgets"], 1u);
  EXPECT_LT(stats["open_fds"], 1000u);
}

class NoPassthroughIoTest : public MountTest {
 protected:
  std::vector<std::string> DaemonFlags() const override {
    return {"--passthrough=false"};
  }
};

TEST_F(NoPassthroughIoTest, DaemonServesReadsAndWrites) {
  const std::string data = Pattern(4 << 20, 4);
  WriteFile(M("f"), data);
  EXPECT_EQ(ReadFile(B("f")), data);
  DropCaches();
  EXPECT_EQ(ReadFile(M("f")), data);
  const int fd = open(M("f").c_str(), O_RDONLY);
  void* p = mmap(nullptr, data.size(), PROT_READ, MAP_SHARED, fd, 0);
  ASSERT_NE(p, MAP_FAILED);
  EXPECT_EQ(memcmp(p, data.data(), data.size()), 0);
  munmap(p, data.size());
  close(fd);
  auto stats = mnt_->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_GE((*stats)["write_requests"], 1u);
  EXPECT_GE((*stats)["read_requests"], 1u);
  EXPECT_EQ((*stats)["opens_passthrough"], 0u);
  EXPECT_EQ((*stats)["backing_registered"], 0u);
}

}  // namespace
}  // namespace scopedfs::testing
