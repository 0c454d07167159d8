// Partner webhooks end to end within one process: the notification
// application on a real SQLite file, the dispatcher posting over real HTTPS
// (libcurl) to a real local receiver (OpenSSL) that checks the Standard
// Webhooks signature of every request.
#include <atomic>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/events/envelope.h"
#include "common/http/http_client.h"
#include "common/http/webhook_signature.h"
#include "common/status/macros.h"
#include "common/store/outbox.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "services/notification/notification_app.h"
#include "services/notification/notification_store.h"
#include "services/notification/subscriptions.h"
#include "services/notification/webhook_dispatcher.h"
#include "tests/support/https_receiver.h"
#include "tests/support/test_support.h"

namespace signpost::notification {
namespace {

using ::testing::ElementsAre;

const std::string kKey(32, 'w');

class PartnerWebhookTest : public ::testing::Test {
 protected:
  // Starts the receiver and the application with a webhook for police-wmp
  // retried for `max_retry_seconds`.
  void Start(int max_retry_seconds) {
    const std::string& pki = testing::TestPki();
    auto receiver = testing::HttpsReceiver::Start(
        absl::StrCat(pki, "/services/notification.crt"),
        absl::StrCat(pki, "/services/notification.key"),
        [this](const testing::HttpsReceiver::Request& r) { return Answer(r); });
    ASSERT_TRUE(receiver.ok()) << receiver.status();
    receiver_ = std::move(*receiver);

    auto db = store::Database::Open(dir_.File("n.db"),
                                    NotificationStore::Migrations());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    const std::string secret = dir_.File("police.secret");
    std::ofstream(secret) << http::FormatWebhookSecret(kKey);
    auto policy = ParsePolicy(
        absl::StrCat(R"(subscriptions {
  agency_id: "police-wmp"
  transports: TRANSPORT_WEBHOOK
  webhook { url: ")",
                     receiver_->url("/signpost"), R"(" secret_file: ")", secret,
                     R"(" max_retry_seconds: )", max_retry_seconds, " }\n}\n"),
        "test", *testing::TestRegistry());
    ASSERT_TRUE(policy.ok()) << policy.status();
    app_ = std::make_unique<NotificationApp>(*db_, std::move(*policy));
    http::HttpClient::Options options;
    options.ca_file = absl::StrCat(pki, "/ca.crt");
    auto client = http::HttpClient::Create(options);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
    WebhookDispatcher::Options dispatch;
    dispatch.backoff_base = absl::Milliseconds(20);
    dispatch.backoff_cap = absl::Milliseconds(100);
    dispatch.breaker.failure_threshold = 3;
    dispatch.breaker.open_for = absl::Milliseconds(400);
    dispatcher_ =
        std::make_unique<WebhookDispatcher>(*app_, *client_, dispatch);
  }

  // The receiver: checks the signature, then answers 500 while failures_
  // lasts, 200 after.
  int Answer(const testing::HttpsReceiver::Request& r) {
    auto header = [&](const char* name) {
      auto it = r.headers.find(name);
      return it == r.headers.end() ? std::string() : it->second;
    };
    absl::Status valid = http::VerifyWebhook(
        kKey, header(http::kWebhookIdHeader),
        header(http::kWebhookTimestampHeader),
        header(http::kWebhookSignatureHeader), r.body, absl::Now());
    if (!valid.ok()) {
      ++bad_signatures_;
      return 401;
    }
    if (failures_.fetch_sub(1) > 0) return 500;
    absl::MutexLock lock(&mu_);
    accepted_.push_back(header(http::kWebhookIdHeader));
    return 200;
  }

  // A referral received from police-wmp and triaged: two partner events.
  void Submit(const std::string& referral) {
    v1::EventEnvelope received = events::NewEnvelope("intake", referral);
    auto* facts = received.mutable_referral_received()->mutable_facts();
    facts->set_area_code("WMP");
    facts->set_referrer_org("police-wmp");
    v1::EventEnvelope triaged =
        events::NewEnvelope("triage", referral, &received);
    triaged.mutable_referral_triaged()->set_area_code("WMP");
    triaged.mutable_referral_triaged()->set_status(v1::REFERRAL_STATUS_ROUTED);
    for (v1::EventEnvelope* e : {&received, &triaged}) {
      events::StampType(e);
      ASSERT_TRUE(db_->Write([&](store::Tx& tx) {
                       return app_->Deliver(tx, *e, NewTraceparent());
                     })
                      .ok());
    }
  }

  // Runs the dispatcher until `done` holds (true) or `timeout` passes.
  bool RunUntil(const std::function<bool()>& done,
                absl::Duration timeout = absl::Seconds(20)) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      dispatcher_->RunOnce(absl::Now());
      if (done()) return true;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return done();
  }

  std::vector<v1::Delivery> Deliveries(v1::DeliveryStatus status) {
    DeliveryFilter filter;
    filter.status = status;
    auto list = app_->ListDeliveries(testing::PrincipalOf("signpost-operator"),
                                     filter, {});
    EXPECT_TRUE(list.ok()) << list.status();
    return list.ok() ? list->deliveries : std::vector<v1::Delivery>();
  }
  std::vector<std::string> Accepted() {
    absl::MutexLock lock(&mu_);
    return accepted_;
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::HttpsReceiver> receiver_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<NotificationApp> app_;
  http::HttpClientPtr client_;
  std::unique_ptr<WebhookDispatcher> dispatcher_;
  std::atomic<int> failures_{0};
  std::atomic<int> bad_signatures_{0};
  absl::Mutex mu_;
  std::vector<std::string> accepted_ ABSL_GUARDED_BY(mu_);
};

TEST_F(PartnerWebhookTest, RetriedUntilAcceptedAndCountedOnceById) {
  Start(/*max_retry_seconds=*/60);
  failures_ = 2;
  Submit("r1");
  ASSERT_TRUE(RunUntil(
      [&] { return Deliveries(v1::DELIVERY_STATUS_DELIVERED).size() == 2; }));
  // 500, 500, then 200 for the first event; 200 for the second.
  EXPECT_EQ(receiver_->requests().size(), 4u);
  EXPECT_EQ(bad_signatures_.load(), 0);
  std::vector<v1::PartnerEvent> feed =
      *app_->ReadFeed(AgencyId("police-wmp"), 0, 10);
  ASSERT_EQ(feed.size(), 2u);
  // Each event accepted once, in order, under its partner event id (the
  // retries carried the same id).
  EXPECT_THAT(Accepted(), ElementsAre(feed[0].id(), feed[1].id()));
  std::set<std::string> ids;
  for (const auto& r : receiver_->requests()) {
    ids.insert(r.headers.at(http::kWebhookIdHeader));
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.headers.at("content-type"), "application/json");
    // The JSON mapping of the partner event.
    v1::PartnerEvent parsed;
    ASSERT_TRUE(
        google::protobuf::util::JsonStringToMessage(r.body, &parsed).ok())
        << r.body;
    EXPECT_EQ(parsed.id(), r.headers.at(http::kWebhookIdHeader));
    EXPECT_EQ(parsed.agency_id(), "police-wmp");
  }
  EXPECT_EQ(ids.size(), 2u);
  std::vector<v1::Delivery> delivered =
      Deliveries(v1::DELIVERY_STATUS_DELIVERED);
  std::map<std::string, int> attempts;
  for (const v1::Delivery& d : delivered) {
    attempts[d.event_type()] = d.attempts();
    EXPECT_TRUE(d.has_accepted_at());
    EXPECT_EQ(d.transport(), v1::TRANSPORT_WEBHOOK);
  }
  EXPECT_EQ(attempts["signpost.v1.ReferralReceived"], 2);  // two failures
  EXPECT_EQ(attempts["signpost.v1.ReferralTriaged"], 0);
  EXPECT_EQ(dispatcher_->BreakerOf("police-wmp")->times_opened(), 0);
}

TEST_F(PartnerWebhookTest,
       AnEndpointThatIsDownMakesDeliveriesWaitBehindABreaker) {
  Start(/*max_retry_seconds=*/120);
  receiver_->Stop();
  Submit("r2");
  const http::CircuitBreaker* breaker = dispatcher_->BreakerOf("police-wmp");
  ASSERT_NE(breaker, nullptr);
  // Three refused connections open the breaker; while it is open nothing is
  // tried, and the deliveries wait (neither lost nor dead-lettered).
  ASSERT_TRUE(RunUntil([&] { return breaker->times_opened() >= 1; }));
  EXPECT_EQ(breaker->state(absl::Now()), http::CircuitBreaker::State::kOpen);
  EXPECT_EQ(Deliveries(v1::DELIVERY_STATUS_PENDING).size(), 2u);
  EXPECT_TRUE(Deliveries(v1::DELIVERY_STATUS_DEAD_LETTERED).empty());
  for (const v1::Delivery& d : Deliveries(v1::DELIVERY_STATUS_PENDING)) {
    if (d.attempts() > 0) {
      EXPECT_THAT(d.last_error(), ::testing::HasSubstr("127.0.0.1"));
    }
  }
  // The endpoint comes back: the half-open trial succeeds, the breaker
  // closes and both arrive, in order.
  ASSERT_TRUE(receiver_->Restart().ok());
  ASSERT_TRUE(RunUntil(
      [&] { return Deliveries(v1::DELIVERY_STATUS_DELIVERED).size() == 2; }));
  EXPECT_EQ(breaker->state(absl::Now()), http::CircuitBreaker::State::kClosed);
  std::vector<v1::PartnerEvent> feed =
      *app_->ReadFeed(AgencyId("police-wmp"), 0, 10);
  EXPECT_THAT(Accepted(), ElementsAre(feed[0].id(), feed[1].id()));
}

TEST_F(PartnerWebhookTest,
       ReplayAfterTheDeadLetterListResendsExactlyTheMissed) {
  Start(/*max_retry_seconds=*/1);
  receiver_->Stop();
  Submit("r3");
  ASSERT_TRUE(RunUntil([&] {
    return Deliveries(v1::DELIVERY_STATUS_DEAD_LETTERED).size() == 2;
  }));
  std::set<std::string> missed;
  for (const v1::Delivery& d : Deliveries(v1::DELIVERY_STATUS_DEAD_LETTERED)) {
    missed.insert(d.partner_event_id());
  }
  // Back up: new events go straight through, the dead letters stay.
  ASSERT_TRUE(receiver_->Restart().ok());
  Submit("r4");
  ASSERT_TRUE(RunUntil(
      [&] { return Deliveries(v1::DELIVERY_STATUS_DELIVERED).size() == 2; }));
  EXPECT_EQ(Deliveries(v1::DELIVERY_STATUS_DEAD_LETTERED).size(), 2u);
  const std::vector<std::string> before = Accepted();
  // Replay sends exactly the two missed, and nothing delivered again.
  ReplayFilter replay;
  replay.agency = AgencyId("police-wmp");
  replay.transport = v1::TRANSPORT_WEBHOOK;
  EXPECT_EQ(*app_->Replay(testing::PrincipalOf("police-wmp"), replay), 2);
  ASSERT_TRUE(RunUntil(
      [&] { return Deliveries(v1::DELIVERY_STATUS_DELIVERED).size() == 4; }));
  std::vector<std::string> after = Accepted();
  ASSERT_EQ(after.size(), before.size() + 2);
  EXPECT_EQ(std::set<std::string>(after.begin() + before.size(), after.end()),
            missed);
  EXPECT_EQ(bad_signatures_.load(), 0);
}

}  // namespace
}  // namespace signpost::notification
