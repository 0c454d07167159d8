// The executor and RunUnary against a real in-process gRPC server: results
// are mapped once by ToGrpcStatus, work nobody waits for is not started, and
// a call arriving after Stop() is failed rather than left unfinished.
#include "common/grpc/executor.h"

#include <atomic>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/errors/errors.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"

namespace signpost::grpcutil {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using ::testing::AnyOf;
using ::testing::ElementsAre;

// Check runs `fn_` on the executor through RunUnary, like every adapter.
class TestService : public Health::CallbackService {
 public:
  explicit TestService(Executor& executor) : executor_(executor) {}
  std::function<absl::Status()> fn = [] { return absl::OkStatus(); };
  std::atomic<int> ran{0};
  // The server-side context of the last call, while it is queued.
  std::atomic<grpc::CallbackServerContext*> last_context{nullptr};
  // What RunUnary's `done` was told, call by call.
  std::vector<absl::StatusCode> answered() {
    absl::MutexLock lock(&mu_);
    return answered_;
  }

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const HealthCheckRequest*,
                                  HealthCheckResponse* response) override {
    last_context = context;
    return RunUnary(
        context, executor_,
        [this, response] {
          ++ran;
          response->set_status(HealthCheckResponse::SERVING);
          return fn();
        },
        [this](const absl::Status& status) {
          absl::MutexLock lock(&mu_);
          answered_.push_back(status.code());
        });
  }

 private:
  Executor& executor_;
  absl::Mutex mu_;
  std::vector<absl::StatusCode> answered_ ABSL_GUARDED_BY(mu_);
};

class ExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::EnableDefaultHealthCheckService(false);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = Health::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                            grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
    executor_.Stop();
  }
  grpc::Status Call(absl::Duration timeout = absl::Seconds(20)) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    HealthCheckResponse response;
    return stub_->Check(&context, HealthCheckRequest(), &response);
  }

  Executor executor_{1};
  TestService service_{executor_};
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<Health::Stub> stub_;
};

TEST_F(ExecutorTest, PostAfterStopIsRefused) {
  Executor executor(1);
  std::atomic<int> ran{0};
  EXPECT_TRUE(executor.Post([&] { ++ran; }));
  executor.Stop();
  EXPECT_EQ(ran.load(), 1);  // queued work is drained by Stop
  EXPECT_FALSE(executor.Post([&] { ++ran; }));
  executor.Stop();  // idempotent
  EXPECT_EQ(ran.load(), 1);
}

TEST_F(ExecutorTest, ResultsAreMappedOnce) {
  EXPECT_TRUE(Call().ok());
  service_.fn = [] { return errors::RuleViolation("R-1", "state", "no"); };
  grpc::Status s = Call();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("R-1"), std::string::npos);
  service_.fn = [] { return absl::UnknownError("mystery"); };
  EXPECT_EQ(Call().error_code(), grpc::StatusCode::INTERNAL);
}

TEST_F(ExecutorTest, AHundredAndFiftyBadFieldsStillArriveAsInvalidArgument) {
  // Before the caps, an error this big overflowed the client's trailer
  // limit and the caller saw RESOURCE_EXHAUSTED instead of the field list.
  service_.fn = [] {
    errors::FieldErrors e;
    for (int i = 0; i < 150; ++i) {
      e.Add(absl::StrCat("referral.victim.safe_contact.channels[", i, "]"),
            "must be one of PHONE, SMS, EMAIL or LETTER, and not repeated");
    }
    return e.ToStatus();
  };
  grpc::Status s = Call();
  ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << s.error_message();
  google::rpc::BadRequest bad;
  ASSERT_TRUE(ExtractBadRequest(s, &bad));
  EXPECT_GT(bad.field_violations_size(), 10);
  EXPECT_NE(bad.field_violations(bad.field_violations_size() - 1)
                .description()
                .find("more invalid fields not listed"),
            std::string::npos);
}

TEST_F(ExecutorTest, CallAfterStopAnswersUnavailableWithoutRunning) {
  executor_.Stop();
  grpc::Status s = Call();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(s.error_message().find("shutting down"), std::string::npos);
  EXPECT_EQ(service_.ran.load(), 0);
  // Still reported, for the RPC metrics and the access log.
  EXPECT_EQ(service_.answered(),
            std::vector<absl::StatusCode>{absl::StatusCode::kUnavailable});
}

TEST_F(ExecutorTest, WorkWhoseDeadlinePassedWhileQueuedIsNotStarted) {
  // Block the single worker, queue a call with a short deadline behind it.
  absl::Notification blocked, release;
  ASSERT_TRUE(executor_.Post([&] {
    blocked.Notify();
    release.WaitForNotification();
  }));
  blocked.WaitForNotification();
  grpc::Status s = Call(absl::Milliseconds(200));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  // The server's copy of the deadline is relative to when it received the
  // call: wait until it has passed there too.
  grpc::CallbackServerContext* queued = service_.last_context.load();
  ASSERT_NE(queued, nullptr);
  while (std::chrono::system_clock::now() <= queued->deadline()) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  release.Notify();
  // The queued call is finished without running its work, and reported.
  ASSERT_TRUE(Call().ok());
  EXPECT_EQ(service_.ran.load(), 1);
  // The server sees a call past its deadline as cancelled.
  EXPECT_THAT(service_.answered(),
              ElementsAre(AnyOf(absl::StatusCode::kDeadlineExceeded,
                                absl::StatusCode::kCancelled),
                          absl::StatusCode::kOk));
}

TEST_F(ExecutorTest, CancelledWorkIsNotStarted) {
  absl::Notification blocked, release;
  ASSERT_TRUE(executor_.Post([&] {
    blocked.Notify();
    release.WaitForNotification();
  }));
  blocked.WaitForNotification();
  grpc::ClientContext context;
  HealthCheckResponse response;
  absl::Notification done;
  grpc::Status status;
  HealthCheckRequest request;
  stub_->async()->Check(&context, &request, &response, [&](grpc::Status s) {
    status = s;
    done.Notify();
  });
  // Wait until the call is queued on the server, then cancel it and wait
  // until the server has seen the cancellation.
  while (service_.last_context.load() == nullptr) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  context.TryCancel();
  done.WaitForNotification();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
  while (!service_.last_context.load()->IsCancelled()) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  release.Notify();
  ASSERT_TRUE(Call().ok());
  EXPECT_EQ(service_.ran.load(), 1);
}

}  // namespace
}  // namespace signpost::grpcutil
