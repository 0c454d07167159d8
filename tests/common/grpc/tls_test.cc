// Mutual TLS with certificates from scripts/dev-pki: a client without a
// certificate, or with one from another CA, is refused at the handshake; an
// agency's certificate identifies it by its SAN URI; plaintext is allowed
// only on loopback.
#include "common/grpc/tls.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc/server_runner.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "tests/support/test_support.h"

namespace signpost::grpcutil {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

TEST(SpiffeIdTest, OnlySignpostIdentitiesParse) {
  auto agency = ParseSpiffeId("spiffe://signpost/agency/police-wmp");
  ASSERT_TRUE(agency.ok());
  EXPECT_EQ(agency->kind, Caller::Kind::kAgency);
  EXPECT_EQ(agency->agency(), AgencyId("police-wmp"));
  auto service = ParseSpiffeId("spiffe://signpost/service/triage");
  ASSERT_TRUE(service.ok());
  EXPECT_EQ(service->kind, Caller::Kind::kService);
  EXPECT_EQ(service->id, "triage");
  for (const char* bad :
       {"spiffe://other/agency/police-wmp", "spiffe://signpost/agency/",
        "spiffe://signpost/agency/POLICE", "spiffe://signpost/agency/a/b",
        "https://signpost/agency/police-wmp", "spiffe://signpost/user/x", ""}) {
    EXPECT_FALSE(ParseSpiffeId(bad).ok()) << bad;
  }
}

TEST(LoopbackTest, OnlyLoopbackAddressesAreLoopback) {
  for (const char* yes :
       {"127.0.0.1:50051", "127.1.2.3:0", "localhost:1", "[::1]:50051"}) {
    EXPECT_TRUE(IsLoopbackAddress(yes)) << yes;
  }
  for (const char* no : {"0.0.0.0:50051", "10.0.0.1:1", "[::]:50051",
                         "signpost.example:443", "128.0.0.1:1"}) {
    EXPECT_FALSE(IsLoopbackAddress(no)) << no;
  }
}

// Check answers OK and puts the caller's identity in the status message of
// a NOT_FOUND answer when asked for service "who".
class WhoService : public Health::CallbackService {
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const HealthCheckRequest*,
                                  HealthCheckResponse*) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    absl::StatusOr<Caller> caller = CallerOf(*context);
    reactor->Finish(caller.ok()
                        ? grpc::Status(grpc::StatusCode::NOT_FOUND,
                                       absl::StrCat("caller=", caller->id))
                        : grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                       std::string(caller.status().message())));
    return reactor;
  }
};

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_ = new testing::TempDir();
    other_ = new testing::TempDir();
    for (const std::string& dir : {pki_->path(), other_->path()}) {
      std::string cmd = absl::StrCat(testing::SourcePath("scripts/dev-pki"),
                                     " ", dir, "/pki >/dev/null");
      ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    }
  }
  static void TearDownTestSuite() {
    delete pki_;
    delete other_;
  }
  static TlsFiles Files(testing::TempDir* dir, const std::string& who) {
    std::string base = absl::StrCat(dir->path(), "/pki/", who);
    return {base + ".crt", base + ".key", dir->path() + "/pki/ca.crt"};
  }

  void StartWho() {
    grpc::EnableDefaultHealthCheckService(false);
    auto credentials =
        MutualTlsServerCredentials(Files(pki_, "services/intake"));
    ASSERT_TRUE(credentials.ok()) << credentials.status();
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", *credentials, &port);
    builder.RegisterService(&who_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    address_ = absl::StrCat("127.0.0.1:", port);
  }
  void TearDown() override {
    if (server_) {
      server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
    }
  }
  grpc::Status Ask(std::shared_ptr<grpc::ChannelCredentials> credentials) {
    auto stub =
        Health::NewStub(grpc::CreateChannel(address_, std::move(credentials)));
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    HealthCheckResponse response;
    return stub->Check(&context, HealthCheckRequest(), &response);
  }

  static testing::TempDir* pki_;
  static testing::TempDir* other_;  // another CA, same names
  WhoService who_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};
testing::TempDir* TlsTest::pki_ = nullptr;
testing::TempDir* TlsTest::other_ = nullptr;

TEST_F(TlsTest, AnAgencyIsIdentifiedByItsCertificate) {
  StartWho();
  auto credentials =
      MutualTlsChannelCredentials(Files(pki_, "agencies/police-wmp"));
  ASSERT_TRUE(credentials.ok()) << credentials.status();
  grpc::Status s = Ask(*credentials);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  EXPECT_EQ(s.error_message(), "caller=police-wmp");
  auto service = MutualTlsChannelCredentials(Files(pki_, "services/triage"));
  ASSERT_TRUE(service.ok());
  EXPECT_EQ(Ask(*service).error_message(), "caller=triage");
}

TEST_F(TlsTest, ACallWithoutACertificateIsRefused) {
  StartWho();
  // TLS that verifies the server but presents no client certificate.
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(
      std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
          pki_->path() + "/pki/ca.crt", 60));
  options.watch_root_certs();
  grpc::Status s = Ask(grpc::experimental::TlsCredentials(options));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  // Plaintext against a TLS port.
  EXPECT_EQ(Ask(grpc::InsecureChannelCredentials()).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsTest, ACertificateFromAnotherCaIsRefused) {
  StartWho();
  // The other CA's police-wmp certificate, trusting our CA for the server.
  TlsFiles forged = Files(other_, "agencies/police-wmp");
  forged.ca_file = pki_->path() + "/pki/ca.crt";
  auto credentials = MutualTlsChannelCredentials(forged);
  ASSERT_TRUE(credentials.ok());
  EXPECT_EQ(Ask(*credentials).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsTest, MissingFilesAreNamed) {
  TlsFiles files = Files(pki_, "agencies/police-wmp");
  files.key_file = pki_->path() + "/pki/agencies/nobody.key";
  auto credentials = MutualTlsServerCredentials(files);
  ASSERT_FALSE(credentials.ok());
  EXPECT_NE(credentials.status().message().find("nobody.key"),
            std::string::npos);
}

TEST_F(TlsTest, ServerRunnerServesMutualTlsAndRefusesPlaintextOffLoopback) {
  ServerRunner::Options options;
  options.address = "0.0.0.0:0";
  auto refused = ServerRunner::Start(options, {});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("only on a loopback address"),
            std::string::npos);

  options.tls = Files(pki_, "services/intake");
  auto runner = ServerRunner::Start(options, {});
  ASSERT_TRUE(runner.ok()) << runner.status();
  (*runner)->SetServing(true);
  address_ = (*runner)->address();
  auto credentials =
      MutualTlsChannelCredentials(Files(pki_, "agencies/signpost-operator"));
  ASSERT_TRUE(credentials.ok());
  EXPECT_TRUE(Ask(*credentials).ok());
  EXPECT_EQ(Ask(grpc::InsecureChannelCredentials()).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace signpost::grpcutil
