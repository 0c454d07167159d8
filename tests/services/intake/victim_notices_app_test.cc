// Victim notices through IntakeApp and its real SQLite store, and through
// the dispatcher to a real HTTPS gateway in the process: queued once per
// referral and kind, planned against the victim's safe-contact rules
// (held, suppressed or sent), signed, retried, and shown to those who may
// see the whole referral.
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/events/envelope.h"
#include "common/http/http_client.h"
#include "common/http/webhook_signature.h"
#include "common/time/timestamps.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "services/intake/intake_app.h"
#include "services/intake/intake_store.h"
#include "services/intake/notice_dispatcher.h"
#include "tests/services/intake/intake_fixture.h"
#include "tests/support/https_receiver.h"
#include "tests/support/test_support.h"

namespace signpost::intake {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr char kSecret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

absl::TimeZone London() {
  absl::TimeZone zone;
  EXPECT_TRUE(absl::LoadTimeZone("Europe/London", &zone));
  return zone;
}

absl::Time Local(int y, int m, int d, int hh, int mm) {
  return absl::FromCivil(absl::CivilMinute(y, m, d, hh, mm), London());
}

// Monday 3 June 2024.
const absl::Time kMonday0800 = Local(2024, 6, 3, 8, 0);

class VictimNoticesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::Database::Open(dir_.File("intake.db"),
                                    IntakeStore::Migrations());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    IntakeOptions options = TestIntakeOptions();
    options.zone = London();
    options.notice_gateways = {v1::CONTACT_CHANNEL_SMS,
                               v1::CONTACT_CHANNEL_EMAIL};
    options.notice_max_attempts = 2;
    app_ = std::make_unique<IntakeApp>(*db_, testing::TestPersonKeys(),
                                       std::move(options));
  }
  // T01, reachable by SMS (and phone) on weekdays 09:00-12:00.
  ReferralId Submit(const std::function<void(v1::SafeContact&)>& edit = {}) {
    v1::SubmitReferralRequest req =
        testing::LoadExample("t01_strangulation_punjabi");
    v1::SafeContact& sc = *req.mutable_referral()->mutable_safe_contact();
    sc.add_safe_channels(v1::CONTACT_CHANNEL_SMS);
    if (edit) edit(sc);
    req.set_idempotency_key(absl::StrCat("notices-", ++submitted_));
    auto outcome = app_->SubmitReferral(testing::PrincipalOf("police-wmp"),
                                        req.idempotency_key(), req.referral(),
                                        kMonday0800, NewTraceparent());
    EXPECT_TRUE(outcome.ok()) << outcome.status();
    return outcome.ok() ? outcome->referral_id : ReferralId();
  }
  void Apply(v1::EventEnvelope e) {
    events::StampType(&e);
    ASSERT_TRUE(db_->Write([&](store::Tx& tx) {
                     return app_->ApplyRoutingEvent(tx, e);
                   })
                    .ok());
  }
  void Routed(const ReferralId& id) {
    v1::EventEnvelope e = events::NewEnvelope("triage", id.value());
    e.mutable_referral_triaged()->set_status(v1::REFERRAL_STATUS_ROUTED);
    *e.mutable_occurred_at() = timeutil::ToTimestamp(kMonday0800);
    Apply(e);
  }
  void OfferedAndAccepted(const ReferralId& id) {
    v1::EventEnvelope offered = events::NewEnvelope("advocacy", id.value());
    offered.mutable_advocate_offered()->set_assignment_id("a1");
    offered.mutable_advocate_offered()->set_provider_id("wm-idva-service");
    offered.mutable_advocate_offered()->set_advocate_id("idva-ann");
    *offered.mutable_occurred_at() = timeutil::ToTimestamp(kMonday0800);
    Apply(offered);
    v1::EventEnvelope accepted = events::NewEnvelope("advocacy", id.value());
    accepted.mutable_assignment_accepted()->set_assignment_id("a1");
    accepted.mutable_assignment_accepted()->set_advocate_id("idva-ann");
    *accepted.mutable_occurred_at() = timeutil::ToTimestamp(kMonday0800);
    Apply(accepted);
  }
  std::vector<v1::VictimNotice> NoticesAs(const std::string& agency,
                                          const ReferralId& id) {
    auto view = app_->GetReferral(testing::PrincipalOf(agency), id, "",
                                  kMonday0800, NewTraceparent());
    EXPECT_TRUE(view.ok()) << view.status();
    return view.ok() ? view->victim_notices : std::vector<v1::VictimNotice>();
  }
  std::vector<std::string> Statuses(const ReferralId& id) {
    std::vector<std::string> out;
    for (const auto& n : NoticesAs("police-wmp", id)) {
      out.push_back(absl::StrCat(n.kind(), ":", n.status(),
                                 n.reason().empty() ? "" : ":", n.reason()));
    }
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<IntakeApp> app_;
  int submitted_ = 0;
};

TEST_F(VictimNoticesTest, QueuedOnceThenHeldUntilTheSafeWindowThenSent) {
  const ReferralId id = Submit();
  Routed(id);
  Routed(id);  // a reassessment: still one notice
  // 08:00 Monday is before the window: held until 09:00.
  auto early = app_->NextNotices(kMonday0800);
  ASSERT_TRUE(early.ok()) << early.status();
  EXPECT_THAT(*early, IsEmpty());
  std::vector<v1::VictimNotice> held = NoticesAs("police-wmp", id);
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0].status(), "HELD");
  EXPECT_EQ(held[0].reason(), "HELD-UNTIL-SAFE-TIME");
  EXPECT_EQ(held[0].due_at().seconds(),
            absl::ToUnixSeconds(Local(2024, 6, 3, 9, 0)));
  EXPECT_EQ(app_->NextNoticeDue().value(), Local(2024, 6, 3, 9, 0));
  // At 09:00 it is sent by SMS to the victim's number.
  auto due = app_->NextNotices(Local(2024, 6, 3, 9, 0));
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  const OutgoingNotice& n = due->front();
  EXPECT_EQ(n.channel, v1::CONTACT_CHANNEL_SMS);
  EXPECT_EQ(n.to, "+44 7700 900123");
  EXPECT_EQ(n.kind, NoticeKind::kReferralReceived);
  EXPECT_EQ(n.text, NoticeText(NoticeKind::kReferralReceived));
  ASSERT_TRUE(app_->NoticeSent(n, Local(2024, 6, 3, 9, 0)).ok());
  EXPECT_THAT(Statuses(id), ElementsAre("REFERRAL_RECEIVED:SENT"));
  EXPECT_THAT(*app_->NextNotices(Local(2024, 6, 3, 10, 0)), IsEmpty());
}

TEST_F(VictimNoticesTest, NeverContactSuppressesEveryNotice) {
  const ReferralId id = Submit([](v1::SafeContact& sc) {
    sc.clear_safe_channels();
    sc.clear_safe_windows();
    sc.set_never_contact(true);
  });
  Routed(id);
  OfferedAndAccepted(id);
  auto due = app_->NextNotices(Local(2024, 6, 3, 10, 0));
  ASSERT_TRUE(due.ok());
  EXPECT_THAT(*due, IsEmpty());
  EXPECT_THAT(Statuses(id),
              ElementsAre("ADVOCATE_ASSIGNED:SUPPRESSED:NEVER-CONTACT",
                          "REFERRAL_RECEIVED:SUPPRESSED:NEVER-CONTACT",
                          "SERVICE_TO_CONTACT:SUPPRESSED:NEVER-CONTACT"));
}

TEST_F(VictimNoticesTest, PhoneOnlyIsNoChannelForANotice) {
  const ReferralId id = Submit([](v1::SafeContact& sc) {
    sc.clear_safe_channels();
    sc.add_safe_channels(v1::CONTACT_CHANNEL_PHONE);
  });
  Routed(id);
  ASSERT_TRUE(app_->NextNotices(Local(2024, 6, 3, 10, 0)).ok());
  EXPECT_THAT(Statuses(id),
              ElementsAre("REFERRAL_RECEIVED:SUPPRESSED:NO-SAFE-CHANNEL"));
}

TEST_F(VictimNoticesTest, AWithdrawnReferralIsNotAnnounced) {
  const ReferralId id = Submit();
  Routed(id);
  ASSERT_TRUE(app_->CancelReferral(testing::PrincipalOf("police-wmp"), id,
                                   v1::WITHDRAWAL_REASON_VICTIM_DECLINED,
                                   kMonday0800, NewTraceparent())
                  .ok());
  ASSERT_TRUE(app_->NextNotices(Local(2024, 6, 3, 10, 0)).ok());
  EXPECT_THAT(Statuses(id),
              ElementsAre("REFERRAL_RECEIVED:SUPPRESSED:REFERRAL-WITHDRAWN"));
}

TEST_F(VictimNoticesTest, ARefusedSendIsRetriedThenFailed) {
  const ReferralId id = Submit();
  Routed(id);
  const absl::Time t = Local(2024, 6, 3, 10, 0);
  auto due = app_->NextNotices(t);
  ASSERT_EQ(due->size(), 1u);
  ASSERT_TRUE(app_->NoticeFailed(due->front(), "HTTP-503", t).ok());
  EXPECT_THAT(Statuses(id), ElementsAre("REFERRAL_RECEIVED:PENDING:HTTP-503"));
  due = app_->NextNotices(t + absl::Hours(1));
  ASSERT_EQ(due->size(), 1u);
  ASSERT_TRUE(
      app_->NoticeFailed(due->front(), "HTTP-503", t + absl::Hours(1)).ok());
  EXPECT_THAT(Statuses(id), ElementsAre("REFERRAL_RECEIVED:FAILED:HTTP-503"));
}

TEST_F(VictimNoticesTest, OnlyThoseWhoSeeTheWholeReferralSeeTheNotices) {
  const ReferralId id = Submit();
  Routed(id);
  ASSERT_TRUE(app_->NextNotices(kMonday0800).ok());
  EXPECT_EQ(NoticesAs("police-wmp", id).size(), 1u);         // referrer
  EXPECT_EQ(NoticesAs("signpost-operator", id).size(), 1u);  // operator
  // A provider holding only an offer sees ids and codes, not the notices.
  v1::EventEnvelope offered = events::NewEnvelope("advocacy", id.value());
  offered.mutable_advocate_offered()->set_assignment_id("a1");
  offered.mutable_advocate_offered()->set_provider_id("wm-idva-service");
  Apply(offered);
  EXPECT_THAT(NoticesAs("wm-idva-service", id), IsEmpty());
}

// A service that works with the victim (a SARC) holds the referral and
// reads it once it acknowledges, and the victim is told it will be in
// touch; a perpetrator programme neither holds nor reads it, and nothing is
// said to the victim about it.
TEST_F(VictimNoticesTest,
       AVictimFacingServiceHoldsTheReferralAPerpetratorOneDoesNot) {
  const ReferralId id = Submit();
  Routed(id);
  auto service = [&](const std::string& assignment, v1::ServiceKind kind,
                     const std::string& provider) {
    v1::EventEnvelope offered = events::NewEnvelope("advocacy", id.value());
    offered.mutable_service_offered()->set_assignment_id(assignment);
    offered.mutable_service_offered()->set_service(kind);
    offered.mutable_service_offered()->set_provider_id(provider);
    Apply(offered);
    v1::EventEnvelope accepted = events::NewEnvelope("advocacy", id.value());
    accepted.mutable_assignment_accepted()->set_assignment_id(assignment);
    Apply(accepted);
  };
  service("s1", v1::SERVICE_KIND_PERPETRATOR_HIGH_HARM,
          "wm-perpetrator-programme");
  auto perp =
      app_->GetReferral(testing::PrincipalOf("wm-perpetrator-programme"), id,
                        "", kMonday0800, NewTraceparent());
  EXPECT_EQ(perp.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(Statuses(id), ElementsAre("REFERRAL_RECEIVED:PENDING"));
  service("s2", v1::SERVICE_KIND_SARC, "sarc-wmp");
  auto sarc = app_->GetReferral(testing::PrincipalOf("sarc-wmp"), id, "",
                                kMonday0800, NewTraceparent());
  ASSERT_TRUE(sarc.ok()) << sarc.status();
  EXPECT_EQ(sarc->field_class, v1::FIELD_CLASS_PERSONAL);
  // The SARC will be in touch; its acknowledgement names no advocate.
  EXPECT_THAT(Statuses(id), ElementsAre("REFERRAL_RECEIVED:PENDING",
                                        "SERVICE_TO_CONTACT:PENDING"));
}

// The dispatcher against a real HTTPS gateway: a signed POST per notice,
// with the victim's number only in the body.
TEST_F(VictimNoticesTest, TheDispatcherSignsAndSendsThroughTheGateway) {
  const std::string& pki = testing::TestPki();
  std::vector<testing::HttpsReceiver::Request> got;
  absl::Mutex mu;
  auto receiver = testing::HttpsReceiver::Start(
      absl::StrCat(pki, "/services/intake.crt"),
      absl::StrCat(pki, "/services/intake.key"),
      [&](const testing::HttpsReceiver::Request& r) {
        absl::MutexLock lock(&mu);
        got.push_back(r);
        return 202;
      });
  ASSERT_TRUE(receiver.ok()) << receiver.status();
  http::HttpClient::Options options;
  options.ca_file = absl::StrCat(pki, "/ca.crt");
  auto client = http::HttpClient::Create(options);
  ASSERT_TRUE(client.ok());
  auto key = http::ParseWebhookSecret(kSecret);
  ASSERT_TRUE(key.ok());
  NoticeDispatcher dispatcher(
      *app_, **client,
      NoticeGateway{{{v1::CONTACT_CHANNEL_SMS, (*receiver)->url("/sms")}},
                    *key},
      London());
  const ReferralId id = Submit();
  Routed(id);
  OfferedAndAccepted(id);
  // Before the window: nothing goes out.
  dispatcher.RunOnce(kMonday0800);
  {
    absl::MutexLock lock(&mu);
    EXPECT_THAT(got, IsEmpty());
  }
  dispatcher.RunOnce(Local(2024, 6, 3, 9, 30));
  absl::MutexLock lock(&mu);
  ASSERT_EQ(got.size(), 3u);
  std::set<std::string> ids;
  for (const auto& r : got) {
    EXPECT_EQ(r.path, "/sms");
    ASSERT_TRUE(http::VerifyWebhook(*key, r.headers.at("webhook-id"),
                                    r.headers.at("webhook-timestamp"),
                                    r.headers.at("webhook-signature"), r.body,
                                    absl::Now(), absl::Minutes(5))
                    .ok());
    google::protobuf::Struct body;
    ASSERT_TRUE(
        google::protobuf::util::JsonStringToMessage(r.body, &body).ok());
    EXPECT_EQ(body.fields().at("to").string_value(), "+44 7700 900123");
    EXPECT_EQ(body.fields().at("channel").string_value(), "SMS");
    ids.insert(body.fields().at("id").string_value());
  }
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_THAT(Statuses(id),
              ElementsAre("ADVOCATE_ASSIGNED:SENT", "REFERRAL_RECEIVED:SENT",
                          "SERVICE_TO_CONTACT:SENT"));
}

}  // namespace
}  // namespace signpost::intake
