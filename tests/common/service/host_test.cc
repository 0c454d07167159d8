// ServiceHost in-process: the real store, embedded Kafka and gRPC server,
// with an injected wait in place of SIGTERM. Shutdown runs in the documented
// order and holds its deadline even with the cluster gone.
#include "common/service/host.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/crypto/keyring.h"
#include "common/events/envelope.h"
#include "common/ids/ids.h"
#include "common/status/macros.h"
#include "common/store/data_key_store.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "tests/support/test_support.h"

namespace signpost::service {
namespace {

using grpc::health::v1::Health;

class HostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = testing::StartEmbeddedKafka(1);
    spec_ = {"hosttest",
             "127.0.0.1:0",
             events::kIntakeTopic,
             {},
             {store::kDataKeysMigration}};
    DefineCommonFlags(config_, spec_);
    testing::MakeSigningKeys(dir_.path());
  }

  std::unique_ptr<ServiceHost> Open(const std::string& bootstrap,
                                    int shutdown_timeout) {
    std::string db = "--db_path=" + dir_.File("host.db");
    std::string kafka = "--kafka_bootstrap=" + bootstrap;
    std::string timeout =
        "--shutdown_timeout=" + std::to_string(shutdown_timeout);
    // It publishes on intake's topic, so it signs with intake's key.
    std::string key = "--event_signing_key=" + dir_.File("intake.key");
    std::string registry = "--access_registry=" + Registry();
    std::string kek = "--kek_file=" + KekFile();
    const char* argv[] = {"hosttest",        db.c_str(),
                          kafka.c_str(),     timeout.c_str(),
                          key.c_str(),       "--grpc_address=127.0.0.1:0",
                          "--dev_plaintext", registry.c_str(),
                          kek.c_str(),       "--metrics_address=127.0.0.1:0"};
    absl::Status parsed = config_.Parse(
        10, argv, [](const char*) -> const char* { return nullptr; });
    EXPECT_TRUE(parsed.ok()) << parsed;
    auto host = ServiceHost::Create(config_, spec_);
    EXPECT_TRUE(host.ok()) << host.status();
    return host.ok() ? std::move(*host) : nullptr;
  }

  // A key file with one fresh key, written once per test.
  std::string KekFile() {
    const std::string path = dir_.File("kek.keys");
    if (::access(path.c_str(), R_OK) != 0) {
      std::ofstream out(path);
      out << "test-kek "
          << absl::Base64Escape(*crypto::RandomBytes(crypto::kKeyBytes))
          << "\n";
    }
    return path;
  }

  static std::string Registry() {
    return testing::SourcePath("deploy/access/agencies.textproto");
  }

  absl::Status AppendEvents(ServiceHost& host, int n) {
    return host.db().Write([&](store::Tx& tx) -> absl::Status {
      for (int i = 0; i < n; ++i) {
        v1::EventEnvelope e = events::NewEnvelope("hosttest", NewUuid());
        e.mutable_referral_received();
        events::StampType(&e);
        RETURN_IF_ERROR(store::AppendToOutbox(tx, e, events::kIntakeTopic,
                                              NewTraceparent()));
      }
      return absl::OkStatus();
    });
  }

  testing::TempDir dir_;
  std::unique_ptr<kafka::MockCluster> cluster_;
  ServiceSpec spec_;
  config::Config config_{"hosttest"};
};

TEST_F(HostTest, ShutdownStopsRpcsThenWorkersThenDrainsOutboxThenFlushes) {
  auto host = Open(cluster_->bootstrap_servers(), 15);
  ASSERT_NE(host, nullptr);
  std::atomic<int> task_runs{0};
  worker::PeriodicTask& task =
      host->AddPeriodicTask("probe", absl::Hours(1), [&](absl::Time) {
        ++task_runs;
        return absl::InfiniteFuture();
      });
  absl::Notification stop;
  std::string address;
  int code = -1;
  std::thread runner([&] {
    code = host->Run({}, nullptr, [&] {
      address = host->grpc_address();
      stop.WaitForNotification();
    });
  });
  // Serving: health answers, and committed events reach the topic.
  while (address.empty()) absl::SleepFor(absl::Milliseconds(10));
  auto stub = Health::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    grpc::health::v1::HealthCheckResponse response;
    EXPECT_TRUE(
        stub->Check(&context, grpc::health::v1::HealthCheckRequest(), &response)
            .ok());
  }
  ASSERT_TRUE(AppendEvents(*host, 3).ok());
  task.Notify();

  stop.Notify();
  runner.join();
  EXPECT_EQ(code, 0);
  EXPECT_EQ(
      host->shutdown_steps(),
      (std::vector<std::string>{"grpc", "workers", "outbox", "producer"}));
  // The host started its worker, and stopped it (no run after Run returned).
  const int runs = task_runs.load();
  EXPECT_GE(runs, 1);
  task.Notify();
  EXPECT_EQ(task.runs(), runs);
  // The outbox was drained: nothing committed is left unsent.
  EXPECT_EQ(*store::CountUnsent(host->db()), 0);
  auto records = testing::ReadTopic(cluster_->bootstrap_servers(),
                                    events::kIntakeTopic, 3, absl::Seconds(30));
  EXPECT_EQ(records.size(), 3u);
  // Each is signed with the key from --event_signing_key.
  absl::StatusOr<events::EventVerifier> verifier =
      events::LoadVerifier(dir_.path());
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  for (const auto& r : records) {
    EXPECT_TRUE(verifier->Verify(r).ok()) << verifier->Verify(r);
  }
  // No longer accepting calls.
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  grpc::health::v1::HealthCheckResponse response;
  EXPECT_FALSE(
      stub->Check(&context, grpc::health::v1::HealthCheckRequest(), &response)
          .ok());
}

TEST_F(HostTest, ShutdownHoldsItsDeadlineWithTheClusterGone) {
  // 3 s for everything. If a step overran, the host's watchdog would end
  // this test process with exit code 3, failing the test.
  auto host = Open(cluster_->bootstrap_servers(), 3);
  ASSERT_NE(host, nullptr);
  absl::Notification stop;
  std::atomic<bool> serving{false};
  int code = -1;
  std::thread runner([&] {
    code = host->Run({}, nullptr, [&] {
      serving = true;
      stop.WaitForNotification();
    });
  });
  while (!serving) absl::SleepFor(absl::Milliseconds(10));
  cluster_.reset();  // the broker is gone
  ASSERT_TRUE(AppendEvents(*host, 5).ok());
  host->relay().Notify();
  const absl::Time start = absl::Now();
  stop.Notify();
  runner.join();
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(code, 0);
  EXPECT_EQ(host->shutdown_steps().size(), 4u);
  // Unsent events stay in the outbox for the next start: nothing is lost
  // (with the chain's checkpoint of the head, queued as the relay stopped).
  EXPECT_EQ(*store::CountUnsent(host->db()), 6);
  std::printf("shutdown with the cluster gone took %lld ms (deadline 3000)\n",
              static_cast<long long>(absl::ToInt64Milliseconds(took)));
  host.reset();  // destroying the Kafka handles stays under the watchdog
}

// The event keys are start-up configuration: a consuming service without
// event_keys_dir does not parse, and a missing or bad key file stops Create
// naming the flag and the file.
TEST_F(HostTest, MissingOrBadEventKeysAreRefusedNamingTheFlag) {
  auto getenv = [](const char*) -> const char* { return nullptr; };
  {
    const ServiceSpec consumer{"hostconsumer",
                               "127.0.0.1:0",
                               events::kTriageTopic,
                               {events::kIntakeTopic},
                               {}};
    config::Config config("hostconsumer");
    DefineCommonFlags(config, consumer);
    std::string key = "--event_signing_key=" + dir_.File("triage.key");
    const char* argv[] = {"hostconsumer", "--kafka_bootstrap=127.0.0.1:1",
                          key.c_str()};
    absl::Status parsed = config.Parse(3, argv, getenv);
    EXPECT_EQ(parsed.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(parsed.message().find("event_keys_dir is required"),
              std::string::npos)
        << parsed;
  }
  struct Case {
    std::vector<std::string> flags;
    std::string expected;
  };
  const std::string missing = dir_.File("nothing-here.key");
  const std::string keys_dir = dir_.File("keys");
  ASSERT_EQ(mkdir(keys_dir.c_str(), 0700), 0);  // empty: no .pub files
  const std::string bad_registry = dir_.File("agencies.textproto");
  {
    std::ofstream out(bad_registry);
    out << "agencies { agency_id: \"Bad Id\" kind: AGENCY_KIND_PCC }\n";
  }
  const std::string key = "--event_signing_key=" + dir_.File("intake.key");
  const Case cases[] = {
      {{"--event_signing_key=" + missing}, "event_signing_key: " + missing},
      {{key, "--dev_plaintext",
        "--access_registry=" + dir_.File("none.textproto")},
       "access_registry: "},
      // Every problem of a bad registry, with its line, stops the start.
      {{key, "--dev_plaintext", "--access_registry=" + bad_registry},
       "access_registry: " + bad_registry + ": line 1"},
      // A public key is not a private key.
      {{"--event_signing_key=" + dir_.File("intake.pub")},
       "event_signing_key: " + dir_.File("intake.pub")},
      {{key, "--dev_plaintext", "--kek_file=" + missing}, "kek_file: "},
      {{"--event_signing_key=" + dir_.File("intake.key"),
        "--event_keys_dir=" + keys_dir},
       "event_keys_dir: event signing public keys: " + keys_dir +
           "/intake.pub"},
  };
  for (const Case& c : cases) {
    config::Config config("hosttest");
    DefineCommonFlags(config, spec_);
    std::vector<std::string> args = {
        "hosttest", "--kafka_bootstrap=127.0.0.1:1",
        "--db_path=" + dir_.File("refused.db"),
        "--access_registry=" + Registry(), "--kek_file=" + KekFile()};
    args.insert(args.end(), c.flags.begin(), c.flags.end());
    std::vector<const char*> argv;
    for (const std::string& a : args) argv.push_back(a.c_str());
    ASSERT_TRUE(
        config.Parse(static_cast<int>(argv.size()), argv.data(), getenv).ok());
    auto host = ServiceHost::Create(config, spec_);
    ASSERT_FALSE(host.ok()) << c.expected;
    EXPECT_NE(host.status().message().find(c.expected), std::string::npos)
        << host.status();
    // Refused before the store was opened.
    EXPECT_EQ(::access(dir_.File("refused.db").c_str(), F_OK), -1);
  }
}

}  // namespace
}  // namespace signpost::service
