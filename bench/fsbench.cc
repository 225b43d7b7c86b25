// fsbench: a small, single-threaded file-system workload driver.
//
// It runs one workload against one directory and prints machine-readable
// result lines ("<metric> <value> <unit>"); informational lines start with
// '#'. bench/run.sh runs it against a native directory and against FUSE
// mounts of that same directory and tabulates the results.
//
//   fsbench --dir=D --workload=prepare [--file_size_mb=1024] [--entries=10000]
//   fsbench --dir=D --workload=prepare_photos [--entries=10000]
//   fsbench --dir=D --workload=seqread|randread|mmapread|seqwrite|openclose|
//                              stat|statat|readdir|metamix|all [options]
//           [--as_uid=U [--as_gid=G]] [--photos] [--openclose_path=REL]
//           [--stat_path=REL] [--statat_path=REL] [--readdir_path=REL]
//           [--meta_files=2000]
//
// "prepare" creates, once, the data the read-side workloads use:
//   D/big-<file_size_mb>M.bin   pseudo-random content (not sparse)
//   D/dir-<entries>/            <entries> empty files f0000000...
//   D/small.txt                 4 KiB file
// "prepare_photos" creates, once, a camera roll for the app workloads:
//   D/DCIM/Camera/              exactly <entries> photos IMG_00001.jpg...,
//                               each a small valid JPEG (JFIF, ~380 bytes);
//                               dirs 0755, files 0644 (any uid may read them)
// Every file is written under a temporary name and renamed into place, so an
// interrupted prepare never leaves a half-written file under its final name.
//
// --as_uid=U (--as_gid=G, default U) drops every privilege right after the
// flags are parsed (setgroups(0), setresgid, setresuid), so the workload runs
// as that uid, like an app would; fsbench exits if it cannot. The path flags
// point openclose / stat / statat / readdir at another file or directory
// under D; --photos points them all at the camera roll (IMG_00001.jpg and
// DCIM/Camera).
//
// "metamix" (a create/write/stat/rename/unlink/mkdir/rmdir/readdir mix in a
// scratch directory it makes and removes; see MetaMix below) needs no
// prepared data.

#include <dirent.h>
#include <grp.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "base/retry_eintr.h"
#include "base/unique_fd.h"

namespace {

using scopedfs::UniqueFd;

constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kGiB = uint64_t{1} << 30;
constexpr size_t kSmallFileSize = 4096;

struct Options {
  std::string dir;
  std::string workload;
  uint64_t file_size_mb = 1024;  // Size of the big read file.
  uint64_t write_mb = 512;       // Bytes written per seqwrite pass.
  uint64_t entries = 10000;      // Entries in the readdir directory.
  uint64_t meta_files = 2000;  // metamix: files in its working set.
  int passes = 5;                // Timed passes (throughput / readdir).
  int64_t iters = 0;             // Per-op iterations (0 = workload default).
  uint64_t seed = 42;            // randread offsets.
  int64_t as_uid = -1;           // Run as this uid (-1: stay who we are).
  int64_t as_gid = -1;           // ...and this gid (-1: as_uid).
  // Targets, relative to dir ("" = the default: small.txt / dir-<entries>,
  // or the camera roll with --photos).
  std::string openclose_path, stat_path, statat_path, readdir_path;
};

constexpr char kPhotoDir[] = "DCIM/Camera";
constexpr char kFirstPhoto[] = "DCIM/Camera/IMG_00001.jpg";

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "fsbench: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

[[noreturn]] void Usage(const std::string& msg) {
  std::fprintf(stderr,
               "fsbench: %s\n"
               "usage: fsbench --dir=D --workload=NAME [--file_size_mb=1024] "
               "[--write_mb=512]\n"
               "               [--entries=10000] [--passes=5] [--iters=N] "
               "[--seed=42]\n"
               "               [--as_uid=U [--as_gid=G]] [--photos] "
               "[--openclose_path=REL]\n"
               "               [--stat_path=REL] [--statat_path=REL] "
               "[--readdir_path=REL] [--meta_files=2000]\n"
               "workloads: prepare prepare_photos seqread randread mmapread "
               "seqwrite openclose stat statat readdir metamix all\n",
               msg.c_str());
  std::exit(2);
}

double NowSec() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double Percentile(std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t idx = static_cast<size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(idx, sorted.size() - 1)];
}

double Mean(const std::vector<double>& v) {
  if (v.empty()) return 0;
  return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

void Emit(const std::string& metric, double value, const char* unit) {
  std::printf("%s %.4g %s\n", metric.c_str(), value, unit);
  std::fflush(stdout);
}

// 1 MiB buffer aligned for any O_DIRECT-ish use and for word-wise summing.
struct AlignedBuf {
  explicit AlignedBuf(size_t n) : size(n) {
    if (posix_memalign(&ptr, 4096, n) != 0) Die("posix_memalign");
    std::memset(ptr, 0, n);
  }
  ~AlignedBuf() { std::free(ptr); }
  AlignedBuf(const AlignedBuf&) = delete;
  AlignedBuf& operator=(const AlignedBuf&) = delete;
  char* data() { return static_cast<char*>(ptr); }
  void* ptr = nullptr;
  size_t size;
};


std::string BigPath(const Options& o) {
  return o.dir + "/big-" + std::to_string(o.file_size_mb) + "M.bin";
}
std::string DirPath(const Options& o) {
  return o.dir + "/dir-" + std::to_string(o.entries);
}
std::string SmallPath(const Options& o) { return o.dir + "/small.txt"; }
// A workload's target: o.dir + "/" + rel, or def when rel is empty.
std::string Target(const Options& o, const std::string& rel,
                   const std::string& def) {
  return rel.empty() ? def : o.dir + "/" + rel;
}

void WriteAll(int fd, const char* p, size_t n, const std::string& what) {
  while (n > 0) {
    const ssize_t r = scopedfs::RetryEintr([&] { return write(fd, p, n); });
    if (r < 0) Die("write " + what);
    p += r;
    n -= static_cast<size_t>(r);
  }
}

// Reads the whole file from offset 0 with read() calls of buf.size bytes;
// returns the bytes read.
uint64_t ReadWhole(int fd, AlignedBuf& buf) {
  if (lseek(fd, 0, SEEK_SET) != 0) Die("lseek");
  uint64_t total = 0;
  for (;;) {
    const ssize_t r = scopedfs::RetryEintr([&] { return read(fd, buf.data(), buf.size); });
    if (r < 0) Die("read");
    if (r == 0) break;
    total += static_cast<uint64_t>(r);
  }
  return total;
}

// Fills buf with a cheap pseudo-random pattern that differs per block.
void FillPattern(AlignedBuf& buf, uint64_t block) {
  uint64_t x = 0x9E3779B97F4A7C15ULL * (block + 1);
  auto* w = reinterpret_cast<uint64_t*>(buf.data());
  for (size_t i = 0; i < buf.size / 8; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    w[i] = x;
  }
}

// ---------------------------------------------------------------- prepare

void PrepareBig(const Options& o) {
  const std::string path = BigPath(o);
  const uint64_t want = o.file_size_mb * kMiB;
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
      static_cast<uint64_t>(st.st_size) == want) {
    std::printf("# prepare: %s already present\n", path.c_str());
    return;
  }
  const std::string tmp = path + ".tmp";
  UniqueFd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) Die("create " + tmp);
  AlignedBuf buf(kMiB);
  for (uint64_t b = 0; b < o.file_size_mb; ++b) {
    FillPattern(buf, b);
    WriteAll(fd.get(), buf.data(), buf.size, tmp);
  }
  if (fsync(fd.get()) != 0) Die("fsync " + tmp);
  if (rename(tmp.c_str(), path.c_str()) != 0) Die("rename " + tmp);
  std::printf("# prepare: wrote %s (%" PRIu64 " MiB)\n", path.c_str(),
              o.file_size_mb);
}

void PrepareDir(const Options& o) {
  const std::string path = DirPath(o);
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    std::printf("# prepare: %s already present\n", path.c_str());
    return;
  }
  const std::string tmp = path + ".tmp";
  // A leftover from an interrupted run: reuse it, creating missing entries.
  if (mkdir(tmp.c_str(), 0755) != 0 && errno != EEXIST) Die("mkdir " + tmp);
  char name[32];
  for (uint64_t i = 0; i < o.entries; ++i) {
    std::snprintf(name, sizeof(name), "/f%07" PRIu64, i);
    const std::string f = tmp + name;
    int fd = open(f.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) Die("create " + f);
    close(fd);
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) Die("rename " + tmp);
  std::printf("# prepare: created %s (%" PRIu64 " entries)\n", path.c_str(),
              o.entries);
}

void PrepareSmall(const Options& o) {
  const std::string path = SmallPath(o);
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
      static_cast<size_t>(st.st_size) == kSmallFileSize) {
    return;
  }
  const std::string tmp = path + ".tmp";
  UniqueFd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) Die("create " + tmp);
  std::string content(kSmallFileSize, 'x');
  WriteAll(fd.get(), content.data(), content.size(), tmp);
  if (fsync(fd.get()) != 0) Die("fsync " + tmp);
  if (rename(tmp.c_str(), path.c_str()) != 0) Die("rename " + tmp);
}

// A 32x24 colour baseline JPEG (JFIF), made with ImageMagick: `convert -size
// 32x24 gradient:skyblue-darkgreen -strip -quality 80 photo.jpg`. Every photo
// gets it with a COM segment naming the file right after the JFIF header, so
// no two photos have the same bytes.
constexpr unsigned char kJpeg[] = {
  0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01,
  0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0xff, 0xdb, 0x00, 0x43,
  0x00, 0x06, 0x04, 0x05, 0x06, 0x05, 0x04, 0x06, 0x06, 0x05, 0x06, 0x07,
  0x07, 0x06, 0x08, 0x0a, 0x10, 0x0a, 0x0a, 0x09, 0x09, 0x0a, 0x14, 0x0e,
  0x0f, 0x0c, 0x10, 0x17, 0x14, 0x18, 0x18, 0x17, 0x14, 0x16, 0x16, 0x1a,
  0x1d, 0x25, 0x1f, 0x1a, 0x1b, 0x23, 0x1c, 0x16, 0x16, 0x20, 0x2c, 0x20,
  0x23, 0x26, 0x27, 0x29, 0x2a, 0x29, 0x19, 0x1f, 0x2d, 0x30, 0x2d, 0x28,
  0x30, 0x25, 0x28, 0x29, 0x28, 0xff, 0xdb, 0x00, 0x43, 0x01, 0x07, 0x07,
  0x07, 0x0a, 0x08, 0x0a, 0x13, 0x0a, 0x0a, 0x13, 0x28, 0x1a, 0x16, 0x1a,
  0x28, 0x28, 0x28, 0x28, 0x28, 0x28, 0x28, 0x28, 0x28, 0x28, 0x28, 0x28,
  0x28, 0x28, 0x28, 0x28, 0x28, 0x28, 0x28, 0x28, 0x28, 0x28, 0x28, 0x28,
  0x28, 0x28, 0x28, 0x28, 0x28, 0x28, 0x28, 0x28, 0x28, 0x28, 0x28, 0x28,
  0x28, 0x28, 0x28, 0x28, 0x28, 0x28, 0x28, 0x28, 0x28, 0x28, 0x28, 0x28,
  0x28, 0x28, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x00, 0x18, 0x00, 0x20, 0x03,
  0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01, 0xff, 0xc4, 0x00,
  0x15, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0xff, 0xc4, 0x00, 0x16,
  0x10, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x15, 0x62, 0xff, 0xc4, 0x00, 0x17,
  0x01, 0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0x02, 0x04, 0xff, 0xc4, 0x00,
  0x19, 0x11, 0x01, 0x00, 0x02, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x11, 0x13, 0x14, 0x61,
  0xff, 0xda, 0x00, 0x0c, 0x03, 0x01, 0x00, 0x02, 0x11, 0x03, 0x11, 0x00,
  0x3f, 0x00, 0xb6, 0xa9, 0xa2, 0xa6, 0x90, 0x75, 0x74, 0x55, 0xd3, 0xa3,
  0x77, 0xa9, 0x2b, 0x5e, 0x54, 0xd1, 0x53, 0x48, 0x3a, 0xba, 0x2a, 0xe8,
  0xdd, 0xe9, 0x68, 0x3a, 0x9a, 0x2a, 0x68, 0x12, 0xf9, 0x64, 0xc1, 0x53,
  0x45, 0x4d, 0x01, 0x96, 0x43, 0xff, 0xd9
};
constexpr size_t kJfifEnd = 20;  // SOI (2 bytes) + APP0 "JFIF" (18 bytes).

std::string PhotoBytes(const std::string& name) {
  const std::string comment = "scopedfs bench " + name;
  const size_t seg = comment.size() + 2;  // The length counts itself.
  std::string out(reinterpret_cast<const char*>(kJpeg), kJfifEnd);
  out += static_cast<char>(0xff);
  out += static_cast<char>(0xfe);  // COM
  out += static_cast<char>(seg >> 8);
  out += static_cast<char>(seg & 0xff);
  out += comment;
  out.append(reinterpret_cast<const char*>(kJpeg) + kJfifEnd,
             sizeof(kJpeg) - kJfifEnd);
  return out;
}

// mkdir with exactly `mode` (mkdir's is masked by the umask, and an earlier
// directory may have another): an app must be able to walk in.
void MkdirMode(const std::string& path, mode_t mode) {
  if (mkdir(path.c_str(), mode) != 0 && errno != EEXIST) Die("mkdir " + path);
  struct stat st;
  if (stat(path.c_str(), &st) != 0) Die("stat " + path);
  if (!S_ISDIR(st.st_mode)) {
    errno = ENOTDIR;
    Die(path);
  }
  if ((st.st_mode & 07777) != mode && chmod(path.c_str(), mode) != 0) {
    Die("chmod " + path);
  }
}

// The index of photo name IMG_<digits>.jpg (1-based), 0 for any other name.
uint64_t PhotoIndex(const std::string& name) {
  if (name.size() < 9 || name.compare(0, 4, "IMG_") != 0 ||
      name.compare(name.size() - 4, 4, ".jpg") != 0) {
    return 0;
  }
  const std::string digits = name.substr(4, name.size() - 8);
  if (digits.find_first_not_of("0123456789") != std::string::npos) return 0;
  return std::strtoull(digits.c_str(), nullptr, 10);
}

// D/DCIM/Camera with exactly o.entries photos. Idempotent: a photo already
// there (regular, mode 0644, right size) is kept; missing ones are written
// under a temporary name and renamed into place; photos beyond o.entries (of
// a run with more entries) and leftover temporary files are removed, so a
// listing counts exactly o.entries.
void PreparePhotos(const Options& o) {
  MkdirMode(o.dir, 0755);
  MkdirMode(o.dir + "/DCIM", 0755);
  const std::string cam = o.dir + "/" + kPhotoDir;
  MkdirMode(cam, 0755);
  std::vector<std::string> drop;
  DIR* d = opendir(cam.c_str());
  if (d == nullptr) Die("opendir " + cam);
  errno = 0;
  while (const dirent* e = readdir(d)) {
    const std::string n = e->d_name;
    const bool tmp = n.size() > 4 && n.compare(n.size() - 4, 4, ".tmp") == 0;
    if (tmp || PhotoIndex(n) > o.entries) drop.push_back(n);
  }
  if (errno != 0) Die("readdir " + cam);
  closedir(d);
  for (const auto& n : drop) {
    if (unlink((cam + "/" + n).c_str()) != 0) Die("unlink " + cam + "/" + n);
  }
  uint64_t written = 0;
  char name[32];
  for (uint64_t i = 1; i <= o.entries; ++i) {
    std::snprintf(name, sizeof(name), "IMG_%05" PRIu64 ".jpg", i);
    const std::string path = cam + "/" + name;
    const std::string bytes = PhotoBytes(name);
    struct stat st;
    if (stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        static_cast<size_t>(st.st_size) == bytes.size() &&
        (st.st_mode & 07777) == 0644) {
      continue;
    }
    const std::string tmp = path + ".tmp";
    UniqueFd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (fd.get() < 0) Die("create " + tmp);
    WriteAll(fd.get(), bytes.data(), bytes.size(), tmp);
    if (fchmod(fd.get(), 0644) != 0) Die("fchmod " + tmp);
    if (rename(tmp.c_str(), path.c_str()) != 0) Die("rename " + tmp);
    ++written;
  }
  if (written > 0 || !drop.empty()) sync();
  std::printf("# prepare_photos: %s: %" PRIu64 " photos (%" PRIu64
              " written, %zu removed)\n",
              cam.c_str(), o.entries, written, drop.size());
}

void Prepare(const Options& o) {
  if (mkdir(o.dir.c_str(), 0755) != 0 && errno != EEXIST) Die("mkdir " + o.dir);
  PrepareBig(o);
  PrepareDir(o);
  PrepareSmall(o);
}

// ---------------------------------------------------------------- workloads

UniqueFd OpenBig(const Options& o, uint64_t* size) {
  const std::string path = BigPath(o);
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) Die("open " + path + " (run --workload=prepare first)");
  struct stat st;
  if (fstat(fd.get(), &st) != 0) Die("fstat " + path);
  *size = static_cast<uint64_t>(st.st_size);
  if (*size == 0) {
    errno = EINVAL;
    Die(path + " is empty");
  }
  return fd;
}

void EmitThroughput(const std::string& name, const std::vector<double>& gibs) {
  Emit(name + ".median", Median(gibs), "GiB/s");
  Emit(name + ".best", *std::max_element(gibs.begin(), gibs.end()), "GiB/s");
}

// Sequential read() of the whole big file in 1 MiB blocks. One untimed pass
// warms the page cache (for FUSE without passthrough: the FUSE inode's own
// cache), then o.passes timed passes.
void SeqRead(const Options& o) {
  uint64_t size;
  UniqueFd fd = OpenBig(o, &size);
  AlignedBuf buf(kMiB);
  ReadWhole(fd.get(), buf);  // warm
  std::vector<double> gibs;
  for (int p = 0; p < o.passes; ++p) {
    double t0 = NowSec();
    uint64_t n = ReadWhole(fd.get(), buf);
    double dt = NowSec() - t0;
    if (n != size) {
      errno = EIO;
      Die("short read of big file");
    }
    gibs.push_back(static_cast<double>(n) / kGiB / dt);
  }
  EmitThroughput("seqread", gibs);
}

// 4 KiB pread() at uniformly random 4 KiB-aligned offsets (fixed seed).
void RandRead(const Options& o) {
  uint64_t size;
  UniqueFd fd = OpenBig(o, &size);
  AlignedBuf buf(kMiB);
  ReadWhole(fd.get(), buf);  // warm
  const uint64_t blocks = size / 4096;
  const int64_t ops = o.iters > 0 ? o.iters : 200000;
  std::mt19937_64 rng(o.seed);
  std::uniform_int_distribution<uint64_t> pick(0, blocks - 1);
  std::vector<off_t> offs(static_cast<size_t>(ops));
  for (auto& off : offs) off = static_cast<off_t>(pick(rng) * 4096);
  std::vector<double> kiops;
  for (int p = 0; p < o.passes; ++p) {
    double t0 = NowSec();
    for (off_t off : offs) {
      if (pread(fd.get(), buf.data(), 4096, off) != 4096) Die("pread 4k");
    }
    double dt = NowSec() - t0;
    kiops.push_back(static_cast<double>(ops) / dt / 1000.0);
  }
  const double med = Median(kiops);
  Emit("randread.median", med, "kIOPS");
  Emit("randread.best", *std::max_element(kiops.begin(), kiops.end()), "kIOPS");
  Emit("randread.mibs", med * 1000.0 * 4096 / kMiB, "MiB/s");
}

// Sums the file as 64-bit words through a MAP_SHARED read-only mapping.
// Each timed pass maps, sums and unmaps, so page-fault cost is included;
// one untimed pass warms the page cache first.
uint64_t SumMapped(int fd, uint64_t size) {
  void* p = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) Die("mmap");
  const auto* w = static_cast<const uint64_t*>(p);
  const size_t n = size / 8;
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += w[i];
    s1 += w[i + 1];
    s2 += w[i + 2];
    s3 += w[i + 3];
  }
  for (; i < n; ++i) s0 += w[i];
  munmap(p, size);
  return s0 + s1 + s2 + s3;
}

void MmapRead(const Options& o) {
  uint64_t size;
  UniqueFd fd = OpenBig(o, &size);
  const uint64_t warm_sum = SumMapped(fd.get(), size);
  std::vector<double> gibs;
  for (int p = 0; p < o.passes; ++p) {
    double t0 = NowSec();
    uint64_t sum = SumMapped(fd.get(), size);
    double dt = NowSec() - t0;
    if (sum != warm_sum) {
      errno = EIO;
      Die("mmap checksum changed between passes");
    }
    gibs.push_back(static_cast<double>(size) / kGiB / dt);
  }
  std::printf("# mmapread checksum %016" PRIx64 "\n", warm_sum);
  EmitThroughput("mmapread", gibs);
}

// Writes o.write_mb MiB in 1 MiB write()s to a new file, then fsync()s it.
// "buffered" = time of the write() calls only (page-cache speed);
// "fsync" = write() calls + fsync() (what reaches the backing store).
// The file is unlinked after each pass; the fsync also guarantees that no
// dirty data is left to slow down the next candidate.
void SeqWrite(const Options& o) {
  const std::string path =
      o.dir + "/seqwrite-" + std::to_string(getpid()) + ".tmp";
  AlignedBuf buf(kMiB);
  FillPattern(buf, 7);
  std::vector<double> buffered, synced;
  const uint64_t bytes = o.write_mb * kMiB;
  for (int p = 0; p < o.passes; ++p) {
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) Die("create " + path);
    double t0 = NowSec();
    for (uint64_t b = 0; b < o.write_mb; ++b) {
      WriteAll(fd, buf.data(), buf.size, path);
    }
    double t1 = NowSec();
    if (fsync(fd) != 0) Die("fsync " + path);
    double t2 = NowSec();
    if (close(fd) != 0) Die("close " + path);
    if (unlink(path.c_str()) != 0) Die("unlink " + path);
    buffered.push_back(static_cast<double>(bytes) / kGiB / (t1 - t0));
    synced.push_back(static_cast<double>(bytes) / kGiB / (t2 - t0));
  }
  Emit("seqwrite.buffered", Median(buffered), "GiB/s");
  Emit("seqwrite.fsync", Median(synced), "GiB/s");
}

// Times `op` per call: a warm-up of iters/10, then iters timed calls.
void Latency(const std::string& name, int64_t iters,
             const std::function<void()>& op) {
  for (int64_t i = 0; i < iters / 10; ++i) op();
  std::vector<double> us(static_cast<size_t>(iters));
  for (auto& u : us) {
    int64_t t0 = NowNs();
    op();
    u = static_cast<double>(NowNs() - t0) / 1000.0;
  }
  const double mean = Mean(us);
  std::sort(us.begin(), us.end());
  Emit(name + ".p50", Percentile(us, 0.50), "us");
  Emit(name + ".mean", mean, "us");
  Emit(name + ".p99", Percentile(us, 0.99), "us");
}

void OpenClose(const Options& o) {
  const std::string path = Target(o, o.openclose_path, SmallPath(o));
  const char* c = path.c_str();
  Latency("openclose", o.iters > 0 ? o.iters : 50000, [c] {
    int fd = open(c, O_RDONLY | O_CLOEXEC);
    if (fd < 0) Die(std::string("open ") + c);
    if (close(fd) != 0) Die(std::string("close ") + c);
  });
}

void Stat(const Options& o) {
  const std::string path = Target(o, o.stat_path, SmallPath(o));
  const char* c = path.c_str();
  Latency("stat", o.iters > 0 ? o.iters : 200000, [c] {
    struct stat st;
    if (stat(c, &st) != 0) Die(std::string("stat ") + c);
  });
}

// fstatat(dirfd, name) of a file relative to its directory, which is opened
// once (default: small.txt in D): how scanners (find, fts, a media scanner)
// stat the entries of a directory. Per call only the last name is resolved.
void StatAt(const Options& o) {
  const std::string rel = o.statat_path.empty() ? "small.txt" : o.statat_path;
  const size_t slash = rel.rfind('/');
  const std::string dir =
      slash == std::string::npos ? o.dir : o.dir + "/" + rel.substr(0, slash);
  const std::string name =
      slash == std::string::npos ? rel : rel.substr(slash + 1);
  UniqueFd dfd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() < 0) Die("open " + dir);
  const int fd = dfd.get();
  const std::string what = "fstatat " + dir + " " + name;
  Latency("statat", o.iters > 0 ? o.iters : 200000, [fd, &name, &what] {
    struct stat st;
    if (fstatat(fd, name.c_str(), &st, 0) != 0) Die(what);
  });
}

// opendir + readdir until the end + closedir of the prepared directory.
void ReadDir(const Options& o) {
  const std::string path = Target(o, o.readdir_path, DirPath(o));
  auto list = [&path]() -> uint64_t {
    DIR* d = opendir(path.c_str());
    if (d == nullptr) Die("opendir " + path);
    uint64_t n = 0;
    errno = 0;
    while (readdir(d) != nullptr) ++n;
    if (errno != 0) Die("readdir " + path);
    closedir(d);
    return n;
  };
  const uint64_t n = list();  // warm
  if (n != o.entries + 2) {
    std::fprintf(stderr, "fsbench: %s has %" PRIu64 " entries, want %" PRIu64 "\n",
                 path.c_str(), n - 2, o.entries);
    std::exit(1);
  }
  const int reps = o.iters > 0 ? static_cast<int>(o.iters) : std::max(o.passes, 20);
  std::vector<double> ms;
  for (int r = 0; r < reps; ++r) {
    double t0 = NowSec();
    list();
    ms.push_back((NowSec() - t0) * 1000.0);
  }
  Emit("readdir.median", Median(ms), "ms");
  Emit("readdir.best", *std::min_element(ms.begin(), ms.end()), "ms");
}

// ---------------------------------------------------------------- metamix

// A mixed metadata workload, like a build tree or fsstress: in a fresh
// scratch directory D/metamix-<pid>/, kMetaBuckets small directories
// bNN/, each with a subdirectory bNN/sub/, hold up to --meta_files files
// (default 2000). Each operation, drawn with a fixed seed (--seed), is one of
//   create   30%  open(O_CREAT|O_EXCL|O_WRONLY) + write 4 KiB + close, in a
//                 bucket's top directory
//   stat     25%  stat() of a live file (full path)
//   rename   15%  a live file to a new name: half in its own directory, half
//                 into the other directory of its bucket (top <-> sub)
//   unlink   20%  of a live file
//   mkdir/rmdir 5%  half mkdir of a new directory in a bucket's top
//                 directory, half rmdir of a live (empty) one (mkdir when
//                 there is none, rmdir at kMetaMaxDirs)
//   readdir   5%  opendir + readdir to the end + closedir of a bucket's top
//                 directory (~35 entries)
// The working set stays bounded: at o.meta_files files a create draw
// becomes an unlink, on an empty set an unlink draw a create (so at the cap
// creates and unlinks are ~25% each; the counts are printed). The set is
// filled to the cap before timing (untimed), then a warm-up of iters/10
// operations, then o.passes timed passes of `iters` operations (default
// 20000). Every candidate runs the same operations on the same names.
// Reports the median ops/s over passes, the same leaving out the rmdirs
// (metamix.ops_no_rmdir: on ext4 mounted -o discard an rmdir waits ~2 ms for
// a synchronous discard of the directory's block, and would dominate) and,
// per operation type, the mean latency over all timed passes. The scratch
// directory is removed at the end.
constexpr int kMetaBuckets = 32;
constexpr size_t kMetaMaxDirs = 64;

struct MetaFile {
  uint32_t bucket;
  bool in_sub;
  uint32_t id;
};
struct MetaDir {
  uint32_t bucket;
  uint32_t id;
};

enum MetaOp { kCreate, kStat, kRename, kUnlink, kMkdir, kRmdir, kReaddir, kMetaOps };
constexpr const char* kMetaOpNames[kMetaOps] = {
    "create", "stat", "rename", "unlink", "mkdir", "rmdir", "readdir"};

class MetaMix {
 public:
  MetaMix(const Options& o, std::string root)
      : root_(std::move(root)), cap_(o.meta_files), rng_(o.seed),
        content_(kSmallFileSize, 'm') {}

  void Setup() {
    if (mkdir(root_.c_str(), 0755) != 0) Die("mkdir " + root_);
    for (int b = 0; b < kMetaBuckets; ++b) {
      const std::string top = BucketPath(static_cast<uint32_t>(b), false);
      if (mkdir(top.c_str(), 0755) != 0) Die("mkdir " + top);
      const std::string sub = BucketPath(static_cast<uint32_t>(b), true);
      if (mkdir(sub.c_str(), 0755) != 0) Die("mkdir " + sub);
    }
    while (files_.size() < cap_) Create();
  }

  // Runs n operations; adds their latencies to the sums when `timed`.
  void Run(int64_t n, bool timed) {
    std::uniform_int_distribution<int> pct(0, 99);
    for (int64_t i = 0; i < n; ++i) {
      const int p = pct(rng_);
      MetaOp op;
      if (p < 30) {
        op = kCreate;
      } else if (p < 55) {
        op = kStat;
      } else if (p < 70) {
        op = kRename;
      } else if (p < 90) {
        op = kUnlink;
      } else if (p < 95) {
        op = kMkdir;
      } else {
        op = kReaddir;
      }
      if (op == kCreate && files_.size() >= cap_) op = kUnlink;
      if ((op == kUnlink || op == kStat || op == kRename) && files_.empty()) {
        op = kCreate;
      }
      if (op == kMkdir && !dirs_.empty() &&
          (dirs_.size() >= kMetaMaxDirs || Coin())) {
        op = kRmdir;
      }
      const int64_t t0 = NowNs();
      switch (op) {
        case kCreate: Create(); break;
        case kStat: StatOne(); break;
        case kRename: RenameOne(); break;
        case kUnlink: UnlinkOne(); break;
        case kMkdir: MkdirOne(); break;
        case kRmdir: RmdirOne(); break;
        case kReaddir: ReaddirOne(); break;
        case kMetaOps: break;
      }
      if (timed) {
        ns_[op] += NowNs() - t0;
        ++count_[op];
      }
    }
  }

  // Removes everything (untimed).
  void Teardown() {
    for (const MetaFile& f : files_) {
      if (unlink(FilePath(f).c_str()) != 0) Die("unlink " + FilePath(f));
    }
    for (const MetaDir& d : dirs_) {
      if (rmdir(DirPath(d).c_str()) != 0) Die("rmdir " + DirPath(d));
    }
    for (int b = 0; b < kMetaBuckets; ++b) {
      for (bool sub : {true, false}) {
        const std::string p = BucketPath(static_cast<uint32_t>(b), sub);
        if (rmdir(p.c_str()) != 0) Die("rmdir " + p);
      }
    }
    if (rmdir(root_.c_str()) != 0) Die("rmdir " + root_);
  }

  // Time and count of the timed rmdirs so far.
  int64_t rmdir_ns() const { return ns_[kRmdir]; }
  int64_t rmdirs() const { return count_[kRmdir]; }

  void EmitLatencies() const {
    int64_t total = 0;
    for (int k = 0; k < kMetaOps; ++k) total += count_[k];
    std::string mix = "# metamix timed operations:";
    for (int k = 0; k < kMetaOps; ++k) {
      char buf[64];
      std::snprintf(buf, sizeof(buf), " %s %" PRId64 " (%.1f%%)",
                    kMetaOpNames[k], count_[k],
                    total > 0 ? 100.0 * static_cast<double>(count_[k]) /
                                    static_cast<double>(total)
                              : 0.0);
      mix += buf;
    }
    std::printf("%s\n", mix.c_str());
    for (int k = 0; k < kMetaOps; ++k) {
      if (count_[k] == 0) continue;
      Emit(std::string("metamix.") + kMetaOpNames[k] + ".mean",
           static_cast<double>(ns_[k]) / static_cast<double>(count_[k]) / 1000.0,
           "us");
    }
  }

 private:
  bool Coin() { return std::uniform_int_distribution<int>(0, 1)(rng_) == 1; }
  size_t Pick(size_t n) {
    return std::uniform_int_distribution<size_t>(0, n - 1)(rng_);
  }
  uint32_t Bucket() {
    return static_cast<uint32_t>(Pick(kMetaBuckets));
  }
  std::string BucketPath(uint32_t b, bool sub) const {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "/b%02u%s", b, sub ? "/sub" : "");
    return root_ + buf;
  }
  std::string FilePath(const MetaFile& f) const {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "/f%07u", f.id);
    return BucketPath(f.bucket, f.in_sub) + buf;
  }
  std::string DirPath(const MetaDir& d) const {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "/d%07u", d.id);
    return BucketPath(d.bucket, false) + buf;
  }

  void Create() {
    const MetaFile f{Bucket(), false, next_id_++};
    const std::string path = FilePath(f);
    const int fd =
        open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) Die("create " + path);
    WriteAll(fd, content_.data(), content_.size(), path);
    if (close(fd) != 0) Die("close " + path);
    files_.push_back(f);
  }
  void StatOne() {
    const std::string path = FilePath(files_[Pick(files_.size())]);
    struct stat st;
    if (stat(path.c_str(), &st) != 0) Die("stat " + path);
  }
  void RenameOne() {
    MetaFile& f = files_[Pick(files_.size())];
    MetaFile to = f;
    to.id = next_id_++;
    if (Coin()) to.in_sub = !f.in_sub;
    const std::string from_path = FilePath(f);
    const std::string to_path = FilePath(to);
    if (rename(from_path.c_str(), to_path.c_str()) != 0) {
      Die("rename " + from_path + " " + to_path);
    }
    f = to;
  }
  void UnlinkOne() {
    const size_t i = Pick(files_.size());
    const std::string path = FilePath(files_[i]);
    if (unlink(path.c_str()) != 0) Die("unlink " + path);
    files_[i] = files_.back();
    files_.pop_back();
  }
  void MkdirOne() {
    const MetaDir d{Bucket(), next_id_++};
    const std::string path = DirPath(d);
    if (mkdir(path.c_str(), 0755) != 0) Die("mkdir " + path);
    dirs_.push_back(d);
  }
  void RmdirOne() {
    const size_t i = Pick(dirs_.size());
    const std::string path = DirPath(dirs_[i]);
    if (rmdir(path.c_str()) != 0) Die("rmdir " + path);
    dirs_[i] = dirs_.back();
    dirs_.pop_back();
  }
  void ReaddirOne() {
    const std::string path = BucketPath(Bucket(), false);
    DIR* d = opendir(path.c_str());
    if (d == nullptr) Die("opendir " + path);
    errno = 0;
    uint64_t n = 0;
    while (readdir(d) != nullptr) ++n;
    if (errno != 0) Die("readdir " + path);
    closedir(d);
    if (n < 3) {  // ".", ".." and "sub" at least.
      errno = EIO;
      Die("readdir " + path + ": too few entries");
    }
  }

  const std::string root_;
  const size_t cap_;
  std::mt19937_64 rng_;
  const std::string content_;
  std::vector<MetaFile> files_;
  std::vector<MetaDir> dirs_;
  uint32_t next_id_ = 0;
  int64_t ns_[kMetaOps] = {};
  int64_t count_[kMetaOps] = {};
};

void MetaMixWorkload(const Options& o) {
  const std::string root = o.dir + "/metamix-" + std::to_string(getpid());
  MetaMix mix(o, root);
  mix.Setup();
  const int64_t ops = o.iters > 0 ? o.iters : 20000;
  mix.Run(ops / 10, /*timed=*/false);  // warm
  std::vector<double> rates, rates_no_rmdir;
  for (int p = 0; p < o.passes; ++p) {
    const int64_t rmdir_ns0 = mix.rmdir_ns();
    const int64_t rmdirs0 = mix.rmdirs();
    const int64_t t0 = NowNs();
    mix.Run(ops, /*timed=*/true);
    const double secs = static_cast<double>(NowNs() - t0) * 1e-9;
    rates.push_back(static_cast<double>(ops) / secs);
    const double rmdir_secs =
        static_cast<double>(mix.rmdir_ns() - rmdir_ns0) * 1e-9;
    rates_no_rmdir.push_back(
        static_cast<double>(ops - (mix.rmdirs() - rmdirs0)) /
        (secs - rmdir_secs));
  }
  mix.Teardown();
  Emit("metamix.ops", Median(rates), "ops/s");
  Emit("metamix.best", *std::max_element(rates.begin(), rates.end()), "ops/s");
  // The same without the rmdirs (their count and time): where rmdir waits
  // for the disk (ext4 -o discard discards a directory's block
  // synchronously, ~2 ms), it would dominate the mix.
  Emit("metamix.ops_no_rmdir", Median(rates_no_rmdir), "ops/s");
  mix.EmitLatencies();
}

bool ParseU64(const std::string& s, uint64_t* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return false;
  *out = v;
  return true;
}

// A path flag's value: relative to --dir, no "..", not empty.
bool RelPath(const std::string& v) {
  if (v.empty() || v[0] == '/') return false;
  size_t start = 0;
  for (;;) {
    const size_t end = v.find('/', start);
    const std::string part = v.substr(start, end - start);
    if (part.empty() || part == "..") return false;
    if (end == std::string::npos) return true;
    start = end + 1;
  }
}

Options ParseFlags(int argc, char** argv) {
  Options o;
  bool photos = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") Usage("help");
    if (a == "--photos") {
      photos = true;
      continue;
    }
    const size_t eq = a.find('=');
    if (a.rfind("--", 0) != 0 || eq == std::string::npos) {
      Usage("bad argument: " + a);
    }
    const std::string key = a.substr(2, eq - 2);
    const std::string val = a.substr(eq + 1);
    uint64_t u = 0;
    if (key == "dir") {
      o.dir = val;
    } else if (key == "workload") {
      o.workload = val;
    } else if (key == "file_size_mb" && ParseU64(val, &u) && u > 0) {
      o.file_size_mb = u;
    } else if (key == "write_mb" && ParseU64(val, &u) && u > 0) {
      o.write_mb = u;
    } else if (key == "entries" && ParseU64(val, &u) && u > 0) {
      o.entries = u;
    } else if (key == "meta_files" && ParseU64(val, &u) && u > 0 &&
               u < (1ULL << 24)) {
      o.meta_files = u;
    } else if (key == "passes" && ParseU64(val, &u) && u > 0 && u < 1000000) {
      o.passes = static_cast<int>(u);
    } else if (key == "iters" && ParseU64(val, &u) && u > 0 && u < (1ULL << 40)) {
      o.iters = static_cast<int64_t>(u);
    } else if (key == "seed" && ParseU64(val, &u)) {
      o.seed = u;
    } else if (key == "as_uid" && ParseU64(val, &u) && u < 0xffffffffULL) {
      o.as_uid = static_cast<int64_t>(u);
    } else if (key == "as_gid" && ParseU64(val, &u) && u < 0xffffffffULL) {
      o.as_gid = static_cast<int64_t>(u);
    } else if (key == "openclose_path" && RelPath(val)) {
      o.openclose_path = val;
    } else if (key == "stat_path" && RelPath(val)) {
      o.stat_path = val;
    } else if (key == "statat_path" && RelPath(val)) {
      o.statat_path = val;
    } else if (key == "readdir_path" && RelPath(val)) {
      o.readdir_path = val;
    } else {
      Usage("bad flag or value: " + a);
    }
  }
  if (o.dir.empty()) Usage("--dir is required");
  if (o.workload.empty()) Usage("--workload is required");
  while (o.dir.size() > 1 && o.dir.back() == '/') o.dir.pop_back();
  if (o.as_gid >= 0 && o.as_uid < 0) Usage("--as_gid needs --as_uid");
  if (photos) {
    // Explicit path flags win over --photos.
    for (auto* p : {&o.openclose_path, &o.stat_path, &o.statat_path}) {
      if (p->empty()) *p = kFirstPhoto;
    }
    if (o.readdir_path.empty()) o.readdir_path = kPhotoDir;
  }
  return o;
}

}  // namespace

// Becomes o.as_uid / o.as_gid for good (real, effective and saved ids, no
// supplementary groups), or exits: a benchmark "as the app" that silently
// ran as root would measure the wrong thing.
void DropPrivileges(const Options& o) {
  if (o.as_uid < 0) return;
  const auto uid = static_cast<uid_t>(o.as_uid);
  const auto gid = static_cast<gid_t>(o.as_gid >= 0 ? o.as_gid : o.as_uid);
  if (setgroups(0, nullptr) != 0) Die("setgroups(0) (--as_uid needs root)");
  if (setresgid(gid, gid, gid) != 0) Die("setresgid " + std::to_string(gid));
  if (setresuid(uid, uid, uid) != 0) Die("setresuid " + std::to_string(uid));
  uid_t ru, eu, su;
  gid_t rg, eg, sg;
  if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0 ||
      ru != uid || eu != uid || su != uid || rg != gid || eg != gid ||
      sg != gid || getgroups(0, nullptr) != 0) {
    errno = EPERM;
    Die("--as_uid: ids did not change");
  }
  std::printf("# running as uid %u gid %u\n", uid, gid);
}

int main(int argc, char** argv) {
  const Options o = ParseFlags(argc, argv);
  DropPrivileges(o);
  const std::map<std::string, void (*)(const Options&)> workloads = {
      {"seqread", SeqRead},     {"randread", RandRead}, {"mmapread", MmapRead},
      {"seqwrite", SeqWrite},   {"openclose", OpenClose}, {"stat", Stat},
      {"statat", StatAt},       {"readdir", ReadDir},
      {"metamix", MetaMixWorkload},
  };
  if (o.workload == "prepare") {
    Prepare(o);
    return 0;
  }
  if (o.workload == "prepare_photos") {
    PreparePhotos(o);
    return 0;
  }
  if (o.workload == "all") {
    for (const char* w : {"seqread", "randread", "mmapread", "seqwrite",
                          "openclose", "stat", "statat", "readdir",
                          "metamix"}) {
      workloads.at(w)(o);
    }
    return 0;
  }
  auto it = workloads.find(o.workload);
  if (it == workloads.end()) Usage("unknown workload: " + o.workload);
  it->second(o);
  return 0;
}
