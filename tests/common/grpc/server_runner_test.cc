#include "common/grpc/server_runner.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace signpost::grpcutil {
namespace {

TEST(ServerRunnerTest, ASecondServerOnAPortInUseFailsClearly) {
  auto first = ServerRunner::Start({"127.0.0.1:0", 1024 * 1024}, {});
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string taken = absl::StrCat("127.0.0.1:", (*first)->port());
  // With SO_REUSEPORT the second would start and silently take half the
  // calls, into another database.
  auto second = ServerRunner::Start({taken, 1024 * 1024}, {});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find(taken), std::string::npos);
  EXPECT_NE(second.status().message().find("using the port"),
            std::string::npos);
}

TEST(ServerRunnerTest, ShutdownIsIdempotentAndAddressIsDialable) {
  auto runner = ServerRunner::Start({"0.0.0.0:0", 1024 * 1024}, {});
  ASSERT_TRUE(runner.ok()) << runner.status();
  EXPECT_EQ((*runner)->address(),
            absl::StrCat("127.0.0.1:", (*runner)->port()));
  (*runner)->Shutdown(absl::Milliseconds(100));
  (*runner)->Shutdown(absl::Milliseconds(100));
}

}  // namespace
}  // namespace signpost::grpcutil
