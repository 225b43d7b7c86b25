// The optional TCP admin endpoint: TLS only, client certificates required
// and verified against the configured CA.
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/credentials.h>
#include <stdlib.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "scopedfs/v1/admin.grpc.pb.h"
#include "tests/mount_test_base.h"

namespace scopedfs::testing {
namespace {

// A CA, a server certificate for 127.0.0.1 and two client certificates: one
// signed by the CA, one self-signed (not trusted). Made with openssl(1).
struct Pki {
  explicit Pki(const TempDir& dir) : dir_(dir) {
    const std::string d = dir.path();
    const std::string script = absl::StrCat(
        "set -e; cd ", d, "; exec >/dev/null 2>&1;"
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca "
        "  -keyout ca.key -out ca.pem;"
        "printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext;"
        "openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key -out server.csr;"
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
        "  -extfile san.ext -out server.pem;"
        "openssl req -newkey rsa:2048 -nodes -subj /CN=admin -keyout client.key -out client.csr;"
        "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
        "  -out client.pem;"
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=intruder "
        "  -keyout rogue.key -out rogue.pem");
    ok = system(script.c_str()) == 0;
  }
  std::string Path(const std::string& name) const { return dir_.Sub(name); }
  bool ok = false;
  const TempDir& dir_;
};

class AdminTlsTest : public MountTest {
 protected:
  static constexpr int kPort = 47211;
  std::vector<std::string> DaemonFlags() const override {
    return {absl::StrCat("--admin_tcp=127.0.0.1:", kPort),
            "--admin_tls_cert=" + pki_.Path("server.pem"),
            "--admin_tls_key=" + pki_.Path("server.key"),
            "--admin_tls_client_ca=" + pki_.Path("ca.pem")};
  }
  void SetUp() override {
    ASSERT_TRUE(pki_.ok) << "openssl could not make test certificates";
    MountTest::SetUp();
  }

  grpc::Status Health(const std::string& cert, const std::string& key) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadFile(pki_.Path("ca.pem"));
    if (!cert.empty()) {
      ssl.pem_cert_chain = ReadFile(pki_.Path(cert));
      ssl.pem_private_key = ReadFile(pki_.Path(key));
    }
    auto stub = v1::Admin::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", kPort), grpc::SslCredentials(ssl)));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::HealthResponse resp;
    return stub->Health(&ctx, v1::HealthRequest(), &resp);
  }

  TempDir pki_dir_;
  Pki pki_{pki_dir_};
};

TEST_F(AdminTlsTest, TrustedClientCertificateIsAdmin) {
  const grpc::Status st = Health("client.pem", "client.key");
  EXPECT_TRUE(st.ok()) << st.error_code() << ": " << st.error_message();
}

TEST_F(AdminTlsTest, NoOrUntrustedClientCertificateIsRefused) {
  EXPECT_FALSE(Health("", "").ok());
  EXPECT_FALSE(Health("rogue.pem", "rogue.key").ok());
}

TEST(AdminTlsFlags, TcpWithoutTlsIsRefusedAtStart) {
  SFS_SKIP_UNLESS_MOUNTING_WORKS();
  auto m = ScopedfsMount::Start({"--admin_tcp=127.0.0.1:47212"});
  ASSERT_FALSE(m.ok());
}

}  // namespace
}  // namespace scopedfs::testing
