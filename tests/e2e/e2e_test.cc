// End to end: the real binaries as processes (devbroker + five services on
// free ports), T1, T4 and T8 submitted through intake's gRPC API, and each
// outcome checked through the services' own gRPC APIs and the event log.
#include <curl/curl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "common/access/authz.h"
#include "common/config/textproto.h"
#include "common/crypto/keyring.h"
#include "common/events/envelope.h"
#include "common/events/signing.h"
#include "common/grpc/status.h"
#include "common/grpc/tls.h"
#include "common/http/webhook_signature.h"
#include "common/ids/ids.h"
#include "common/kafka/kafka.h"
#include "common/status/macros.h"
#include "common/store/database.h"
#include "common/store/outbox.h"
#include "common/time/timestamps.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "gtest/gtest.h"
#include "signpost/v1/advocacy.grpc.pb.h"
#include "signpost/v1/audit.grpc.pb.h"
#include "signpost/v1/intake.grpc.pb.h"
#include "signpost/v1/marac.grpc.pb.h"
#include "signpost/v1/notification.grpc.pb.h"
#include "signpost/v1/orders.grpc.pb.h"
#include "signpost/v1/outbox.grpc.pb.h"
#include "signpost/v1/reporting.grpc.pb.h"
#include "signpost/v1/triage.grpc.pb.h"
#include "tests/support/https_receiver.h"
#include "tests/support/partner_field_sets.h"
#include "tests/support/test_support.h"

namespace signpost {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

std::string Registry() {
  return testing::SourcePath("deploy/access/agencies.textproto");
}

// The key and policy flags a service needs beyond the common ones: every
// service's --kek_file (the test PKI's), and intake's matching key and
// retention policy.
std::vector<std::string> DataFlags(const std::string& svc) {
  std::vector<std::string> flags = {"--kek_file",
                                    testing::TestPki() + "/keys/kek.keys"};
  if (svc == "intake") {
    flags.insert(flags.end(),
                 {"--matching_key_file",
                  testing::TestPki() + "/keys/matching.key", "--retention_file",
                  testing::SourcePath("deploy/policy/retention.textproto")});
  }
  return flags;
}

std::string Bin(const std::string& name) {
  return absl::StrCat(SIGNPOST_BIN_DIR, "/", name);
}

// The credentials StackTest's clients use: mutual TLS with the operator's
// certificate from the suite's development PKI.
std::shared_ptr<grpc::ChannelCredentials>& StackCredentials() {
  static auto* credentials = new std::shared_ptr<grpc::ChannelCredentials>(
      grpc::InsecureChannelCredentials());
  return *credentials;
}

// A channel of its own (no shared subchannel), so that each presents its
// own certificate.
std::shared_ptr<grpc::Channel> Dial(
    const std::string& addr,
    std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr) {
  grpc::ChannelArguments args;
  args.SetInt("grpc.use_local_subchannel_pool", 1);
  return grpc::CreateCustomChannel(
      addr, credentials ? credentials : StackCredentials(), args);
}

template <typename Stub>
std::unique_ptr<typename Stub::Stub> Connect(
    const std::string& addr,
    std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr) {
  return Stub::NewStub(Dial(addr, std::move(credentials)));
}

// Mutual-TLS credentials presenting agency `agency`'s certificate from the
// suite's development PKI (made once per agency).
std::shared_ptr<grpc::ChannelCredentials> AgencyCredentials(
    const std::string& pki_dir, const std::string& agency);

// The mutual-TLS flags of service `svc` with the PKI in `pki_dir`.
std::vector<std::string> TlsFlags(const std::string& pki_dir,
                                  const std::string& svc) {
  return {"--tls_cert_file", absl::StrCat(pki_dir, "/services/", svc, ".crt"),
          "--tls_key_file",  absl::StrCat(pki_dir, "/services/", svc, ".key"),
          "--tls_ca_file",   absl::StrCat(pki_dir, "/ca.crt")};
}

grpcutil::TlsFiles AgencyFiles(const std::string& pki_dir,
                               const std::string& agency) {
  return {absl::StrCat(pki_dir, "/agencies/", agency, ".crt"),
          absl::StrCat(pki_dir, "/agencies/", agency, ".key"),
          absl::StrCat(pki_dir, "/ca.crt")};
}

std::shared_ptr<grpc::ChannelCredentials> AgencyCredentials(
    const std::string& pki_dir, const std::string& agency) {
  static auto* cache =
      new std::map<std::string, std::shared_ptr<grpc::ChannelCredentials>>();
  auto& slot = (*cache)[absl::StrCat(pki_dir, "|", agency)];
  if (slot == nullptr) {
    auto credentials =
        grpcutil::MutualTlsChannelCredentials(AgencyFiles(pki_dir, agency));
    EXPECT_TRUE(credentials.ok()) << agency << ": " << credentials.status();
    if (credentials.ok()) slot = *credentials;
  }
  return slot;
}

void Deadline(grpc::ClientContext* ctx) {
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
}

// The event-key flags of service `svc`, with its keys in `signing_dir`
// (<svc>.key and every producer's .pub, as scripts/dev-pki lays them out
// under signing/).
std::vector<std::string> KeyFlags(const std::string& signing_dir,
                                  const std::string& svc) {
  return {"--event_signing_key", absl::StrCat(signing_dir, "/", svc, ".key"),
          "--event_keys_dir", signing_dir};
}

class StackTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    // The development PKI, as `make demo` makes it.
    const int pki =
        std::system(absl::StrCat("'", testing::SourcePath("scripts/dev-pki"),
                                 "' '", dir_->File("pki"), "' >'",
                                 dir_->File("dev-pki.log"), "' 2>&1")
                        .c_str());
    ASSERT_EQ(pki, 0) << testing::ReadFile(dir_->File("dev-pki.log"));
    auto operator_credentials = grpcutil::MutualTlsChannelCredentials(
        AgencyFiles(dir_->File("pki"), "signpost-operator"));
    ASSERT_TRUE(operator_credentials.ok()) << operator_credentials.status();
    StackCredentials() = *operator_credentials;
    broker_ = new testing::Process(
        Bin("signpost-devbroker"),
        {"--topics_file", testing::SourcePath("deploy/kafka/topics.txt"),
         "--bootstrap_file", dir_->File("bootstrap")},
        dir_->File("devbroker.log"));
    absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (testing::ReadFile(dir_->File("bootstrap")).empty() &&
           absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(50));
    }
    bootstrap_ = new std::string(testing::ReadFile(dir_->File("bootstrap")));
    while (!bootstrap_->empty() && bootstrap_->back() == '\n')
      bootstrap_->pop_back();
    ASSERT_FALSE(bootstrap_->empty()) << "devbroker did not start";
    services_ = new std::map<std::string, std::unique_ptr<testing::Process>>();
    addrs_ = new std::map<std::string, std::string>();
    args_ = new std::map<std::string, std::vector<std::string>>();
    for (const std::string svc :
         {"intake", "triage", "advocacy", "orders", "notification"}) {
      std::vector<std::string> args = {
          "--grpc_address",        "127.0.0.1:0",       "--db_path",
          dir_->File(svc + ".db"), "--kafka_bootstrap", *bootstrap_};
      for (std::string& flag : KeyFlags(SigningDir(), svc)) {
        args.push_back(std::move(flag));
      }
      for (std::string& flag : TlsFlags(dir_->File("pki"), svc)) {
        args.push_back(std::move(flag));
      }
      args.insert(args.end(), {"--access_registry", Registry(), "--kek_file",
                               dir_->File("pki/keys/kek.keys")});
      if (svc == "intake") {
        args.insert(args.end(),
                    {"--matching_key_file", dir_->File("pki/keys/matching.key"),
                     "--retention_file",
                     testing::SourcePath("deploy/policy/retention.textproto")});
      }
      if (svc == "orders") {
        args.insert(
            args.end(),
            {"--calendar_file",
             testing::SourcePath("deploy/calendar/england-and-wales.txt")});
      }
      if (svc == "triage") {
        args.insert(
            args.end(),
            {"--policy_file",
             testing::SourcePath("deploy/policy/default.textproto"),
             "--calendar_file",
             testing::SourcePath("deploy/calendar/england-and-wales.txt")});
      }
      if (svc == "advocacy") {
        args.insert(
            args.end(),
            {"--directory_file",
             testing::SourcePath("examples/directory.textproto"),
             "--calendar_file",
             testing::SourcePath("deploy/calendar/england-and-wales.txt")});
      }
      if (svc == "notification") {
        args.insert(args.end(),
                    {"--subscriptions_file",
                     testing::SourcePath("examples/subscriptions.textproto")});
      }
      (*args_)[svc] = args;
      (*services_)[svc] = std::make_unique<testing::Process>(
          Bin("signpost-" + svc), args, dir_->File(svc + ".log"));
    }
    for (const auto& [svc, proc] : *services_) {
      std::string addr = testing::WaitForLogValue(
          dir_->File(svc + ".log"), "\"msg\":\"listening\",\"grpc_address\":\"",
          absl::Seconds(30));
      ASSERT_FALSE(addr.empty())
          << svc
          << " did not start: " << testing::ReadFile(dir_->File(svc + ".log"));
      (*addrs_)[svc] = addr;
    }
  }

  static void TearDownTestSuite() {
    if (services_ != nullptr) {
      for (auto& [svc, proc] : *services_) {
        EXPECT_EQ(proc->Terminate(), 0)
            << svc << " did not exit cleanly on SIGTERM";
      }
    }
    if (broker_ != nullptr) broker_->Terminate();
    delete services_;
    delete addrs_;
    delete args_;
    delete broker_;
    delete bootstrap_;
    delete dir_;
  }

  void WaitServing(const std::string& svc) {
    auto stub = Connect<grpc::health::v1::Health>((*addrs_)[svc]);
    absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline) {
      grpc::ClientContext ctx;
      Deadline(&ctx);
      grpc::health::v1::HealthCheckResponse resp;
      if (stub->Check(&ctx, {}, &resp).ok() &&
          resp.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
        return;
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
    FAIL() << svc << " never SERVING";
  }

  // Credentials of agency `agency` in the suite's PKI.
  static std::shared_ptr<grpc::ChannelCredentials> As(
      const std::string& agency) {
    return AgencyCredentials(dir_->File("pki"), agency);
  }

  // Submits as the agency the referral names as its referrer.
  std::string Submit(const v1::SubmitReferralRequest& req) {
    auto intake = Connect<v1::IntakeService>((*addrs_)["intake"],
                                             As(req.referral().referrer_org()));
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::SubmitReferralResponse resp;
    grpc::Status s = intake->SubmitReferral(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.referral_id();
  }

  struct Outcome {
    v1::ReferralTriaged decision;
    v1::GetReferralAssignmentsResponse assignments;
    v1::ListDeliveriesResponse deliveries;
    v1::ListConsiderationsResponse considerations;
  };

  Outcome WaitRouted(const std::string& id) {
    Outcome o;
    auto triage = Connect<v1::TriageService>((*addrs_)["triage"]);
    auto advocacy = Connect<v1::AdvocacyService>((*addrs_)["advocacy"]);
    auto orders = Connect<v1::OrderService>((*addrs_)["orders"]);
    auto notification =
        Connect<v1::NotificationService>((*addrs_)["notification"]);
    absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(100));
      grpc::ClientContext c1, c2, c3, c4;
      Deadline(&c1);
      Deadline(&c2);
      Deadline(&c3);
      Deadline(&c4);
      v1::GetDecisionRequest dr;
      dr.set_referral_id(id);
      v1::GetDecisionResponse d;
      if (!triage->GetDecision(&c1, dr, &d).ok()) continue;
      o.decision = d.decision();
      v1::GetReferralAssignmentsRequest ar;
      ar.set_referral_id(id);
      if (!advocacy->GetReferralAssignments(&c2, ar, &o.assignments).ok() ||
          !o.assignments.processed()) {
        continue;
      }
      v1::ListConsiderationsRequest cr;
      cr.set_referral_id(id);
      if (!orders->ListConsiderations(&c3, cr, &o.considerations).ok() ||
          o.considerations.considerations_size() <
              o.decision.considerations_size()) {
        continue;
      }
      v1::ListDeliveriesRequest nr;
      nr.set_referral_id(id);
      if (!notification->ListDeliveries(&c4, nr, &o.deliveries).ok()) continue;
      if (o.deliveries.events_processed() <
          2 + o.assignments.assignments_size() +
              o.considerations.considerations_size()) {
        continue;
      }
      return o;
    }
    ADD_FAILURE() << "referral " << id << " not routed in time";
    return o;
  }

  // Polls `done` every 100 ms for up to 60 s; false when it never held.
  static bool Eventually(const std::function<bool()>& done) {
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (absl::Now() < deadline) {
      if (done()) return true;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return false;
  }
  // The referral's latest decision as the operator sees it (nullopt while
  // there is none).
  std::optional<v1::ReferralTriaged> Decision(const std::string& id) {
    auto triage = Connect<v1::TriageService>((*addrs_)["triage"]);
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::GetDecisionRequest req;
    req.set_referral_id(id);
    v1::GetDecisionResponse resp;
    if (!triage->GetDecision(&ctx, req, &resp).ok()) return std::nullopt;
    return resp.decision();
  }
  std::vector<v1::Assignment> Assignments(const std::string& id) {
    auto advocacy = Connect<v1::AdvocacyService>((*addrs_)["advocacy"]);
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::GetReferralAssignmentsRequest req;
    req.set_referral_id(id);
    v1::GetReferralAssignmentsResponse resp;
    if (!advocacy->GetReferralAssignments(&ctx, req, &resp).ok()) return {};
    return {resp.assignments().begin(), resp.assignments().end()};
  }
  // The advocates' assignments (not the service referrals), or the service
  // referrals, of a referral's assignments.
  static std::vector<v1::Assignment> Advocates(
      const google::protobuf::RepeatedPtrField<v1::Assignment>& all) {
    std::vector<v1::Assignment> out;
    for (const v1::Assignment& a : all) {
      if (a.service() == v1::SERVICE_KIND_UNSPECIFIED) out.push_back(a);
    }
    return out;
  }
  static std::vector<v1::Assignment> Advocates(
      const std::vector<v1::Assignment>& all) {
    std::vector<v1::Assignment> out;
    for (const v1::Assignment& a : all) {
      if (a.service() == v1::SERVICE_KIND_UNSPECIFIED) out.push_back(a);
    }
    return out;
  }
  // Service -> provider, of a referral's service referrals.
  static std::map<v1::ServiceKind, std::string> Services(
      const v1::GetReferralAssignmentsResponse& r) {
    std::map<v1::ServiceKind, std::string> out;
    for (const v1::Assignment& a : r.assignments()) {
      if (a.service() != v1::SERVICE_KIND_UNSPECIFIED) {
        out[a.service()] = a.provider_id();
      }
    }
    return out;
  }
  // Calls an IntakeService method as `agency`.
  template <typename Req, typename Resp>
  grpc::Status CallIntake(const std::string& agency,
                          grpc::Status (v1::IntakeService::Stub::*method)(
                              grpc::ClientContext*, const Req&, Resp*),
                          const Req& request, Resp* response) {
    auto intake = Connect<v1::IntakeService>((*addrs_)["intake"], As(agency));
    grpc::ClientContext ctx;
    Deadline(&ctx);
    return (intake.get()->*method)(&ctx, request, response);
  }

  static std::string SigningDir() { return dir_->File("pki/signing"); }
  // Referral ids of the records a test forged onto a topic (unsigned or
  // wrongly signed on purpose), whichever test runs first.
  static std::set<std::string>& ForgedReferrals() {
    static auto* ids = new std::set<std::string>();
    return *ids;
  }

  static testing::TempDir* dir_;
  static testing::Process* broker_;
  static std::string* bootstrap_;
  static std::map<std::string, std::unique_ptr<testing::Process>>* services_;
  static std::map<std::string, std::string>* addrs_;
  // Each service's command line, for a test that restarts one.
  static std::map<std::string, std::vector<std::string>>* args_;
};

testing::TempDir* StackTest::dir_ = nullptr;
testing::Process* StackTest::broker_ = nullptr;
std::string* StackTest::bootstrap_ = nullptr;
std::map<std::string, std::unique_ptr<testing::Process>>* StackTest::services_ =
    nullptr;
std::map<std::string, std::string>* StackTest::addrs_ = nullptr;
std::map<std::string, std::vector<std::string>>* StackTest::args_ = nullptr;

TEST_F(StackTest, T1T4T8AreRoutedThroughAllFiveServices) {
  for (const char* svc :
       {"intake", "triage", "advocacy", "orders", "notification"}) {
    WaitServing(svc);
  }
  std::string t1 = Submit(testing::LoadExample("t01_strangulation_punjabi"));
  std::string t4 = Submit(testing::LoadExample("t04_recent_rape_ae"));
  std::string t8 = Submit(testing::LoadExample("t08_burglary_self_referral"));

  Outcome o1 = WaitRouted(t1);
  EXPECT_EQ(o1.decision.risk(), v1::RISK_LEVEL_HIGH);
  EXPECT_TRUE(o1.decision.marac());
  EXPECT_THAT(o1.decision.pathways(),
              UnorderedElementsAre(v1::PATHWAY_IDVA,
                                   v1::PATHWAY_PERPETRATOR_PROGRAMME));
  ASSERT_EQ(Advocates(o1.assignments.assignments()).size(), 1u);
  EXPECT_EQ(Advocates(o1.assignments.assignments())[0].advocate_id(),
            "idva-bal");  // Punjabi speaker
  // Issue 12: the perpetrator programme and MARAC reach their providers.
  EXPECT_THAT(Services(o1.assignments),
              UnorderedElementsAre(Pair(v1::SERVICE_KIND_PERPETRATOR_HIGH_HARM,
                                        "wm-perpetrator-programme"),
                                   Pair(v1::SERVICE_KIND_MARAC, "marac-wmp")));
  EXPECT_EQ(o1.considerations.considerations_size(), 2);  // DVDS, DAPN
  std::set<std::string> agencies;
  for (const auto& d : o1.deliveries.deliveries())
    agencies.insert(d.agency_id());
  EXPECT_TRUE(agencies.count("marac-coordinator-wmp"));
  EXPECT_TRUE(agencies.count("police-vawg-wmp"));

  Outcome o4 = WaitRouted(t4);
  EXPECT_EQ(o4.decision.priority(), v1::PRIORITY_URGENT);
  EXPECT_THAT(o4.decision.pathways(),
              UnorderedElementsAre(v1::PATHWAY_ISVA, v1::PATHWAY_SARC));
  ASSERT_EQ(Advocates(o4.assignments.assignments()).size(), 1u);
  EXPECT_EQ(Advocates(o4.assignments.assignments())[0].advocate_id(),
            "isva-dee");
  EXPECT_THAT(Services(o4.assignments),
              UnorderedElementsAre(Pair(v1::SERVICE_KIND_SARC, "sarc-wmp")));

  Outcome o8 = WaitRouted(t8);
  EXPECT_THAT(o8.decision.pathways(),
              UnorderedElementsAre(v1::PATHWAY_GENERAL_SUPPORT));
  EXPECT_FALSE(o8.decision.marac());
  ASSERT_EQ(o8.assignments.assignments_size(), 1);
  EXPECT_EQ(o8.assignments.assignments(0).advocate_id(), "support-ivy");
  EXPECT_TRUE(Services(o8.assignments).empty());
  EXPECT_EQ(o8.considerations.considerations_size(), 0);
}

TEST_F(StackTest,
       InvalidReferralListsEveryBadFieldAndDuplicateKeyReturnsFirst) {
  WaitServing("intake");
  auto intake =
      Connect<v1::IntakeService>((*addrs_)["intake"], As("police-wmp"));
  v1::SubmitReferralRequest bad = testing::LoadExample("t02_standard_da");
  bad.set_idempotency_key("e2e-bad");
  bad.mutable_referral()->mutable_victim()->set_age(-4);
  bad.mutable_referral()
      ->mutable_assessment()
      ->mutable_dash_answers()
      ->RemoveLast();
  bad.mutable_referral()->set_source(static_cast<v1::ReferralSource>(77));
  grpc::ClientContext ctx;
  Deadline(&ctx);
  v1::SubmitReferralResponse resp;
  grpc::Status s = intake->SubmitReferral(&ctx, bad, &resp);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  google::rpc::BadRequest details;
  ASSERT_TRUE(grpcutil::ExtractBadRequest(s, &details));
  std::vector<std::string> fields;
  for (const auto& v : details.field_violations()) fields.push_back(v.field());
  EXPECT_THAT(fields,
              UnorderedElementsAre("referral.source", "referral.victim.age",
                                   "referral.assessment.dash_answers"));

  v1::SubmitReferralRequest good = testing::LoadExample("t02_standard_da");
  good.set_idempotency_key("e2e-dup");
  std::string first = Submit(good);
  std::string second = Submit(good);
  EXPECT_EQ(first, second);
}

TEST_F(StackTest, EveryRecordOnEveryTopicCarriesCloudEventsHeaders) {
  WaitServing("notification");
  std::string id = Submit(testing::LoadExample("t03_escalation"));
  WaitRouted(id);
  absl::StatusOr<events::EventVerifier> verifier =
      events::LoadVerifier(SigningDir());
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  size_t total = 0;
  for (const char* topic :
       {events::kIntakeTopic, events::kTriageTopic, events::kAdvocacyTopic,
        events::kOrdersTopic, events::kNotificationTopic}) {
    auto records = testing::ReadTopic(*bootstrap_, topic, 1, absl::Seconds(20));
    EXPECT_FALSE(records.empty()) << topic;
    for (const auto& r : records) {
      for (const char* h : {"ce_id", "ce_type", "ce_source", "ce_specversion",
                            "ce_time", "content-type", "traceparent"}) {
        EXPECT_TRUE(r.Header(h).has_value()) << topic << " lacks " << h;
      }
      // Signed by the topic's producer (unless forged by a test).
      if (!ForgedReferrals().count(r.key)) {
        EXPECT_TRUE(verifier->Verify(r).ok())
            << topic << ": " << verifier->Verify(r);
      }
      EXPECT_TRUE(events::DecodeEnvelope(r).ok()) << topic;
      // No personal data from the fixtures appears on the log.
      EXPECT_EQ(r.payload.find("Example Person"), std::string::npos) << topic;
      EXPECT_EQ(r.payload.find("7700 900123"), std::string::npos) << topic;
    }
    total += records.size();
  }
  EXPECT_GT(total, 5u);
}

// A ReferralReceived written straight to the intake topic, unsigned or
// signed with another service's key, is dead-lettered by every consumer of
// the intake topic (triage, advocacy, orders and notification) naming the
// signature problem, and has no effect: no decision, no delivery.
TEST_F(StackTest, ForgedReferralUnsignedOrWronglySignedIsDeadLetteredUnused) {
  WaitServing("triage");
  WaitServing("notification");
  // A genuine referral, as a control and as the facts to forge from.
  v1::SubmitReferralRequest t1 =
      testing::LoadExample("t01_strangulation_punjabi");
  t1.set_idempotency_key("e2e-forgery-source");
  const std::string genuine = Submit(t1);
  Outcome o = WaitRouted(genuine);
  ASSERT_EQ(o.decision.risk(), v1::RISK_LEVEL_HIGH);
  std::optional<v1::ReferralReceived> facts;
  for (const auto& r :
       testing::ReadTopicToEnd(*bootstrap_, events::kIntakeTopic)) {
    auto env = events::DecodeEnvelope(r);
    if (env.ok() && env->referral_id() == genuine &&
        env->has_referral_received()) {
      facts = env->referral_received();
    }
  }
  ASSERT_TRUE(facts.has_value());

  // The forgeries: well formed, and high risk if anyone believed them.
  auto forge = [&](const std::string& referral_id) {
    v1::EventEnvelope e = events::NewEnvelope("intake", referral_id);
    *e.mutable_referral_received() = *facts;
    events::StampType(&e);
    return kafka::OutgoingMessage{
        events::kIntakeTopic, referral_id, e.SerializeAsString(),
        events::CloudEventHeaders(e, NewTraceparent())};
  };
  const std::string unsigned_id = NewUuid();
  const std::string wrong_key_id = NewUuid();
  ForgedReferrals().insert({unsigned_id, wrong_key_id});
  kafka::OutgoingMessage wrong_key = forge(wrong_key_id);
  absl::StatusOr<events::EventSigner> triage_key =
      events::EventSigner::FromPemFile(SigningDir() + "/triage.key", "triage");
  ASSERT_TRUE(triage_key.ok()) << triage_key.status();
  for (auto& h : triage_key->Sign(wrong_key)) wrong_key.headers.push_back(h);
  kafka::ClientOptions client;
  client.bootstrap_servers = *bootstrap_;
  auto producer = kafka::Producer::Create(client);
  ASSERT_TRUE(producer.ok()) << producer.status();
  for (const auto& d : (*producer)->ProduceAndWait(
           {forge(unsigned_id), wrong_key}, absl::Seconds(20))) {
    ASSERT_TRUE(d.status.ok()) << d.status;
  }

  // Positive evidence: each forgery reaches the dead-letter topic from every
  // consumer of the intake topic.
  const std::vector<std::string> consumers = {"triage", "advocacy", "orders",
                                              "notification"};
  const size_t wanted = 2 * consumers.size();
  const std::map<std::string, std::string> expected = {
      {unsigned_id, "signature: EVENT-SIG-UNSIGNED"},
      {wrong_key_id, "signature: EVENT-SIG-WRONG-PRODUCER"}};
  std::map<std::pair<std::string, std::string>, std::string> reasons;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (reasons.size() < wanted && absl::Now() < deadline) {
    reasons.clear();
    for (const auto& r :
         testing::ReadTopicToEnd(*bootstrap_, events::kDeadLetterTopic)) {
      if (!expected.count(r.key)) continue;
      reasons[{r.key, r.Header("dlq_consumer").value_or("")}] =
          r.Header("dlq_reason").value_or("");
    }
    if (reasons.size() < wanted) absl::SleepFor(absl::Milliseconds(200));
  }
  for (const auto& [id, prefix] : expected) {
    for (const std::string& consumer : consumers) {
      auto it = reasons.find({id, consumer});
      ASSERT_NE(it, reasons.end())
          << consumer << " did not dead-letter " << prefix;
      EXPECT_EQ(it->second.rfind(prefix, 0), 0u) << it->second;
    }
  }

  // No effect: no decision, and nothing delivered or even held.
  auto triage = Connect<v1::TriageService>((*addrs_)["triage"]);
  auto notification =
      Connect<v1::NotificationService>((*addrs_)["notification"]);
  for (const auto& [id, prefix] : expected) {
    grpc::ClientContext c1, c2;
    Deadline(&c1);
    Deadline(&c2);
    v1::GetDecisionRequest dr;
    dr.set_referral_id(id);
    v1::GetDecisionResponse decision;
    EXPECT_EQ(triage->GetDecision(&c1, dr, &decision).error_code(),
              grpc::StatusCode::NOT_FOUND)
        << prefix;
    v1::ListDeliveriesRequest nr;
    nr.set_referral_id(id);
    v1::ListDeliveriesResponse deliveries;
    // Nothing was delivered: notification has never seen the referral.
    EXPECT_EQ(notification->ListDeliveries(&c2, nr, &deliveries).error_code(),
              grpc::StatusCode::NOT_FOUND)
        << prefix;
  }
}

TEST_F(StackTest, ReassessmentThatRaisesRiskReRoutesAndOverridesOnlyRaise) {
  WaitServing("triage");
  WaitServing("advocacy");
  v1::SubmitReferralRequest t2 = testing::LoadExample("t02_standard_da");
  t2.set_idempotency_key("e2e-reassess");
  std::string id = Submit(t2);
  Outcome before = WaitRouted(id);
  ASSERT_EQ(before.decision.risk(), v1::RISK_LEVEL_STANDARD);

  // The referring force reassesses and overrides its own referral.
  auto triage =
      Connect<v1::TriageService>((*addrs_)["triage"], As("police-wmp"));
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::OverrideRiskRequest lower;
    lower.set_referral_id(id);
    lower.set_practitioner_id("sgt-42");
    lower.set_risk(v1::RISK_LEVEL_STANDARD);
    lower.set_reason("no change");
    v1::OverrideRiskResponse v;
    ASSERT_TRUE(
        triage->OverrideRisk(&ctx, lower, &v).ok());  // equal is allowed
  }
  v1::ReassessRequest req;
  req.set_referral_id(id);
  req.set_practitioner_id("idva-ann");
  *req.mutable_assessment() = t2.referral().assessment();
  for (int i = 0; i < 16; ++i)
    req.mutable_assessment()->set_dash_answers(i, i != 7);
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::ReassessResponse v;
    grpc::Status s = triage->Reassess(&ctx, req, &v);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(v.decision().version(), 3);
    EXPECT_EQ(v.decision().decision().risk(), v1::RISK_LEVEL_HIGH);
  }
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::OverrideRiskRequest lower;
    lower.set_referral_id(id);
    lower.set_practitioner_id("sgt-42");
    lower.set_risk(v1::RISK_LEVEL_MEDIUM);
    lower.set_reason("calmer now");
    v1::OverrideRiskResponse v;
    grpc::Status s = triage->OverrideRisk(&ctx, lower, &v);
    ASSERT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    google::rpc::PreconditionFailure failure;
    ASSERT_TRUE(grpcutil::ExtractPreconditionFailure(s, &failure));
    EXPECT_EQ(failure.violations(0).type(), "PJ-RAISE");
  }
  // The raised risk re-routes: advocacy adds an IDVA to the DA outreach.
  auto advocacy = Connect<v1::AdvocacyService>((*addrs_)["advocacy"]);
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  std::set<int> pathways;
  while (absl::Now() < deadline) {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::GetReferralAssignmentsRequest ar;
    ar.set_referral_id(id);
    v1::GetReferralAssignmentsResponse resp;
    ASSERT_TRUE(advocacy->GetReferralAssignments(&ctx, ar, &resp).ok());
    pathways.clear();
    for (const auto& a : resp.assignments()) pathways.insert(a.pathway());
    if (pathways.count(v1::PATHWAY_IDVA)) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(pathways.count(v1::PATHWAY_IDVA));
  EXPECT_TRUE(pathways.count(v1::PATHWAY_DA_OUTREACH));

  grpc::ClientContext ctx;
  Deadline(&ctx);
  v1::ListMaracAgendaRequest ar;
  ar.set_area_code("WMP");
  v1::ListMaracAgendaResponse agenda;
  auto marac = Connect<v1::TriageService>((*addrs_)["triage"],
                                          As("marac-coordinator-wmp"));
  ASSERT_TRUE(marac->ListMaracAgenda(&ctx, ar, &agenda).ok());
  bool listed = false;
  for (const auto& item : agenda.items()) listed |= item.referral_id() == id;
  EXPECT_TRUE(listed);
}

TEST_F(StackTest, AdvocateWorksACaseThroughItsLifecycleOverGrpc) {
  WaitServing("advocacy");
  v1::SubmitReferralRequest t10 = testing::LoadExample("t10_bereaved_rj");
  t10.set_idempotency_key("e2e-lifecycle");
  // Both parties' consent: the RJ facilitator is offered.
  t10.mutable_referral()->mutable_consent()->set_rj_offender_consent(
      v1::CONSENT_STATUS_GIVEN);
  std::string id = Submit(t10);
  Outcome o = WaitRouted(id);
  ASSERT_EQ(o.assignments.assignments_size(), 1);
  v1::Assignment a = o.assignments.assignments(0);
  ASSERT_EQ(a.state(), v1::ASSIGNMENT_STATE_OFFERED);
  // The advocate's own provider acts on the case, with its certificate.
  v1::Directory directory;
  ASSERT_TRUE(
      config::LoadTextProto(testing::SourcePath("examples/directory.textproto"),
                            &directory)
          .ok());
  std::string provider_id;
  for (const v1::Advocate& adv : directory.advocates()) {
    if (adv.advocate_id() == a.advocate_id()) provider_id = adv.provider_id();
  }
  const v1::Agency* provider_agency =
      testing::TestRegistry()->FindByProvider(ProviderId(provider_id));
  ASSERT_NE(provider_agency, nullptr) << a.advocate_id();
  auto advocacy = Connect<v1::AdvocacyService>(
      (*addrs_)["advocacy"], As(provider_agency->agency_id()));
  auto call = [&](auto method, const auto& request, auto* response) {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    return (advocacy.get()->*method)(&ctx, request, response);
  };
  v1::AcceptAssignmentResponse accepted;
  v1::RecordContactResponse contacted;
  v1::CloseCaseResponse closed;
  v1::AcceptAssignmentRequest wrong;
  wrong.set_assignment_id(a.assignment_id());
  wrong.set_advocate_id("support-ivy");
  // Another provider's advocate: refused before any rule of the case.
  grpc::Status s =
      call(&v1::AdvocacyService::Stub::AcceptAssignment, wrong, &accepted);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(testing::RuleIds(s), ElementsAre("AUTHZ-OWN-PROVIDER"));

  v1::GetWorklistRequest wl;
  wl.set_advocate_id(a.advocate_id());
  v1::GetWorklistResponse worklist;
  ASSERT_TRUE(
      call(&v1::AdvocacyService::Stub::GetWorklist, wl, &worklist).ok());
  bool listed = false;
  for (const auto& w : worklist.assignments())
    listed |= w.assignment_id() == a.assignment_id();
  EXPECT_TRUE(listed);

  v1::AcceptAssignmentRequest accept;
  accept.set_assignment_id(a.assignment_id());
  accept.set_advocate_id(a.advocate_id());
  ASSERT_TRUE(
      call(&v1::AdvocacyService::Stub::AcceptAssignment, accept, &accepted)
          .ok());
  // Accepted: the victim's safe-contact rules are on the worklist now.
  ASSERT_TRUE(
      call(&v1::AdvocacyService::Stub::GetWorklist, wl, &worklist).ok());
  ASSERT_EQ(worklist.assignments_size(), 1);
  const v1::ContactRules& rules = worklist.assignments(0).contact_rules();
  EXPECT_TRUE(rules.recorded());
  EXPECT_THAT(rules.safe_channels(), ElementsAre(v1::CONTACT_CHANNEL_PHONE));
  ASSERT_EQ(rules.safe_windows_size(), 1);
  EXPECT_EQ(rules.safe_windows(0).start_minute(), 9 * 60);
  v1::RecordContactRequest contact;
  contact.set_assignment_id(a.assignment_id());
  contact.set_advocate_id(a.advocate_id());
  // T10's victim is safe on the phone on weekday mornings only: an email is
  // refused, naming the rule, and nothing is recorded.
  contact.set_channel(v1::CONTACT_CHANNEL_EMAIL);
  contact.set_outcome(v1::CONTACT_OUTCOME_SUCCESSFUL);
  s = call(&v1::AdvocacyService::Stub::RecordContact, contact, &contacted);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(testing::RuleIds(s), ElementsAre("SAFE-CONTACT"));
  // The phone at the last weekday 10:00 (London) is safe.
  absl::TimeZone london;
  ASSERT_TRUE(absl::LoadTimeZone("Europe/London", &london));
  absl::Time safe;
  for (absl::CivilDay day = absl::ToCivilDay(absl::Now(), london);; --day) {
    const absl::Weekday w = absl::GetWeekday(day);
    if (w == absl::Weekday::saturday || w == absl::Weekday::sunday) continue;
    safe = absl::FromCivil(absl::CivilHour(day) + 10, london);
    if (safe <= absl::Now()) break;
  }
  *contact.mutable_at() = timeutil::ToTimestamp(safe);
  contact.set_channel(v1::CONTACT_CHANNEL_PHONE);
  contact.set_outcome(v1::CONTACT_OUTCOME_UNSAFE);
  ASSERT_TRUE(
      call(&v1::AdvocacyService::Stub::RecordContact, contact, &contacted)
          .ok());
  EXPECT_EQ(contacted.assignment().state(), v1::ASSIGNMENT_STATE_ACCEPTED);
  contact.set_outcome(v1::CONTACT_OUTCOME_SUCCESSFUL);
  ASSERT_TRUE(
      call(&v1::AdvocacyService::Stub::RecordContact, contact, &contacted)
          .ok());
  EXPECT_EQ(contacted.assignment().state(), v1::ASSIGNMENT_STATE_ACTIVE);
  v1::CloseCaseRequest close;
  close.set_assignment_id(a.assignment_id());
  close.set_advocate_id(a.advocate_id());
  close.set_closure_reason(v1::CLOSURE_REASON_SUPPORT_COMPLETED);
  close.set_feels_safer(v1::OUTCOME_ANSWER_YES);
  close.set_copes_better(v1::OUTCOME_ANSWER_YES);
  close.set_better_informed(v1::OUTCOME_ANSWER_NOT_ASKED);
  ASSERT_TRUE(call(&v1::AdvocacyService::Stub::CloseCase, close, &closed).ok());
  s = call(&v1::AdvocacyService::Stub::CloseCase, close, &closed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  close.clear_closure_reason();
  close.clear_feels_safer();
  s = call(&v1::AdvocacyService::Stub::CloseCase, close, &closed);
  google::rpc::BadRequest bad;
  ASSERT_TRUE(grpcutil::ExtractBadRequest(s, &bad));
  EXPECT_EQ(bad.field_violations_size(), 2);

  v1::GetProviderRequest refuge;
  refuge.set_provider_id("wm-refuge");
  v1::GetProviderResponse provider;
  ASSERT_TRUE(
      call(&v1::AdvocacyService::Stub::GetProvider, refuge, &provider).ok());
  EXPECT_TRUE(provider.provider().address_redacted());
  EXPECT_EQ(provider.provider().address(), "");
  // A header naming the refuge releases nothing: identity is the
  // certificate.
  {
    grpc::ClientContext spoofed;
    Deadline(&spoofed);
    spoofed.AddMetadata("x-signpost-org", "wm-refuge");
    ASSERT_TRUE(advocacy->GetProvider(&spoofed, refuge, &provider).ok());
    EXPECT_TRUE(provider.provider().address_redacted());
  }
  auto refuge_itself =
      Connect<v1::AdvocacyService>((*addrs_)["advocacy"], As("wm-refuge"));
  grpc::ClientContext own;
  Deadline(&own);
  ASSERT_TRUE(refuge_itself->GetProvider(&own, refuge, &provider).ok());
  EXPECT_FALSE(provider.provider().address().empty());

  v1::CheckCapacityRequest cap;
  cap.set_pathway(v1::PATHWAY_IDVA);
  cap.set_locality_code("WMP-WORC");
  v1::CheckCapacityResponse capacity;
  ASSERT_TRUE(
      call(&v1::AdvocacyService::Stub::CheckCapacity, cap, &capacity).ok());
  EXPECT_GE(capacity.waitlist_length(), 0);
}

// The anonymous actions found in issue 9, tried against the real binaries
// without a client certificate (plaintext, and TLS with no certificate):
// every one is refused at the handshake, and none has an effect.
TEST_F(StackTest, AnonymousCallersAreRefusedOnEveryService) {
  grpc::experimental::TlsChannelCredentialsOptions no_cert;
  no_cert.set_certificate_provider(
      std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
          dir_->File("pki/ca.crt"), 60));
  no_cert.watch_root_certs();
  const std::vector<
      std::pair<std::string, std::shared_ptr<grpc::ChannelCredentials>>>
      anonymous = {{"plaintext", grpc::InsecureChannelCredentials()},
                   {"tls-without-certificate",
                    grpc::experimental::TlsCredentials(no_cert)}};
  for (const auto& [how, credentials] : anonymous) {
    SCOPED_TRACE(how);
    auto advocacy =
        Connect<v1::AdvocacyService>((*addrs_)["advocacy"], credentials);
    auto intake = Connect<v1::IntakeService>((*addrs_)["intake"], credentials);
    auto triage = Connect<v1::TriageService>((*addrs_)["triage"], credentials);
    auto orders = Connect<v1::OrderService>((*addrs_)["orders"], credentials);
    auto notification = Connect<v1::NotificationService>(
        (*addrs_)["notification"], credentials);
    std::vector<std::pair<std::string, grpc::Status>> calls;
    {
      grpc::ClientContext c;
      Deadline(&c);
      v1::UpsertAdvocateRequest a;
      a.mutable_advocate()->set_advocate_id("anon-idva");
      a.mutable_advocate()->set_provider_id("wm-idva-service");
      a.mutable_advocate()->set_role(v1::ADVOCATE_ROLE_IDVA);
      a.mutable_advocate()->set_capacity(5);
      v1::UpsertAdvocateResponse out;
      calls.emplace_back("UpsertAdvocate",
                         advocacy->UpsertAdvocate(&c, a, &out));
    }
    {
      grpc::ClientContext c;
      Deadline(&c);
      v1::AcceptAssignmentRequest r;
      r.set_assignment_id(NewUuid());
      r.set_advocate_id("anon-idva");
      v1::AcceptAssignmentResponse out;
      calls.emplace_back("AcceptAssignment",
                         advocacy->AcceptAssignment(&c, r, &out));
    }
    {
      grpc::ClientContext c;
      Deadline(&c);
      v1::UpsertProviderRequest p;
      p.mutable_provider()->set_provider_id("wm-refuge");
      v1::UpsertProviderResponse out;
      calls.emplace_back("UpsertProvider",
                         advocacy->UpsertProvider(&c, p, &out));
    }
    {
      grpc::ClientContext c;
      Deadline(&c);
      v1::GetReferralRequest r;
      r.set_referral_id(NewUuid());
      v1::GetReferralResponse out;
      calls.emplace_back("GetReferral", intake->GetReferral(&c, r, &out));
    }
    {
      grpc::ClientContext c;
      Deadline(&c);
      v1::ReassessRequest r;
      r.set_referral_id(NewUuid());
      v1::ReassessResponse out;
      calls.emplace_back("Reassess", triage->Reassess(&c, r, &out));
    }
    {
      grpc::ClientContext c;
      Deadline(&c);
      v1::RecordConsiderationRequest r;
      r.set_actor("anon-attacker");
      v1::RecordConsiderationResponse out;
      calls.emplace_back("RecordConsideration",
                         orders->RecordConsideration(&c, r, &out));
    }
    {
      grpc::ClientContext c;
      Deadline(&c);
      v1::ListDeliveriesRequest r;
      v1::ListDeliveriesResponse out;
      calls.emplace_back("ListDeliveries",
                         notification->ListDeliveries(&c, r, &out));
    }
    for (const auto& [rpc, status] : calls) {
      EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
          << rpc << ": " << status.error_message();
    }
  }
  // No effect: the operator, over mutual TLS, sees no such advocate.
  auto advocacy = Connect<v1::AdvocacyService>((*addrs_)["advocacy"]);
  std::string token;
  int seen = 0;
  do {
    grpc::ClientContext c;
    Deadline(&c);
    v1::ListAdvocatesRequest r;
    r.set_page_size(500);
    r.set_page_token(token);
    v1::ListAdvocatesResponse out;
    ASSERT_TRUE(advocacy->ListAdvocates(&c, r, &out).ok());
    for (const auto& a : out.advocates()) {
      EXPECT_NE(a.advocate_id(), "anon-idva");
      ++seen;
    }
    token = out.next_page_token();
  } while (!token.empty());
  EXPECT_GT(seen, 0);
}

// Kill the orders service between a timer's due time and its event, restart
// it, and see the event exactly once on the log.
TEST_F(StackTest, TimerDueWhileOrdersIsDownFiresExactlyOnceAfterRestart) {
  testing::TempDir dir;
  std::vector<std::string> args = {
      "--grpc_address",
      "127.0.0.1:0",
      "--db_path",
      dir.File("orders2.db"),
      "--kafka_bootstrap",
      *bootstrap_,
      "--kafka_group",
      "signpost-orders-restart-test",
      "--timer_scan_seconds",
      "3600",
      "--calendar_file",
      testing::SourcePath("deploy/calendar/england-and-wales.txt")};
  for (std::string& flag : KeyFlags(SigningDir(), "orders")) {
    args.push_back(std::move(flag));
  }
  for (std::string& flag : TlsFlags(dir_->File("pki"), "orders")) {
    args.push_back(std::move(flag));
  }
  args.insert(args.end(), {"--access_registry", Registry()});
  for (std::string& flag : DataFlags("orders")) args.push_back(flag);
  auto start = [&](const std::string& log) {
    auto p = std::make_unique<testing::Process>(Bin("signpost-orders"), args,
                                                dir.File(log));
    std::string addr = testing::WaitForLogValue(
        dir.File(log), "\"msg\":\"listening\",\"grpc_address\":\"",
        absl::Seconds(30));
    return std::make_pair(std::move(p), addr);
  };
  // A referral this orders instance learns of from triage's decisions (an
  // unknown one is NOT_FOUND).
  v1::SubmitReferralRequest t2 = testing::LoadExample("t02_standard_da");
  t2.set_idempotency_key("e2e-orders-restart");
  t2.mutable_referral()->mutable_personal()->set_full_name("Orders Restart Q");
  const std::string referral = Submit(t2);
  WaitRouted(referral);
  auto [first, addr] = start("orders-1.log");
  ASSERT_FALSE(addr.empty());
  auto orders = Connect<v1::OrderService>(addr, As("police-wmp"));
  v1::ImportOrderRequest imp;
  imp.set_source("custody-system");
  imp.set_source_ref(referral);
  imp.set_referral_id(referral);
  imp.set_order_type(v1::ORDER_TYPE_DVPN);
  imp.set_state(v1::ORDER_STATE_GRANTED);
  imp.mutable_authority()->set_court_or_officer("supt-1");
  imp.mutable_authority()->set_rank(v1::OFFICER_RANK_SUPERINTENDENT);
  imp.set_respondent_age(40);
  imp.set_area_code("WMP");
  imp.set_actor("pc-1");
  v1::Order order;
  {
    grpc::Status s;
    ASSERT_TRUE(Eventually([&] {
      grpc::ClientContext ctx;
      Deadline(&ctx);
      v1::ImportOrderResponse imported;
      s = orders->ImportOrder(&ctx, imp, &imported);
      order = imported.order();
      return s.error_code() != grpc::StatusCode::NOT_FOUND;
    })) << "orders never learnt of the referral";
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  // Served 49 hours ago: the 48-hour hearing timer is already due, but the
  // scheduler's next scan is an hour away.
  v1::RecordServiceRequest serve;
  serve.set_order_id(order.order_id());
  serve.mutable_served_at()->set_seconds(
      absl::ToUnixSeconds(absl::Now() - absl::Hours(49)));
  serve.set_actor("pc-1");
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::RecordServiceResponse served;
    ASSERT_TRUE(orders->RecordService(&ctx, serve, &served).ok());
    order = served.order();
  }
  ASSERT_EQ(order.timers_size(), 1);
  EXPECT_FALSE(order.timers(0).fired());
  kill(first->pid(), SIGKILL);
  first->Wait(absl::Seconds(10));

  auto count_hearing_due = [&] {
    int n = 0;
    for (const auto& r :
         testing::ReadTopicToEnd(*bootstrap_, events::kOrdersTopic)) {
      auto env = events::DecodeEnvelope(r);
      if (env.ok() && env->has_hearing_due() &&
          env->hearing_due().order_id() == order.order_id()) {
        ++n;
      }
    }
    return n;
  };
  EXPECT_EQ(count_hearing_due(), 0);
  {
    auto [second, addr2] = start("orders-2.log");  // scans once at start
    ASSERT_FALSE(addr2.empty());
    absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (count_hearing_due() == 0 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(200));
    }
    EXPECT_EQ(second->Terminate(), 0);
  }
  {
    auto [third, addr3] = start("orders-3.log");
    ASSERT_FALSE(addr3.empty());
    // Positive evidence that the third life has scanned its timers (and
    // found nothing due) before the topic is read to its end.
    const absl::Time scan_deadline = absl::Now() + absl::Seconds(30);
    while (testing::ReadFile(dir.File("orders-3.log"))
                   .find("\"worker\":\"order-timers\"") == std::string::npos &&
           absl::Now() < scan_deadline) {
      absl::SleepFor(absl::Milliseconds(50));
    }
    EXPECT_NE(testing::ReadFile(dir.File("orders-3.log"))
                  .find("\"worker\":\"order-timers\""),
              std::string::npos);
    EXPECT_EQ(third->Terminate(), 0);
  }
  EXPECT_EQ(count_hearing_due(), 1);
}

// Issue 13: the first-contact deadline watchdog of the real advocacy
// binary reports a deadline once across a SIGKILL and two restarts. A second
// advocacy instance (its own store and consumer group) routes a referral
// and is killed before its watchdog's next pass; the next life reports the
// deadline at its first pass, and the third life finds nothing more.
TEST_F(StackTest, TheDeadlineWatchdogReportsOnceAcrossASigkillAndRestarts) {
  WaitServing("advocacy");
  std::vector<std::string> args = (*args_)["advocacy"];
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--db_path") args[i + 1] = dir_->File("watchdog-a.db");
    if (args[i] == "--grpc_address") args[i + 1] = "127.0.0.1:0";
  }
  args.insert(args.end(), {"--kafka_group", "signpost-advocacy-watchdog-test"});
  auto start = [&](const std::string& log) {
    auto p = std::make_unique<testing::Process>(Bin("signpost-advocacy"), args,
                                                dir_->File(log));
    std::string addr = testing::WaitForLogValue(
        dir_->File(log), "\"msg\":\"listening\",\"grpc_address\":\"",
        absl::Seconds(30));
    return std::make_pair(std::move(p), addr);
  };
  auto scanned = [&](const std::string& log) {
    const absl::Time until = absl::Now() + absl::Seconds(30);
    while (testing::ReadFile(dir_->File(log))
                   .find("\"worker\":\"deadline-watchdog\"") ==
               std::string::npos &&
           absl::Now() < until) {
      absl::SleepFor(absl::Milliseconds(50));
    }
    return testing::ReadFile(dir_->File(log))
               .find("\"worker\":\"deadline-watchdog\"") != std::string::npos;
  };
  auto [first, addr] = start("watchdog-1.log");
  ASSERT_FALSE(addr.empty());
  // Its first pass found nothing; the next is a minute away.
  ASSERT_TRUE(scanned("watchdog-1.log"));
  v1::SubmitReferralRequest t2 = testing::LoadExample("t02_standard_da");
  t2.set_idempotency_key("e2e-watchdog");
  t2.mutable_referral()->mutable_personal()->set_full_name("Watchdog Test Q");
  const std::string referral = Submit(t2);
  auto advocacy = Connect<v1::AdvocacyService>(addr);
  ASSERT_TRUE(Eventually([&] {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::GetReferralAssignmentsRequest req;
    req.set_referral_id(referral);
    v1::GetReferralAssignmentsResponse resp;
    return advocacy->GetReferralAssignments(&ctx, req, &resp).ok() &&
           resp.processed();
  })) << "the second advocacy never routed the referral";
  kill(first->pid(), SIGKILL);
  first->Wait(absl::Seconds(10));
  std::map<std::string, int> by_kind;
  auto approaching = [&] {
    int n = 0;
    by_kind.clear();
    for (const auto& r :
         testing::ReadTopicToEnd(*bootstrap_, events::kAdvocacyTopic)) {
      auto env = events::DecodeEnvelope(r);
      // T02 was reported in June 2024: its deadlines are long past, so each
      // report is a miss (with no warning first).
      if (env.ok() && env->referral_id() == referral &&
          (env->has_deadline_approaching() || env->has_deadline_missed())) {
        ++n;
        ++by_kind[env->has_deadline_missed()
                      ? env->deadline_missed().deadline().kind()
                      : env->deadline_approaching().deadline().kind()];
      }
    }
    return n;
  };
  EXPECT_EQ(approaching(), 0);
  {
    auto [second, addr2] = start("watchdog-2.log");
    ASSERT_FALSE(addr2.empty());
    const absl::Time until = absl::Now() + absl::Seconds(30);
    while (approaching() == 0 && absl::Now() < until) {
      absl::SleepFor(absl::Milliseconds(200));
    }
    EXPECT_EQ(second->Terminate(), 0);
  }
  {
    auto [third, addr3] = start("watchdog-3.log");
    ASSERT_FALSE(addr3.empty());
    EXPECT_TRUE(scanned("watchdog-3.log"));
    EXPECT_EQ(third->Terminate(), 0);
  }
  // One open, watched assignment (DA outreach; the perpetrator programme's
  // referral is not watched): its first-contact deadline reported once,
  // and the referral's Victims' Code referral deadline at most once (only
  // if the case still waited unoffered).
  approaching();
  EXPECT_EQ(by_kind["FIRST_CONTACT"], 1);
  EXPECT_LE(by_kind["VCOP_REFERRAL"], 1);
  for (const auto& [kind, n] : by_kind) {
    EXPECT_TRUE(kind == "FIRST_CONTACT" || kind == "VCOP_REFERRAL") << kind;
  }
}

// Shutdown holds its deadline with the broker gone: the services stop in
// order and exit 0 (the watchdog would exit 3), and the referral committed
// while the broker was down stays in intake's outbox, not lost.
// Personal data at rest: the real intake binary seals each referral with
// its person's data key. Rotating the key-encryption key keeps every
// referral readable; a key file without the right key stops the start.
TEST(KeyTest, RotationKeepsReferralsReadableAndAWrongKeyStopsStart) {
  testing::TempDir dir;
  testing::MakeSigningKeys(dir.path());
  auto key_line = [](const std::string& id) {
    return absl::StrCat(id, " ", absl::Base64Escape(*crypto::RandomBytes(32)),
                        "\n");
  };
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir.File(name)) << text;
    return dir.File(name);
  };
  const std::string old_line = key_line("kek-old");
  const std::string new_line = key_line("kek-new");
  auto start = [&](const std::string& keys, const std::string& log) {
    std::vector<std::string> args = {"--grpc_address",    "127.0.0.1:0",
                                     "--db_path",         dir.File("intake.db"),
                                     "--kafka_bootstrap", "127.0.0.1:1",
                                     "--access_registry", Registry(),
                                     "--kek_file",        keys};
    args.insert(args.end(),
                {"--matching_key_file",
                 testing::TestPki() + "/keys/matching.key", "--retention_file",
                 testing::SourcePath("deploy/policy/retention.textproto")});
    for (std::string& f : KeyFlags(dir.path(), "intake")) args.push_back(f);
    for (std::string& f : TlsFlags(testing::TestPki(), "intake")) {
      args.push_back(f);
    }
    return std::make_unique<testing::Process>(Bin("signpost-intake"), args,
                                              dir.File(log));
  };
  auto as_police = AgencyCredentials(testing::TestPki(), "police-wmp");
  auto read_name = [&](const std::string& addr, const std::string& id) {
    auto intake = Connect<v1::IntakeService>(addr, as_police);
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::GetReferralRequest get;
    get.set_referral_id(id);
    v1::GetReferralResponse got;
    grpc::Status s = intake->GetReferral(&ctx, get, &got);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return got.referral().personal().full_name();
  };
  const v1::SubmitReferralRequest t1 =
      testing::LoadExample("t01_strangulation_punjabi");
  std::string id;
  {
    auto p = start(write("old.keys", old_line), "1.log");
    const std::string addr = testing::WaitForLogValue(
        dir.File("1.log"), "\"msg\":\"listening\",\"grpc_address\":\"",
        absl::Seconds(30));
    ASSERT_FALSE(addr.empty()) << testing::ReadFile(dir.File("1.log"));
    auto intake = Connect<v1::IntakeService>(addr, as_police);
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::SubmitReferralResponse resp;
    grpc::Status s = intake->SubmitReferral(&ctx, t1, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    id = resp.referral_id();
    EXPECT_EQ(read_name(addr, id), t1.referral().personal().full_name());
    EXPECT_EQ(p->Terminate(), 0);
  }
  // A mistyped database path is refused, not created.
  {
    testing::Process cli(Bin("signpost-cli"),
                         {"rotate-kek", "--db_path", dir.File("typo.db"),
                          "--kek_file", dir.File("old.keys")},
                         dir.File("typo.log"));
    EXPECT_EQ(cli.Wait(absl::Seconds(30)), 2);
    EXPECT_NE(testing::ReadFile(dir.File("typo.log")).find("no such database"),
              std::string::npos);
    EXPECT_NE(::access(dir.File("typo.db").c_str(), F_OK), 0);
  }
  // Rotation: the new key first, the old one kept until this succeeds.
  {
    testing::Process cli(
        Bin("signpost-cli"),
        {"rotate-kek", "--db_path", dir.File("intake.db"), "--kek_file",
         write("both.keys", new_line + old_line)},
        dir.File("rotate.log"));
    EXPECT_EQ(cli.Wait(absl::Seconds(30)), 0)
        << testing::ReadFile(dir.File("rotate.log"));
  }
  {
    // The old key is gone from the file; the referral still opens.
    auto p = start(write("new.keys", new_line), "2.log");
    const std::string addr = testing::WaitForLogValue(
        dir.File("2.log"), "\"msg\":\"listening\",\"grpc_address\":\"",
        absl::Seconds(30));
    ASSERT_FALSE(addr.empty()) << testing::ReadFile(dir.File("2.log"));
    EXPECT_EQ(read_name(addr, id), t1.referral().personal().full_name());
    // Erased by an operator: the person's data key is destroyed.
    auto op = Connect<v1::IntakeService>(
        addr, AgencyCredentials(testing::TestPki(), "signpost-operator"));
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::EraseVictimRequest erase;
    erase.set_referral_id(id);
    erase.set_ground(v1::ERASURE_GROUND_RIGHT_TO_ERASURE);
    erase.set_reason("subject asked, no exemption applies");
    v1::EraseVictimResponse erased;
    grpc::Status s = op->EraseVictim(&ctx, erase, &erased);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(erased.referrals_erased(), 1);
    EXPECT_EQ(p->Terminate(), 0);
  }
  {
    // A restart does not bring it back, and no file holds it.
    auto p = start(dir.File("new.keys"), "3.log");
    const std::string addr = testing::WaitForLogValue(
        dir.File("3.log"), "\"msg\":\"listening\",\"grpc_address\":\"",
        absl::Seconds(30));
    ASSERT_FALSE(addr.empty()) << testing::ReadFile(dir.File("3.log"));
    EXPECT_EQ(read_name(addr, id), "");
    EXPECT_EQ(p->Terminate(), 0);
    for (const char* suffix : {"", "-wal", "-shm"}) {
      const std::string path = dir.File("intake.db") + suffix;
      if (::access(path.c_str(), R_OK) != 0) continue;
      EXPECT_EQ(
          testing::ReadFile(path).find(t1.referral().personal().full_name()),
          std::string::npos)
          << path;
    }
  }
  // A wrong key under the right id, a file without the key, no file: each
  // stops the start with one line naming the flag.
  const std::string wrong = write("wrong.keys", key_line("kek-new"));
  const std::string other = write("other.keys", key_line("kek-other"));
  for (const auto& [keys, expected] :
       std::vector<std::pair<std::string, std::string>>{
           {wrong, "does not open the data keys it wrapped"},
           {other, "does not hold key 'kek-new'"},
           {dir.File("missing.keys"), "cannot be read"}}) {
    SCOPED_TRACE(keys);
    auto p = start(keys, "bad.log");
    EXPECT_EQ(p->Wait(absl::Seconds(20)), 2);
    const std::string err = testing::ReadFile(dir.File("bad.log"));
    EXPECT_NE(err.find("kek_file: "), std::string::npos) << err;
    EXPECT_NE(err.find(expected), std::string::npos) << err;
  }
}

// Issue 13: the embedded broker is killed with records on it that no
// consumer has read yet, so they are lost (the mock cluster keeps them in
// memory); the services move to a new broker. Intake's stall watchdog finds
// each referral stuck (NOT_TRIAGED: triage never read its ReferralReceived;
// NOT_ROUTED: advocacy never read its ReferralTriaged), `signpost-cli
// replay` re-publishes their outbox history with the same event ids, and
// each is then routed exactly once; a second replay changes nothing.
TEST(BrokerLossTest, StalledReferralsAreFoundAndReplayRoutesThemOnce) {
  testing::TempDir dir;
  testing::MakeSigningKeys(dir.path());
  auto start_broker = [&](const std::string& name, std::string& bootstrap) {
    auto broker = std::make_unique<testing::Process>(
        Bin("signpost-devbroker"),
        std::vector<std::string>{
            "--topics_file", testing::SourcePath("deploy/kafka/topics.txt"),
            "--bootstrap_file", dir.File(name + ".bootstrap")},
        dir.File(name + ".log"));
    const absl::Time until = absl::Now() + absl::Seconds(20);
    while (testing::ReadFile(dir.File(name + ".bootstrap")).empty() &&
           absl::Now() < until) {
      absl::SleepFor(absl::Milliseconds(50));
    }
    bootstrap = testing::ReadFile(dir.File(name + ".bootstrap"));
    while (!bootstrap.empty() && bootstrap.back() == '\n') bootstrap.pop_back();
    return broker;
  };
  const std::vector<std::string> kServices = {"intake", "triage", "advocacy"};
  std::map<std::string, std::unique_ptr<testing::Process>> procs;
  std::map<std::string, std::string> addrs;
  auto start = [&](const std::string& svc, const std::string& bootstrap,
                   const std::string& life) {
    std::vector<std::string> args = {"--grpc_address",    "127.0.0.1:0",
                                     "--db_path",         dir.File(svc + ".db"),
                                     "--kafka_bootstrap", bootstrap,
                                     "--access_registry", Registry()};
    for (std::string& f : TlsFlags(testing::TestPki(), svc)) args.push_back(f);
    for (std::string& f : DataFlags(svc)) args.push_back(f);
    for (std::string& f : KeyFlags(dir.path(), svc)) args.push_back(f);
    const std::string calendar =
        testing::SourcePath("deploy/calendar/england-and-wales.txt");
    if (svc == "intake") {
      args.insert(args.end(),
                  {"--stall_after_seconds", "3", "--stall_report_seconds",
                   "3600", "--stall_scan_seconds", "1"});
    }
    if (svc == "triage") {
      args.insert(args.end(),
                  {"--policy_file",
                   testing::SourcePath("deploy/policy/default.textproto"),
                   "--calendar_file", calendar});
    }
    if (svc == "advocacy") {
      args.insert(args.end(),
                  {"--directory_file",
                   testing::SourcePath("examples/directory.textproto"),
                   "--calendar_file", calendar});
    }
    const std::string log = dir.File(svc + "-" + life + ".log");
    procs[svc] =
        std::make_unique<testing::Process>(Bin("signpost-" + svc), args, log);
    addrs[svc] = testing::WaitForLogValue(
        log, "\"msg\":\"listening\",\"grpc_address\":\"", absl::Seconds(30));
    ASSERT_FALSE(addrs[svc].empty()) << testing::ReadFile(log);
  };
  auto eventually = [](const std::function<bool()>& done) {
    const absl::Time until = absl::Now() + absl::Seconds(60);
    while (absl::Now() < until) {
      if (done()) return true;
      absl::SleepFor(absl::Milliseconds(200));
    }
    return false;
  };
  auto as = [](const std::string& agency) {
    return AgencyCredentials(testing::TestPki(), agency);
  };
  std::atomic<int> submitted{0};
  auto submit = [&]() {
    v1::SubmitReferralRequest req = testing::LoadExample("t02_standard_da");
    const int n = ++submitted;
    req.set_idempotency_key(absl::StrCat("broker-loss-", n));
    req.mutable_referral()->mutable_personal()->set_full_name(
        absl::StrCat("Broker Loss Person ", n));
    req.mutable_referral()->mutable_reporting()->set_crime_reference(
        absl::StrCat("CR-LOSS-", n));
    auto intake = Connect<v1::IntakeService>(addrs["intake"], as("police-wmp"));
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::SubmitReferralResponse resp;
    grpc::Status s = intake->SubmitReferral(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.referral_id();
  };
  auto assignments = [&](const std::string& id)
      -> std::optional<v1::GetReferralAssignmentsResponse> {
    auto advocacy = Connect<v1::AdvocacyService>(addrs["advocacy"],
                                                 as("signpost-operator"));
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::GetReferralAssignmentsRequest req;
    req.set_referral_id(id);
    v1::GetReferralAssignmentsResponse resp;
    if (!advocacy->GetReferralAssignments(&ctx, req, &resp).ok() ||
        !resp.processed()) {
      return std::nullopt;
    }
    return resp;
  };
  auto decided = [&](const std::string& id) -> int {
    auto triage =
        Connect<v1::TriageService>(addrs["triage"], as("signpost-operator"));
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::GetDecisionRequest req;
    req.set_referral_id(id);
    v1::GetDecisionResponse resp;
    if (!triage->GetDecision(&ctx, req, &resp).ok()) return 0;
    return resp.history_size();
  };
  // Under load: `n` referrals from 3 clients at once.
  auto submit_many = [&](int n) {
    std::vector<std::string> ids(n);
    std::vector<std::thread> clients;
    for (int c = 0; c < 3; ++c) {
      clients.emplace_back([&, c] {
        for (int i = c; i < n; i += 3) ids[i] = submit();
      });
    }
    for (auto& t : clients) t.join();
    return ids;
  };
  std::map<std::string, int> reports;
  auto stalled = [&]() {
    std::map<std::string, std::string> out;
    auto intake =
        Connect<v1::IntakeService>(addrs["intake"], as("signpost-operator"));
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::ListStalledRequest req;
    v1::ListStalledResponse resp;
    grpc::Status s = intake->ListStalled(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    for (const auto& r : resp.referrals()) {
      out[r.referral_id()] = r.stage();
      reports[r.referral_id()] = r.reports();
    }
    return out;
  };
  auto on_topic = [&](const std::string& bootstrap, const std::string& topic,
                      const std::string& id,
                      v1::EventEnvelope::PayloadCase payload) {
    int n = 0;
    for (const auto& r : testing::ReadTopicToEnd(bootstrap, topic)) {
      auto env = events::DecodeEnvelope(r);
      if (env.ok() && env->referral_id() == id &&
          env->payload_case() == payload) {
        ++n;
      }
    }
    return n;
  };

  std::string bootstrap_a;
  auto broker_a = start_broker("broker-a", bootstrap_a);
  ASSERT_FALSE(bootstrap_a.empty());
  for (const std::string& svc : kServices) start(svc, bootstrap_a, "1");

  // Routed normally.
  std::vector<std::string> routed = submit_many(3);
  for (const std::string& id : routed) {
    ASSERT_TRUE(eventually([&] { return assignments(id).has_value(); })) << id;
  }
  // Advocacy stops reading: these are triaged, and their decisions wait on
  // the broker. Intake finds them stuck (NOT_ROUTED) even before the loss.
  kill(procs["advocacy"]->pid(), SIGSTOP);
  std::vector<std::string> unrouted = submit_many(6);
  for (const std::string& id : unrouted) {
    ASSERT_TRUE(eventually([&] {
      return on_topic(bootstrap_a, events::kTriageTopic, id,
                      v1::EventEnvelope::kReferralTriaged) == 1;
    })) << id;
  }
  ASSERT_TRUE(eventually([&] {
    auto s = stalled();
    for (const std::string& id : unrouted) {
      if (s[id] != "NOT_ROUTED") return false;
    }
    return true;
  }));
  // Triage stops reading: these are received, and wait on the broker.
  kill(procs["triage"]->pid(), SIGSTOP);
  std::vector<std::string> untriaged = submit_many(6);
  for (const std::string& id : untriaged) {
    ASSERT_TRUE(eventually([&] {
      return on_topic(bootstrap_a, events::kIntakeTopic, id,
                      v1::EventEnvelope::kReferralReceived) == 1;
    })) << id;
  }
  // The broker dies with them, and the services with it.
  kill(broker_a->pid(), SIGKILL);
  broker_a->Wait(absl::Seconds(10));
  for (const std::string& svc : kServices) {
    kill(procs[svc]->pid(), SIGKILL);
    procs[svc]->Wait(absl::Seconds(10));
  }
  std::string bootstrap_b;
  auto broker_b = start_broker("broker-b", bootstrap_b);
  ASSERT_FALSE(bootstrap_b.empty());
  for (const std::string& svc : kServices) start(svc, bootstrap_b, "2");
  // Life goes on for new referrals.
  const std::string after = submit();
  ASSERT_TRUE(eventually([&] { return assignments(after).has_value(); }));

  // Each lost referral is found, at its stage, and reported.
  ASSERT_TRUE(eventually([&] {
    auto s = stalled();
    for (const std::string& id : untriaged) {
      if (s[id] != "NOT_TRIAGED") return false;
    }
    for (const std::string& id : unrouted) {
      if (s[id] != "NOT_ROUTED") return false;
    }
    return s.size() == untriaged.size() + unrouted.size();
  })) << "stalled: "
      << stalled().size();
  for (const std::string& id : untriaged) {
    // Reported (on the new broker, or already on the lost one when the
    // machine was slow: the mark is intake's, so never twice).
    EXPECT_GE(reports[id], 1) << id;
    EXPECT_LE(on_topic(bootstrap_b, events::kIntakeTopic, id,
                       v1::EventEnvelope::kReferralStalled),
              1)
        << id;
    EXPECT_FALSE(assignments(id).has_value());
    EXPECT_EQ(decided(id), 0);
  }

  // The operator replays each one's history from every service.
  auto replay = [&](const std::string& id, const std::string& log) {
    std::vector<std::string> args = {"replay", "--referral", id};
    for (const std::string& svc : kServices) {
      args.insert(args.end(), {"--" + svc, addrs[svc]});
    }
    args.insert(args.end(),
                {"--as", "signpost-operator", "--pki", testing::TestPki()});
    testing::Process cli(Bin("signpost-cli"), args, dir.File(log));
    return cli.Wait(absl::Seconds(30));
  };
  std::vector<std::string> lost = untriaged;
  lost.insert(lost.end(), unrouted.begin(), unrouted.end());
  for (const std::string& id : lost) {
    ASSERT_EQ(replay(id, "replay-" + id + ".log"), 0)
        << testing::ReadFile(dir.File("replay-" + id + ".log"));
  }
  std::map<std::string, std::string> signature;
  auto shape = [&](const std::string& id) {
    std::optional<v1::GetReferralAssignmentsResponse> a = assignments(id);
    if (!a) return std::string();
    std::vector<std::string> parts;
    for (const auto& x : a->assignments()) {
      parts.push_back(
          absl::StrCat(x.assignment_id(), ":", x.pathway(), ":", x.service()));
    }
    std::sort(parts.begin(), parts.end());
    return absl::StrJoin(parts, ",");
  };
  for (const std::string& id : lost) {
    ASSERT_TRUE(eventually([&] { return assignments(id).has_value(); }))
        << id << " never routed after replay";
  }
  ASSERT_TRUE(eventually([&] { return stalled().empty(); }));
  // Exactly once: one decision, and one assignment per pathway or service.
  for (const std::string& id : lost) {
    EXPECT_EQ(decided(id), 1) << id;
    std::optional<v1::GetReferralAssignmentsResponse> a = assignments(id);
    ASSERT_TRUE(a.has_value());
    EXPECT_GT(a->assignments_size(), 0) << id;
    std::set<std::pair<int, int>> kinds;
    for (const auto& x : a->assignments()) {
      EXPECT_TRUE(kinds.insert({x.pathway(), x.service()}).second)
          << id << " has two assignments for one pathway";
    }
    signature[id] = shape(id);
  }
  // A second replay is absorbed by the consumers' inboxes.
  for (const std::string& id : lost) {
    ASSERT_EQ(replay(id, "replay2-" + id + ".log"), 0);
  }
  for (const std::string& id : lost) {
    ASSERT_TRUE(eventually([&] {
      return on_topic(bootstrap_b, events::kIntakeTopic, id,
                      v1::EventEnvelope::kReferralReceived) >= 2;
    }));
  }
  absl::SleepFor(absl::Seconds(3));
  for (const std::string& id : lost) {
    EXPECT_EQ(decided(id), 1) << id;
    EXPECT_EQ(shape(id), signature[id]) << id;
  }
  for (const std::string& svc : kServices) {
    EXPECT_EQ(procs[svc]->Terminate(), 0) << svc;
  }
}

// Issue 14: `signpost-cli audit verify` over records on a real (embedded)
// broker, published by the real outbox relay. Each kind of tampering is
// written to a copy of the topic (a rewritten record, a dropped one, one
// forged with another producer's key, two reordered) and the verifier,
// reading only the copy, names the break and its offset and exits 1; the
// faithful copy and the original verify and exit 0.
TEST(AuditVerifyTest, EachTamperingIsFoundAtItsOffset) {
  testing::TempDir dir;
  testing::MakeSigningKeys(dir.path());
  auto cluster = testing::StartEmbeddedKafka(1);
  const std::string bootstrap = cluster->bootstrap_servers();
  for (const char* copy :
       {"signpost.copy-faithful.v1", "signpost.copy-a.v1", "signpost.copy-b.v1",
        "signpost.copy-c.v1", "signpost.copy-d.v1"}) {
    ASSERT_TRUE(cluster->CreateTopic(copy, 1, 1).ok());
  }
  kafka::ClientOptions options;
  options.bootstrap_servers = bootstrap;
  auto producer = kafka::Producer::Create(options);
  ASSERT_TRUE(producer.ok()) << producer.status();
  auto db = store::Database::Open(dir.File("intake.db"), {});
  ASSERT_TRUE(db.ok());
  auto signer =
      events::EventSigner::FromPemFile(dir.File("intake.key"), "intake");
  ASSERT_TRUE(signer.ok());
  store::OutboxRelay::Options relay_options;
  relay_options.signer = &*signer;
  relay_options.producer = "intake";
  store::OutboxRelay relay(**db, **producer, relay_options);
  ASSERT_TRUE(
      (*db)
          ->Write([](store::Tx& tx) -> absl::Status {
            for (int i = 0; i < 6; ++i) {
              v1::EventEnvelope e =
                  events::NewEnvelope("intake", absl::StrCat("audit-ref-", i));
              e.mutable_referral_received()->mutable_facts()->set_area_code(
                  "WMP");
              events::StampType(&e);
              RETURN_IF_ERROR(store::AppendToOutbox(tx, e, events::kIntakeTopic,
                                                    NewTraceparent()));
            }
            return absl::OkStatus();
          })
          .ok());
  for (int i = 0; i < 50 && *store::CountUnsent(**db) > 0; ++i) {
    (void)relay.PublishOnce(absl::Seconds(10));
  }
  ASSERT_EQ(*store::CountUnsent(**db), 0);
  std::vector<kafka::ConsumedMessage> original =
      testing::ReadTopicToEnd(bootstrap, events::kIntakeTopic);
  ASSERT_EQ(original.size(), 6u);

  auto write_copy = [&](const std::string& topic,
                        std::vector<kafka::OutgoingMessage> records) {
    for (auto& m : records) m.topic = topic;
    auto delivered = (*producer)->ProduceAndWait(records, absl::Seconds(10));
    for (const auto& d : delivered) ASSERT_TRUE(d.status.ok());
  };
  auto as_outgoing = [](const kafka::ConsumedMessage& r) {
    return kafka::OutgoingMessage{r.topic, r.key, r.payload, r.headers};
  };
  // Runs the CLI on `topics`; its exit code and what it printed.
  auto verify = [&](const std::vector<std::string>& topics) {
    std::string cmd =
        absl::StrCat("'", Bin("signpost-cli"), "' audit verify --bootstrap ",
                     bootstrap, " --keys '", dir.path(), "'");
    for (const auto& t : topics) absl::StrAppend(&cmd, " --topic ", t);
    absl::StrAppend(&cmd, " 2>&1");
    std::string out;
    FILE* p = popen(cmd.c_str(), "r");
    char buf[512];
    while (p != nullptr && fgets(buf, sizeof(buf), p) != nullptr) out += buf;
    const int status = p == nullptr ? -1 : pclose(p);
    return std::make_pair(WIFEXITED(status) ? WEXITSTATUS(status) : -1, out);
  };
  // The copies hold the records in chain order, on one partition.
  std::sort(original.begin(), original.end(), [](const auto& x, const auto& y) {
    return std::stoull(*x.Header(events::kChainSeqHeader)) <
           std::stoull(*y.Header(events::kChainSeqHeader));
  });
  std::vector<kafka::OutgoingMessage> faithful;
  for (const auto& r : original) faithful.push_back(as_outgoing(r));

  auto [whole, whole_out] = verify({});
  EXPECT_EQ(whole, 0) << whole_out;
  EXPECT_NE(whole_out.find("every chain intact"), std::string::npos);
  write_copy("signpost.copy-faithful.v1", faithful);
  auto [same, same_out] =
      verify({"signpost.copy-faithful.v1=signpost.intake.v1"});
  EXPECT_EQ(same, 0) << same_out;

  // (a) Rewritten in place: offset 2's payload changed.
  std::vector<kafka::OutgoingMessage> a = faithful;
  v1::EventEnvelope changed;
  ASSERT_TRUE(changed.ParseFromString(a[2].payload));
  changed.mutable_referral_received()->mutable_facts()->set_area_code("WYP");
  a[2].payload = changed.SerializeAsString();
  write_copy("signpost.copy-a.v1", a);
  auto [ra, oa] = verify({"signpost.copy-a.v1=signpost.intake.v1"});
  EXPECT_EQ(ra, 1) << oa;
  EXPECT_NE(oa.find("BAD-SIGNATURE at signpost.copy-a.v1[0]@2"),
            std::string::npos)
      << oa;
  // (b) Dropped: offset 3 left out, so the copy's offset 3 is seq 5.
  std::vector<kafka::OutgoingMessage> b = faithful;
  b.erase(b.begin() + 3);
  write_copy("signpost.copy-b.v1", b);
  auto [rb, ob] = verify({"signpost.copy-b.v1=signpost.intake.v1"});
  EXPECT_EQ(rb, 1) << ob;
  EXPECT_NE(ob.find("MISSING at signpost.copy-b.v1[0]@3"), std::string::npos)
      << ob;
  // (c) Forged: a record signed with triage's key in intake's chain.
  std::vector<kafka::OutgoingMessage> c = faithful;
  auto triage =
      events::EventSigner::FromPemFile(dir.File("triage.key"), "triage");
  ASSERT_TRUE(triage.ok());
  kafka::OutgoingMessage forged = c[4];
  forged.headers.erase(
      std::remove_if(
          forged.headers.begin(), forged.headers.end(),
          [](const auto& h) { return absl::StartsWith(h.first, "sp_sig"); }),
      forged.headers.end());
  forged.topic = events::kIntakeTopic;  // signed as if on intake's topic
  for (auto& h : triage->Sign(forged)) forged.headers.push_back(std::move(h));
  c[4] = forged;
  write_copy("signpost.copy-c.v1", c);
  auto [rc, oc] = verify({"signpost.copy-c.v1=signpost.intake.v1"});
  EXPECT_EQ(rc, 1) << oc;
  EXPECT_NE(oc.find("BAD-SIGNATURE at signpost.copy-c.v1[0]@4"),
            std::string::npos)
      << oc;
  // (d) Reordered: offsets 1 and 2 swapped.
  std::vector<kafka::OutgoingMessage> d = faithful;
  std::swap(d[1], d[2]);
  write_copy("signpost.copy-d.v1", d);
  auto [rd, od] = verify({"signpost.copy-d.v1=signpost.intake.v1"});
  EXPECT_EQ(rd, 1) << od;
  EXPECT_NE(od.find("REORDERED at signpost.copy-d.v1[0]@2"), std::string::npos)
      << od;
}

TEST(ShutdownTest, ServicesStopWithinTheirDeadlineWhenTheBrokerIsDown) {
  testing::TempDir dir;
  testing::Process broker(
      Bin("signpost-devbroker"),
      {"--topics_file", testing::SourcePath("deploy/kafka/topics.txt"),
       "--bootstrap_file", dir.File("bootstrap")},
      dir.File("devbroker.log"));
  const absl::Time started = absl::Now() + absl::Seconds(20);
  while (testing::ReadFile(dir.File("bootstrap")).empty() &&
         absl::Now() < started) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  std::string bootstrap = testing::ReadFile(dir.File("bootstrap"));
  while (!bootstrap.empty() && bootstrap.back() == '\n') bootstrap.pop_back();
  ASSERT_FALSE(bootstrap.empty());
  std::map<std::string, std::unique_ptr<testing::Process>> procs;
  std::map<std::string, std::string> addrs;
  testing::MakeSigningKeys(dir.path());
  for (const std::string svc : {"intake", "triage"}) {
    std::vector<std::string> args = {
        "--grpc_address",     "127.0.0.1:0",
        "--db_path",          dir.File(svc + ".db"),
        "--kafka_bootstrap",  bootstrap,
        "--shutdown_timeout", "6",
        "--access_registry",  Registry()};
    for (std::string& flag : TlsFlags(testing::TestPki(), svc)) {
      args.push_back(std::move(flag));
    }
    for (std::string& flag : DataFlags(svc)) args.push_back(flag);
    for (std::string& flag : KeyFlags(dir.path(), svc)) {
      args.push_back(std::move(flag));
    }
    if (svc == "triage") {
      args.insert(
          args.end(),
          {"--policy_file",
           testing::SourcePath("deploy/policy/default.textproto"),
           "--calendar_file",
           testing::SourcePath("deploy/calendar/england-and-wales.txt")});
    }
    procs[svc] = std::make_unique<testing::Process>(
        Bin("signpost-" + svc), args, dir.File(svc + ".log"));
    addrs[svc] = testing::WaitForLogValue(
        dir.File(svc + ".log"), "\"msg\":\"listening\",\"grpc_address\":\"",
        absl::Seconds(30));
    ASSERT_FALSE(addrs[svc].empty())
        << testing::ReadFile(dir.File(svc + ".log"));
  }
  broker.Terminate();
  // Accepted while the broker is down: committed to the outbox only.
  auto intake = Connect<v1::IntakeService>(
      addrs["intake"], AgencyCredentials(testing::TestPki(), "police-wmp"));
  grpc::ClientContext ctx;
  Deadline(&ctx);
  v1::SubmitReferralResponse resp;
  ASSERT_TRUE(
      intake
          ->SubmitReferral(
              &ctx, testing::LoadExample("t01_strangulation_punjabi"), &resp)
          .ok());
  for (auto& [svc, proc] : procs) {
    const absl::Time t = absl::Now();
    EXPECT_EQ(proc->Terminate(absl::Seconds(30)), 0)
        << svc << ": " << testing::ReadFile(dir.File(svc + ".log"));
    std::printf(
        "%s stopped in %lld ms with the broker down (deadline 6 s)\n",
        svc.c_str(),
        static_cast<long long>(absl::ToInt64Milliseconds(absl::Now() - t)));
    const std::string log = testing::ReadFile(dir.File(svc + ".log"));
    size_t grpc = log.find("\"step\":\"grpc\"");
    size_t workers = log.find("\"step\":\"workers\"");
    size_t outbox = log.find("\"step\":\"outbox\"");
    size_t producer = log.find("\"step\":\"producer\"");
    ASSERT_NE(producer, std::string::npos) << log;
    EXPECT_LT(grpc, workers);
    EXPECT_LT(workers, outbox);
    EXPECT_LT(outbox, producer);
  }
  // The referral (and the hash chain's checkpoint of the head, queued as
  // the relay stopped) stay in the outbox for the next start.
  EXPECT_NE(
      testing::ReadFile(dir.File("intake.log")).find("\"outbox_unsent\":2"),
      std::string::npos)
      << testing::ReadFile(dir.File("intake.log"));
}

TEST(BadConfigTest, ServiceWithBadConfigExitsNonZeroWithOneClearLine) {
  testing::TempDir dir;
  testing::Process p(Bin("signpost-intake"),
                     {"--max_message_bytes=lots", "--bogus=1"},
                     dir.File("err.log"));
  EXPECT_EQ(p.Wait(absl::Seconds(10)), 2);
  std::string err = testing::ReadFile(dir.File("err.log"));
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_NE(err.find("configuration error"), std::string::npos);
  EXPECT_NE(err.find("kafka_bootstrap is required"), std::string::npos);
  EXPECT_NE(err.find("event_signing_key is required"), std::string::npos);
  EXPECT_NE(err.find("unknown flag --bogus"), std::string::npos);
  EXPECT_NE(err.find("max_message_bytes='lots' is not an integer"),
            std::string::npos);
}

// Issue 15: --version and --help answer 0; a wrong subcommand says what
// was wrong; a flag and a SIGNPOST_* variable that disagree stop the start
// naming both (an exported SIGNPOST_DB_PATH must not send every service to
// one database).
TEST(BadConfigTest, VersionHelpUnknownCommandAndDisagreeingSettings) {
  testing::TempDir dir;
  for (const char* bin :
       {"signpost-intake", "signpost-devbroker", "signpost-cli"}) {
    testing::Process version(Bin(bin), {"--version"}, dir.File("v.log"));
    EXPECT_EQ(version.Wait(absl::Seconds(10)), 0) << bin;
  }
  testing::Process help(Bin("signpost-cli"), {"--help"}, dir.File("h.log"));
  EXPECT_EQ(help.Wait(absl::Seconds(10)), 0);
  testing::Process bogus(Bin("signpost-cli"), {"bogus"}, dir.File("b.log"));
  EXPECT_EQ(bogus.Wait(absl::Seconds(10)), 2);
  EXPECT_NE(
      testing::ReadFile(dir.File("b.log")).find("unknown command 'bogus'"),
      std::string::npos);
  testing::Process clash(Bin("signpost-triage"),
                         {"--db_path", dir.File("flag.db")}, dir.File("c.log"),
                         {{"SIGNPOST_DB_PATH", dir.File("env.db")}});
  const int code = clash.Wait(absl::Seconds(10));
  EXPECT_EQ(code, 2);
  const std::string err = testing::ReadFile(dir.File("c.log"));
  EXPECT_NE(err.find("SIGNPOST_DB_PATH=" + dir.File("env.db") + " disagree"),
            std::string::npos)
      << err;
}

TEST(BadConfigTest, MissingEventKeysStopTheServiceNamingTheFlag) {
  testing::TempDir dir;
  {
    // Triage consumes, so it needs the producers' public keys.
    testing::Process p(
        Bin("signpost-triage"),
        {"--kafka_bootstrap=127.0.0.1:1", "--db_path", dir.File("t.db"),
         "--policy_file",
         testing::SourcePath("deploy/policy/default.textproto"),
         "--calendar_file",
         testing::SourcePath("deploy/calendar/england-and-wales.txt"),
         "--access_registry", Registry(), "--event_signing_key",
         dir.File("triage.key")},
        dir.File("triage.log"));
    EXPECT_EQ(p.Wait(absl::Seconds(10)), 2);
    const std::string err = testing::ReadFile(dir.File("triage.log"));
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
    EXPECT_NE(err.find("event_keys_dir is required"), std::string::npos) << err;
  }
  {
    testing::Process p(
        Bin("signpost-intake"),
        {"--kafka_bootstrap=127.0.0.1:1", "--db_path", dir.File("i.db"),
         "--access_registry", Registry(), "--event_keys_dir", dir.path(),
         "--kek_file", "unused.keys", "--matching_key_file", "unused.key",
         "--retention_file", "unused.textproto", "--event_signing_key",
         dir.File("no-such.key")},
        dir.File("intake.log"));
    EXPECT_EQ(p.Wait(absl::Seconds(10)), 2);
    const std::string err = testing::ReadFile(dir.File("intake.log"));
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
    EXPECT_NE(err.find("configuration error: event_signing_key: " +
                       dir.File("no-such.key")),
              std::string::npos)
        << err;
  }
}

TEST(BadConfigTest, BadDirectoryFileIsRefusedAtStart) {
  testing::TempDir dir;
  std::string roster = dir.File("directory.textproto");
  FILE* f = std::fopen(roster.c_str(), "w");
  std::fputs("advocates { advocate_id: \"a\" capacity: -3 }\n", f);
  std::fclose(f);
  testing::MakeSigningKeys(dir.path());
  std::vector<std::string> args = {
      "--kafka_bootstrap=127.0.0.1:1",
      "--db_path",
      dir.File("a.db"),
      "--directory_file",
      roster,
      "--calendar_file",
      testing::SourcePath("deploy/calendar/england-and-wales.txt"),
      "--dev_plaintext",
      "--access_registry",
      Registry()};
  for (std::string& flag : KeyFlags(dir.path(), "advocacy")) {
    args.push_back(std::move(flag));
  }
  for (std::string& flag : DataFlags("advocacy")) args.push_back(flag);
  testing::Process p(Bin("signpost-advocacy"), args, dir.File("err.log"));
  EXPECT_EQ(p.Wait(absl::Seconds(10)), 2);
  EXPECT_NE(
      testing::ReadFile(dir.File("err.log")).find("capacity: must be 0-500"),
      std::string::npos);
}

TEST(BadConfigTest, BadPolicyFileStopsTriageNamingTheLine) {
  testing::TempDir dir;
  std::string policy = dir.File("policy.textproto");
  std::string text =
      testing::ReadFile(testing::SourcePath("deploy/policy/default.textproto"));
  const std::string from = "\n  threshold: 14";
  text.replace(text.find(from), from.size(), "\n  threshold: 99");
  FILE* f = std::fopen(policy.c_str(), "w");
  std::fputs(text.c_str(), f);
  std::fclose(f);
  testing::MakeSigningKeys(dir.path());
  std::vector<std::string> args = {
      "--kafka_bootstrap=127.0.0.1:1",
      "--db_path",
      dir.File("t.db"),
      "--policy_file",
      policy,
      "--calendar_file",
      testing::SourcePath("deploy/calendar/england-and-wales.txt"),
      "--dev_plaintext",
      "--access_registry",
      Registry()};
  for (std::string& flag : KeyFlags(dir.path(), "triage")) {
    args.push_back(std::move(flag));
  }
  for (std::string& flag : DataFlags("triage")) args.push_back(flag);
  testing::Process p(Bin("signpost-triage"), args, dir.File("err.log"));
  EXPECT_EQ(p.Wait(absl::Seconds(10)), 2);
  std::string err = testing::ReadFile(dir.File("err.log"));
  EXPECT_NE(err.find("marac.threshold: 99, must be 1-24"), std::string::npos)
      << err;
  EXPECT_NE(err.find("line 13"), std::string::npos) << err;
}

TEST(BadConfigTest, PrintConfigRedactsSecrets) {
  testing::TempDir dir;
  // stdout goes to /dev/null in Process; check the exit code and absence in
  // stderr.
  testing::Process p(
      Bin("signpost-intake"),
      {"--print-config", "--kafka_bootstrap=x:1",
       "--event_signing_key=unused.key", "--event_keys_dir=unused",
       "--kek_file=unused.keys", "--matching_key_file=unused.key",
       "--retention_file=unused.textproto",
       "--access_registry=unused.textproto", "--kafka_sasl_password=s3cret"},
      dir.File("err.log"));
  EXPECT_EQ(p.Wait(absl::Seconds(10)), 0);
  EXPECT_EQ(testing::ReadFile(dir.File("err.log")).find("s3cret"),
            std::string::npos);
}

}  // namespace
}  // namespace signpost

namespace signpost {
namespace {

// Calls `method` (a gRPC path) with an empty request as raw bytes, so that
// every RPC can be called without knowing its types.
grpc::Status CallRaw(const std::shared_ptr<grpc::Channel>& channel,
                     const std::string& method, const std::string& bytes = "") {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  Deadline(&ctx);
  // An empty message is a valid, all-default request.
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status s) { done.set_value(std::move(s)); });
  return done.get_future().get();
}

// Generated from the services' own descriptors and the authorisation table:
// every RPC of every service has a rule, every rule names a real RPC, and
// every registered agency holding none of an RPC's roles is refused with
// AUTHZ-FUNCTION by the real binary, before anything is read or validated.
// A new RPC without a rule fails here. Every RPC also answers bytes that do
// not decode with INVALID_ARGUMENT.
TEST_F(StackTest, EveryRpcHasARuleAndRefusesEveryRoleOutsideIt) {
  // Link the services' descriptors into the generated pool (a static
  // library's object is linked only when something in it is used).
  ASSERT_NE(v1::MarkHeardRequest::descriptor(), nullptr);
  ASSERT_NE(v1::GetFiguresRequest::descriptor(), nullptr);
  ASSERT_NE(v1::ReplayOutboxRequest::descriptor(), nullptr);
  ASSERT_NE(v1::GetTimelineRequest::descriptor(), nullptr);
  // A service name may be served by several binaries (each its own data).
  const std::vector<std::pair<std::string, std::string>> services = {
      {v1::IntakeService::service_full_name(), "intake"},
      {v1::TriageService::service_full_name(), "triage"},
      {v1::MaracService::service_full_name(), "triage"},
      {v1::AdvocacyService::service_full_name(), "advocacy"},
      {v1::OrderService::service_full_name(), "orders"},
      {v1::NotificationService::service_full_name(), "notification"},
      {v1::ReportingService::service_full_name(), "triage"},
      {v1::ReportingService::service_full_name(), "advocacy"},
      {v1::ReportingService::service_full_name(), "orders"},
      {v1::OutboxService::service_full_name(), "intake"},
      {v1::OutboxService::service_full_name(), "triage"},
      {v1::OutboxService::service_full_name(), "advocacy"},
      {v1::OutboxService::service_full_name(), "orders"},
      {v1::OutboxService::service_full_name(), "notification"},
      {v1::AuditService::service_full_name(), "notification"}};
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  std::set<std::string> served;
  int refusals = 0;
  for (const auto& [full_name, svc] : services) {
    WaitServing(svc);
    const google::protobuf::ServiceDescriptor* service =
        pool->FindServiceByName(full_name);
    ASSERT_NE(service, nullptr) << full_name;
    for (int m = 0; m < service->method_count(); ++m) {
      const std::string path =
          absl::StrCat("/", full_name, "/", service->method(m)->name());
      SCOPED_TRACE(path);
      served.insert(path);
      const access::RpcRule* rule = access::FindRule(path);
      ASSERT_NE(rule, nullptr) << "no authorisation rule for " << path;
      EXPECT_FALSE(rule->roles.empty());
      bool garbage_checked = false;
      for (const v1::Agency& agency :
           testing::TestRegistry()->agencies().agencies()) {
        const access::Principal principal(agency);
        bool allowed = false;
        for (v1::Role role : rule->roles) allowed |= principal.Has(role);
        if (allowed && !garbage_checked) {
          // Bytes that are no protobuf message: INVALID_ARGUMENT with a
          // message, not gRPC's bare UNIMPLEMENTED.
          grpc::Status s =
              CallRaw(Dial((*addrs_)[svc], As(agency.agency_id())), path,
                      std::string("\xff\xff\xff\xff\x0f", 5));
          EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
              << agency.agency_id() << ": " << s.error_message();
          EXPECT_NE(s.error_message().find("do not decode as signpost.v1."),
                    std::string::npos)
              << s.error_message();
          garbage_checked = true;
        }
        if (allowed) continue;
        grpc::Status s =
            CallRaw(Dial((*addrs_)[svc], As(agency.agency_id())), path);
        EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED)
            << agency.agency_id() << ": " << s.error_message();
        EXPECT_THAT(testing::RuleIds(s), ElementsAre("AUTHZ-FUNCTION"))
            << agency.agency_id();
        ++refusals;
      }
    }
  }
  // No rule for an RPC that does not exist.
  for (const access::RpcRule& rule : access::AuthorizationTable()) {
    EXPECT_TRUE(served.count(rule.method)) << "stale rule " << rule.method;
  }
  EXPECT_EQ(served.size(), access::AuthorizationTable().size());
  EXPECT_GT(refusals, 100);
}

// Reads of personal data and refusals go on signpost.audit.v1, signed by
// the service, with ids and codes only.
TEST_F(StackTest, PersonalDataReadsAndRefusalsAreAuditedWithoutPersonalData) {
  WaitServing("intake");
  v1::SubmitReferralRequest t1 =
      testing::LoadExample("t01_strangulation_punjabi");
  t1.set_idempotency_key("e2e-audit");
  const std::string id = Submit(t1);
  v1::GetReferralRequest get;
  get.set_referral_id(id);
  {
    auto own =
        Connect<v1::IntakeService>((*addrs_)["intake"], As("police-wmp"));
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::GetReferralResponse whole;
    ASSERT_TRUE(own->GetReferral(&ctx, get, &whole).ok());
    EXPECT_EQ(whole.disclosed(), v1::FIELD_CLASS_PERSONAL);
    EXPECT_EQ(whole.referral().personal().full_name(),
              t1.referral().personal().full_name());
  }
  {
    // Another referrer: refused; an id that does not exist: NOT_FOUND.
    auto other =
        Connect<v1::IntakeService>((*addrs_)["intake"], As("nhs-lth-ae"));
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::GetReferralResponse none;
    grpc::Status s = other->GetReferral(&ctx, get, &none);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_THAT(testing::RuleIds(s), ElementsAre("AUTHZ-OWN-REFERRAL"));
    v1::GetReferralRequest unknown;
    unknown.set_referral_id(NewUuid());
    grpc::ClientContext ctx2;
    Deadline(&ctx2);
    grpc::Status s2 = other->GetReferral(&ctx2, unknown, &none);
    EXPECT_EQ(s2.error_code(), grpc::StatusCode::NOT_FOUND);
  }
  {
    // The operator sees ids and codes; with a reason, everything (audited).
    auto op = Connect<v1::IntakeService>((*addrs_)["intake"]);
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::GetReferralResponse codes;
    ASSERT_TRUE(op->GetReferral(&ctx, get, &codes).ok());
    EXPECT_EQ(codes.disclosed(), v1::FIELD_CLASS_IDS_AND_CODES);
    EXPECT_FALSE(codes.referral().has_personal());
    get.set_break_glass_reason("victim unreachable, safeguarding check");
    grpc::ClientContext ctx2;
    Deadline(&ctx2);
    v1::GetReferralResponse whole;
    ASSERT_TRUE(op->GetReferral(&ctx2, get, &whole).ok());
    EXPECT_EQ(whole.disclosed(), v1::FIELD_CLASS_PERSONAL);
  }
  // The three audit events of this referral arrive on the audit topic.
  std::vector<v1::AccessAudited> seen;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (seen.size() < 3 && absl::Now() < deadline) {
    seen.clear();
    for (const auto& r :
         testing::ReadTopicToEnd(*bootstrap_, events::kAuditTopic)) {
      for (const std::string& secret :
           {t1.referral().personal().full_name(),
            t1.referral().personal().phone(),
            t1.referral().personal().address(),
            t1.referral().personal().date_of_birth(),
            std::string("safeguarding check")}) {
        if (secret.empty()) continue;
        ASSERT_EQ(r.payload.find(secret), std::string::npos) << secret;
      }
      auto env = events::DecodeEnvelope(r);
      ASSERT_TRUE(env.ok()) << env.status();
      if (env->has_access_audited() &&
          env->access_audited().object_id() == id) {
        seen.push_back(env->access_audited());
      }
    }
    if (seen.size() < 3) absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_EQ(seen.size(), 3u);
  std::map<std::string, v1::AccessAudited> by_agency;
  for (const auto& a : seen) by_agency[a.agency_id()] = a;
  EXPECT_EQ(by_agency["police-wmp"].field_class(), v1::FIELD_CLASS_PERSONAL);
  EXPECT_EQ(by_agency["police-wmp"].decision(), v1::ACCESS_DECISION_ALLOWED);
  EXPECT_EQ(by_agency["nhs-lth-ae"].decision(), v1::ACCESS_DECISION_REFUSED);
  EXPECT_EQ(by_agency["nhs-lth-ae"].rule_id(), "AUTHZ-OWN-REFERRAL");
  EXPECT_EQ(by_agency["signpost-operator"].decision(),
            v1::ACCESS_DECISION_BREAK_GLASS);
  EXPECT_FALSE(by_agency["signpost-operator"].break_glass_id().empty());
}

// --- Issue 15: metrics -------------------------------------------------------

// GET over plain HTTP; "" when it fails.
std::string HttpGet(const std::string& url) {
  CURL* curl = curl_easy_init();
  std::string body;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION,
      +[](char* data, size_t size, size_t n, void* out) -> size_t {
        static_cast<std::string*>(out)->append(data, size * n);
        return size * n;
      });
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
  const CURLcode rc = curl_easy_perform(curl);
  curl_easy_cleanup(curl);
  return rc == CURLE_OK ? body : "";
}

// Every service serves /metrics on its own port: build info, RPCs by
// method and code, the outbox backlog, consumer lag and dead letters, and
// its own figures (waitlist, deadlines missed, timers, deliveries), with
// codes only: nothing of the victim a referral names.
TEST_F(StackTest, EveryServiceServesItsMetricsWithCodesOnly) {
  for (const char* svc :
       {"intake", "triage", "advocacy", "orders", "notification"}) {
    WaitServing(svc);
  }
  v1::SubmitReferralRequest t1 =
      testing::LoadExample("t01_strangulation_punjabi");
  t1.set_idempotency_key("e2e-metrics");
  WaitRouted(Submit(t1));
  const std::map<std::string, std::vector<std::string>> own = {
      {"intake", {}},
      {"triage", {}},
      {"advocacy",
       {"# TYPE signpost_waitlist_depth gauge",
        "# TYPE signpost_deadlines_missed_total counter",
        "signpost_deadlines_missed_total{kind=\"FIRST_CONTACT\"}"}},
      {"orders",
       {"signpost_timers{state=\"due\"}",
        "# TYPE signpost_timers_fired_total counter"}},
      {"notification",
       {"signpost_deliveries{status=\"DELIVERY_STATUS_DELIVERED\",transport="
        "\"TRANSPORT_KAFKA\"}"}}};
  for (const auto& [svc, series] : own) {
    SCOPED_TRACE(svc);
    const std::string port = testing::WaitForLogValue(
        dir_->File(svc + ".log"), "\"metrics_port\":", absl::Seconds(5));
    ASSERT_FALSE(port.empty() || port == "0");
    std::vector<std::string> wanted = {
        absl::StrCat("signpost_build_info{service=\"", svc, "\""),
        "# TYPE signpost_rpc_total counter",
        "signpost_rpc_duration_seconds_bucket{",
        "signpost_outbox_backlog ",
        "signpost_outbox_oldest_age_seconds ",
        "# TYPE signpost_consumer_lag gauge",
        "signpost_consumer_lag{partition=",
        "signpost_dead_lettered_total ",
        "signpost_consumed_total "};
    wanted.insert(wanted.end(), series.begin(), series.end());
    // Lag is known once each partition has been fetched: ask until then.
    std::string body;
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (true) {
      body = HttpGet(absl::StrCat("http://127.0.0.1:", port, "/metrics"));
      bool all = !body.empty();
      for (const std::string& want : wanted) {
        all &= body.find(want) != std::string::npos;
      }
      if (all || absl::Now() > deadline) break;
      absl::SleepFor(absl::Milliseconds(250));
    }
    ASSERT_FALSE(body.empty());
    for (const std::string& want : wanted) {
      EXPECT_NE(body.find(want), std::string::npos) << want;
    }
    for (const std::string& secret :
         {t1.referral().personal().full_name(),
          t1.referral().personal().phone(), t1.referral().personal().address(),
          t1.referral().personal().date_of_birth()}) {
      if (!secret.empty()) {
        EXPECT_EQ(body.find(secret), std::string::npos);
      }
    }
  }
  // intake answered SubmitReferral: counted by method and code.
  const std::string intake = HttpGet(absl::StrCat(
      "http://127.0.0.1:",
      testing::WaitForLogValue(dir_->File("intake.log"),
                               "\"metrics_port\":", absl::Seconds(5)),
      "/metrics"));
  EXPECT_NE(intake.find("signpost_rpc_total{code=\"OK\",method=\"/"
                        "signpost.v1.IntakeService/SubmitReferral\"}"),
            std::string::npos);
}

// --- Issue 14: the timeline, subject access and the auditor ----------------

// T1's timeline, read from the log by an auditor: every service's events in
// causal order, the decision's rules and policy version, the deliveries
// with agency, transport and basis, and the access audit. ListAccess shows
// an operator's break-glass read of T1's person and nothing of it for
// another person, and is itself audited. The auditor's certificate is
// refused every RPC that writes.
TEST_F(StackTest, AnAuditorReadsT1sTimelineAndWhoSawThePersonButWritesNothing) {
  for (const char* svc :
       {"intake", "triage", "advocacy", "orders", "notification"}) {
    WaitServing(svc);
  }
  v1::SubmitReferralRequest t1 =
      testing::LoadExample("t01_strangulation_punjabi");
  t1.set_idempotency_key("e2e-timeline");
  const std::string id = Submit(t1);
  const Outcome routed = WaitRouted(id);
  const std::string person = routed.decision.person_id();
  ASSERT_FALSE(person.empty());
  {
    auto op = Connect<v1::IntakeService>((*addrs_)["intake"]);
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::GetReferralRequest get;
    get.set_referral_id(id);
    get.set_break_glass_reason("victim unreachable, safeguarding check");
    v1::GetReferralResponse whole;
    ASSERT_TRUE(op->GetReferral(&ctx, get, &whole).ok());
  }
  auto auditor = Connect<v1::AuditService>((*addrs_)["notification"],
                                           As("signpost-auditor"));
  // The relays publish within moments; ask until the break-glass read and
  // a delivery are in the log.
  v1::GetTimelineResponse timeline;
  std::set<std::string> producers;
  bool break_glass = false, delivered = false;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline) {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::GetTimelineRequest req;
    req.set_referral_id(id);
    grpc::Status s = auditor->GetTimeline(&ctx, req, &timeline);
    ASSERT_TRUE(s.ok()) << s.error_message();
    producers.clear();
    break_glass = delivered = false;
    for (const v1::TimelineEntry& e : timeline.entries()) {
      producers.insert(e.producer());
      break_glass |= e.decision() == v1::ACCESS_DECISION_BREAK_GLASS;
      delivered |= e.delivery_status() == v1::DELIVERY_STATUS_DELIVERED;
    }
    if (producers.size() == 5 && break_glass && delivered) break;
    absl::SleepFor(absl::Milliseconds(300));
  }
  EXPECT_THAT(producers, UnorderedElementsAre("intake", "triage", "advocacy",
                                              "orders", "notification"));
  EXPECT_TRUE(break_glass);
  // (timeline.unverified() counts the whole log's forgeries: other tests
  // forge records on purpose.)
  ASSERT_GT(timeline.entries_size(), 5);
  // Causal order: every event after its cause; the referral first.
  std::map<std::string, int> at;
  for (int i = 0; i < timeline.entries_size(); ++i) {
    const v1::TimelineEntry& e = timeline.entries(i);
    EXPECT_EQ(at.count(e.event_id()), 0u) << "listed twice: " << e.type();
    at[e.event_id()] = i;
    if (auto cause = at.find(e.causation_id());
        !e.causation_id().empty() && cause == at.end()) {
      // Its cause is not of this referral, or not in the timeline at all:
      // then no later entry may be it.
      for (int j = i + 1; j < timeline.entries_size(); ++j) {
        EXPECT_NE(timeline.entries(j).event_id(), e.causation_id())
            << e.type() << " listed before its cause";
      }
    }
  }
  EXPECT_EQ(timeline.entries(0).type(), "signpost.v1.ReferralReceived");
  bool decision_found = false, marac_told = false;
  std::set<int> marac_sets;
  for (const v1::TimelineEntry& e : timeline.entries()) {
    if (e.type() == "signpost.v1.ReferralTriaged") {
      decision_found = true;
      EXPECT_FALSE(e.rule_ids().empty());
      EXPECT_FALSE(e.policy_version().empty());
      EXPECT_EQ(e.depth(), 1);
    }
    if (e.type() == "signpost.v1.DeliveryRecorded" &&
        e.agency_id() == "marac-coordinator-wmp" &&
        e.delivery_status() == v1::DELIVERY_STATUS_DELIVERED) {
      marac_told = true;
      EXPECT_NE(e.transport(), v1::TRANSPORT_UNSPECIFIED);
      EXPECT_FALSE(e.legal_basis().empty());
      marac_sets.insert(e.field_set());
    }
    // Ids and codes only.
    for (const std::string& secret : {t1.referral().personal().full_name(),
                                      t1.referral().personal().phone(),
                                      t1.referral().personal().address()}) {
      if (!secret.empty()) {
        EXPECT_EQ(e.summary().find(secret), std::string::npos);
      }
    }
  }
  EXPECT_TRUE(decision_found);
  EXPECT_TRUE(marac_told);
  // The coordinator is told the MARAC field set (and, as the MARAC
  // service's provider, its case).
  EXPECT_TRUE(marac_sets.count(v1::FIELD_SET_MARAC));

  // Subject access: the break-glass read and the shares, for T1's person.
  v1::ListAccessRequest who;
  who.set_person_id(person);
  *who.mutable_from() = timeutil::ToTimestamp(absl::Now() - absl::Hours(1));
  *who.mutable_to() = timeutil::ToTimestamp(absl::Now() + absl::Hours(1));
  v1::ListAccessResponse seen;
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    grpc::Status s = auditor->ListAccess(&ctx, who, &seen);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  EXPECT_THAT(seen.referral_ids(), Contains(id));
  bool operator_read = false, marac_received = false;
  for (const v1::AccessEntry& a : seen.entries()) {
    // (T1's person may have other referrals from other tests: the same
    // person, matched at intake.)
    if (a.agency_id() == "signpost-operator" &&
        a.kind() == v1::ACCESS_KIND_BREAK_GLASS && a.referral_id() == id) {
      operator_read = true;
      EXPECT_EQ(a.field_class(), v1::FIELD_CLASS_PERSONAL);
      EXPECT_EQ(a.basis(), "AUTHZ-BREAK-GLASS");
    }
    marac_received |= a.agency_id() == "marac-coordinator-wmp" &&
                      a.kind() == v1::ACCESS_KIND_RECEIVED;
  }
  EXPECT_TRUE(operator_read);
  EXPECT_TRUE(marac_received);
  v1::ListAccessRequest other = who;
  other.set_person_id(NewUuid());
  v1::ListAccessResponse none;
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    ASSERT_TRUE(auditor->ListAccess(&ctx, other, &none).ok());
  }
  EXPECT_EQ(none.entries_size(), 0);
  EXPECT_EQ(none.referral_ids_size(), 0);
  {
    // Another real person (T8's): nothing of T1's referral.
    v1::SubmitReferralRequest t8 =
        testing::LoadExample("t08_burglary_self_referral");
    t8.set_idempotency_key("e2e-timeline-t8");
    const Outcome o8 = WaitRouted(Submit(t8));
    ASSERT_FALSE(o8.decision.person_id().empty());
    ASSERT_NE(o8.decision.person_id(), person);
    v1::ListAccessRequest theirs = who;
    theirs.set_person_id(o8.decision.person_id());
    v1::ListAccessResponse seen8;
    grpc::ClientContext ctx;
    Deadline(&ctx);
    ASSERT_TRUE(auditor->ListAccess(&ctx, theirs, &seen8).ok());
    EXPECT_THAT(seen8.referral_ids(), Not(Contains(id)));
    EXPECT_FALSE(seen8.referral_ids().empty());
    for (const v1::AccessEntry& a : seen8.entries()) {
      EXPECT_NE(a.referral_id(), id);
      EXPECT_NE(a.object_id(), id);
    }
  }
  {
    // A bad request names its fields.
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::ListAccessRequest bad;
    bad.set_person_id("nobody");
    grpc::Status s = auditor->ListAccess(&ctx, bad, &none);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("person_id"));
  }

  // The question itself is on the audit topic, by the auditor.
  bool asked = false;
  const absl::Time audit_deadline = absl::Now() + absl::Seconds(30);
  while (!asked && absl::Now() < audit_deadline) {
    for (const auto& r :
         testing::ReadTopicToEnd(*bootstrap_, events::kAuditTopic)) {
      auto env = events::DecodeEnvelope(r);
      if (env.ok() && env->has_access_audited() &&
          env->access_audited().object_id() == person &&
          env->access_audited().agency_id() == "signpost-auditor" &&
          absl::EndsWith(env->access_audited().rpc(), "/ListAccess")) {
        asked = true;
      }
    }
    if (!asked) absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_TRUE(asked);

  // Every RPC that is not a read refuses the auditor's certificate.
  const std::map<std::string, std::string> host_of = {
      {"IntakeService", "intake"},     {"TriageService", "triage"},
      {"MaracService", "triage"},      {"AdvocacyService", "advocacy"},
      {"OrderService", "orders"},      {"NotificationService", "notification"},
      {"ReportingService", "triage"},  {"OutboxService", "intake"},
      {"AuditService", "notification"}};
  int writes = 0;
  for (const access::RpcRule& rule : access::AuthorizationTable()) {
    const std::vector<std::string> parts = absl::StrSplit(rule.method, '/');
    ASSERT_EQ(parts.size(), 3u) << rule.method;
    const std::string service(absl::StripPrefix(parts[1], "signpost.v1."));
    const std::string& method = parts[2];
    if (absl::StartsWith(method, "Get") || absl::StartsWith(method, "List") ||
        method == "Subscribe") {
      continue;
    }
    ASSERT_TRUE(host_of.count(service)) << service;
    grpc::Status s =
        CallRaw(Dial((*addrs_)[host_of.at(service)], As("signpost-auditor")),
                rule.method);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << rule.method;
    ++writes;
  }
  EXPECT_GT(writes, 20);
}

// --- Issue 10: a referral that changes after submission ---------------------

bool HasRole(const std::vector<v1::Assignment>& assignments, v1::Pathway p,
             v1::AssignmentState state) {
  for (const v1::Assignment& a : assignments) {
    if (a.pathway() == p && a.state() == state) return true;
  }
  return false;
}

TEST_F(StackTest, ConsentGivenLaterAssignsAndWithdrawnReleasesKeepingMarac) {
  WaitServing("advocacy");
  v1::SubmitReferralRequest t9 =
      testing::LoadExample("t09_high_risk_consent_refused");
  t9.set_idempotency_key("e2e-consent-later");
  t9.mutable_referral()->mutable_personal()->set_full_name("Consent Later Q");
  const std::string id = Submit(t9);
  Outcome o = WaitRouted(id);
  EXPECT_EQ(o.decision.status(), v1::REFERRAL_STATUS_CONSENT_REQUIRED);
  // No advocate without consent; MARAC goes ahead on its legal basis.
  EXPECT_TRUE(Advocates(o.assignments.assignments()).empty());
  EXPECT_THAT(Services(o.assignments),
              UnorderedElementsAre(Pair(v1::SERVICE_KIND_MARAC, "marac-wmp")));

  v1::UpdateConsentRequest give;
  give.set_referral_id(id);
  give.set_status(v1::CONSENT_STATUS_GIVEN);
  v1::UpdateConsentResponse given;
  // Only its referrer (or a provider holding it) may.
  EXPECT_EQ(CallIntake("nhs-lth-ae", &v1::IntakeService::Stub::UpdateConsent,
                       give, &given)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(CallIntake("police-wmp", &v1::IntakeService::Stub::UpdateConsent,
                         give, &given)
                  .ok());
  EXPECT_EQ(given.lifecycle(), v1::REFERRAL_LIFECYCLE_ACTIVE);
  ASSERT_TRUE(Eventually([&] {
    auto d = Decision(id);
    return d && d->status() == v1::REFERRAL_STATUS_ROUTED &&
           !Advocates(Assignments(id)).empty();
  })) << "consent given later never led to an assignment";

  v1::UpdateConsentRequest withdraw = give;
  withdraw.set_status(v1::CONSENT_STATUS_WITHDRAWN);
  v1::UpdateConsentResponse withdrawn;
  ASSERT_TRUE(CallIntake("police-wmp", &v1::IntakeService::Stub::UpdateConsent,
                         withdraw, &withdrawn)
                  .ok());
  EXPECT_EQ(withdrawn.lifecycle(), v1::REFERRAL_LIFECYCLE_WITHDRAWN);
  ASSERT_TRUE(Eventually([&] {
    std::vector<v1::Assignment> all = Advocates(Assignments(id));
    if (all.empty()) return false;
    for (const v1::Assignment& a : all) {
      if (a.state() != v1::ASSIGNMENT_STATE_RELEASED) return false;
    }
    return true;
  })) << "withdrawal did not release the assignments";
  // The MARAC referral rests on its legal basis: it is not released.
  for (const v1::Assignment& a : Assignments(id)) {
    if (a.service() == v1::SERVICE_KIND_MARAC) {
      EXPECT_EQ(a.state(), v1::ASSIGNMENT_STATE_OFFERED);
    }
  }
  std::optional<v1::ReferralTriaged> last = Decision(id);
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->status(), v1::REFERRAL_STATUS_WITHDRAWN);
  // MARAC rests on a legal basis, not consent: it continues, recorded.
  EXPECT_TRUE(last->marac());
  EXPECT_FALSE(last->legal_basis().empty());
  // Final: consent cannot be given again on this referral.
  grpc::Status again = CallIntake(
      "police-wmp", &v1::IntakeService::Stub::UpdateConsent, give, &given);
  EXPECT_EQ(again.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(testing::RuleIds(again), ElementsAre("REFERRAL-LIFECYCLE"));
}

TEST_F(StackTest, CancellationReleasesTheAssignmentsAndRejectsBadReasons) {
  WaitServing("advocacy");
  v1::SubmitReferralRequest t2 = testing::LoadExample("t02_standard_da");
  t2.set_idempotency_key("e2e-cancel");
  t2.mutable_referral()->mutable_personal()->set_full_name("Cancelled Case Q");
  const std::string id = Submit(t2);
  Outcome o = WaitRouted(id);
  ASSERT_GT(o.assignments.assignments_size(), 0);
  v1::CancelReferralRequest cancel;
  cancel.set_referral_id(id);
  v1::CancelReferralResponse resp;
  grpc::Status bad = CallIntake(
      "police-wmp", &v1::IntakeService::Stub::CancelReferral, cancel, &resp);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(testing::BadFields(bad), ElementsAre("reason"));
  cancel.set_reason(v1::WITHDRAWAL_REASON_DUPLICATE);
  cancel.set_referral_id(NewUuid());
  EXPECT_EQ(CallIntake("police-wmp", &v1::IntakeService::Stub::CancelReferral,
                       cancel, &resp)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  cancel.set_referral_id(id);
  ASSERT_TRUE(CallIntake("police-wmp", &v1::IntakeService::Stub::CancelReferral,
                         cancel, &resp)
                  .ok());
  EXPECT_EQ(resp.lifecycle(), v1::REFERRAL_LIFECYCLE_CANCELLED);
  EXPECT_TRUE(Eventually([&] {
    std::vector<v1::Assignment> all = Assignments(id);
    if (all.empty()) return false;  // not an answer
    for (const v1::Assignment& a : all) {
      if (a.state() != v1::ASSIGNMENT_STATE_RELEASED) return false;
    }
    return true;
  })) << "cancellation did not release the assignments";
}

TEST_F(StackTest, RjFacilitatorOnlyWithBothConsentsAndReleasedOnWithdrawal) {
  WaitServing("advocacy");
  v1::SubmitReferralRequest t10 = testing::LoadExample("t10_bereaved_rj");
  t10.set_idempotency_key("e2e-rj-consent");
  t10.mutable_referral()->mutable_personal()->set_full_name("Rj Consent Q");
  const std::string id = Submit(t10);
  Outcome o = WaitRouted(id);
  // The offender's consent is awaited: no facilitator.
  EXPECT_FALSE(HasRole(
      {o.assignments.assignments().begin(), o.assignments.assignments().end()},
      v1::PATHWAY_RESTORATIVE_JUSTICE, v1::ASSIGNMENT_STATE_OFFERED));
  EXPECT_TRUE(o.decision.rj_awaiting_consent());
  v1::RecordRjConsentRequest rj;
  rj.set_referral_id(id);
  rj.set_party(v1::RJ_PARTY_OFFENDER);
  rj.set_status(v1::CONSENT_STATUS_GIVEN);
  v1::RecordRjConsentResponse resp;
  ASSERT_TRUE(CallIntake("police-wmp",
                         &v1::IntakeService::Stub::RecordRjConsent, rj, &resp)
                  .ok());
  EXPECT_EQ(resp.consent().rj_offender_consent(), v1::CONSENT_STATUS_GIVEN);
  ASSERT_TRUE(Eventually([&] {
    for (const v1::Assignment& a : Assignments(id)) {
      if (a.pathway() == v1::PATHWAY_RESTORATIVE_JUSTICE &&
          a.state() != v1::ASSIGNMENT_STATE_RELEASED) {
        return true;
      }
    }
    return false;
  })) << "both consents given, but no RJ facilitator";
  rj.set_party(v1::RJ_PARTY_VICTIM);
  rj.set_status(v1::CONSENT_STATUS_WITHDRAWN);
  ASSERT_TRUE(CallIntake("police-wmp",
                         &v1::IntakeService::Stub::RecordRjConsent, rj, &resp)
                  .ok());
  EXPECT_TRUE(Eventually([&] {
    return HasRole(Assignments(id), v1::PATHWAY_RESTORATIVE_JUSTICE,
                   v1::ASSIGNMENT_STATE_RELEASED);
  })) << "RJ consent withdrawn, but the facilitator was not released";
}

TEST_F(StackTest,
       PoliceThenAeForOnePersonAndIncidentGetOneDecisionAndAdvocate) {
  WaitServing("notification");
  v1::SubmitReferralRequest police =
      testing::LoadExample("t01_strangulation_punjabi");
  police.set_idempotency_key("e2e-link-police");
  v1::Referral& p = *police.mutable_referral();
  p.mutable_personal()->set_full_name("Linked Person Quillon");
  p.mutable_personal()->set_date_of_birth("1991-12-01");
  p.mutable_reporting()->set_crime_reference("22/55501/24");
  const std::string first = Submit(police);
  Outcome o = WaitRouted(first);
  const int assignments = o.assignments.assignments_size();
  ASSERT_GT(assignments, 0);

  v1::SubmitReferralRequest ae = police;
  ae.set_idempotency_key("e2e-link-ae");
  ae.mutable_referral()->set_referrer_org("nhs-lth-ae");
  ae.mutable_referral()->set_source(v1::REFERRAL_SOURCE_HEALTH_AE);
  ae.mutable_referral()->mutable_personal()->set_full_name(
      "linked person  QUILLON");
  v1::SubmitReferralResponse linked;
  ASSERT_TRUE(CallIntake("nhs-lth-ae", &v1::IntakeService::Stub::SubmitReferral,
                         ae, &linked)
                  .ok());
  EXPECT_EQ(linked.linked_to_referral_id(), first);
  // The link reaches the A&E team; nothing of it is triaged twice.
  auto notification = Connect<v1::NotificationService>(
      (*addrs_)["notification"], As("nhs-lth-ae"));
  EXPECT_TRUE(Eventually([&] {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::ListDeliveriesRequest req;
    req.set_referral_id(first);
    v1::ListDeliveriesResponse resp;
    if (!notification->ListDeliveries(&ctx, req, &resp).ok()) return false;
    for (const v1::Delivery& d : resp.deliveries()) {
      if (d.event_type() == "signpost.v1.ReferralLinked") return true;
    }
    return false;
  })) << "the second referrer was not recorded as told";
  EXPECT_FALSE(Decision(linked.referral_id()).has_value());
  EXPECT_EQ(static_cast<int>(Assignments(first).size()), assignments);
  std::optional<v1::ReferralTriaged> d = Decision(first);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->version(), o.decision.version());
  // A&E reads its own referral, marked linked.
  v1::GetReferralRequest get;
  get.set_referral_id(linked.referral_id());
  v1::GetReferralResponse got;
  ASSERT_TRUE(
      CallIntake("nhs-lth-ae", &v1::IntakeService::Stub::GetReferral, get, &got)
          .ok());
  EXPECT_EQ(got.lifecycle(), v1::REFERRAL_LIFECYCLE_LINKED);
  EXPECT_EQ(got.linked_to_referral_id(), first);
}

TEST_F(StackTest, TwoIncidentsOfOnePersonFromTwoReferrersGiveMaracRepeat) {
  WaitServing("triage");
  v1::SubmitReferralRequest police =
      testing::LoadExample("t01_strangulation_punjabi");
  police.set_idempotency_key("e2e-repeat-police");
  v1::Referral& p = *police.mutable_referral();
  p.mutable_personal()->set_full_name("Repeat Person Ostrava");
  p.mutable_personal()->set_date_of_birth("1983-02-14");
  p.mutable_reporting()->set_crime_reference("22/66601/24");
  const std::string first = Submit(police);
  Outcome o = WaitRouted(first);
  ASSERT_TRUE(o.decision.marac());
  // A new incident a month later, through A&E.
  v1::SubmitReferralRequest ae = police;
  ae.set_idempotency_key("e2e-repeat-ae");
  v1::Referral& a = *ae.mutable_referral();
  a.set_referrer_org("nhs-lth-ae");
  a.set_source(v1::REFERRAL_SOURCE_HEALTH_AE);
  a.mutable_victim()->set_victim_ref("AE-OWN-REF-1");
  a.mutable_reporting()->set_crime_reference("22/66999/24");
  const int64_t month = 30 * 86400;
  a.mutable_reporting()->mutable_report_time()->set_seconds(
      p.reporting().report_time().seconds() + month);
  if (a.reporting().has_offence_time()) {
    a.mutable_reporting()->mutable_offence_time()->set_seconds(
        p.reporting().offence_time().seconds() + month);
  }
  a.mutable_assessment()->clear_dash_answers();  // not visibly high itself
  a.mutable_assessment()->clear_pj_flags();
  v1::SubmitReferralResponse second;
  ASSERT_TRUE(CallIntake("nhs-lth-ae", &v1::IntakeService::Stub::SubmitReferral,
                         ae, &second)
                  .ok());
  EXPECT_TRUE(second.linked_to_referral_id().empty());
  Outcome o2 = WaitRouted(second.referral_id());
  std::vector<std::string> rules;
  for (const auto& r : o2.decision.reasons()) rules.push_back(r.rule_id());
  EXPECT_THAT(rules, ::testing::Contains("MARAC-REPEAT"));
  EXPECT_TRUE(o2.decision.marac());
  // Both decisions carry the same pseudonym, never the referrers' own
  // references.
  EXPECT_EQ(o2.decision.person_id(), o.decision.person_id());
  EXPECT_TRUE(IsUuid(o.decision.person_id()));
}

// Personal data is in no store and on no topic in plain text, before or
// after erasure; after EraseVictim nothing of the person can be read.
TEST_F(StackTest, ErasureLeavesNothingOfThePersonInAnyStoreOrTopic) {
  WaitServing("notification");
  v1::SubmitReferralRequest req =
      testing::LoadExample("t01_strangulation_punjabi");
  req.set_idempotency_key("e2e-erasure");
  v1::VictimPersonalData* pd = req.mutable_referral()->mutable_personal();
  pd->set_full_name("Xantippa Gruelwood-Marchetti");
  pd->set_phone("+44 7700 900555");
  pd->set_date_of_birth("1984-10-27");
  pd->set_address("9 Vellichor Mews, Quiddling");
  pd->set_email("xantippa.gm@example.net");
  pd->set_narrative("erasure narrative marker QVX-9182");
  req.mutable_referral()->mutable_safe_contact()->set_safe_times(
      "erasure safe-times marker JKP-441");
  const std::string id = Submit(req);
  WaitRouted(id);
  // Free text in triage: a practitioner's override reason.
  {
    auto triage =
        Connect<v1::TriageService>((*addrs_)["triage"], As("police-wmp"));
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::OverrideRiskRequest o;
    o.set_referral_id(id);
    o.set_risk(v1::RISK_LEVEL_HIGH);
    o.set_practitioner_id("pc-1234");
    o.set_reason("override reason marker HBW-733");
    v1::OverrideRiskResponse v;
    grpc::Status s = triage->OverrideRisk(&ctx, o, &v);
    EXPECT_TRUE(s.ok() ||
                s.error_code() == grpc::StatusCode::FAILED_PRECONDITION)
        << s.error_message();
  }
  const std::vector<std::string> markers = {
      "Xantippa",    "Gruelwood", "7700 900555", "1984-10-27", "Vellichor",
      "xantippa.gm", "QVX-9182",  "JKP-441",     "HBW-733"};
  auto scan = [&](const std::string& when) {
    for (const std::string svc :
         {"intake", "triage", "advocacy", "orders", "notification"}) {
      for (const char* suffix : {"", "-wal", "-shm"}) {
        const std::string path = dir_->File(svc + ".db") + suffix;
        if (::access(path.c_str(), R_OK) != 0) continue;
        const std::string bytes = testing::ReadFile(path);
        for (const std::string& m : markers) {
          EXPECT_EQ(bytes.find(m), std::string::npos)
              << when << ": " << m << " in " << path;
        }
      }
    }
    for (const char* topic :
         {events::kIntakeTopic, events::kTriageTopic, events::kAdvocacyTopic,
          events::kOrdersTopic, events::kNotificationTopic, events::kAuditTopic,
          events::kDeadLetterTopic}) {
      for (const auto& r : testing::ReadTopicToEnd(*bootstrap_, topic)) {
        for (const std::string& m : markers) {
          EXPECT_EQ(r.payload.find(m), std::string::npos)
              << when << ": " << m << " on " << topic;
        }
      }
    }
  };
  scan("before erasure");

  v1::EraseVictimRequest erase;
  erase.set_referral_id(id);
  erase.set_ground(v1::ERASURE_GROUND_RIGHT_TO_ERASURE);
  erase.set_reason("short");
  v1::EraseVictimResponse erased;
  // Operators only, with a stated reason.
  EXPECT_EQ(CallIntake("police-wmp", &v1::IntakeService::Stub::EraseVictim,
                       erase, &erased)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  grpc::Status bad =
      CallIntake("signpost-operator", &v1::IntakeService::Stub::EraseVictim,
                 erase, &erased);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(testing::BadFields(bad), ElementsAre("reason"));
  erase.set_reason("the person asked; no exemption applies");
  ASSERT_TRUE(CallIntake("signpost-operator",
                         &v1::IntakeService::Stub::EraseVictim, erase, &erased)
                  .ok());
  EXPECT_GE(erased.referrals_erased(), 1);
  // Each service has processed VictimErased: its assignments released.
  EXPECT_TRUE(Eventually([&] {
    for (const v1::Assignment& a : Assignments(id)) {
      if (a.state() != v1::ASSIGNMENT_STATE_RELEASED &&
          a.state() != v1::ASSIGNMENT_STATE_CLOSED) {
        return false;
      }
    }
    auto d = Decision(id);
    return d && d->status() == v1::REFERRAL_STATUS_WITHDRAWN;
  })) << "erasure did not stop the referral";
  v1::GetReferralRequest get;
  get.set_referral_id(id);
  v1::GetReferralResponse got;
  ASSERT_TRUE(
      CallIntake("police-wmp", &v1::IntakeService::Stub::GetReferral, get, &got)
          .ok());
  EXPECT_EQ(got.lifecycle(), v1::REFERRAL_LIFECYCLE_ERASED);
  EXPECT_TRUE(got.has_erased_at());
  EXPECT_FALSE(got.referral().has_personal());
  scan("after erasure");
}

}  // namespace
}  // namespace signpost

namespace signpost {
namespace {

// Issue 11: partner delivery with the real binaries.

// The published field set of `set` (tests/support/partner_field_sets.h).
const std::set<std::string>& PublishedFields(v1::FieldSet set) {
  static const auto* none = new std::set<std::string>();
  auto it = testing::PublishedFieldSets().find(set);
  return it == testing::PublishedFieldSets().end() ? *none : it->second;
}

// The fields of `event` outside its header and its field set.
std::vector<std::string> FieldsOutsideItsSet(const v1::PartnerEvent& event) {
  static const std::set<std::string> header = {
      "id",        "agency_id", "referral_id",
      "type",      "time",      "legal_basis",
      "field_set", "sequence",  "linked_referral_id"};
  std::vector<const google::protobuf::FieldDescriptor*> present;
  event.GetReflection()->ListFields(event, &present);
  std::vector<std::string> out;
  for (const auto* f : present) {
    if (header.count(f->name()) == 0 &&
        PublishedFields(event.field_set()).count(f->name()) == 0) {
      out.push_back(f->name());
    }
  }
  return out;
}

// Reads `agency`'s Subscribe stream at `address` after `after` until
// `enough` holds for what arrived, or `timeout` passes.
std::vector<v1::PartnerEvent> ReadFeed(
    const std::string& address,
    const std::shared_ptr<grpc::ChannelCredentials>& credentials, int64_t after,
    const std::function<bool(const std::vector<v1::PartnerEvent>&)>& enough,
    absl::Duration timeout = absl::Seconds(20)) {
  auto stub = v1::NotificationService::NewStub(
      grpc::CreateChannel(address, credentials));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  v1::SubscribeRequest request;
  request.set_after_sequence(after);
  auto reader = stub->Subscribe(&context, request);
  std::vector<v1::PartnerEvent> out;
  v1::SubscribeResponse response;
  while (!enough(out) && reader->Read(&response)) {
    out.push_back(response.event());
  }
  context.TryCancel();
  reader->Finish();
  return out;
}

TEST_F(StackTest, EachPartnerReceivesOnlyItsProjectionItsAreaAndItsReferrals) {
  WaitServing("notification");
  const char* examples[] = {"t01_strangulation_punjabi",
                            "t02_standard_da",
                            "t03_escalation",
                            "t04_recent_rape_ae",
                            "t05_child_sv",
                            "t06_stalking_former_partner",
                            "t07_sex_worker_assault",
                            "t08_burglary_self_referral",
                            "t09_high_risk_consent_refused",
                            "t10_bereaved_rj"};
  std::map<std::string, std::string> referrer_of;  // referral -> referrer
  std::string t9;
  for (const char* name : examples) {
    v1::SubmitReferralRequest req = testing::LoadExample(name);
    // A new referral of a different person, so that nothing is linked.
    req.set_idempotency_key(absl::StrCat("e2e-partner-", name));
    req.mutable_referral()->mutable_personal()->set_full_name(
        absl::StrCat("Partner Test ", name));
    const std::string id = Submit(req);
    ASSERT_FALSE(id.empty()) << name;
    referrer_of[id] = req.referral().referrer_org();
    if (std::string(name).rfind("t09", 0) == 0) t9 = id;
  }
  // A high-risk referral in the other area (West Yorkshire): the positive
  // control for the area boundary.
  v1::SubmitReferralRequest wyp_req =
      testing::LoadExample("t01_strangulation_punjabi");
  wyp_req.set_idempotency_key("e2e-partner-wyp");
  wyp_req.mutable_referral()->set_area_code("WYP");
  wyp_req.mutable_referral()->set_locality_code("WYP-LEEDS");
  wyp_req.mutable_referral()->set_referrer_org("police-wyp");
  wyp_req.mutable_referral()->mutable_personal()->set_full_name(
      "Partner Test Wyp");
  const std::string wyp = Submit(wyp_req);
  ASSERT_FALSE(wyp.empty());
  referrer_of[wyp] = "police-wyp";
  for (const auto& [id, referrer] : referrer_of) WaitRouted(id);
  absl::StatusOr<events::EventVerifier> verifier =
      events::LoadVerifier(SigningDir());
  ASSERT_TRUE(verifier.ok()) << verifier.status();

  // Every Kafka partner's topic: signed by notification, CloudEvents
  // headers with the partner event's id, its own agency, and only its set.
  std::map<std::string, std::set<std::string>> referrals_of;  // agency ->
  std::map<std::string, std::vector<v1::PartnerEvent>> t9_events;
  int checked = 0;
  for (const char* agency :
       {"marac-coordinator-wmp", "marac-coordinator-wyp", "wm-idva-service",
        "police-vawg-wmp", "police-wmp"}) {
    const std::string topic = absl::StrCat("signpost.partner.", agency, ".v1");
    // A partner verifies its topic as notification's (docs/api-and-events.md).
    ASSERT_TRUE(verifier->ExpectProducer(topic, "notification").ok());
    for (const kafka::ConsumedMessage& r :
         testing::ReadTopicToEnd(*bootstrap_, topic)) {
      EXPECT_TRUE(verifier->Verify(r).ok()) << topic << verifier->Verify(r);
      absl::StatusOr<v1::EventEnvelope> env = events::DecodeEnvelope(r);
      ASSERT_TRUE(env.ok()) << topic << ": " << env.status();
      ASSERT_TRUE(env->has_partner_event()) << topic;
      const v1::PartnerEvent& p = env->partner_event();
      EXPECT_EQ(r.Header("ce_id").value_or(""), p.id()) << topic;
      EXPECT_EQ(r.Header("ce_type").value_or(""), "signpost.v1.PartnerEvent");
      EXPECT_EQ(r.key, p.referral_id()) << topic;
      EXPECT_EQ(p.agency_id(), agency);
      EXPECT_NE(p.legal_basis(), v1::LEGAL_BASIS_UNSPECIFIED) << p.id();
      EXPECT_NE(p.field_set(), v1::FIELD_SET_UNSPECIFIED) << p.id();
      EXPECT_THAT(FieldsOutsideItsSet(p), ::testing::IsEmpty())
          << topic << " " << p.type();
      EXPECT_EQ(r.payload.find("Partner Test"), std::string::npos);
      if (!referrer_of.count(p.referral_id())) continue;  // other tests'
      referrals_of[agency].insert(p.referral_id());
      if (p.referral_id() == t9) t9_events[agency].push_back(p);
      ++checked;
    }
  }
  EXPECT_GT(checked, 20);
  // Each area's MARAC receives its own area's high-risk referral and
  // nothing of the other's.
  EXPECT_EQ(referrals_of["marac-coordinator-wyp"], std::set<std::string>{wyp});
  EXPECT_FALSE(referrals_of["marac-coordinator-wmp"].empty());
  EXPECT_EQ(referrals_of["marac-coordinator-wmp"].count(wyp), 0u);
  // T9 (high risk, consent refused): MARAC, on the safeguarding basis (its
  // decision in the MARAC set, and its MARAC referral to acknowledge as the
  // MARAC's provider), and the referring force's own closed loop; no
  // provider, nothing on consent.
  ASSERT_FALSE(t9_events["marac-coordinator-wmp"].empty());
  int marac_referrals = 0;
  for (const v1::PartnerEvent& p : t9_events["marac-coordinator-wmp"]) {
    if (p.field_set() == v1::FIELD_SET_MARAC) {
      EXPECT_EQ(p.legal_basis(), v1::LEGAL_BASIS_MARAC_SAFEGUARDING);
      EXPECT_EQ(p.risk(), v1::RISK_LEVEL_HIGH);
    } else {
      EXPECT_EQ(p.field_set(), v1::FIELD_SET_PROVIDER_CASE);
      EXPECT_EQ(p.legal_basis(), v1::LEGAL_BASIS_SAFEGUARDING);
      EXPECT_EQ(p.type(), "service.offered");
      EXPECT_EQ(p.service(), v1::SERVICE_KIND_MARAC);
      ++marac_referrals;
    }
  }
  EXPECT_EQ(marac_referrals, 1);
  for (const auto& [agency, events] : t9_events) {
    EXPECT_TRUE(agency == "marac-coordinator-wmp" || agency == "police-wmp")
        << agency << " received T9";
    for (const v1::PartnerEvent& p : events) {
      EXPECT_NE(p.legal_basis(), v1::LEGAL_BASIS_CONSENT) << agency;
    }
  }
  // And ListDeliveries shows MARAC's share with its basis.
  auto notification = Connect<v1::NotificationService>(
      (*addrs_)["notification"], As("marac-coordinator-wmp"));
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::ListDeliveriesRequest req;
    req.set_referral_id(t9);
    v1::ListDeliveriesResponse resp;
    ASSERT_TRUE(notification->ListDeliveries(&ctx, req, &resp).ok());
    ASSERT_GT(resp.deliveries_size(), 0);
    for (const v1::Delivery& d : resp.deliveries()) {
      EXPECT_EQ(d.agency_id(), "marac-coordinator-wmp");
      EXPECT_THAT(d.legal_basis(),
                  ::testing::AnyOf("MARAC_SAFEGUARDING", "SAFEGUARDING"));
    }
  }

  // The closed loop: each referrer's stream holds received and triaged for
  // each of its own referrals, and nothing of anyone else's.
  for (const std::string referrer :
       {"police-wmp", "nhs-lth-ae", "victim-advice-line-wmp"}) {
    std::set<std::string> mine;
    for (const auto& [id, r] : referrer_of) {
      if (r == referrer) mine.insert(id);
    }
    ASSERT_FALSE(mine.empty()) << referrer;
    std::map<std::string, std::set<std::string>> types;  // referral -> types
    auto complete = [&](const std::vector<v1::PartnerEvent>& feed) {
      types.clear();
      for (const v1::PartnerEvent& p : feed) {
        if (p.field_set() == v1::FIELD_SET_REFERRER_OUTCOME) {
          types[p.referral_id()].insert(p.type());
        }
      }
      for (const std::string& id : mine) {
        if (!types[id].count("referral.received") ||
            !types[id].count("referral.triaged")) {
          return false;
        }
      }
      return true;
    };
    std::vector<v1::PartnerEvent> feed =
        ReadFeed((*addrs_)["notification"], As(referrer), 0, complete);
    EXPECT_TRUE(complete(feed)) << referrer;
    for (const v1::PartnerEvent& p : feed) {
      EXPECT_EQ(p.agency_id(), referrer);
      if (p.field_set() != v1::FIELD_SET_REFERRER_OUTCOME) continue;
      EXPECT_EQ(p.legal_basis(), v1::LEGAL_BASIS_OWN_REFERRAL);
      if (referrer_of.count(p.referral_id())) {
        EXPECT_EQ(referrer_of[p.referral_id()], referrer) << p.type();
      }
      EXPECT_THAT(FieldsOutsideItsSet(p), ::testing::IsEmpty()) << p.type();
    }
  }
}

// Webhooks from the real binary: a second notification process (its own
// database and consumer group, on the shared broker) whose policy sends
// nhs-lth-ae's events to an HTTPS receiver started by the test. The
// receiver checks every signature and answers 500 twice before accepting;
// each event is accepted exactly once, by its id.
TEST_F(StackTest, WebhooksFromTheRealBinaryAreSignedRetriedAndAcceptedOnce) {
  WaitServing("notification");
  const std::string key(32, 'h');
  std::atomic<int> failures{2};
  std::atomic<int> bad_signatures{0};
  absl::Mutex mu;
  std::vector<std::string> accepted_ids;   // guarded by mu
  std::vector<v1::PartnerEvent> accepted;  // guarded by mu
  auto receiver = testing::HttpsReceiver::Start(
      dir_->File("pki/services/notification.crt"),
      dir_->File("pki/services/notification.key"),
      [&](const testing::HttpsReceiver::Request& r) {
        auto header = [&](const char* name) {
          auto it = r.headers.find(name);
          return it == r.headers.end() ? std::string() : it->second;
        };
        if (!http::VerifyWebhook(key, header(http::kWebhookIdHeader),
                                 header(http::kWebhookTimestampHeader),
                                 header(http::kWebhookSignatureHeader), r.body,
                                 absl::Now())
                 .ok()) {
          ++bad_signatures;
          return 401;
        }
        if (failures.fetch_sub(1) > 0) return 500;
        v1::PartnerEvent event;
        if (!google::protobuf::util::JsonStringToMessage(r.body, &event).ok()) {
          return 400;
        }
        absl::MutexLock lock(&mu);
        accepted_ids.push_back(header(http::kWebhookIdHeader));
        accepted.push_back(event);
        return 204;
      });
  ASSERT_TRUE(receiver.ok()) << receiver.status();
  std::ofstream(dir_->File("webhook.secret")) << http::FormatWebhookSecret(key);
  std::ofstream(dir_->File("webhook-subscriptions.textproto"))
      << "subscriptions {\n  agency_id: \"nhs-lth-ae\"\n"
         "  transports: TRANSPORT_WEBHOOK\n  webhook { url: \""
      << (*receiver)->url("/signpost") << "\" secret_file: \""
      << dir_->File("webhook.secret") << "\" }\n}\n";
  std::vector<std::string> args = (*args_)["notification"];
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--db_path") args[i + 1] = dir_->File("webhook-n.db");
    if (args[i] == "--subscriptions_file") {
      args[i + 1] = dir_->File("webhook-subscriptions.textproto");
    }
  }
  args.insert(
      args.end(),
      {"--kafka_group", "signpost-notification-webhook-test",
       "--webhook_ca_file", dir_->File("pki/ca.crt"),
       "--webhook_backoff_base_ms", "20", "--webhook_backoff_cap_ms", "200"});
  testing::Process second(Bin("signpost-notification"), args,
                          dir_->File("notification-webhook.log"));
  const std::string addr = testing::WaitForLogValue(
      dir_->File("notification-webhook.log"),
      "\"msg\":\"listening\",\"grpc_address\":\"", absl::Seconds(30));
  ASSERT_FALSE(addr.empty())
      << testing::ReadFile(dir_->File("notification-webhook.log"));

  v1::SubmitReferralRequest req = testing::LoadExample("t04_recent_rape_ae");
  req.set_idempotency_key(NewUuid());
  req.mutable_referral()->mutable_personal()->set_full_name("Webhook Test Q");
  const std::string id = Submit(req);
  ASSERT_FALSE(id.empty());
  auto got = [&](const std::string& type) {
    absl::MutexLock lock(&mu);
    for (const v1::PartnerEvent& e : accepted) {
      if (e.referral_id() == id && e.type() == type) return true;
    }
    return false;
  };
  EXPECT_TRUE(Eventually([&] {
    return got("referral.received") && got("referral.triaged");
  })) << testing::ReadFile(dir_->File("notification-webhook.log"));
  EXPECT_EQ(bad_signatures.load(), 0);
  {
    absl::MutexLock lock(&mu);
    std::set<std::string> unique(accepted_ids.begin(), accepted_ids.end());
    EXPECT_EQ(unique.size(), accepted_ids.size()) << "an event accepted twice";
    for (const v1::PartnerEvent& e : accepted) {
      EXPECT_EQ(e.agency_id(), "nhs-lth-ae");
      EXPECT_EQ(e.field_set(), v1::FIELD_SET_REFERRER_OUTCOME);
      EXPECT_EQ(e.legal_basis(), v1::LEGAL_BASIS_OWN_REFERRAL);
    }
  }
  // The second process lists them delivered; the first of all was retried.
  auto notification = Connect<v1::NotificationService>(addr, As("nhs-lth-ae"));
  EXPECT_TRUE(Eventually([&] {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::ListDeliveriesRequest list;
    list.set_referral_id(id);
    list.set_status(v1::DELIVERY_STATUS_DELIVERED);
    v1::ListDeliveriesResponse resp;
    if (!notification->ListDeliveries(&ctx, list, &resp).ok()) return false;
    for (const v1::Delivery& d : resp.deliveries()) {
      EXPECT_EQ(d.transport(), v1::TRANSPORT_WEBHOOK);
    }
    return resp.deliveries_size() >= 2;
  }));
  EXPECT_NE(testing::ReadFile(dir_->File("notification-webhook.log"))
                .find("\"msg\":\"webhook: delivery failed\""),
            std::string::npos);
  EXPECT_EQ(second.Terminate(), 0);
}

// A Subscribe stream resumed from its cursor after a restart of the
// notification service loses nothing and repeats nothing, counted by id.
// Victim notices from the real intake binary, through a channel gateway:
// signed, to the victim's own number, only where the rules allow; never
// contact sends nothing and says why; the number is never logged.
TEST_F(StackTest, VictimNoticesFromTheRealBinaryObeyTheSafeContactRules) {
  WaitServing("advocacy");
  const std::string key(32, 'g');
  absl::Mutex mu;
  std::vector<testing::HttpsReceiver::Request> sent;  // guarded by mu
  int bad_signatures = 0;                             // guarded by mu
  auto gateway = testing::HttpsReceiver::Start(
      dir_->File("pki/services/intake.crt"),
      dir_->File("pki/services/intake.key"),
      [&](const testing::HttpsReceiver::Request& r) {
        absl::MutexLock lock(&mu);
        auto header = [&](const char* name) {
          auto it = r.headers.find(name);
          return it == r.headers.end() ? std::string() : it->second;
        };
        if (!http::VerifyWebhook(key, header(http::kWebhookIdHeader),
                                 header(http::kWebhookTimestampHeader),
                                 header(http::kWebhookSignatureHeader), r.body,
                                 absl::Now())
                 .ok()) {
          ++bad_signatures;
          return 401;
        }
        sent.push_back(r);
        return 202;
      });
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  std::ofstream(dir_->File("gateway.secret")) << http::FormatWebhookSecret(key);
  std::vector<std::string> args = (*args_)["intake"];
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--db_path") args[i + 1] = dir_->File("notices-intake.db");
    if (args[i] == "--grpc_address") args[i + 1] = "127.0.0.1:0";
  }
  args.insert(args.end(),
              {"--kafka_group", "signpost-intake-notices-test",
               "--victim_gateway_sms_url", (*gateway)->url("/sms"),
               "--victim_gateway_secret_file", dir_->File("gateway.secret"),
               "--victim_gateway_ca_file", dir_->File("pki/ca.crt")});
  testing::Process second(Bin("signpost-intake"), args,
                          dir_->File("intake-notices.log"));
  const std::string addr = testing::WaitForLogValue(
      dir_->File("intake-notices.log"),
      "\"msg\":\"listening\",\"grpc_address\":\"", absl::Seconds(30));
  ASSERT_FALSE(addr.empty())
      << testing::ReadFile(dir_->File("intake-notices.log"));
  auto intake = Connect<v1::IntakeService>(addr, As("police-wmp"));
  auto submit = [&](v1::SubmitReferralRequest req) {
    req.set_idempotency_key(NewUuid());
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::SubmitReferralResponse resp;
    EXPECT_TRUE(intake->SubmitReferral(&ctx, req, &resp).ok());
    return resp.referral_id();
  };
  // T02, safe by SMS at any time; and T02 again, never to be contacted.
  v1::SubmitReferralRequest t2 = testing::LoadExample("t02_standard_da");
  t2.mutable_referral()->mutable_safe_contact()->add_safe_channels(
      v1::CONTACT_CHANNEL_SMS);
  t2.mutable_referral()->mutable_safe_contact()->clear_safe_windows();
  t2.mutable_referral()->mutable_personal()->set_phone("+44 7700 900777");
  t2.mutable_referral()->mutable_personal()->set_full_name("Notice Test Q");
  const std::string safe = submit(t2);
  v1::SubmitReferralRequest never = t2;
  never.mutable_referral()->mutable_safe_contact()->clear_safe_channels();
  never.mutable_referral()->mutable_safe_contact()->set_never_contact(true);
  never.mutable_referral()->mutable_personal()->set_full_name("Never Test Q");
  never.mutable_referral()->mutable_reporting()->set_crime_reference(
      "22/77001/24");
  const std::string hidden = submit(never);
  ASSERT_FALSE(safe.empty());
  ASSERT_FALSE(hidden.empty());
  auto notices = [&](const std::string& id) {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::GetReferralRequest req;
    req.set_referral_id(id);
    v1::GetReferralResponse resp;
    EXPECT_TRUE(intake->GetReferral(&ctx, req, &resp).ok());
    std::map<std::string, std::string> out;
    for (const v1::VictimNotice& n : resp.victim_notices()) {
      out[n.kind()] =
          absl::StrCat(n.status(), n.reason().empty() ? "" : ":", n.reason());
    }
    return out;
  };
  // Routed and offered: the referral received and a service to contact
  // them, by SMS, to the victim's number.
  EXPECT_TRUE(Eventually([&] {
    auto n = notices(safe);
    return n["REFERRAL_RECEIVED"] == "SENT" &&
           n["SERVICE_TO_CONTACT"] == "SENT";
  })) << testing::ReadFile(dir_->File("intake-notices.log"));
  EXPECT_TRUE(Eventually([&] {
    auto n = notices(hidden);
    return n["REFERRAL_RECEIVED"] == "SUPPRESSED:NEVER-CONTACT" &&
           n["SERVICE_TO_CONTACT"] == "SUPPRESSED:NEVER-CONTACT";
  }));
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(bad_signatures, 0);
    ASSERT_EQ(sent.size(), 2u);
    for (const auto& r : sent) {
      EXPECT_EQ(r.path, "/sms");
      EXPECT_NE(r.body.find("+44 7700 900777"), std::string::npos) << r.body;
      EXPECT_EQ(r.body.find("Notice Test"), std::string::npos);
      EXPECT_EQ(r.body.find("abuse"), std::string::npos);
    }
  }
  second.Terminate();
  const std::string log = testing::ReadFile(dir_->File("intake-notices.log"));
  EXPECT_NE(log.find("victim notice sent"), std::string::npos);
  EXPECT_EQ(log.find("900777"), std::string::npos);
}

TEST_F(StackTest, SubscribeResumesFromItsCursorAcrossANotificationRestart) {
  WaitServing("notification");
  const std::string agency = "nhs-lth-ae";
  auto submit = [&](int n) {
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) {
      v1::SubmitReferralRequest req =
          testing::LoadExample("t04_recent_rape_ae");
      req.set_idempotency_key(NewUuid());
      req.mutable_referral()->mutable_personal()->set_full_name(
          absl::StrCat("Resume Test ", i, " ", NewUuid().substr(0, 8)));
      ids.push_back(Submit(req));
    }
    return ids;
  };
  // Where the feed stands before this test.
  std::vector<v1::PartnerEvent> before =
      ReadFeed((*addrs_)["notification"], As(agency), 0,
               [](const auto&) { return false; }, absl::Seconds(2));
  const int64_t start = before.empty() ? 0 : before.back().sequence();

  std::vector<std::string> first = submit(3);
  std::vector<v1::PartnerEvent> got =
      ReadFeed((*addrs_)["notification"], As(agency), start,
               [](const auto& feed) { return feed.size() >= 4; });
  ASSERT_GE(got.size(), 4u);
  const int64_t cursor = got.back().sequence();

  // Restart notification; referrals made meanwhile wait in Kafka.
  ASSERT_EQ((*services_)["notification"]->Terminate(), 0);
  std::vector<std::string> second = submit(3);
  (*services_)["notification"] = std::make_unique<testing::Process>(
      Bin("signpost-notification"), (*args_)["notification"],
      dir_->File("notification-restarted.log"));
  const std::string addr = testing::WaitForLogValue(
      dir_->File("notification-restarted.log"),
      "\"msg\":\"listening\",\"grpc_address\":\"", absl::Seconds(30));
  ASSERT_FALSE(addr.empty());
  (*addrs_)["notification"] = addr;
  for (const std::string& id : second) WaitRouted(id);

  // Each referral's received and triaged, for all six.
  std::set<std::string> all_ids(first.begin(), first.end());
  all_ids.insert(second.begin(), second.end());
  auto complete = [&](const std::vector<v1::PartnerEvent>& feed) {
    std::map<std::string, int> n;
    for (const auto& p : feed) {
      if (p.type() == "referral.received" || p.type() == "referral.triaged") {
        ++n[p.referral_id()];
      }
    }
    for (const std::string& id : all_ids) {
      if (n[id] < 2) return false;
    }
    return true;
  };
  std::vector<v1::PartnerEvent> resumed =
      ReadFeed(addr, As(agency), cursor, [&](const auto& feed) {
        std::vector<v1::PartnerEvent> both = got;
        both.insert(both.end(), feed.begin(), feed.end());
        return complete(both);
      });
  std::vector<v1::PartnerEvent> both = got;
  both.insert(both.end(), resumed.begin(), resumed.end());
  EXPECT_TRUE(complete(both));
  std::set<std::string> ids;
  for (const v1::PartnerEvent& p : both) {
    EXPECT_TRUE(ids.insert(p.id()).second) << "repeated " << p.id();
  }
  // Nothing lost: a fresh read of the same range holds exactly these.
  std::vector<v1::PartnerEvent> fresh =
      ReadFeed(addr, As(agency), start,
               [&](const auto& feed) { return feed.size() >= both.size(); });
  std::set<std::string> fresh_ids;
  for (const v1::PartnerEvent& p : fresh) fresh_ids.insert(p.id());
  EXPECT_EQ(fresh_ids, ids);
}

// Retention with the real binary: a policy of 0 days erases a person as
// soon as their last referral closes; the durable timer fires from the
// intake process's own worker.
TEST(RetentionTest, TheRetentionTimerErasesWithTheRealBinary) {
  testing::TempDir dir;
  testing::MakeSigningKeys(dir.path());
  {
    std::ofstream(dir.File("retention.textproto"))
        << "version: \"test-retention\"\n"
           "default_years_after_closure: 6\n"
           "areas { area_code: \"WMP\" days_after_closure: 0 }\n";
  }
  std::vector<std::string> args = {"--grpc_address",
                                   "127.0.0.1:0",
                                   "--db_path",
                                   dir.File("intake.db"),
                                   "--kafka_bootstrap",
                                   "127.0.0.1:1",
                                   "--access_registry",
                                   Registry(),
                                   "--kek_file",
                                   testing::TestPki() + "/keys/kek.keys",
                                   "--matching_key_file",
                                   testing::TestPki() + "/keys/matching.key",
                                   "--retention_file",
                                   dir.File("retention.textproto"),
                                   "--retention_scan_seconds",
                                   "1"};
  for (std::string& f : KeyFlags(dir.path(), "intake")) args.push_back(f);
  for (std::string& f : TlsFlags(testing::TestPki(), "intake")) {
    args.push_back(f);
  }
  testing::Process intake(Bin("signpost-intake"), args, dir.File("intake.log"));
  const std::string addr = testing::WaitForLogValue(
      dir.File("intake.log"), "\"msg\":\"listening\",\"grpc_address\":\"",
      absl::Seconds(30));
  ASSERT_FALSE(addr.empty()) << testing::ReadFile(dir.File("intake.log"));
  auto police = Connect<v1::IntakeService>(
      addr, AgencyCredentials(testing::TestPki(), "police-wmp"));
  v1::SubmitReferralRequest req = testing::LoadExample("t02_standard_da");
  req.mutable_referral()->mutable_personal()->set_full_name(
      "Retained Until Zero Q");
  v1::SubmitReferralResponse submitted;
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    grpc::Status s = police->SubmitReferral(&ctx, req, &submitted);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::CancelReferralRequest cancel;
    cancel.set_referral_id(submitted.referral_id());
    cancel.set_reason(v1::WITHDRAWAL_REASON_ENTERED_IN_ERROR);
    v1::CancelReferralResponse resp;
    grpc::Status s = police->CancelReferral(&ctx, cancel, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  v1::GetReferralResponse got;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    v1::GetReferralRequest get;
    get.set_referral_id(submitted.referral_id());
    grpc::Status s = police->GetReferral(&ctx, get, &got);
    ASSERT_TRUE(s.ok()) << s.error_message();
    if (got.lifecycle() == v1::REFERRAL_LIFECYCLE_ERASED) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_EQ(got.lifecycle(), v1::REFERRAL_LIFECYCLE_ERASED);
  EXPECT_TRUE(got.has_erased_at());
  EXPECT_FALSE(got.referral().has_personal());
  EXPECT_NE(testing::ReadFile(dir.File("intake.log"))
                .find("\"ground\":\"ERASURE_GROUND_RETENTION_EXPIRED\""),
            std::string::npos);
  EXPECT_EQ(intake.Terminate(), 0);
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const std::string path = dir.File("intake.db") + suffix;
    if (::access(path.c_str(), R_OK) != 0) continue;
    EXPECT_EQ(testing::ReadFile(path).find("Retained Until Zero"),
              std::string::npos)
        << path;
  }
}

}  // namespace
}  // namespace signpost
