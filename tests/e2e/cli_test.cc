// End to end: the real signpost-cli binary against one real stack (the
// devbroker and the five services over mutual TLS), a test per subcommand.
// The cases run in order: one referral goes submit -> get -> decision ->
// assignments -> worklist -> accept -> contact -> update -> close, another
// is reassessed and overridden, and an order goes import -> serve -> get ->
// history -> list.
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "common/config/textproto.h"
#include "common/ids/ids.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "grpc/health/v1/health.pb.h"
#include "gtest/gtest.h"
#include "signpost/v1/advocacy.pb.h"
#include "signpost/v1/audit.pb.h"
#include "signpost/v1/intake.pb.h"
#include "signpost/v1/marac.pb.h"
#include "signpost/v1/notification.pb.h"
#include "signpost/v1/orders.pb.h"
#include "signpost/v1/outbox.pb.h"
#include "signpost/v1/reporting.pb.h"
#include "signpost/v1/triage.pb.h"
#include "tests/support/test_support.h"

namespace signpost {
namespace {

using ::testing::HasSubstr;

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

// The protobuf JSON mapping of one line into `M` (fails the test if it is
// not one).
template <typename M>
M FromJson(const std::string& line) {
  M message;
  auto status = google::protobuf::util::JsonStringToMessage(line, &message);
  EXPECT_TRUE(status.ok()) << status.ToString() << ": " << line;
  return message;
}

// The caller of advocate `advocate_id`'s provider.
std::string ProviderAgencyOf(const std::string& advocate_id) {
  v1::Directory directory;
  EXPECT_TRUE(
      config::LoadTextProto(testing::SourcePath("examples/directory.textproto"),
                            &directory)
          .ok());
  for (const v1::Advocate& a : directory.advocates()) {
    if (a.advocate_id() != advocate_id) continue;
    const v1::Agency* agency =
        testing::TestRegistry()->FindByProvider(ProviderId(a.provider_id()));
    if (agency != nullptr) return agency->agency_id();
  }
  ADD_FAILURE() << "no agency for " << advocate_id;
  return "";
}

class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    for (const char* var :
         {"SIGNPOST_AS", "SIGNPOST_PKI_DIR", "SIGNPOST_INTAKE_ADDR",
          "SIGNPOST_TRIAGE_ADDR", "SIGNPOST_ADVOCACY_ADDR",
          "SIGNPOST_ORDERS_ADDR", "SIGNPOST_NOTIFICATION_ADDR"}) {
      ::unsetenv(var);
    }
    stack_ = new testing::Stack();
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }
  void SetUp() override {
    // A failure inside SetUpTestSuite is the suite's, not this test's.
    ASSERT_TRUE(stack_ != nullptr && stack_->ready())
        << "the stack did not start";
  }

  // Runs signpost-cli with exactly `args`.
  static Result Raw(const std::vector<std::string>& args) {
    static int runs = 0;
    const std::string out = stack_->dir().File(absl::StrCat("cli-", ++runs));
    testing::Process cli(testing::Stack::Bin("signpost-cli"), args,
                         out + ".err", out + ".out");
    Result r;
    r.code = cli.Wait(absl::Seconds(90));
    r.out = testing::ReadFile(out + ".out");
    r.err = testing::ReadFile(out + ".err");
    return r;
  }

  // Runs signpost-cli against the stack as `agency` (without --as: the
  // operator, and submit as the referral's referrer).
  static Result Run(const std::vector<std::string>& args,
                    const std::string& agency = "") {
    std::vector<std::string> all = {"--pki", testing::TestPki()};
    if (!agency.empty()) all.insert(all.end(), {"--as", agency});
    for (const char* svc :
         {"intake", "triage", "advocacy", "orders", "notification"}) {
      all.insert(all.end(), {absl::StrCat("--", svc), stack_->address(svc)});
    }
    all.insert(all.end(), args.begin(), args.end());
    return Raw(all);
  }

  // Repeats `args` while it answers NOT_FOUND or FAILED_PRECONDITION (not
  // yet there), up to a minute; returns the last result.
  static Result RunUntilFound(const std::vector<std::string>& args,
                              const std::string& agency = "") {
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    Result r;
    do {
      r = Run(args, agency);
      if (r.code != 3 || (!absl::StrContains(r.err, "NOT_FOUND") &&
                          !absl::StrContains(r.err, "FAILED_PRECONDITION"))) {
        return r;
      }
      absl::SleepFor(absl::Milliseconds(200));
    } while (absl::Now() < deadline);
    return r;
  }

  // Writes `text` to a file in the stack's directory; returns its path.
  static std::string Write(const std::string& name, const std::string& text) {
    const std::string path = stack_->dir().File(name);
    std::ofstream(path) << text;
    return path;
  }

  static testing::Stack* stack_;
  // The referral that goes through the advocate's lifecycle (T10) and the
  // one that is reassessed (T2), and T10's assignment.
  static std::string t10_;
  static std::string t2_;
  static v1::Assignment assignment_;
  static std::string order_;
};

testing::Stack* CliTest::stack_ = nullptr;
std::string CliTest::t10_;
std::string CliTest::t2_;
v1::Assignment CliTest::assignment_;
std::string CliTest::order_;

TEST_F(CliTest, HelpExitsZeroForEverySubcommandAndVersionPrintsIt) {
  Result root = Raw({"--help"});
  EXPECT_EQ(root.code, 0);
  EXPECT_THAT(root.out, HasSubstr("Exit codes: 0 done"));
  for (const std::string path : {"submit",
                                 "get",
                                 "decision",
                                 "reassess",
                                 "override",
                                 "marac",
                                 "marac schedule",
                                 "marac meetings",
                                 "marac meeting",
                                 "marac heard",
                                 "marac allocate",
                                 "marac complete",
                                 "marac close",
                                 "worklist",
                                 "accept",
                                 "decline",
                                 "contact",
                                 "update",
                                 "close",
                                 "capacity",
                                 "directory",
                                 "directory import",
                                 "directory advocates",
                                 "directory provider get",
                                 "directory provider upsert",
                                 "directory advocate upsert",
                                 "directory availability",
                                 "assignments",
                                 "orders",
                                 "orders consider",
                                 "orders apply",
                                 "orders decide",
                                 "orders serve",
                                 "orders vary",
                                 "orders breach",
                                 "orders import",
                                 "orders get",
                                 "orders list",
                                 "orders history",
                                 "orders considerations",
                                 "review-queue",
                                 "deliveries",
                                 "subscribe",
                                 "replay",
                                 "replay deliveries",
                                 "erase",
                                 "consent",
                                 "cancel",
                                 "rj-consent",
                                 "stalled",
                                 "report",
                                 "audit",
                                 "audit verify",
                                 "audit timeline",
                                 "audit access",
                                 "health",
                                 "wait-healthy",
                                 "rotate-kek",
                                 "demo",
                                 "load"}) {
    std::vector<std::string> args = absl::StrSplit(path, ' ');
    args.push_back("--help");
    Result r = Raw(args);
    EXPECT_EQ(r.code, 0) << path << ": " << r.err;
    EXPECT_THAT(r.out, HasSubstr("Usage: signpost-cli " + path)) << path;
  }
  Result version = Raw({"--version"});
  EXPECT_EQ(version.code, 0);
  EXPECT_THAT(version.out, HasSubstr("signpost-cli 0."));
}

TEST_F(CliTest, UsageErrorsExitTwoAndSayWhatWasWrong) {
  Result bogus = Raw({"bogus"});
  EXPECT_EQ(bogus.code, 2);
  EXPECT_THAT(bogus.err, HasSubstr("unknown command 'bogus'"));
  Result nested = Raw({"orders", "bogus"});
  EXPECT_EQ(nested.code, 2);
  EXPECT_THAT(nested.err, HasSubstr("unknown command 'orders bogus'"));
  Result flag = Raw({"get", "--nope", "x"});
  EXPECT_EQ(flag.code, 2);
  EXPECT_THAT(flag.err, HasSubstr("--nope"));
  // Enums are named and checked before any call.
  Result risk = Run({"override", "some-id", "--risk", "PURPLE"});
  EXPECT_EQ(risk.code, 2);
  EXPECT_THAT(risk.err, HasSubstr("--risk: 'PURPLE' is not a RiskLevel"));
  EXPECT_THAT(risk.err, HasSubstr("HIGH"));
  Result format = Raw({"-o", "yaml", "health"});
  EXPECT_EQ(format.code, 2);
  EXPECT_THAT(format.err, HasSubstr("yaml"));
  Result as = Raw({"--as", "police-wmp", "health"});
  EXPECT_EQ(as.code, 2);
  EXPECT_THAT(as.err, HasSubstr("--as needs --pki"));
  Result file = Run({"directory", "import", "--file",
                     stack_->dir().File("no-such-file.textproto")});
  EXPECT_EQ(file.code, 2);
  EXPECT_THAT(file.err, HasSubstr("cannot read"));
}

TEST_F(CliTest, HealthAndWaitHealthy) {
  Result wait = Run({"wait-healthy"});
  ASSERT_EQ(wait.code, 0) << wait.err;
  Result all = Run({"health"});
  EXPECT_EQ(all.code, 0) << all.err;
  std::vector<std::string> lines =
      absl::StrSplit(all.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 5u) << all.out;
  for (const std::string& line : lines) {
    EXPECT_THAT(line, HasSubstr(" SERVING"));
  }
  Result json = Run({"-o", "json", "health", stack_->address("intake")});
  EXPECT_EQ(json.code, 0) << json.err;
  EXPECT_EQ(FromJson<grpc::health::v1::HealthCheckResponse>(json.out).status(),
            grpc::health::v1::HealthCheckResponse::SERVING);
  // A service name the server does not serve: NOT_FOUND by name, exit 3.
  Result other = Run({"health", "--service", "signpost.v1.OrderService",
                      stack_->address("intake")});
  EXPECT_EQ(other.code, 3);
  EXPECT_THAT(other.err, HasSubstr("NOT_FOUND"));
  // Nothing listening: UNAVAILABLE, exit 4 (may be retried).
  Result down = Run({"health", "127.0.0.1:1"});
  EXPECT_EQ(down.code, 4);
  EXPECT_THAT(down.err, HasSubstr("UNAVAILABLE"));
}

TEST_F(CliTest, SubmitGetAndDecision) {
  // T10 with both parties' consent, as a text-format file.
  v1::SubmitReferralRequest t10 = testing::LoadExample("t10_bereaved_rj");
  t10.set_idempotency_key("cli-t10");
  t10.mutable_referral()->mutable_consent()->set_rj_offender_consent(
      v1::CONSENT_STATUS_GIVEN);
  std::string text;
  ASSERT_TRUE(google::protobuf::TextFormat::PrintToString(t10, &text));
  Result submitted =
      Run({"-o", "json", "submit", Write("t10.textproto", text)});
  ASSERT_EQ(submitted.code, 0) << submitted.err;
  t10_ = FromJson<v1::SubmitReferralResponse>(submitted.out).referral_id();
  ASSERT_FALSE(t10_.empty());
  // T2 as JSON through --file.
  v1::SubmitReferralRequest t2 = testing::LoadExample("t02_standard_da");
  t2.set_idempotency_key("cli-t2");
  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(t2, &json).ok());
  Result second =
      Run({"-o", "json", "submit", "--file", Write("t2.json", json)});
  ASSERT_EQ(second.code, 0) << second.err;
  t2_ = FromJson<v1::SubmitReferralResponse>(second.out).referral_id();
  ASSERT_FALSE(t2_.empty());

  // The referrer reads its own referral.
  Result got = Run({"-o", "json", "get", t10_}, "police-wmp");
  ASSERT_EQ(got.code, 0) << got.err;
  EXPECT_EQ(FromJson<v1::GetReferralResponse>(got.out).referral().area_code(),
            "WMP");
  Result missing =
      Run({"get", "--referral_id", "00000000-0000-4000-8000-000000000000"});
  EXPECT_EQ(missing.code, 3);
  EXPECT_THAT(missing.err, HasSubstr("signpost-cli: get: NOT_FOUND: "));
  // A bad request: INVALID_ARGUMENT, the field listed on its own line.
  Result invalid = Run({"get", "not-a-uuid"});
  EXPECT_EQ(invalid.code, 3);
  EXPECT_THAT(invalid.err, HasSubstr("INVALID_ARGUMENT: "));
  EXPECT_THAT(invalid.err, HasSubstr("\n  referral_id: "));

  Result decision = RunUntilFound({"-o", "json", "decision", t10_});
  ASSERT_EQ(decision.code, 0) << decision.err;
  EXPECT_NE(FromJson<v1::GetDecisionResponse>(decision.out).decision().risk(),
            v1::RISK_LEVEL_UNSPECIFIED);
  // The table: the decision flattened with dotted names, enums by name.
  Result table = Run({"decision", t10_});
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("decision.risk"));
  EXPECT_THAT(table.out, HasSubstr("RISK_LEVEL_"));
}

TEST_F(CliTest, AssignmentsWorklistAcceptContactUpdateClose) {
  ASSERT_FALSE(t10_.empty());
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  v1::GetReferralAssignmentsResponse assignments;
  do {
    Result r = RunUntilFound({"-o", "json", "assignments", t10_});
    ASSERT_EQ(r.code, 0) << r.err;
    assignments = FromJson<v1::GetReferralAssignmentsResponse>(r.out);
    if (assignments.processed()) break;
    absl::SleepFor(absl::Milliseconds(200));
  } while (absl::Now() < deadline);
  ASSERT_EQ(assignments.assignments_size(), 1) << assignments.DebugString();
  assignment_ = assignments.assignments(0);
  const std::string& id = assignment_.assignment_id();
  const std::string& advocate = assignment_.advocate_id();
  const std::string provider = ProviderAgencyOf(advocate);
  ASSERT_FALSE(provider.empty());

  Result worklist = Run({"worklist", "--advocate_id", advocate}, provider);
  ASSERT_EQ(worklist.code, 0) << worklist.err;
  EXPECT_THAT(worklist.out, HasSubstr("assignments ("));
  EXPECT_THAT(worklist.out, HasSubstr(id));

  // Another provider's advocate: refused by name, with the rule.
  Result wrong = Run({"accept", id, "--advocate_id", "support-ivy"}, provider);
  EXPECT_EQ(wrong.code, 3);
  EXPECT_THAT(wrong.err, HasSubstr("PERMISSION_DENIED: "));
  EXPECT_THAT(wrong.err, HasSubstr("AUTHZ-OWN-PROVIDER"));
  Result accepted =
      Run({"-o", "json", "accept", id, "--advocate_id", advocate}, provider);
  ASSERT_EQ(accepted.code, 0) << accepted.err;
  EXPECT_EQ(
      FromJson<v1::AcceptAssignmentResponse>(accepted.out).assignment().state(),
      v1::ASSIGNMENT_STATE_ACCEPTED);

  // T10's victim is safe on the phone on weekday mornings only.
  Result email = Run({"contact", id, "--advocate_id", advocate, "--channel",
                      "email", "--outcome", "SUCCESSFUL"},
                     provider);
  EXPECT_EQ(email.code, 3);
  EXPECT_THAT(email.err, HasSubstr("FAILED_PRECONDITION: "));
  EXPECT_THAT(email.err, HasSubstr("SAFE-CONTACT"));
  absl::TimeZone london;
  ASSERT_TRUE(absl::LoadTimeZone("Europe/London", &london));
  absl::Time safe;
  for (absl::CivilDay day = absl::ToCivilDay(absl::Now(), london);; --day) {
    const absl::Weekday w = absl::GetWeekday(day);
    if (w == absl::Weekday::saturday || w == absl::Weekday::sunday) continue;
    safe = absl::FromCivil(absl::CivilHour(day) + 10, london);
    if (safe <= absl::Now()) break;
  }
  const std::string at =
      absl::FormatTime(absl::RFC3339_sec, safe, absl::UTCTimeZone());
  Result contact =
      Run({"-o", "json", "contact", id, "--advocate_id", advocate, "--channel",
           "PHONE", "--outcome", "successful", "--at", at},
          provider);
  ASSERT_EQ(contact.code, 0) << contact.err;
  EXPECT_EQ(
      FromJson<v1::RecordContactResponse>(contact.out).assignment().state(),
      v1::ASSIGNMENT_STATE_ACTIVE);

  Result update = Run({"-o", "json", "update", id, "--advocate_id", advocate,
                       "--kind", "CHARGE", "--at", "now"},
                      provider);
  ASSERT_EQ(update.code, 0) << update.err;
  EXPECT_EQ(FromJson<v1::RecordUpdateResponse>(update.out)
                .assignment()
                .assignment_id(),
            id);

  // A bad request: every missing field listed, one per line.
  Result bad = Run({"close", id, "--advocate_id", advocate}, provider);
  EXPECT_EQ(bad.code, 3);
  EXPECT_THAT(bad.err, HasSubstr("INVALID_ARGUMENT: "));
  EXPECT_THAT(bad.err, HasSubstr("\n  closure_reason: "));
  EXPECT_THAT(bad.err, HasSubstr("\n  feels_safer: "));
  Result closed =
      Run({"-o", "json", "close", id, "--advocate_id", advocate,
           "--closure_reason", "SUPPORT_COMPLETED", "--feels_safer", "YES",
           "--copes_better", "YES", "--better_informed", "NOT_ASKED"},
          provider);
  ASSERT_EQ(closed.code, 0) << closed.err;
  EXPECT_EQ(FromJson<v1::CloseCaseResponse>(closed.out).assignment().state(),
            v1::ASSIGNMENT_STATE_CLOSED);
  // Declining a closed case is refused (a state the rules do not allow).
  Result decline =
      Run({"decline", id, "--advocate_id", advocate, "--reason", "NO_CAPACITY"},
          provider);
  EXPECT_EQ(decline.code, 3) << decline.err;
}

TEST_F(CliTest, DeliveriesReplayAndSubscribe) {
  ASSERT_FALSE(t10_.empty());
  Result deliveries = Run({"-o", "json", "deliveries", t10_});
  ASSERT_EQ(deliveries.code, 0) << deliveries.err;
  EXPECT_GT(
      FromJson<v1::ListDeliveriesResponse>(deliveries.out).deliveries_size(),
      0);
  // The older spelling, against every service: one document each.
  Result replay =
      Run({"-o", "json", "replay", "--referral", t10_, "--dry-run"});
  ASSERT_EQ(replay.code, 0) << replay.err;
  std::vector<std::string> lines =
      absl::StrSplit(replay.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 5u) << replay.out;
  EXPECT_GT(FromJson<v1::ReplayOutboxResponse>(lines[0]).replayed(), 0);
  Result redeliver = Run({"-o", "json", "replay", "deliveries", "--agency_id",
                          "police-wmp", "--referral", t10_},
                         "police-wmp");
  ASSERT_EQ(redeliver.code, 0) << redeliver.err;
  FromJson<v1::ReplayDeliveriesResponse>(redeliver.out);
  // The stream: stops after --for seconds; each line one event.
  Result stream = Run({"-o", "json", "subscribe", "--for", "2", "--count", "3"},
                      "police-wmp");
  EXPECT_EQ(stream.code, 0) << stream.err;
  const std::vector<std::string> events =
      absl::StrSplit(stream.out, '\n', absl::SkipEmpty());
  // police-wmp referred T10 and is told of it.
  EXPECT_FALSE(events.empty());
  for (const std::string& line : events) {
    EXPECT_FALSE(FromJson<v1::SubscribeResponse>(line).event().id().empty());
  }
}

TEST_F(CliTest, RefusedCallerIsPermissionDeniedByName) {
  ASSERT_FALSE(t10_.empty());
  Result r =
      Run({"erase", t10_, "--ground", "RIGHT_TO_ERASURE", "--reason", "asked"},
          "police-wmp");
  EXPECT_EQ(r.code, 3);
  EXPECT_THAT(r.err, HasSubstr("signpost-cli: erase: PERMISSION_DENIED: "));
  Result stalled = Run({"stalled", "--area", "WMP"}, "police-wmp");
  EXPECT_EQ(stalled.code, 3);
  EXPECT_THAT(stalled.err, HasSubstr("PERMISSION_DENIED"));
}

TEST_F(CliTest, OverrideReassessConsentCancelAndErase) {
  ASSERT_FALSE(t2_.empty());
  ASSERT_EQ(RunUntilFound({"decision", t2_}).code, 0);
  Result same = Run({"-o", "json", "override", t2_, "--risk", "STANDARD",
                     "--practitioner_id", "sgt-42", "--reason", "no change"},
                    "police-wmp");
  ASSERT_EQ(same.code, 0) << same.err;
  EXPECT_EQ(FromJson<v1::OverrideRiskResponse>(same.out).decision().version(),
            2);
  // A new assessment through --request (text format).
  v1::SubmitReferralRequest t2 = testing::LoadExample("t02_standard_da");
  v1::ReassessRequest reassess;
  reassess.set_practitioner_id("idva-ann");
  *reassess.mutable_assessment() = t2.referral().assessment();
  for (int i = 0; i < 16; ++i) {
    reassess.mutable_assessment()->set_dash_answers(i, i != 7);
  }
  std::string text;
  ASSERT_TRUE(google::protobuf::TextFormat::PrintToString(reassess, &text));
  Result raised = Run({"-o", "json", "reassess", t2_, "--request",
                       Write("reassess.textproto", text)},
                      "police-wmp");
  ASSERT_EQ(raised.code, 0) << raised.err;
  EXPECT_EQ(
      FromJson<v1::ReassessResponse>(raised.out).decision().decision().risk(),
      v1::RISK_LEVEL_HIGH);
  Result lower = Run({"override", t2_, "--risk", "MEDIUM", "--practitioner_id",
                      "sgt-42", "--reason", "calmer"},
                     "police-wmp");
  EXPECT_EQ(lower.code, 3);
  EXPECT_THAT(lower.err, HasSubstr("FAILED_PRECONDITION: "));
  EXPECT_THAT(lower.err, HasSubstr("PJ-RAISE"));

  Result consent = Run(
      {"consent", t2_, "--pathway", "IDVA", "--status", "GIVEN"}, "police-wmp");
  EXPECT_TRUE(consent.code == 0 || consent.code == 3) << consent.err;
  Result rj =
      Run({"rj-consent", t2_, "--party", "OFFENDER", "--status", "REFUSED"},
          "police-wmp");
  EXPECT_TRUE(rj.code == 0 || rj.code == 3) << rj.err;
  Result cancel =
      Run({"-o", "json", "cancel", t2_, "--reason", "VICTIM_DECLINED"},
          "police-wmp");
  EXPECT_TRUE(cancel.code == 0 || cancel.code == 3) << cancel.err;
  Result erase = Run({"-o", "json", "erase", t2_, "--ground",
                      "RIGHT_TO_ERASURE", "--reason", "subject asked"});
  ASSERT_EQ(erase.code, 0) << erase.err;
  EXPECT_EQ(FromJson<v1::EraseVictimResponse>(erase.out).referrals_erased(), 1);
}

TEST_F(CliTest, OrdersThroughTheirLifecycle) {
  ASSERT_FALSE(t10_.empty());
  const std::string police = "police-wmp";
  Result imported = RunUntilFound({"-o",
                                   "json",
                                   "orders",
                                   "import",
                                   "--source",
                                   "custody-system",
                                   "--source_ref",
                                   t10_,
                                   "--referral_id",
                                   t10_,
                                   "--order_type",
                                   "DVPN",
                                   "--state",
                                   "GRANTED",
                                   "--authority.court_or_officer",
                                   "supt-1",
                                   "--authority.rank",
                                   "SUPERINTENDENT",
                                   "--respondent_age",
                                   "40",
                                   "--area_code",
                                   "WMP",
                                   "--actor",
                                   "pc-1"},
                                  police);
  ASSERT_EQ(imported.code, 0) << imported.err;
  order_ = FromJson<v1::ImportOrderResponse>(imported.out).order().order_id();
  ASSERT_FALSE(order_.empty());
  Result served = Run({"-o", "json", "orders", "serve", order_, "--served_at",
                       "now", "--actor", "pc-1"},
                      police);
  ASSERT_EQ(served.code, 0) << served.err;
  EXPECT_EQ(FromJson<v1::RecordServiceResponse>(served.out).order().order_id(),
            order_);
  Result got = Run({"-o", "json", "orders", "get", order_}, police);
  ASSERT_EQ(got.code, 0) << got.err;
  EXPECT_EQ(FromJson<v1::GetOrderResponse>(got.out).order().order_id(), order_);
  Result history = Run({"-o", "json", "orders", "history", order_}, police);
  ASSERT_EQ(history.code, 0) << history.err;
  EXPECT_GT(FromJson<v1::GetOrderHistoryResponse>(history.out)
                .history()
                .changes_size(),
            0);
  Result list =
      Run({"orders", "list", "--referral_id", t10_, "--area", "WMP"}, police);
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr(order_));
  Result considerations =
      Run({"-o", "json", "orders", "considerations", t10_}, police);
  ASSERT_EQ(considerations.code, 0) << considerations.err;
  FromJson<v1::ListConsiderationsResponse>(considerations.out);
  Result queue = Run({"-o", "json", "review-queue", "--area", "WMP"}, police);
  ASSERT_EQ(queue.code, 0) << queue.err;
  FromJson<v1::ListReviewQueueResponse>(queue.out);
  // The recording RPCs reach the service with their flags: an unknown
  // order or consideration is NOT_FOUND by name.
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"orders", "consider", "no-such-consideration", "--apply",
            "--order_type", "DVPN", "--actor", "pc-1"},
           {"orders", "apply", "no-such-order", "--referral_id", t10_,
            "--order_type", "DVPO", "--actor", "pc-1"},
           {"orders", "decide", "no-such-order", "--granted", "--actor",
            "pc-1"},
           {"orders", "vary", "no-such-order", "--new_state", "DISCHARGED",
            "--actor", "pc-1"},
           {"orders", "breach", "no-such-order", "--occurred_at", "now",
            "--reporting_agency", "police-wmp", "--actor", "pc-1"}}) {
    Result r = Run(args, police);
    EXPECT_EQ(r.code, 3) << args[1] << ": " << r.err;
    EXPECT_THAT(r.err, ::testing::AnyOf(HasSubstr("NOT_FOUND: "),
                                        HasSubstr("INVALID_ARGUMENT: ")))
        << args[1];
  }
}

TEST_F(CliTest, DirectoryAndCapacity) {
  Result imported = Run({"-o", "json", "directory", "import", "--file",
                         testing::SourcePath("examples/directory.textproto")});
  ASSERT_EQ(imported.code, 0) << imported.err;
  EXPECT_GT(FromJson<v1::ImportDirectoryResponse>(imported.out).advocates(), 0);
  // The older spelling.
  Result legacy = Run({"import-directory", stack_->address("advocacy"),
                       testing::SourcePath("examples/directory.textproto")});
  EXPECT_EQ(legacy.code, 0) << legacy.err;
  Result advocates = Run({"directory", "advocates", "--role", "IDVA"});
  ASSERT_EQ(advocates.code, 0) << advocates.err;
  EXPECT_THAT(advocates.out, HasSubstr("advocates ("));
  Result provider =
      Run({"-o", "json", "directory", "provider", "get", "wm-idva-service"});
  ASSERT_EQ(provider.code, 0) << provider.err;
  v1::Provider p = FromJson<v1::GetProviderResponse>(provider.out).provider();
  EXPECT_EQ(p.provider_id(), "wm-idva-service");
  // The provider upserts itself from a JSON file, and one advocate's leave.
  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(p, &json).ok());
  Result upserted = Run({"-o", "json", "directory", "provider", "upsert",
                         "--file", Write("provider.json", json)},
                        "wm-idva-service");
  ASSERT_EQ(upserted.code, 0) << upserted.err;
  EXPECT_EQ(FromJson<v1::UpsertProviderResponse>(upserted.out)
                .provider()
                .provider_id(),
            "wm-idva-service");
  v1::Directory directory;
  ASSERT_TRUE(
      config::LoadTextProto(testing::SourcePath("examples/directory.textproto"),
                            &directory)
          .ok());
  std::string advocate_id;
  for (const v1::Advocate& a : directory.advocates()) {
    if (a.provider_id() == "wm-idva-service") advocate_id = a.advocate_id();
  }
  ASSERT_FALSE(advocate_id.empty());
  Result leave = Run({"-o", "json", "directory", "availability", advocate_id,
                      "--availability.on_leave", "true"},
                     "wm-idva-service");
  ASSERT_EQ(leave.code, 0) << leave.err;
  EXPECT_TRUE(FromJson<v1::SetAvailabilityResponse>(leave.out)
                  .advocate()
                  .availability()
                  .on_leave());
  Result back =
      Run({"-o", "json", "directory", "advocate", "upsert",
           "--advocate.advocate_id", advocate_id, "--advocate.provider_id",
           "wm-idva-service", "--advocate.display_name", "Back From Leave",
           "--advocate.role", "IDVA", "--advocate.capacity", "5",
           "--advocate.languages", "en", "--advocate.localities", "WMP"},
          "wm-idva-service");
  EXPECT_EQ(back.code, 0) << back.err;
  Result capacity = Run({"-o", "json", "capacity", "--pathway", "IDVA",
                         "--locality_code", "WMP"});
  ASSERT_EQ(capacity.code, 0) << capacity.err;
  FromJson<v1::CheckCapacityResponse>(capacity.out);
}

TEST_F(CliTest, MaracMeetings) {
  const std::string marac = "marac-coordinator-wmp";
  Result agenda = Run({"-o", "json", "marac", "--area", "WMP"}, marac);
  ASSERT_EQ(agenda.code, 0) << agenda.err;
  FromJson<v1::ListMaracAgendaResponse>(agenda.out);
  const absl::Time meeting_at = absl::Now() + absl::Hours(24 * 7);
  Result scheduled = Run(
      {"-o", "json", "marac", "schedule", "--area_code", "WMP", "--meeting_at",
       absl::FormatTime(absl::RFC3339_sec, meeting_at, absl::UTCTimeZone()),
       "--agenda_closes_at",
       absl::FormatTime(absl::RFC3339_sec, meeting_at - absl::Hours(24),
                        absl::UTCTimeZone()),
       "--capacity", "10"},
      marac);
  ASSERT_EQ(scheduled.code, 0) << scheduled.err;
  const std::string meeting =
      FromJson<v1::ScheduleMeetingResponse>(scheduled.out)
          .meeting()
          .meeting_id();
  ASSERT_FALSE(meeting.empty());
  Result meetings = Run({"marac", "meetings", "--area", "WMP"}, marac);
  ASSERT_EQ(meetings.code, 0) << meetings.err;
  EXPECT_THAT(meetings.out, HasSubstr(meeting));
  Result one = Run({"-o", "json", "marac", "meeting", meeting}, marac);
  ASSERT_EQ(one.code, 0) << one.err;
  EXPECT_EQ(FromJson<v1::GetMeetingResponse>(one.out).meeting().meeting_id(),
            meeting);
  // A referral not on this meeting's agenda cannot be heard, nor get an
  // action; an unknown action cannot be completed: refusals by name.
  Result heard = Run(
      {"marac", "heard", meeting, "--referral_id", "no-such-referral"}, marac);
  EXPECT_EQ(heard.code, 3) << heard.err;
  Result allocate = Run({"marac", "allocate", meeting, "--referral_id",
                         "no-such-referral", "--agency_id", "police-wmp",
                         "--kind", "SAFETY_PLANNING", "--due", "now"},
                        marac);
  EXPECT_EQ(allocate.code, 3) << allocate.err;
  Result complete = Run({"marac", "complete", "no-such-action"}, marac);
  EXPECT_EQ(complete.code, 3) << complete.err;
  // A meeting is closed only once it has met.
  Result closed = Run({"marac", "close", meeting}, marac);
  EXPECT_EQ(closed.code, 3) << closed.err;
  EXPECT_THAT(closed.err, HasSubstr("FAILED_PRECONDITION: "));
  EXPECT_THAT(closed.err, HasSubstr("MARAC-MEETING-NOT-HELD"));
}

TEST_F(CliTest, StalledReportAndAudit) {
  ASSERT_FALSE(t10_.empty());
  Result stalled = Run({"-o", "json", "stalled", "--area", "WMP"});
  ASSERT_EQ(stalled.code, 0) << stalled.err;
  FromJson<v1::ListStalledResponse>(stalled.out);
  // The last 30 days, as dates (midnight, London).
  const std::string from = absl::FormatTime(
      "%Y-%m-%d", absl::Now() - absl::Hours(24 * 30), absl::UTCTimeZone());
  const std::string to = absl::FormatTime(
      "%Y-%m-%d", absl::Now() + absl::Hours(48), absl::UTCTimeZone());
  Result report =
      Run({"report", "--area", "WMP", "--from", from, "--to", to}, "pcc-wmp");
  ASSERT_EQ(report.code, 0) << report.err;
  EXPECT_THAT(report.out,
              HasSubstr("producer,area_code,from,to,threshold,section"));
  EXPECT_THAT(report.out, HasSubstr("\ntriage,WMP,"));
  Result timeline = Run(
      {"audit", "timeline", t10_, "--audit", stack_->address("notification")});
  EXPECT_EQ(timeline.code, 0) << timeline.err;
  EXPECT_THAT(timeline.out, HasSubstr("timeline of " + t10_));
  Result access = Run({"-o", "json", "audit", "access", "--person",
                       "00000000-0000-4000-8000-000000000000", "--from", from,
                       "--to", to, "--audit", stack_->address("notification")});
  ASSERT_EQ(access.code, 0) << access.err;
  EXPECT_EQ(FromJson<v1::ListAccessResponse>(access.out).entries_size(), 0);
  Result verify = Run({"audit", "verify", "--bootstrap", stack_->bootstrap(),
                       "--keys", testing::TestPki() + "/signing"});
  EXPECT_NE(verify.code, 2) << verify.err;
  EXPECT_THAT(verify.out, HasSubstr("checkpoints"));
}

TEST_F(CliTest, RotateKekRefusesAMistypedDatabase) {
  Result r = Raw({"rotate-kek", "--db_path", stack_->dir().File("typo.db"),
                  "--kek_file", testing::TestPki() + "/keys/kek.keys"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("no such database"));
}

TEST_F(CliTest, DemoAndLoadRouteReferrals) {
  Result demo = Run(
      {"demo", "--timeout_s", "60",
       testing::SourcePath("examples/referrals/t02_standard_da.textproto")});
  ASSERT_EQ(demo.code, 0) << demo.err;
  EXPECT_THAT(demo.out, HasSubstr("T02 "));
  EXPECT_THAT(demo.out, HasSubstr("Figures for WMP"));
  Result load = Run(
      {"load", "--count", "2",
       testing::SourcePath("examples/referrals/t02_standard_da.textproto")});
  ASSERT_EQ(load.code, 0) << load.err;
  EXPECT_THAT(load.out, HasSubstr("referrals=2 "));
}

}  // namespace
}  // namespace signpost
