#include "common/grpc/server_runner.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "signpost/v1/outbox.grpc.pb.h"

namespace signpost::grpcutil {
namespace {

TEST(ServerRunnerTest, ASecondServerOnAPortInUseFailsClearly) {
  ServerRunner::Options options;
  auto first = ServerRunner::Start(options, {});
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string taken = absl::StrCat("127.0.0.1:", (*first)->port());
  // With SO_REUSEPORT the second would start and silently take half the
  // calls, into another database.
  options.address = taken;
  auto second = ServerRunner::Start(options, {});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find(taken), std::string::npos);
  EXPECT_NE(second.status().message().find("using the port"),
            std::string::npos);
}

TEST(ServerRunnerTest, ShutdownIsIdempotentAndAddressIsDialable) {
  ServerRunner::Options options;
  auto runner = ServerRunner::Start(options, {});
  ASSERT_TRUE(runner.ok()) << runner.status();
  EXPECT_EQ((*runner)->address(),
            absl::StrCat("127.0.0.1:", (*runner)->port()));
  (*runner)->Shutdown(absl::Milliseconds(100));
  (*runner)->Shutdown(absl::Milliseconds(100));
}

// Health answers for each service by its name as well as overall (issue
// 15): SERVING once the owner says so, NOT_SERVING after, NOT_FOUND for a
// name the server does not serve.
TEST(ServerRunnerTest, HealthAnswersPerServiceName) {
  ServerRunner::Options options;
  v1::OutboxService::CallbackService outbox;
  auto runner = ServerRunner::Start(options, {&outbox});
  ASSERT_TRUE(runner.ok()) << runner.status();
  auto stub = grpc::health::v1::Health::NewStub(grpc::CreateChannel(
      (*runner)->address(), grpc::InsecureChannelCredentials()));
  auto check = [&](const std::string& name) {
    grpc::health::v1::HealthCheckRequest req;
    req.set_service(name);
    grpc::health::v1::HealthCheckResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(5));
    grpc::Status s = stub->Check(&ctx, req, &resp);
    return s.ok() ? grpc::health::v1::HealthCheckResponse::ServingStatus_Name(
                        resp.status())
                  : absl::StrCat("error ", s.error_code());
  };
  EXPECT_EQ(check("signpost.v1.OutboxService"), "NOT_SERVING");
  (*runner)->SetServing(true);
  EXPECT_EQ(check("signpost.v1.OutboxService"), "SERVING");
  EXPECT_EQ(check(""), "SERVING");
  EXPECT_EQ(check("signpost.v1.NoSuchService"),
            absl::StrCat("error ", grpc::StatusCode::NOT_FOUND));
  (*runner)->SetServing(false);
  EXPECT_EQ(check("signpost.v1.OutboxService"), "NOT_SERVING");
}

TEST(ServerRunnerTest, AnIdleConnectionIsClosed) {
  ServerRunner::Options options;
  options.max_connection_idle = absl::Milliseconds(300);
  auto runner = ServerRunner::Start(options, {});
  ASSERT_TRUE(runner.ok()) << runner.status();
  auto channel = grpc::CreateChannel((*runner)->address(),
                                     grpc::InsecureChannelCredentials());
  ASSERT_TRUE(channel->WaitForConnected(
      absl::ToChronoTime(absl::Now() + absl::Seconds(10))));
  // Positive evidence: the server's GOAWAY takes the channel out of READY.
  grpc_connectivity_state state = GRPC_CHANNEL_READY;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (state == GRPC_CHANNEL_READY && absl::Now() < deadline) {
    channel->WaitForStateChange(
        state, absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
    state = channel->GetState(false);
  }
  EXPECT_NE(state, GRPC_CHANNEL_READY);
}

}  // namespace
}  // namespace signpost::grpcutil
