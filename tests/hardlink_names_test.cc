// A file with several names (hard links) is decided by the name the caller
// used, under an Android-style policy (the embedded default, with the
// app-private rule audited so that every open leaves a row): the gallery
// (uid 1010001) owns Android/data/10/com.example.gallery/, whose files it may
// write; in DCIM it may only read what it did not create, and the social app
// (uid 1010002) likewise. Both I/O modes (passthrough on and off).
//
//   - the gallery's writes of its private name never fail while the social
//     app stats, reads and tries to write the DCIM name of the same file,
//     concurrently, for thousands of rounds; every audit row names the path
//     its caller used;
//   - the other way round: a write through the DCIM name is never allowed
//     by the private name's rule, raced or through a held descriptor;
//   - a name that gains a link behind the daemon's back is decided the same;
//   - data written through one name is read, and seen through mappings, of
//     the other (passthrough: at once, one backing file; daemon-served: no
//     stale page cache, an old mapping refreshed right after the write);
//   - link, unlink, rename and RENAME_EXCHANGE through the mount: a
//     descriptor held on one name is still decided by that name, and
//     names, st_nlink and st_ino are right through every name; find
//     -samefile, cp -a and tar still see one file.
// The coherence and link tests run again on a mount without a policy, where
// the kernel keeps entries (no lookup refreshes a node before each access).
// Knob: SCOPEDFS_HARDLINK_ROUNDS (default 3000) for the races.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "audit/database.h"
#include "gtest/gtest.h"
#include "policy/default_policy.h"
#include "tests/mount_test_base.h"
#include "tests/shell.h"
#include "tests/test_util.h"

namespace scopedfs::testing {
namespace {

constexpr uid_t kGallery = 1010001;  // com.example.gallery
constexpr uid_t kSocial = 1010002;   // com.example.social

constexpr char kPrivateDir[] = "Android/data/10/com.example.gallery";

// The default policy, with the app-private rule's `audit: false` dropped:
// the gallery's opens of its own files must leave rows too. Empty if the
// default policy no longer has that line where expected.
std::string AuditedDefaultPolicy() {
  std::string text(policy::DefaultPolicyText());
  const size_t rule = text.find("id: \"app-private\"");
  if (rule == std::string::npos) return "";
  const size_t next = text.find("rules {", rule);
  const size_t audit = text.find("audit: false", rule);
  if (audit == std::string::npos || audit > next) return "";
  text.erase(audit, std::strlen("audit: false"));
  return text;
}

int64_t RealtimeNanos() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// What a forked client saw, shared with the test (MAP_SHARED survives fork).
struct Tally {
  std::atomic<int> done{0};
  std::atomic<long> rounds{0};
  std::atomic<long> opens_allowed{0};  // Opens that succeeded.
  std::atomic<long> opens_refused{0};  // Opens refused with EACCES.
  std::atomic<long> wrong{0};          // A decision not made for this name.
  std::atomic<long> other{0};          // Any other failure.
  std::atomic<int> first_errno{0};
  void Wrong(int err) {
    ++wrong;
    int zero = 0;
    first_errno.compare_exchange_strong(zero, err);
  }
};

class SharedTallies {
 public:
  explicit SharedTallies(int n) : n_(n) {
    void* p = mmap(nullptr, sizeof(Tally) * n, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return;
    tallies_ = static_cast<Tally*>(p);
    for (int i = 0; i < n; ++i) new (&tallies_[i]) Tally();
  }
  ~SharedTallies() {
    if (tallies_ != nullptr) munmap(tallies_, sizeof(Tally) * n_);
  }
  bool ok() const { return tallies_ != nullptr; }
  Tally& operator[](int i) { return tallies_[i]; }

 private:
  const int n_;
  Tally* tallies_ = nullptr;
};

// Forks a client running `body` as `uid` (and its gid, no groups).
pid_t SpawnAs(uid_t uid, const std::function<void()>& body) {
  fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    if (!BecomeIdentity(User(uid))) _exit(255);
    body();
    _exit(0);
  }
  return pid;
}

int WaitFor(pid_t pid) {
  int status = 0;
  if (pid <= 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
    return 254;
  }
  return WEXITSTATUS(status);
}

// A client that keeps descriptors open across the test's steps: forked as
// `uid`, it runs `setup` once, then `check` each time Check() is called.
class HeldClient {
 public:
  HeldClient(uid_t uid, const std::function<int()>& setup,
             const std::function<int()>& check) {
    if (pipe(to_) != 0 || pipe(from_) != 0) return;
    fflush(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      close(to_[1]);
      close(from_[0]);
      const int ready = BecomeIdentity(User(uid)) ? setup() : 255;
      char cmd;
      while (read(to_[0], &cmd, 1) == 1) {
        const char result = static_cast<char>(ready != 0 ? 100 : check());
        if (write(from_[1], &result, 1) != 1) break;
      }
      _exit(0);
    }
    close(to_[0]);
    close(from_[1]);
  }
  ~HeldClient() {
    close(to_[1]);
    close(from_[0]);
    WaitFor(pid_);
  }
  // What `check` returned (0: as expected); 100 if `setup` (or the
  // identity switch) failed, 254 if the client is gone.
  int Check() {
    char cmd = 'c', result = 127;
    if (pid_ <= 0 || write(to_[1], &cmd, 1) != 1 ||
        read(from_[0], &result, 1) != 1) {
      return 254;
    }
    return result;
  }

 private:
  int to_[2] = {-1, -1};
  int from_[2] = {-1, -1};
  pid_t pid_ = -1;
};

// open(path, flags), closed again: 0, or the errno.
int OpenErrno(const std::string& path, int flags) {
  const int fd = open(path.c_str(), flags);
  if (fd < 0) return errno;
  close(fd);
  return 0;
}

std::string Page(char c, size_t n = 4096) { return std::string(n, c); }

// A daemon counter, 0 if the daemon has none by that name.
uint64_t Counter(const std::map<std::string, uint64_t>& stats,
                 const std::string& name) {
  auto it = stats.find(name);
  return it == stats.end() ? 0 : it->second;
}

// `got` == `want`, described briefly when not (pages of one byte repeated).
::testing::AssertionResult SameBytes(const std::string& got,
                                     const std::string& want) {
  if (got == want) return ::testing::AssertionSuccess();
  size_t at = 0;
  while (at < got.size() && at < want.size() && got[at] == want[at]) ++at;
  auto byte = [](const std::string& s, size_t i) {
    return i < s.size() ? absl::StrCat("'", std::string(1, s[i]), "'")
                        : std::string("end");
  };
  return ::testing::AssertionFailure()
         << got.size() << " bytes where " << want.size()
         << " were expected; first difference at " << at << ": "
         << byte(got, at) << " instead of " << byte(want, at);
}

class HardlinkNamesTest : public MountTest,
                          public ::testing::WithParamInterface<bool> {
 protected:
  std::vector<std::string> DaemonFlags() const override {
    const std::string policy = AuditedDefaultPolicy();
    WriteFile(dir_.Sub("policy.textproto"), policy);
    return {"--policy=" + dir_.Sub("policy.textproto"),
            absl::StrCat("--passthrough=", GetParam() ? "true" : "false")};
  }

  void SetUp() override {
    ASSERT_FALSE(AuditedDefaultPolicy().empty())
        << "the default policy's app-private rule changed: update this test";
    MountTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    for (const char* dir : {"Android", "Android/data", "Android/data/10", "DCIM", "Download"}) {
      ASSERT_EQ(mkdir(B(dir).c_str(), 0755), 0) << dir;
    }
    ASSERT_EQ(mkdir(B(kPrivateDir).c_str(), 0755), 0);
    ASSERT_EQ(chown(B(kPrivateDir).c_str(), kGallery, kGallery), 0);
    // Anyone may create in DCIM (the policy decides who does).
    ASSERT_EQ(chmod(B("DCIM").c_str(), 0777), 0);
  }

  static std::string Private(const std::string& name) {
    return absl::StrCat(kPrivateDir, "/", name);
  }

  // `rel` in the backing dir, owned by the gallery and writable by all (so
  // that only the policy refuses a write), hard-linked as each of `links`.
  void MakeLinkedFile(const std::string& rel,
                      const std::vector<std::string>& links,
                      const std::string& content = "hello\n") {
    WriteFile(B(rel), content);
    ASSERT_EQ(chown(B(rel).c_str(), kGallery, kGallery), 0);
    ASSERT_EQ(chmod(B(rel).c_str(), 0666), 0);
    for (const std::string& link_rel : links) {
      ASSERT_EQ(link(B(rel).c_str(), B(link_rel).c_str()), 0) << link_rel;
    }
  }

  // The rows of `uid` for decisions made since `since` (realtime ns), once
  // at least `want` are stored (or after 30 s).
  std::vector<v1::AuditEvent> RowsOf(uid_t uid, size_t want, int64_t since) {
    std::vector<v1::AuditEvent> rows;
    for (int i = 0; i < 600; ++i) {
      auto db = audit::Database::Open(mnt_->state_dir() + "/audit.db",
                                      audit::Database::Mode::kReadOnly);
      if (db.ok()) {
        v1::AuditFilter filter;
        filter.add_uids(uid);
        filter.set_since_unix_nanos(since);
        auto events = (*db)->Query(filter, 0, 0, false, 10000000);
        if (events.ok()) rows = std::move(*events);
        if (rows.size() >= want) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return rows;
  }

  // Checks that every row of `uid` names `path` with `op` and `decision` as
  // `expect` says, and returns the rows that do not; counts the ones that do
  // by operation in `*by_op`.
  struct Expect {
    std::string path;
    v1::Operation op;
    v1::Action decision;
  };
  std::vector<v1::AuditEvent> RowsNotMatching(
      const std::vector<v1::AuditEvent>& rows,
      const std::vector<Expect>& expect, std::vector<size_t>* counts) {
    std::vector<v1::AuditEvent> bad;
    counts->assign(expect.size(), 0);
    for (const v1::AuditEvent& row : rows) {
      bool matched = false;
      for (size_t i = 0; i < expect.size() && !matched; ++i) {
        if (row.path() == expect[i].path && row.operation() == expect[i].op &&
            row.decision() == expect[i].decision) {
          ++(*counts)[i];
          matched = true;
        }
      }
      if (!matched) bad.push_back(row);
    }
    return bad;
  }

  static std::string Describe(const std::vector<v1::AuditEvent>& rows) {
    std::string out;
    for (size_t i = 0; i < rows.size() && i < 5; ++i) {
      absl::StrAppend(&out, "  uid=", rows[i].uid(), " ",
                      v1::Operation_Name(rows[i].operation()), " ",
                      rows[i].path(), " ", v1::Action_Name(rows[i].decision()),
                      " rule=", rows[i].rule_id(), "\n");
    }
    return out;
  }

  static long Rounds() {
    return static_cast<long>(EnvOr("SCOPEDFS_HARDLINK_ROUNDS", 3000));
  }

  // The gallery writes (opens O_WRONLY) its private name `priv` while the
  // social app stats, reads and tries to write the DCIM name `pub` of the
  // same file, `rounds` times at least each, concurrently. Expects no
  // wrong decision and the audit rows of both to name the path they used.
  void RaceOwnerAgainstReader(const std::string& priv, const std::string& pub,
                              long rounds) {
    SharedTallies t(2);
    ASSERT_TRUE(t.ok());
    Tally& gallery = t[0];
    Tally& social = t[1];
    const int64_t since = RealtimeNanos();
    const std::string m_priv = M(priv), m_pub = M(pub);
    const pid_t g = SpawnAs(kGallery, [&] {
      for (long i = 0; i < rounds; ++i) {
        const int err = OpenErrno(m_priv, O_WRONLY);
        if (err == 0) {
          ++gallery.opens_allowed;
        } else {
          gallery.Wrong(err);
        }
        ++gallery.rounds;
      }
      gallery.done = 1;
    });
    const pid_t s = SpawnAs(kSocial, [&] {
      for (long i = 0; i < rounds || !gallery.done.load(); ++i) {
        struct stat st;
        if (stat(m_pub.c_str(), &st) != 0 || st.st_nlink < 2) ++social.other;
        const int w = OpenErrno(m_pub, O_WRONLY);
        if (w == EACCES) {
          ++social.opens_refused;
        } else {
          social.Wrong(w == 0 ? -1 : w);  // -1: the write was allowed.
        }
        const int r = OpenErrno(m_pub, O_RDONLY);
        if (r == 0) {
          ++social.opens_allowed;
        } else {
          social.Wrong(r);
        }
        ++social.rounds;
      }
      social.done = 1;
    });
    ASSERT_EQ(WaitFor(g), 0);
    ASSERT_EQ(WaitFor(s), 0);
    std::fprintf(stderr,
                 "race (%s): gallery %ld writes of %s, %ld wrong (first errno "
                 "%d); social %ld rounds on %s, %ld wrong (first %d), %ld "
                 "other failures\n",
                 GetParam() ? "passthrough" : "daemon I/O",
                 gallery.rounds.load(), priv.c_str(), gallery.wrong.load(),
                 gallery.first_errno.load(), social.rounds.load(), pub.c_str(),
                 social.wrong.load(), social.first_errno.load(),
                 social.other.load());
    EXPECT_EQ(gallery.rounds.load(), rounds);
    EXPECT_EQ(gallery.wrong.load(), 0)
        << "the gallery's writes of its own name were refused (first errno "
        << gallery.first_errno.load() << ")";
    EXPECT_EQ(gallery.opens_allowed.load(), rounds);
    EXPECT_GE(social.rounds.load(), rounds);
    EXPECT_EQ(social.wrong.load(), 0)
        << "the social app was decided by the other name (first errno "
        << social.first_errno.load() << ", -1: a write was allowed)";
    EXPECT_EQ(social.other.load(), 0);
    EXPECT_EQ(social.opens_refused.load(), social.rounds.load());

    // Every row names the path its caller used, with that path's decision.
    std::vector<size_t> counts;
    const auto g_rows = RowsOf(kGallery, rounds, since);
    const auto g_bad = RowsNotMatching(
        g_rows, {{priv, v1::WRITE, v1::ALLOW}}, &counts);
    EXPECT_TRUE(g_bad.empty()) << g_bad.size() << " gallery rows with "
                               << "another path or decision:\n"
                               << Describe(g_bad);
    EXPECT_EQ(counts[0], static_cast<size_t>(rounds));
    const long social_rounds = social.rounds.load();
    const auto s_rows = RowsOf(kSocial, 2 * social_rounds, since);
    const auto s_bad = RowsNotMatching(
        s_rows, {{pub, v1::WRITE, v1::DENY}, {pub, v1::READ, v1::ALLOW}},
        &counts);
    EXPECT_TRUE(s_bad.empty()) << s_bad.size() << " social rows with "
                               << "another path or decision:\n"
                               << Describe(s_bad);
    EXPECT_EQ(counts[0], static_cast<size_t>(social_rounds));
    EXPECT_EQ(counts[1], static_cast<size_t>(social_rounds));
  }

  // Whether the mount has the policy (CheckLinkUnlinkRename then also
  // checks decisions).
  virtual bool WithPolicy() const { return true; }
  void CheckDataCoherence();
  void CheckLinkUnlinkRename();

  TempDir dir_;
};

// The reported bug: the gallery's write of its private name refused while
// the social app uses the DCIM name of the same file.
TEST_P(HardlinkNamesTest, EachNameIsDecidedByItselfUnderARace) {
  MakeLinkedFile(Private("hl.txt"), {"DCIM/hl.txt"});
  // Not vacuous: the two names are two nodes, one st_ino. Counted once each
  // app looked its name up, before the race: afterwards the kernel may
  // already have forgotten one (seen once in CI, in both I/O modes).
  ASSERT_EQ(RunAs(User(kGallery), [&] {
              struct stat st;
              return ErrnoOf(stat(M(Private("hl.txt")).c_str(), &st));
            }),
            0);
  ASSERT_EQ(RunAs(User(kSocial), [&] {
              struct stat st;
              return ErrnoOf(stat(M("DCIM/hl.txt").c_str(), &st));
            }),
            0);
  const auto stats = mnt_->Stats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_GE(Counter(*stats, "nodes_per_name"), 2u);
  RaceOwnerAgainstReader(Private("hl.txt"), "DCIM/hl.txt", Rounds());
  struct stat a, b, backing;
  ASSERT_EQ(stat(M(Private("hl.txt")).c_str(), &a), 0);
  ASSERT_EQ(stat(M("DCIM/hl.txt").c_str(), &b), 0);
  ASSERT_EQ(stat(B("DCIM/hl.txt").c_str(), &backing), 0);
  EXPECT_EQ(a.st_ino, backing.st_ino);
  EXPECT_EQ(b.st_ino, backing.st_ino);
  EXPECT_EQ(a.st_dev, b.st_dev);
  EXPECT_EQ(a.st_nlink, 2u);
  EXPECT_EQ(b.st_nlink, 2u);
}

// The opposite direction: the private name's rule (ALLOW) is never applied
// to the DCIM name (no write for the gallery: it did not create the file),
// neither while its own other process uses the private name, nor through a
// descriptor the gallery holds on the DCIM name while the private name is
// looked up (SETATTR, xattr and truncation are decided by the node).
TEST_P(HardlinkNamesTest, APermissiveRuleIsNeverAppliedToTheProtectedName) {
  MakeLinkedFile(Private("p.txt"), {"DCIM/p.txt"}, "unchanged\n");
  const std::string m_priv = M(Private("p.txt")), m_pub = M("DCIM/p.txt");
  const long rounds = Rounds();
  SharedTallies t(2);
  ASSERT_TRUE(t.ok());
  Tally& writer = t[0];  // Writes the DCIM name: must always be refused.
  Tally& owner = t[1];   // Uses the private name meanwhile.
  const int64_t since = RealtimeNanos();
  const pid_t w = SpawnAs(kGallery, [&] {
    for (long i = 0; i < rounds; ++i) {
      const int fd = open(m_pub.c_str(), O_WRONLY);
      if (fd >= 0) {
        // The hole: report it, and show what it allows.
        (void)!pwrite(fd, "X", 1, 0);
        close(fd);
        writer.Wrong(-1);
      } else if (errno == EACCES) {
        ++writer.opens_refused;
      } else {
        writer.Wrong(errno);
      }
      ++writer.rounds;
    }
    writer.done = 1;
  });
  const pid_t o = SpawnAs(kGallery, [&] {
    for (long i = 0; i < rounds || !writer.done.load(); ++i) {
      struct stat st;
      if (stat(m_priv.c_str(), &st) != 0) ++owner.other;
      const int err = OpenErrno(m_priv, O_RDWR);
      if (err == 0) {
        ++owner.opens_allowed;
      } else {
        owner.Wrong(err);
      }
      ++owner.rounds;
    }
  });
  ASSERT_EQ(WaitFor(w), 0);
  ASSERT_EQ(WaitFor(o), 0);
  std::fprintf(stderr,
               "opposite race (%s): %ld writes of DCIM/p.txt, %ld allowed "
               "(wrong); %ld opens of the private name, %ld wrong\n",
               GetParam() ? "passthrough" : "daemon I/O", writer.rounds.load(),
               writer.wrong.load(), owner.rounds.load(), owner.wrong.load());
  EXPECT_EQ(writer.wrong.load(), 0)
      << "the gallery wrote DCIM/p.txt by the private name's rule (first "
      << writer.first_errno.load() << ")";
  EXPECT_EQ(writer.opens_refused.load(), rounds);
  EXPECT_EQ(owner.wrong.load(), 0);
  EXPECT_EQ(owner.other.load(), 0);
  EXPECT_EQ(ReadFile(B(Private("p.txt"))), "unchanged\n");
  std::vector<size_t> counts;
  const long owner_rounds = owner.rounds.load();
  const auto rows = RowsOf(kGallery, rounds + owner_rounds, since);
  const auto bad = RowsNotMatching(
      rows,
      {{"DCIM/p.txt", v1::WRITE, v1::DENY},
       {Private("p.txt"), v1::WRITE, v1::ALLOW}},
      &counts);
  EXPECT_TRUE(bad.empty()) << bad.size() << " rows with another path or "
                           << "decision:\n"
                           << Describe(bad);
  EXPECT_EQ(counts[0], static_cast<size_t>(rounds));
  EXPECT_EQ(counts[1], static_cast<size_t>(owner_rounds));

  // Held descriptors: requests on a node are decided by that node's name,
  // whichever name was looked up since.
  EXPECT_EQ(RunAs(User(kGallery), [&] {
              const int pub = open(m_pub.c_str(), O_RDONLY);  // media-read
              if (pub < 0) return 1;
              const int priv = open(m_priv.c_str(), O_RDWR);
              if (priv < 0) return 2;
              for (int i = 0; i < 20; ++i) {
                struct stat st;
                // Look the other name up, then act through each descriptor.
                if (stat(m_priv.c_str(), &st) != 0) return 3;
                if (fchmod(pub, 0666) == 0 || errno != EACCES) return 4;
                if (fsetxattr(pub, "user.k", "v", 1, 0) == 0 || errno != EACCES) {
                  return 5;
                }
                if (stat(m_pub.c_str(), &st) != 0) return 6;
                if (fchmod(priv, 0666) != 0) return 7;
                if (ftruncate(priv, 10) != 0) return 8;
              }
              close(pub);
              close(priv);
              return 0;
            }),
            0);
  EXPECT_EQ(ReadFile(B(Private("p.txt"))), "unchanged\n");
}

// A file that gets a second name behind the daemon's back, after the kernel
// knew it by its first: fresh lookups of either name get per-name nodes.
TEST_P(HardlinkNamesTest, ALinkMadeBehindTheDaemonsBackIsDecidedByName) {
  MakeLinkedFile(Private("late.txt"), {});
  // The kernel knows the single-name file (and holds it open meanwhile).
  const int held = open(M(Private("late.txt")).c_str(), O_RDONLY);
  ASSERT_GE(held, 0);
  EXPECT_EQ(RunAs(User(kGallery),
                  [&] { return OpenErrno(M(Private("late.txt")), O_WRONLY); }),
            0);
  ASSERT_EQ(link(B(Private("late.txt")).c_str(), B("DCIM/late.txt").c_str()), 0);
  // Past the entry and attribute timeouts of what the kernel cached.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  RaceOwnerAgainstReader(Private("late.txt"), "DCIM/late.txt",
                         std::max(Rounds() / 5, 100L));
  struct stat st;
  ASSERT_EQ(fstat(held, &st), 0);
  EXPECT_EQ(st.st_nlink, 2u);
  close(held);
  const auto stats = mnt_->Stats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_GE(Counter(*stats, "nodes_per_name"), 2u);
}

// The st_ino and st_nlink every name shows, by stat through the mount.
struct Names {
  std::vector<ino_t> inos;
  std::vector<nlink_t> links;
};
Names StatAll(const std::vector<std::string>& paths) {
  Names out;
  for (const std::string& p : paths) {
    struct stat st = {};
    EXPECT_EQ(stat(p.c_str(), &st), 0) << p;
    out.inos.push_back(st.st_ino);
    out.links.push_back(st.st_nlink);
  }
  return out;
}

// One file, two nodes: what is written through one name is what the other
// reads and maps, at once.
void HardlinkNamesTest::CheckDataCoherence() {
  const std::string priv = Private("c.bin"), pub = "DCIM/c.bin";
  MakeLinkedFile(priv, {pub}, Page('a', 3 * 4096));
  for (const bool forward : {true, false}) {
    SCOPED_TRACE(forward ? "written through the private name"
                         : "written through the DCIM name");
    const std::string w = M(forward ? priv : pub), r = M(forward ? pub : priv);
    const char fill = forward ? 'b' : 'c';
    ASSERT_EQ(truncate(B(priv).c_str(), 0), 0);
    WriteFile(B(priv), Page('a', 3 * 4096));
    // Past the attribute timeout of what the kernel cached of the previous
    // round (changed behind its back just now).
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    // The reader's node is read and mapped first: its page cache, if it has
    // one, holds the old bytes.
    const int rfd = open(r.c_str(), O_RDONLY);
    ASSERT_GE(rfd, 0);
    ASSERT_TRUE(SameBytes(ReadFile(r), Page('a', 3 * 4096)));
    char* map = static_cast<char*>(
        mmap(nullptr, 3 * 4096, PROT_READ, MAP_SHARED, rfd, 0));
    ASSERT_NE(map, MAP_FAILED);
    ASSERT_TRUE(SameBytes(std::string(map + 4096, 4096), Page('a')));

    // write(2) through the other name.
    const int wfd = open(w.c_str(), O_RDWR);
    ASSERT_GE(wfd, 0);
    ASSERT_EQ(pwrite(wfd, Page(fill).data(), 4096, 4096), 4096);
    // The mapping made before the write (first: a read or an open of the
    // reader would refresh it): at once with passthrough (one backing page
    // cache); with the daemon serving I/O, once it dropped the reader
    // node's pages, right after the write's reply.
    int waited_ms = 0;
    while (std::string(map + 4096, 4096) != Page(fill) && waited_ms < 5000) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      ++waited_ms;
    }
    EXPECT_TRUE(SameBytes(std::string(map + 4096, 4096), Page(fill)));
    if (GetParam()) {
      EXPECT_EQ(waited_ms, 0);
    }
    std::fprintf(stderr, "%s: the old mapping showed the write after %d ms\n",
                 GetParam() ? "passthrough" : "daemon I/O", waited_ms);
    // read(2) of the reader's descriptor, and a fresh open, see it at once.
    std::string got(4096, '\0');
    ASSERT_EQ(pread(rfd, got.data(), 4096, 4096), 4096);
    EXPECT_TRUE(SameBytes(got, Page(fill)));
    EXPECT_TRUE(SameBytes(ReadFile(r).substr(4096, 4096), Page(fill)));

    // The reader's page cache holds page 2 ('a') now. An open after a write
    // returned starts from the backing file: a mapping of it shows the
    // write at once, with no read to revalidate first.
    ASSERT_EQ(pwrite(wfd, Page('n').data(), 4096, 2 * 4096), 4096);
    {
      const int fd = open(r.c_str(), O_RDONLY);
      ASSERT_GE(fd, 0);
      char* fresh = static_cast<char*>(
          mmap(nullptr, 3 * 4096, PROT_READ, MAP_SHARED, fd, 0));
      ASSERT_NE(fresh, MAP_FAILED);
      EXPECT_TRUE(SameBytes(std::string(fresh + 2 * 4096, 4096), Page('n')));
      munmap(fresh, 3 * 4096);
      close(fd);
    }

    // A write through a shared writable mapping of the writer's name.
    char* wmap = static_cast<char*>(
        mmap(nullptr, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, wfd, 0));
    ASSERT_NE(wmap, MAP_FAILED);
    std::memset(wmap, 'm', 4096);
    ASSERT_EQ(msync(wmap, 3 * 4096, MS_SYNC), 0);
    munmap(wmap, 3 * 4096);
    ASSERT_EQ(pread(rfd, got.data(), 4096, 0), 4096);
    EXPECT_TRUE(SameBytes(got, Page('m')));
    EXPECT_TRUE(SameBytes(ReadFile(r).substr(0, 4096), Page('m')));
    munmap(map, 3 * 4096);

    // Growing through one name: size and bytes through the other at once.
    ASSERT_EQ(pwrite(wfd, "tail", 4, 3 * 4096), 4);
    struct stat st;
    ASSERT_EQ(fstat(rfd, &st), 0);
    EXPECT_EQ(st.st_size, 3 * 4096 + 4);
    ASSERT_EQ(stat(r.c_str(), &st), 0);
    EXPECT_EQ(st.st_size, 3 * 4096 + 4);
    EXPECT_EQ(ReadFile(r).substr(3 * 4096), "tail");
    // Shrinking too.
    ASSERT_EQ(ftruncate(wfd, 4096), 0);
    ASSERT_EQ(fstat(rfd, &st), 0);
    EXPECT_EQ(st.st_size, 4096);
    EXPECT_TRUE(SameBytes(ReadFile(r), Page('m')));
    close(wfd);
    close(rfd);
    EXPECT_TRUE(SameBytes(ReadFile(B(priv)), Page('m')));
  }
  const auto stats = mnt_->Stats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_GE(Counter(*stats, "nodes_per_name"), 2u);
  if (GetParam()) {
    EXPECT_GT(Counter(*stats, "opens_passthrough"), 0u);
    EXPECT_EQ(Counter(*stats, "opens_cached"), 0u);
  } else {
    EXPECT_GT(Counter(*stats, "opens_cached"), 0u);
    EXPECT_EQ(Counter(*stats, "opens_passthrough"), 0u);
  }
}

// link, unlink, rename and RENAME_EXCHANGE through the mount: each name is
// still decided by itself (with a policy), and shows the file's st_ino and
// current st_nlink.
void HardlinkNamesTest::CheckLinkUnlinkRename() {
  const std::string p = Private("f.txt");
  WriteFile(M(p), "first");  // As root, through the mount.
  ASSERT_EQ(chown(M(p).c_str(), kGallery, kGallery), 0);
  ASSERT_EQ(chmod(M(p).c_str(), 0666), 0);
  struct stat st;
  ASSERT_EQ(stat(M(p).c_str(), &st), 0);
  ASSERT_EQ(st.st_nlink, 1u);
  const ino_t ino = st.st_ino;
  // The gallery writes it through the node of its single name...
  ASSERT_EQ(RunAs(User(kGallery), [&] { return OpenErrno(M(p), O_WRONLY); }), 0);
  // ...and holds it open: requests on that descriptor (SETATTR, xattr) are
  // decided by its name, whatever becomes of the file's other names.
  int held_priv = -1;
  std::unique_ptr<HeldClient> holder;
  if (WithPolicy()) {
    holder = std::make_unique<HeldClient>(
        kGallery,
        [&] {
          held_priv = open(M(p).c_str(), O_RDWR);
          return held_priv < 0 ? 1 : 0;
        },
        [&] {
          if (fchmod(held_priv, 0666) != 0) return 1;
          if (fsetxattr(held_priv, "user.k", "v", 1, 0) != 0 && errno == EACCES) {
            return 2;
          }
          return 0;
        });
    ASSERT_EQ(holder->Check(), 0);
  }
  const auto held_decisions = [&] { return holder ? holder->Check() : 0; };

  // ...which gets a second name through the mount.
  ASSERT_EQ(link(M(p).c_str(), M("DCIM/f.txt").c_str()), 0);
  Names n = StatAll({M(p), M("DCIM/f.txt")});
  EXPECT_EQ(n.inos, std::vector<ino_t>({ino, ino}));
  EXPECT_EQ(n.links, std::vector<nlink_t>({2, 2}));
  // Each name decided by itself, whichever was used last (gallery: 10s,
  // social: 1s).
  const auto decisions = [&](const std::string& priv, const std::string& pub) {
    if (!WithPolicy()) return 0;
    return RunAs(User(kGallery), [&] {
             if (OpenErrno(M(priv), O_WRONLY) != 0) return 1;
             if (OpenErrno(M(pub), O_WRONLY) != EACCES) return 2;
             if (OpenErrno(M(pub), O_RDONLY) != 0) return 3;
             if (OpenErrno(M(priv), O_WRONLY) != 0) return 4;
             return 0;
           }) * 10 +
           RunAs(User(kSocial), [&] {
             if (OpenErrno(M(pub), O_WRONLY) != EACCES) return 1;
             if (OpenErrno(M(pub), O_RDONLY) != 0) return 2;
             return 0;
           });
  };
  EXPECT_EQ(decisions(p, "DCIM/f.txt"), 0);
  EXPECT_EQ(held_decisions(), 0) << "the single-name node took the new name";

  // find -samefile and ls -i see one file.
  std::string found;
  ASSERT_EQ(Shell(absl::StrCat("find '", mnt_->mount(), "' -samefile '",
                               M("DCIM/f.txt"), "' | sort"),
                  &found),
            0);
  EXPECT_EQ(found, absl::StrCat(M(p), "\n", M("DCIM/f.txt"), "\n"));
  std::string listed;
  ASSERT_EQ(Shell(absl::StrCat("ls -i '", M(p), "' '", M("DCIM/f.txt"),
                               "' | awk '{print $1}' | uniq | wc -l"),
                  &listed),
            0);
  EXPECT_EQ(listed, "1\n") << "ls -i shows two inode numbers";

  // Renamed through the mount: the DCIM name's node moves with it.
  ASSERT_EQ(rename(M("DCIM/f.txt").c_str(), M("DCIM/g.txt").c_str()), 0);
  EXPECT_EQ(stat(M("DCIM/f.txt").c_str(), &st), -1);
  EXPECT_EQ(errno, ENOENT);
  n = StatAll({M(p), M("DCIM/g.txt")});
  EXPECT_EQ(n.inos, std::vector<ino_t>({ino, ino}));
  EXPECT_EQ(n.links, std::vector<nlink_t>({2, 2}));
  EXPECT_EQ(decisions(p, "DCIM/g.txt"), 0);
  EXPECT_EQ(held_decisions(), 0) << "the rename of the other name moved it";

  // Exchanged with another file: the names swap, each with its decisions.
  WriteFile(M("DCIM/other.txt"), "other");
  ASSERT_EQ(chmod(M("DCIM/other.txt").c_str(), 0666), 0);
  ASSERT_EQ(stat(M("DCIM/other.txt").c_str(), &st), 0);
  const ino_t other_ino = st.st_ino;
  ASSERT_EQ(renameat2(AT_FDCWD, M("DCIM/g.txt").c_str(), AT_FDCWD,
                      M("DCIM/other.txt").c_str(), RENAME_EXCHANGE),
            0);
  n = StatAll({M(p), M("DCIM/other.txt"), M("DCIM/g.txt")});
  EXPECT_EQ(n.inos, std::vector<ino_t>({ino, ino, other_ino}));
  EXPECT_EQ(n.links, std::vector<nlink_t>({2, 2, 1}));
  EXPECT_EQ(ReadFile(M("DCIM/g.txt")), "other");
  EXPECT_EQ(decisions(p, "DCIM/other.txt"), 0);
  EXPECT_EQ(held_decisions(), 0) << "the exchange of the other name moved it";

  // A third name, in the private directory.
  const std::string p2 = Private("f2.txt");
  ASSERT_EQ(link(M("DCIM/other.txt").c_str(), M(p2).c_str()), 0);
  n = StatAll({M(p), M(p2), M("DCIM/other.txt")});
  EXPECT_EQ(n.inos, std::vector<ino_t>({ino, ino, ino}));
  EXPECT_EQ(n.links, std::vector<nlink_t>({3, 3, 3}));
  EXPECT_EQ(decisions(p2, "DCIM/other.txt"), 0);
  EXPECT_EQ(held_decisions(), 0);
  holder.reset();

  // Unlinking one name leaves the others' nodes working, counts right.
  const int held = open(M("DCIM/other.txt").c_str(), O_RDONLY);
  ASSERT_GE(held, 0);
  ASSERT_EQ(unlink(M(p).c_str()), 0);
  n = StatAll({M(p2), M("DCIM/other.txt")});
  EXPECT_EQ(n.links, std::vector<nlink_t>({2, 2}));
  EXPECT_EQ(decisions(p2, "DCIM/other.txt"), 0);
  ASSERT_EQ(unlink(M(p2).c_str()), 0);
  ASSERT_EQ(fstat(held, &st), 0);
  EXPECT_EQ(st.st_nlink, 1u);
  ASSERT_EQ(stat(M("DCIM/other.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 1u);
  EXPECT_EQ(st.st_ino, ino);
  char buf[16] = {};
  EXPECT_EQ(pread(held, buf, sizeof(buf), 0), 5);
  EXPECT_STREQ(buf, "first");
  close(held);
  ASSERT_EQ(stat(B("DCIM/other.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 1u);
}

TEST_P(HardlinkNamesTest, DataWrittenThroughOneNameShowsThroughTheOther) {
  CheckDataCoherence();
}

TEST_P(HardlinkNamesTest, LinkUnlinkAndRenameThroughTheMount) {
  CheckLinkUnlinkRename();
}

// Tools that find hard links by (st_dev, st_ino) copy one file, not two.
TEST_P(HardlinkNamesTest, CpAndTarKeepHardLinks) {
  ASSERT_EQ(mkdir(M("Download/t").c_str(), 0755), 0);
  WriteFile(M("Download/t/x"), "linked");
  ASSERT_EQ(link(M("Download/t/x").c_str(), M("Download/t/y").c_str()), 0);
  WriteFile(B("Download/t/z"), "behind");
  ASSERT_EQ(link(B("Download/t/z").c_str(), B("Download/t/w").c_str()), 0);
  const std::string copy = mnt_->Scratch("copy"), untar = mnt_->Scratch("untar");
  ASSERT_EQ(Shell(absl::StrCat("cp -a '", M("Download/t"), "' '", copy, "'")), 0);
  ASSERT_EQ(mkdir(untar.c_str(), 0755), 0);
  ASSERT_EQ(Shell(absl::StrCat("tar -C '", M("Download"), "' -cf - t | tar -C '",
                               untar, "' -xf -")),
            0);
  for (const std::string& dir : {copy, absl::StrCat(untar, "/t")}) {
    SCOPED_TRACE(dir);
    for (const auto& [a, b] : {std::pair<const char*, const char*>{"x", "y"},
                               {"z", "w"}}) {
      struct stat sa, sb;
      ASSERT_EQ(stat(absl::StrCat(dir, "/", a).c_str(), &sa), 0);
      ASSERT_EQ(stat(absl::StrCat(dir, "/", b).c_str(), &sb), 0);
      EXPECT_EQ(sa.st_ino, sb.st_ino) << a << " and " << b << " were copied apart";
      EXPECT_EQ(sa.st_nlink, 2u);
    }
    EXPECT_EQ(ReadFile(dir + "/y"), "linked");
    EXPECT_EQ(ReadFile(dir + "/w"), "behind");
  }
}

std::string IoModeName(const ::testing::TestParamInfo<bool>& info) {
  return info.param ? "Passthrough" : "DaemonIo";
}

INSTANTIATE_TEST_SUITE_P(IoModes, HardlinkNamesTest, ::testing::Bool(),
                         IoModeName);

// The same without a policy (everything allowed): the kernel then keeps
// entries for the --timeout, so a path walk does not look the name up again
// (and refresh what the kernel cached of its node) before each access.
class HardlinkNamesCachedEntriesTest : public HardlinkNamesTest {
 protected:
  std::vector<std::string> DaemonFlags() const override {
    return {absl::StrCat("--passthrough=", GetParam() ? "true" : "false")};
  }
  bool WithPolicy() const override { return false; }
};

TEST_P(HardlinkNamesCachedEntriesTest, DataWrittenThroughOneNameShowsThroughTheOther) {
  CheckDataCoherence();
}

TEST_P(HardlinkNamesCachedEntriesTest, LinkUnlinkAndRenameThroughTheMount) {
  CheckLinkUnlinkRename();
}

INSTANTIATE_TEST_SUITE_P(IoModes, HardlinkNamesCachedEntriesTest,
                         ::testing::Bool(), IoModeName);

}  // namespace
}  // namespace scopedfs::testing
