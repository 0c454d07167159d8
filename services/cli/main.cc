// signpost-cli: a small gRPC client for operators and the demo.
//   signpost-cli wait-healthy ADDR [ADDR...]     wait until each reports
//   SERVING signpost-cli health ADDR                     exit 0 if ADDR is
//   SERVING now signpost-cli submit INTAKE_ADDR FILE         submit one
//   referral textproto signpost-cli demo --intake A --triage B --advocacy C
//   --orders D
//                     --notification E [--timeout_s N] FILE...
//        submits each referral, waits until it is routed through all five
//        services, and prints one line per referral.
//   signpost-cli load (demo's endpoint flags) --count N FILE
//        submits N copies of FILE and reports latency and throughput.
//   signpost-cli report --triage B --advocacy C --orders D --area AREA
//                       --from DATE --to DATE [--csv]
//        the area's figures from every ReportingService, as CSV
//        (docs/operations.md, "Figures").
// Every command takes `--as AGENCY --pki DIR` (or SIGNPOST_AS and
// SIGNPOST_PKI_DIR): mutual TLS with DIR/agencies/AGENCY.{crt,key} and
// DIR/ca.crt. Without a PKI directory it speaks plaintext (development).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/audit/chain.h"
#include "common/audit/log_reader.h"
#include "common/audit/timeline.h"
#include "common/config/textproto.h"
#include "common/crypto/person_keys.h"
#include "common/events/signing.h"
#include "common/grpc/status.h"
#include "common/grpc/tls.h"
#include "common/kafka/kafka.h"
#include "common/reporting/figures.h"
#include "common/status/macros.h"
#include "common/store/database.h"
#include "common/time/timestamps.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "signpost/v1/advocacy.grpc.pb.h"
#include "signpost/v1/audit.grpc.pb.h"
#include "signpost/v1/intake.grpc.pb.h"
#include "signpost/v1/notification.grpc.pb.h"
#include "signpost/v1/orders.grpc.pb.h"
#include "signpost/v1/outbox.grpc.pb.h"
#include "signpost/v1/reporting.grpc.pb.h"
#include "signpost/v1/triage.grpc.pb.h"

namespace {

using namespace signpost;

// Set once in main() from --as/--pki (or SIGNPOST_AS/SIGNPOST_PKI_DIR):
// mutual TLS with the agency's certificate; plaintext when no PKI is given.
std::shared_ptr<grpc::ChannelCredentials>& Credentials() {
  static auto* credentials = new std::shared_ptr<grpc::ChannelCredentials>(
      grpc::InsecureChannelCredentials());
  return *credentials;
}

std::shared_ptr<grpc::Channel> Dial(const std::string& addr) {
  return grpc::CreateChannel(addr, Credentials());
}

// The PKI directory and whether --as (or SIGNPOST_AS) chose the identity.
struct Identity {
  std::string pki;
  bool as_given = false;
};
Identity& CurrentIdentity() {
  static auto* identity = new Identity();
  return *identity;
}

// The agency a referral file is submitted as: the one it names as
// referrer_org (lower-cased: "POLICE-WMP" is police-wmp) when the PKI holds
// that agency's certificate and --as did not choose another; otherwise the
// CLI's own identity. Intake records a referral as its caller's, so each
// example goes in as the agency that referred it.
std::shared_ptr<grpc::Channel> DialAsReferrer(
    const std::string& addr, const v1::SubmitReferralRequest& request) {
  const Identity& identity = CurrentIdentity();
  const std::string agency =
      absl::AsciiStrToLower(request.referral().referrer_org());
  if (identity.pki.empty() || identity.as_given || agency.empty()) {
    return Dial(addr);
  }
  grpcutil::TlsFiles files{
      absl::StrCat(identity.pki, "/agencies/", agency, ".crt"),
      absl::StrCat(identity.pki, "/agencies/", agency, ".key"),
      absl::StrCat(identity.pki, "/ca.crt")};
  if (!grpcutil::CheckTlsFiles(files).ok()) return Dial(addr);
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      grpcutil::MutualTlsChannelCredentials(files);
  if (!credentials.ok()) return Dial(addr);
  grpc::ChannelArguments args;
  args.SetInt("grpc.use_local_subchannel_pool", 1);
  return grpc::CreateCustomChannel(addr, *credentials, args);
}

// Takes `--as AGENCY` and `--pki DIR` out of argv (they may stand anywhere)
// and sets the credentials. Returns false, printing why, on a bad setting.
bool SetUpIdentity(std::vector<char*>& args) {
  const char* env_as = std::getenv("SIGNPOST_AS");
  const char* env_pki = std::getenv("SIGNPOST_PKI_DIR");
  std::string as = env_as ? env_as : "";
  std::string pki = env_pki ? env_pki : "";
  std::vector<char*> rest;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if ((arg == "--as" || arg == "--pki") && i + 1 < args.size()) {
      (arg == "--as" ? as : pki) = args[++i];
    } else {
      rest.push_back(args[i]);
    }
  }
  args = rest;
  CurrentIdentity().pki = pki;
  CurrentIdentity().as_given = !as.empty();
  if (pki.empty()) {
    if (!as.empty()) {
      std::fprintf(stderr,
                   "signpost-cli: --as needs --pki DIR (or SIGNPOST_PKI_DIR) "
                   "holding agencies/%s.crt\n",
                   as.c_str());
      return false;
    }
    return true;  // development plaintext
  }
  if (as.empty()) as = "signpost-operator";
  grpcutil::TlsFiles files{absl::StrCat(pki, "/agencies/", as, ".crt"),
                           absl::StrCat(pki, "/agencies/", as, ".key"),
                           absl::StrCat(pki, "/ca.crt")};
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      grpcutil::MutualTlsChannelCredentials(files);
  if (!credentials.ok()) {
    std::fprintf(stderr, "signpost-cli: --as %s: %s\n", as.c_str(),
                 std::string(credentials.status().message()).c_str());
    return false;
  }
  Credentials() = *credentials;
  return true;
}

void SetDeadline(grpc::ClientContext* ctx,
                 absl::Duration d = absl::Seconds(5)) {
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + d));
}

std::string Short(absl::string_view name, absl::string_view prefix) {
  absl::ConsumePrefix(&name, prefix);
  return std::string(name);
}

std::string DescribeError(const grpc::Status& status) {
  std::string out =
      absl::StrCat(status.error_code(), " ", status.error_message());
  google::rpc::BadRequest bad;
  if (grpcutil::ExtractBadRequest(status, &bad)) {
    for (const auto& v : bad.field_violations()) {
      absl::StrAppend(&out, "\n  ", v.field(), ": ", v.description());
    }
  }
  return out;
}

int WaitHealthy(const std::vector<std::string>& addrs, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  for (const std::string& addr : addrs) {
    auto stub = grpc::health::v1::Health::NewStub(Dial(addr));
    while (true) {
      grpc::ClientContext ctx;
      SetDeadline(&ctx, absl::Seconds(1));
      grpc::health::v1::HealthCheckRequest req;
      grpc::health::v1::HealthCheckResponse resp;
      grpc::Status s = stub->Check(&ctx, req, &resp);
      if (s.ok() &&
          resp.status() == grpc::health::v1::HealthCheckResponse::SERVING)
        break;
      if (absl::Now() > deadline) {
        std::fprintf(stderr, "signpost-cli: %s not SERVING after %s\n",
                     addr.c_str(), absl::FormatDuration(timeout).c_str());
        return 1;
      }
      absl::SleepFor(absl::Milliseconds(200));
    }
  }
  return 0;
}

absl::StatusOr<v1::SubmitReferralRequest> LoadRequest(const std::string& path) {
  v1::SubmitReferralRequest req;
  if (absl::Status s = config::LoadTextProto(path, &req); !s.ok()) return s;
  return req;
}

int Submit(const std::string& intake, const std::string& path) {
  absl::StatusOr<v1::SubmitReferralRequest> req = LoadRequest(path);
  if (!req.ok()) {
    std::fprintf(stderr, "signpost-cli: %s\n",
                 std::string(req.status().message()).c_str());
    return 2;
  }
  auto stub = v1::IntakeService::NewStub(DialAsReferrer(intake, *req));
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  v1::SubmitReferralResponse resp;
  grpc::Status s = stub->SubmitReferral(&ctx, *req, &resp);
  if (!s.ok()) {
    std::fprintf(stderr, "signpost-cli: SubmitReferral failed: %s\n",
                 DescribeError(s).c_str());
    return 1;
  }
  std::printf("referral_id=%s duplicate=%s\n", resp.referral_id().c_str(),
              resp.duplicate() ? "true" : "false");
  return 0;
}

int ImportDirectory(const std::string& advocacy, const std::string& path) {
  v1::ImportDirectoryRequest directory;
  if (absl::Status s =
          config::LoadTextProto(path, directory.mutable_directory());
      !s.ok()) {
    std::fprintf(stderr, "signpost-cli: %s\n",
                 std::string(s.message()).c_str());
    return 2;
  }
  auto stub = v1::AdvocacyService::NewStub(Dial(advocacy));
  grpc::ClientContext ctx;
  SetDeadline(&ctx, absl::Seconds(30));
  v1::ImportDirectoryResponse resp;
  grpc::Status s = stub->ImportDirectory(&ctx, directory, &resp);
  if (!s.ok()) {
    std::fprintf(stderr, "signpost-cli: ImportDirectory failed: %s\n",
                 DescribeError(s).c_str());
    return 1;
  }
  std::printf("providers=%d advocates=%d waitlist_assigned=%d\n",
              resp.providers(), resp.advocates(), resp.waitlist_assigned());
  return 0;
}

struct Endpoints {
  std::string intake, triage, advocacy, orders, notification;
};

// Polls the services until the referral has gone through all of them.
struct Routed {
  v1::ReferralTriaged decision;
  v1::GetReferralAssignmentsResponse assignments;
  int considerations = 0;
  v1::ListDeliveriesResponse deliveries;
};

// The read-side clients WaitRouted polls; made once per run, not per referral.
struct RoutedClients {
  explicit RoutedClients(const Endpoints& ep)
      : triage(v1::TriageService::NewStub(Dial(ep.triage))),
        advocacy(v1::AdvocacyService::NewStub(Dial(ep.advocacy))),
        orders(v1::OrderService::NewStub(Dial(ep.orders))),
        notification(v1::NotificationService::NewStub(Dial(ep.notification))) {}
  std::unique_ptr<v1::TriageService::Stub> triage;
  std::unique_ptr<v1::AdvocacyService::Stub> advocacy;
  std::unique_ptr<v1::OrderService::Stub> orders;
  std::unique_ptr<v1::NotificationService::Stub> notification;
};

// Every delivery of the referral, following next_page_token (ListDeliveries
// is paged); a failed call is UNAVAILABLE naming notification.
absl::StatusOr<v1::ListDeliveriesResponse> AllDeliveries(
    v1::NotificationService::Stub& notification, const std::string& id) {
  v1::ListDeliveriesResponse all;
  v1::ListDeliveriesRequest req;
  req.set_referral_id(id);
  req.set_page_size(500);
  do {
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    v1::ListDeliveriesResponse page;
    grpc::Status s = notification.ListDeliveries(&ctx, req, &page);
    // Not yet seen by notification: nothing delivered so far.
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) return all;
    if (!s.ok()) {
      return absl::UnavailableError(
          absl::StrCat("notification: ", DescribeError(s)));
    }
    for (v1::Delivery& d : *page.mutable_deliveries()) {
      *all.add_deliveries() = std::move(d);
    }
    all.set_events_processed(page.events_processed());
    req.set_page_token(page.next_page_token());
  } while (!req.page_token().empty());
  return all;
}

absl::StatusOr<Routed> WaitRouted(RoutedClients& clients, const std::string& id,
                                  absl::Duration timeout) {
  auto& triage = clients.triage;
  auto& advocacy = clients.advocacy;
  auto& orders = clients.orders;
  auto& notification = clients.notification;
  absl::Time deadline = absl::Now() + timeout;
  std::string waiting_for = "triage";
  bool first = true;
  while (absl::Now() < deadline) {
    Routed r;
    if (!first) absl::SleepFor(absl::Milliseconds(50));
    first = false;
    {
      grpc::ClientContext ctx;
      SetDeadline(&ctx);
      v1::GetDecisionRequest req;
      req.set_referral_id(id);
      v1::GetDecisionResponse resp;
      grpc::Status s = triage->GetDecision(&ctx, req, &resp);
      if (s.error_code() == grpc::StatusCode::NOT_FOUND) continue;
      if (!s.ok())
        return absl::UnavailableError(
            absl::StrCat("triage: ", DescribeError(s)));
      r.decision = resp.decision();
    }
    waiting_for = "advocacy";
    {
      grpc::ClientContext ctx;
      SetDeadline(&ctx);
      v1::GetReferralAssignmentsRequest req;
      req.set_referral_id(id);
      grpc::Status s =
          advocacy->GetReferralAssignments(&ctx, req, &r.assignments);
      // Not yet seen by advocacy: still on its way.
      if (s.error_code() == grpc::StatusCode::NOT_FOUND) continue;
      if (!s.ok())
        return absl::UnavailableError(
            absl::StrCat("advocacy: ", DescribeError(s)));
      if (!r.assignments.processed()) continue;
    }
    waiting_for = "orders";
    {
      grpc::ClientContext ctx;
      SetDeadline(&ctx);
      v1::ListConsiderationsRequest req;
      req.set_referral_id(id);
      v1::ListConsiderationsResponse resp;
      grpc::Status s = orders->ListConsiderations(&ctx, req, &resp);
      if (s.error_code() == grpc::StatusCode::NOT_FOUND) continue;
      if (!s.ok())
        return absl::UnavailableError(
            absl::StrCat("orders: ", DescribeError(s)));
      r.considerations = resp.considerations_size();
      if (r.considerations < r.decision.considerations_size()) continue;
    }
    waiting_for = "notification";
    {
      ASSIGN_OR_RETURN(r.deliveries, AllDeliveries(*notification, id));
      // Received + triaged + one event per advocacy outcome + per
      // consideration.
      int expected = 2 + r.assignments.assignments_size() + r.considerations;
      if (r.deliveries.events_processed() < expected) continue;
      // Kafka deliveries are accepted once the broker acknowledged them.
      bool kafka_pending = false;
      for (const v1::Delivery& d : r.deliveries.deliveries()) {
        kafka_pending |= d.transport() == v1::TRANSPORT_KAFKA &&
                         d.status() == v1::DELIVERY_STATUS_PENDING;
      }
      if (kafka_pending) continue;
    }
    return r;
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "referral ", id, " not routed within ", absl::FormatDuration(timeout),
      " (waiting for ", waiting_for, ")"));
}

// "IDVA idva-bal by Tue-04-Jun-23:59(SLA-HIGH-CONTACT); MARAC marac-wmp ...":
// every pathway of the decision with the advocate or service provider it
// reached and its first-contact deadline with the rule that set it.
template <typename Local>
std::string FormatReached(const Routed& r, const Local& local) {
  const v1::ReferralTriaged& d = r.decision;
  std::vector<std::string> reached;
  if (d.status() != v1::REFERRAL_STATUS_ROUTED) {
    reached.push_back(
        "no partner referral (" +
        Short(v1::ReferralStatus_Name(d.status()), "REFERRAL_STATUS_") + ")");
  }
  for (const auto& a : r.assignments.assignments()) {
    std::string what =
        a.service() != v1::SERVICE_KIND_UNSPECIFIED
            ? Short(v1::ServiceKind_Name(a.service()), "SERVICE_KIND_")
            : Short(v1::Pathway_Name(a.pathway()), "PATHWAY_");
    if (a.also_pathway() != v1::PATHWAY_UNSPECIFIED) {
      absl::StrAppend(&what, "+",
                      Short(v1::Pathway_Name(a.also_pathway()), "PATHWAY_"));
    }
    std::string who;
    if (a.state() == v1::ASSIGNMENT_STATE_WAITLISTED) {
      who =
          a.service() != v1::SERVICE_KIND_UNSPECIFIED ? "UNSERVED" : "waitlist";
    } else {
      who = a.service() != v1::SERVICE_KIND_UNSPECIFIED ? a.provider_id()
                                                        : a.advocate_id();
      if (a.interpreter_flag()) absl::StrAppend(&who, "(interpreter)");
    }
    if (a.state() == v1::ASSIGNMENT_STATE_RELEASED ||
        a.state() == v1::ASSIGNMENT_STATE_CLOSED) {
      absl::StrAppend(
          &who, "(",
          absl::AsciiStrToLower(
              Short(v1::AssignmentState_Name(a.state()), "ASSIGNMENT_STATE_")),
          ")");
    }
    std::string due;
    if (a.has_first_contact_due()) {
      std::string rule;
      for (const auto& dl : d.deadlines()) {
        if (dl.kind() == "FIRST_CONTACT" && dl.pathway() == a.pathway() &&
            a.pathway() != v1::PATHWAY_UNSPECIFIED) {
          rule = absl::StrCat("(", dl.rule_id(), ")");
        }
      }
      due = absl::StrCat(" by ", local(a.first_contact_due()), rule);
    }
    reached.push_back(absl::StrCat(what, " ", who, due));
  }
  return reached.empty() ? "nothing" : absl::StrJoin(reached, "; ");
}

std::string FormatLine(const std::string& label, const std::string& id,
                       const Routed& r) {
  const v1::ReferralTriaged& d = r.decision;
  std::vector<std::string> pathways, considerations, rules;
  for (int p : d.pathways()) {
    pathways.push_back(
        Short(v1::Pathway_Name(static_cast<v1::Pathway>(p)), "PATHWAY_"));
  }
  for (int c : d.considerations()) {
    considerations.push_back(
        Short(v1::Consideration_Name(static_cast<v1::Consideration>(c)),
              "CONSIDERATION_"));
  }
  for (const auto& reason : d.reasons()) {
    if (std::find(rules.begin(), rules.end(), reason.rule_id()) ==
        rules.end()) {
      rules.push_back(reason.rule_id());
    }
  }
  static const absl::TimeZone london = [] {
    absl::TimeZone tz;
    return absl::LoadTimeZone("Europe/London", &tz) ? tz : absl::UTCTimeZone();
  }();
  auto local = [](const google::protobuf::Timestamp& t) {
    return absl::FormatTime("%a-%d-%b-%H:%M",
                            absl::FromUnixSeconds(t.seconds()), london);
  };
  std::vector<std::string> deadlines;
  for (const auto& dl : d.deadlines()) {
    if (dl.kind() == "FIRST_CONTACT") continue;  // with what it reached
    deadlines.push_back(absl::StrCat(absl::AsciiStrToLower(dl.kind()), "=",
                                     local(dl.due()), "(", dl.rule_id(), ")"));
  }
  std::string status;
  if (d.status() == v1::REFERRAL_STATUS_CONSENT_REQUIRED)
    status = " status=CONSENT_REQUIRED";
  if (d.status() == v1::REFERRAL_STATUS_ASSESSMENT_INCOMPLETE) {
    status = " status=ASSESSMENT_INCOMPLETE";
  }
  if (d.incomplete())
    absl::StrAppend(&status, " missing=", absl::StrJoin(d.missing(), ","));
  return absl::StrCat(
      label, " ", id, status,
      " risk=", Short(v1::RiskLevel_Name(d.risk()), "RISK_LEVEL_"),
      " pathways=", absl::StrJoin(pathways, ","),
      " marac=", d.marac() ? "yes" : "no",
      " deliveries=", r.deliveries.deliveries_size(), " considerations=",
      considerations.empty() ? "-" : absl::StrJoin(considerations, ","),
      " priority=", Short(v1::Priority_Name(d.priority()), "PRIORITY_"),
      deadlines.empty() ? "" : absl::StrCat(" ", absl::StrJoin(deadlines, " ")),
      " updates=", d.updates_working_days(), "wd",
      d.language_match_required() ? " language_match=yes" : "",
      d.legal_basis().empty() ? ""
                              : absl::StrCat(" legal_basis=", d.legal_basis()),
      d.rj_awaiting_consent() ? " rj=awaiting-consent" : "",
      d.enhanced_rights() ? " enhanced=yes" : " enhanced=no",
      " rules=", absl::StrJoin(rules, ","),
      "\n    reached: ", FormatReached(r, local));
}

// "  told: police-wmp kafka=2/2 stream=0/2; ... refused: agency(RULE)": per
// agency, per transport, deliveries accepted of those made; then the shares
// refused with their rule.
std::string FormatDeliveries(const v1::ListDeliveriesResponse& deliveries) {
  std::map<std::string, std::map<std::string, std::pair<int, int>>> made;
  std::set<std::string> refused;
  for (const v1::Delivery& d : deliveries.deliveries()) {
    if (d.status() == v1::DELIVERY_STATUS_REFUSED) {
      refused.insert(absl::StrCat(d.agency_id(), "(", d.refusal_rule(), ")"));
      continue;
    }
    std::string transport = absl::AsciiStrToLower(
        Short(v1::Transport_Name(d.transport()), "TRANSPORT_"));
    if (transport == "grpc_stream") transport = "stream";
    auto& [accepted, total] = made[d.agency_id()][transport];
    ++total;
    if (d.status() == v1::DELIVERY_STATUS_DELIVERED) ++accepted;
  }
  std::vector<std::string> told;
  for (const auto& [agency, transports] : made) {
    std::vector<std::string> parts;
    for (const auto& [transport, counts] : transports) {
      parts.push_back(
          absl::StrCat(transport, "=", counts.first, "/", counts.second));
    }
    told.push_back(absl::StrCat(agency, " ", absl::StrJoin(parts, " ")));
  }
  return absl::StrCat(
      "    told (accepted/made): ", told.empty() ? "nobody" : "",
      absl::StrJoin(told, "; "),
      refused.empty()
          ? ""
          : absl::StrCat("\n    refused: ", absl::StrJoin(refused, ", ")));
}

int PrintFiguresTable(const Endpoints& ep, const std::string& area);

int Demo(const Endpoints& ep, const std::vector<std::string>& files,
         absl::Duration timeout) {
  std::vector<std::pair<std::string, std::string>> submitted;  // label, id
  std::string area;  // the first referral's: the demo area's figures end it
  for (const std::string& path : files) {
    absl::StatusOr<v1::SubmitReferralRequest> req = LoadRequest(path);
    if (!req.ok()) {
      std::fprintf(stderr, "signpost-cli: %s\n",
                   std::string(req.status().message()).c_str());
      return 2;
    }
    auto intake = v1::IntakeService::NewStub(DialAsReferrer(ep.intake, *req));
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    v1::SubmitReferralResponse resp;
    grpc::Status s = intake->SubmitReferral(&ctx, *req, &resp);
    if (!s.ok()) {
      std::fprintf(stderr, "signpost-cli: %s: SubmitReferral failed: %s\n",
                   path.c_str(), DescribeError(s).c_str());
      return 1;
    }
    std::string base = path.substr(path.rfind('/') + 1);
    std::string label = absl::AsciiStrToUpper(base.substr(0, base.find('_')));
    submitted.emplace_back(label, resp.referral_id());
    if (area.empty()) area = req->referral().area_code();
  }
  int failures = 0;
  RoutedClients clients(ep);
  for (const auto& [label, id] : submitted) {
    absl::StatusOr<Routed> routed = WaitRouted(clients, id, timeout);
    if (!routed.ok()) {
      std::fprintf(stderr, "signpost-cli: %s: %s\n", label.c_str(),
                   std::string(routed.status().message()).c_str());
      ++failures;
      continue;
    }
    std::printf("%s\n%s\n", FormatLine(label, id, *routed).c_str(),
                FormatDeliveries(routed->deliveries).c_str());
    std::fflush(stdout);
  }
  if (failures == 0 && PrintFiguresTable(ep, area) != 0) ++failures;
  return failures == 0 ? 0 : 1;
}

// Submits `count` copies of one referral (fresh idempotency keys), then
// waits until every one is fully routed; prints submit latency percentiles
// and end-to-end throughput.
int Load(const Endpoints& ep, const std::string& file, int count,
         absl::Duration timeout) {
  absl::StatusOr<v1::SubmitReferralRequest> req = LoadRequest(file);
  if (!req.ok()) {
    std::fprintf(stderr, "signpost-cli: %s\n",
                 std::string(req.status().message()).c_str());
    return 2;
  }
  auto intake = v1::IntakeService::NewStub(DialAsReferrer(ep.intake, *req));
  std::vector<double> latencies_ms;
  std::vector<std::string> ids;
  std::string run = absl::StrCat(absl::ToUnixNanos(absl::Now()));
  absl::Time start = absl::Now();
  for (int i = 0; i < count; ++i) {
    req->set_idempotency_key(absl::StrCat("load-", run, "-", i));
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    v1::SubmitReferralResponse resp;
    absl::Time t0 = absl::Now();
    grpc::Status s = intake->SubmitReferral(&ctx, *req, &resp);
    latencies_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
    if (!s.ok()) {
      std::fprintf(stderr, "signpost-cli: submit failed: %s\n",
                   DescribeError(s).c_str());
      return 1;
    }
    ids.push_back(resp.referral_id());
  }
  absl::Duration submit_time = absl::Now() - start;
  RoutedClients clients(ep);
  for (const std::string& id : ids) {
    absl::StatusOr<Routed> routed = WaitRouted(clients, id, timeout);
    if (!routed.ok()) {
      std::fprintf(stderr, "signpost-cli: %s\n",
                   std::string(routed.status().message()).c_str());
      return 1;
    }
  }
  absl::Duration total = absl::Now() - start;
  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto pct = [&](double p) {
    return latencies_ms[std::min(latencies_ms.size() - 1,
                                 static_cast<size_t>(p * latencies_ms.size()))];
  };
  std::printf(
      "referrals=%d submit_p50_ms=%.2f submit_p99_ms=%.2f "
      "submit_rate_per_s=%.1f "
      "all_routed_s=%.2f routed_rate_per_s=%.1f\n",
      count, pct(0.50), pct(0.99), count / absl::ToDoubleSeconds(submit_time),
      absl::ToDoubleSeconds(total), count / absl::ToDoubleSeconds(total));
  return 0;
}

// Re-wraps every data key in one service's store with the key file's first
// (active) key. The data is not rewritten. The old keys must still be in the
// file; remove them only after this succeeds, for every service.
int RotateKek(const std::string& db_path, const std::string& kek_file) {
  absl::StatusOr<std::shared_ptr<const crypto::PersonKeys>> keys =
      crypto::LoadPersonKeys("--kek_file", kek_file);
  if (!keys.ok()) {
    std::fprintf(stderr, "signpost-cli: %s\n",
                 std::string(keys.status().message()).c_str());
    return 2;
  }
  // An existing database only: a mistyped path must not make an empty one
  // and report success.
  if (::access(db_path.c_str(), R_OK | W_OK) != 0) {
    std::fprintf(stderr, "signpost-cli: --db_path: %s: no such database\n",
                 db_path.c_str());
    return 2;
  }
  absl::StatusOr<std::unique_ptr<store::Database>> db =
      store::Database::OpenExisting(db_path);
  if (!db.ok()) {
    std::fprintf(stderr, "signpost-cli: --db_path: %s\n",
                 std::string(db.status().message()).c_str());
    return 2;
  }
  absl::StatusOr<int> rewrapped =
      (*db)->Write([&](store::Tx& tx) -> absl::StatusOr<int> {
        RETURN_IF_ERROR((*keys)->CheckAll(tx));
        return (*keys)->RotateAll(tx);
      });
  if (!rewrapped.ok()) {
    std::fprintf(stderr, "signpost-cli: rotate-kek: %s\n",
                 std::string(rewrapped.status().message()).c_str());
    return 1;
  }
  std::printf("rewrapped=%d active_key=%s\n", *rewrapped,
              (*keys)->keyring().active_id().c_str());
  return 0;
}

// --- Figures (issue 13): `report` and the demo's closing table. ---

// The services that serve ReportingService, in report order.
std::vector<std::pair<std::string, std::string>> FigureProducers(
    const Endpoints& ep) {
  return {
      {"triage", ep.triage}, {"advocacy", ep.advocacy}, {"orders", ep.orders}};
}

// Every producer's figures for the area and period; the first failure is
// UNAVAILABLE (or the service's refusal) naming the producer.
absl::StatusOr<std::vector<v1::GetFiguresResponse>> FetchFigures(
    const Endpoints& ep, const std::string& area, absl::Time from,
    absl::Time to) {
  v1::GetFiguresRequest req;
  req.set_area_code(area);
  *req.mutable_from() = timeutil::ToTimestamp(from);
  *req.mutable_to() = timeutil::ToTimestamp(to);
  std::vector<v1::GetFiguresResponse> out;
  for (const auto& [name, addr] : FigureProducers(ep)) {
    auto stub = v1::ReportingService::NewStub(Dial(addr));
    grpc::ClientContext ctx;
    SetDeadline(&ctx, absl::Seconds(30));
    v1::GetFiguresResponse resp;
    grpc::Status s = stub->GetFigures(&ctx, req, &resp);
    if (!s.ok()) {
      return absl::UnavailableError(
          absl::StrCat(name, ": GetFigures failed: ", DescribeError(s)));
    }
    out.push_back(std::move(resp));
  }
  return out;
}

// A CSV field, quoted when it holds a comma, quote or line break.
std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  return absl::StrCat("\"", absl::StrReplaceAll(s, {{"\"", "\"\""}}), "\"");
}

// One CSV line per figure (docs/operations.md, "Figures"); a suppressed
// figure has empty value and base.
void PrintFiguresCsv(const std::vector<v1::GetFiguresResponse>& responses) {
  std::printf(
      "producer,area_code,from,to,threshold,section,labels,measure,value,"
      "base,suppressed\n");
  for (const v1::GetFiguresResponse& r : responses) {
    const std::string from =
        absl::FormatTime(absl::RFC3339_sec, timeutil::FromTimestamp(r.from()),
                         absl::UTCTimeZone());
    const std::string to =
        absl::FormatTime(absl::RFC3339_sec, timeutil::FromTimestamp(r.to()),
                         absl::UTCTimeZone());
    for (const v1::Figure& f : r.figures()) {
      std::printf("%s,%s,%s,%s,%d,%s,%s,%s,%s,%s,%s\n",
                  CsvField(r.producer()).c_str(),
                  CsvField(r.area_code()).c_str(), from.c_str(), to.c_str(),
                  r.suppression_threshold(), CsvField(f.section()).c_str(),
                  CsvField(reporting::LabelsText(f)).c_str(),
                  CsvField(f.measure()).c_str(),
                  f.suppressed() ? "" : absl::StrCat(f.value()).c_str(),
                  f.suppressed() ? "" : absl::StrCat(f.base()).c_str(),
                  f.suppressed() ? "true" : "false");
    }
  }
}

// "2024-01-01" (midnight, Europe/London) or an RFC 3339 time.
absl::StatusOr<absl::Time> ParseReportTime(const std::string& text) {
  absl::Time t;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, text, &t, &err)) return t;
  absl::TimeZone london;
  if (!absl::LoadTimeZone("Europe/London", &london)) {
    return absl::FailedPreconditionError("time zone Europe/London not found");
  }
  if (absl::ParseTime("%Y-%m-%d", text, london, &t, &err)) return t;
  return absl::InvalidArgumentError(
      absl::StrCat("'", text, "' is neither YYYY-MM-DD nor RFC 3339"));
}

int Report(const Endpoints& ep, const std::string& area,
           const std::string& from_text, const std::string& to_text) {
  absl::StatusOr<absl::Time> from = ParseReportTime(from_text);
  absl::StatusOr<absl::Time> to = ParseReportTime(to_text);
  for (const auto& t : {from, to}) {
    if (!t.ok()) {
      std::fprintf(stderr, "signpost-cli: report: %s\n",
                   std::string(t.status().message()).c_str());
      return 2;
    }
  }
  absl::StatusOr<std::vector<v1::GetFiguresResponse>> figures =
      FetchFigures(ep, area, *from, *to);
  if (!figures.ok()) {
    std::fprintf(stderr, "signpost-cli: report: %s\n",
                 std::string(figures.status().message()).c_str());
    return 1;
  }
  PrintFiguresCsv(*figures);
  return 0;
}

// A figure for people: "<5" when suppressed, else the value in its unit.
std::string FigureText(const v1::Figure& f, int threshold) {
  if (f.suppressed()) return absl::StrCat("<", threshold);
  if (absl::EndsWith(f.measure(), "_percent")) {
    return absl::StrFormat("%.1f%%", f.value());
  }
  if (absl::EndsWith(f.measure(), "_hours")) {
    return absl::StrFormat("%.1f h", f.value());
  }
  return absl::StrCat(f.value());
}

// The demo's closing table: a few key figures of `area` for the last 30
// days (when the demo's referrals were processed).
int PrintFiguresTable(const Endpoints& ep, const std::string& area) {
  const absl::Time to = absl::Now() + absl::Hours(1);
  absl::StatusOr<std::vector<v1::GetFiguresResponse>> figures =
      FetchFigures(ep, area, to - absl::Hours(24 * 30), to);
  if (!figures.ok()) {
    std::fprintf(stderr, "signpost-cli: figures: %s\n",
                 std::string(figures.status().message()).c_str());
    return 1;
  }
  int threshold = figures->empty() ? reporting::kMinSuppressionThreshold
                                   : figures->front().suppression_threshold();
  // (section, labels, measure) -> shown as
  const std::vector<
      std::tuple<std::string, std::string, std::string, std::string>>
      rows = {
          {"referrals", "", "count", "referrals received"},
          {"referrals", "source=", "count", "  from "},
          {"referrals", "", "marac_count", "referrals to MARAC"},
          {"first_contact", "", "median_hours", "first contact, median"},
          {"first_contact", "", "p90_hours", "first contact, 90th percentile"},
          {"deadlines", "deadline=FIRST_CONTACT", "met_percent",
           "first-contact deadlines met"},
          {"deadlines", "deadline=VCOP_REFERRAL", "met_percent",
           "referral deadlines met"},
          {"deadlines", "deadline=UPDATES", "met_percent", "updates on time"},
          {"waitlist", "", "waiting_now", "waiting now"},
          {"waitlist", "", "wait_median_hours", "waited, median"},
          {"orders", "month=", "considerations_opened",
           "order considerations opened, "},
          {"orders", "month=", "grants", "orders granted, "},
      };
  std::printf(
      "\nFigures for %s, last 30 days (counts below %d shown as <%d):\n",
      area.c_str(), threshold, threshold);
  for (const auto& [section, labels, measure, title] : rows) {
    for (const v1::GetFiguresResponse& r : *figures) {
      for (const v1::Figure& f : r.figures()) {
        const std::string text = reporting::LabelsText(f);
        const bool prefix = absl::EndsWith(labels, "=");
        if (f.section() != section || f.measure() != measure) continue;
        if (prefix ? !(absl::StartsWith(text, labels) &&
                       text.find(';') == std::string::npos)
                   : text != labels) {
          continue;
        }
        std::string name = title;
        if (prefix) {
          name += Short(text.substr(labels.size()), "REFERRAL_SOURCE_");
        }
        std::printf("  %-40s %s\n", name.c_str(),
                    FigureText(f, r.suppression_threshold()).c_str());
      }
    }
  }
  return 0;
}

// Re-publishes outbox history (docs/operations.md, "Stalled referrals and
// replay") from each named service, by referral or by range, with the
// original event ids. Prints one line per service.
int Replay(const std::vector<std::pair<std::string, std::string>>& addrs,
           const std::string& referral_id, const std::string& from_text,
           const std::string& to_text, const std::vector<std::string>& types,
           bool dry_run) {
  v1::ReplayOutboxRequest req;
  req.set_referral_id(referral_id);
  if (!from_text.empty() || !to_text.empty()) {
    absl::StatusOr<absl::Time> from = ParseReportTime(from_text);
    absl::StatusOr<absl::Time> to = ParseReportTime(to_text);
    for (const auto& t : {from, to}) {
      if (!t.ok()) {
        std::fprintf(stderr, "signpost-cli: replay: %s\n",
                     std::string(t.status().message()).c_str());
        return 2;
      }
    }
    *req.mutable_from() = timeutil::ToTimestamp(*from);
    *req.mutable_to() = timeutil::ToTimestamp(*to);
  }
  for (const std::string& t : types) req.add_types(t);
  req.set_dry_run(dry_run);
  int failed = 0;
  for (const auto& [name, addr] : addrs) {
    auto stub = v1::OutboxService::NewStub(Dial(addr));
    grpc::ClientContext ctx;
    SetDeadline(&ctx, absl::Seconds(30));
    v1::ReplayOutboxResponse resp;
    grpc::Status s = stub->ReplayOutbox(&ctx, req, &resp);
    if (!s.ok()) {
      std::fprintf(stderr, "signpost-cli: replay: %s: %s\n", name.c_str(),
                   DescribeError(s).c_str());
      ++failed;
      continue;
    }
    std::printf("%s: %d event(s) %s\n", resp.producer().c_str(),
                resp.replayed(), dry_run ? "would be replayed" : "replayed");
  }
  return failed == 0 ? 0 : 1;
}

// Referrals stuck now (IntakeService.ListStalled), one per line.
int Stalled(const std::string& intake, const std::string& area) {
  auto stub = v1::IntakeService::NewStub(Dial(intake));
  v1::ListStalledRequest req;
  req.set_area_code(area);
  int rows = 0;
  do {
    grpc::ClientContext ctx;
    SetDeadline(&ctx, absl::Seconds(30));
    v1::ListStalledResponse resp;
    grpc::Status s = stub->ListStalled(&ctx, req, &resp);
    if (!s.ok()) {
      std::fprintf(stderr, "signpost-cli: stalled: %s\n",
                   DescribeError(s).c_str());
      return 1;
    }
    for (const v1::StalledReferral& r : resp.referrals()) {
      std::printf("%s %s %s since %s (reported %d time%s)\n",
                  r.referral_id().c_str(), r.area_code().c_str(),
                  r.stage().c_str(),
                  absl::FormatTime(absl::RFC3339_sec,
                                   timeutil::FromTimestamp(r.stage_since()),
                                   absl::UTCTimeZone())
                      .c_str(),
                  r.reports(), r.reports() == 1 ? "" : "s");
      ++rows;
    }
    req.set_page_token(resp.next_page_token());
  } while (!req.page_token().empty());
  if (rows == 0) std::printf("no stalled referrals\n");
  return 0;
}

// `audit verify`: reads every signpost topic from `bootstrap` to its end and
// checks each producer's hash chain, signatures and checkpoints
// (common/audit/chain.h) against the public keys in `keys_dir`. Prints a
// line per producer and each producer's first break; 1 on any break.
int AuditVerify(const std::string& bootstrap, const std::string& keys_dir,
                bool from_start, const std::vector<std::string>& only) {
  // "--topic COPY=ORIGINAL" reads a copy of a topic as the original (the
  // signatures cover the topic); breaks are reported at the copy.
  std::vector<std::string> wanted;
  std::map<std::string, std::string> read_as;
  for (const std::string& t : only) {
    const size_t eq = t.find('=');
    wanted.push_back(t.substr(0, eq));
    if (eq != std::string::npos) read_as[t.substr(0, eq)] = t.substr(eq + 1);
  }
  absl::StatusOr<events::EventVerifier> keys = events::LoadVerifier(keys_dir);
  if (!keys.ok()) {
    std::fprintf(stderr, "signpost-cli: audit verify: %s\n",
                 std::string(keys.status().message()).c_str());
    return 2;
  }
  kafka::ClientOptions options;
  options.bootstrap_servers = bootstrap;
  absl::StatusOr<std::vector<kafka::ConsumedMessage>> records =
      audit::ReadLog(options, wanted, absl::Minutes(10));
  if (!records.ok()) {
    std::fprintf(stderr, "signpost-cli: audit verify: %s\n",
                 std::string(records.status().message()).c_str());
    return 1;
  }
  for (kafka::ConsumedMessage& r : *records) {
    if (auto as = read_as.find(r.topic); as != read_as.end()) {
      r.topic = as->second;
    }
  }
  audit::ChainReport report = audit::VerifyChains(*records, *keys, from_start);
  for (audit::ChainBreak& b : report.breaks) {
    for (const auto& [copy, original] : read_as) {
      if (b.topic == original) b.topic = copy;
    }
  }
  for (const auto& [producer, n] : report.records) {
    std::vector<std::string> heads;
    for (const auto& [topic, seq] : report.head_seq[producer]) {
      heads.push_back(absl::StrCat(topic, "@", seq));
    }
    std::printf("%-13s %8lld records, chain heads %s\n", producer.c_str(),
                static_cast<long long>(n),
                heads.empty() ? "(none)" : absl::StrJoin(heads, " ").c_str());
  }
  std::printf("%lld checkpoints, %lld re-sent records\n",
              static_cast<long long>(report.checkpoints),
              static_cast<long long>(report.resends));
  for (const audit::ChainBreak& b : report.breaks) {
    std::printf("BREAK %s %s at %s[%d]@%lld: %s\n", b.producer.c_str(),
                b.kind.c_str(), b.topic.c_str(), b.partition,
                static_cast<long long>(b.offset), b.detail.c_str());
  }
  if (!report.breaks.empty()) return 1;
  std::printf("audit verify: every chain intact\n");
  return 0;
}

std::string TimeText(const google::protobuf::Timestamp& ts) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", timeutil::FromTimestamp(ts),
                          absl::UTCTimeZone());
}

// A delivery or access-audit entry's own columns, for people.
std::string PartyText(const v1::TimelineEntry& e) {
  if (!e.rpc().empty()) {
    return absl::StrCat(" by=", e.agency_id(), " rpc=", e.rpc(), " ",
                        v1::FieldClass_Name(e.field_class()), " ",
                        v1::AccessDecision_Name(e.decision()), " ",
                        e.status_code());
  }
  if (!e.agency_id().empty()) {
    return absl::StrCat(
        " to=", e.agency_id(), " ", v1::Transport_Name(e.transport()),
        " basis=", e.legal_basis(), " ", v1::FieldSet_Name(e.field_set()), " ",
        v1::DeliveryStatus_Name(e.delivery_status()));
  }
  return "";
}

// Where an audit answer comes from: AuditService at `addr`, or the log
// itself (`bootstrap` and `keys`, for an auditor who holds only the log).
struct AuditSource {
  std::string addr;
  std::string bootstrap;
  std::string keys;
};

absl::StatusOr<std::vector<kafka::ConsumedMessage>> ReadWholeLog(
    const AuditSource& source, events::EventVerifier* keys) {
  absl::StatusOr<events::EventVerifier> loaded =
      events::LoadVerifier(source.keys);
  if (!loaded.ok()) return loaded.status();
  *keys = *std::move(loaded);
  kafka::ClientOptions options;
  options.bootstrap_servers = source.bootstrap;
  return audit::ReadLog(options, {}, absl::Minutes(10),
                        audit::PartnerTopics::kExclude);
}

// One audit answer into `resp`: from AuditService (`call` on a stub) when
// `source` names an address, else built from the log itself (`build`).
// False, after saying why on stderr, when it could not be had.
template <typename Response, typename Call, typename Build>
bool FetchAudit(const AuditSource& source, const char* what, Response* resp,
                Call call, Build build) {
  std::string error;
  if (!source.addr.empty()) {
    auto stub = v1::AuditService::NewStub(Dial(source.addr));
    grpc::ClientContext ctx;
    SetDeadline(&ctx, absl::Minutes(3));
    if (grpc::Status s = call(*stub, &ctx); !s.ok()) error = DescribeError(s);
  } else {
    events::EventVerifier keys;
    absl::StatusOr<std::vector<kafka::ConsumedMessage>> records =
        ReadWholeLog(source, &keys);
    if (records.ok()) {
      *resp = build(*records, keys);
    } else {
      error = std::string(records.status().message());
    }
  }
  if (error.empty()) return true;
  std::fprintf(stderr, "signpost-cli: audit %s: %s\n", what, error.c_str());
  return false;
}

// `audit timeline REFERRAL`: every event of the referral, in causal order,
// one per line, indented by its depth under its cause.
int AuditTimeline(const AuditSource& source, const std::string& referral) {
  v1::GetTimelineRequest req;
  req.set_referral_id(referral);
  if (absl::Status bad = audit::CheckTimelineRequest(req).ToStatus();
      !bad.ok()) {
    std::fprintf(stderr, "signpost-cli: audit timeline: %s\n",
                 std::string(bad.message()).c_str());
    return 2;
  }
  v1::GetTimelineResponse resp;
  if (!FetchAudit(
          source, "timeline", &resp,
          [&](v1::AuditService::Stub& stub, grpc::ClientContext* ctx) {
            return stub.GetTimeline(ctx, req, &resp);
          },
          [&](const std::vector<kafka::ConsumedMessage>& records,
              const events::EventVerifier& keys) {
            return audit::BuildTimeline(records, keys, referral);
          })) {
    return 1;
  }
  std::printf(
      "timeline of %s: %d events (%lld records read, %lld unverified)\n",
      referral.c_str(), resp.entries_size(),
      static_cast<long long>(resp.records_read()),
      static_cast<long long>(resp.unverified()));
  for (const v1::TimelineEntry& e : resp.entries()) {
    const std::string type(absl::StripPrefix(e.type(), "signpost.v1."));
    const std::string party = PartyText(e);
    std::printf(
        "%s %s%-12s %s%s%s%s%s\n", TimeText(e.occurred_at()).c_str(),
        std::string(2 * std::min(e.depth(), 10), ' ').c_str(),
        e.producer().c_str(), type.c_str(),
        e.rule_ids().empty()
            ? ""
            : absl::StrCat(" rules=", absl::StrJoin(e.rule_ids(), ",")).c_str(),
        e.policy_version().empty()
            ? ""
            : absl::StrCat(" policy=", e.policy_version()).c_str(),
        party.empty() && !e.summary().empty()
            ? absl::StrCat(" [", e.summary().substr(0, 160), "]").c_str()
            : party.c_str(),
        e.resends() == 0
            ? ""
            : absl::StrCat(" (sent ", e.resends() + 1, " times)").c_str());
  }
  std::set<std::string> producers;
  for (const v1::TimelineEntry& e : resp.entries()) {
    producers.insert(e.producer());
  }
  std::printf("producers: %s\n", absl::StrJoin(producers, ", ").c_str());
  return resp.unverified() == 0 ? 0 : 1;
}

// `audit access --person P --from D --to D`: who received or read the
// person's data in the period, one line per receipt or read.
int AuditAccess(const AuditSource& source, const std::string& person,
                const std::string& from_text, const std::string& to_text) {
  v1::ListAccessRequest req;
  req.set_person_id(person);
  absl::StatusOr<absl::Time> from = ParseReportTime(from_text);
  absl::StatusOr<absl::Time> to = ParseReportTime(to_text);
  if (from.ok()) *req.mutable_from() = timeutil::ToTimestamp(*from);
  if (to.ok()) *req.mutable_to() = timeutil::ToTimestamp(*to);
  if (absl::Status bad = audit::CheckListAccessRequest(req).ToStatus();
      !bad.ok() || !from.ok() || !to.ok()) {
    std::fprintf(stderr, "signpost-cli: audit access: %s\n",
                 std::string(!bad.ok()    ? bad.message()
                             : !from.ok() ? from.status().message()
                                          : to.status().message())
                     .c_str());
    return 2;
  }
  v1::ListAccessResponse resp;
  if (!FetchAudit(
          source, "access", &resp,
          [&](v1::AuditService::Stub& stub, grpc::ClientContext* ctx) {
            return stub.ListAccess(ctx, req, &resp);
          },
          [&](const std::vector<kafka::ConsumedMessage>& records,
              const events::EventVerifier& keys) {
            return audit::BuildAccessList(records, keys, person, *from, *to);
          })) {
    return 1;
  }
  std::printf("person %s: %d referral(s), %d access(es)\n", person.c_str(),
              resp.referral_ids_size(), resp.entries_size());
  for (const v1::AccessEntry& a : resp.entries()) {
    std::printf(
        "%s %s %s referral=%s object=%s %s%s basis=%s %s\n",
        TimeText(a.at()).c_str(), a.agency_id().c_str(),
        v1::AccessKind_Name(a.kind()).c_str(), a.referral_id().c_str(),
        a.object_id().c_str(), v1::FieldClass_Name(a.field_class()).c_str(),
        a.field_set() == v1::FIELD_SET_UNSPECIFIED
            ? ""
            : absl::StrCat(" ", v1::FieldSet_Name(a.field_set())).c_str(),
        a.basis().c_str(),
        a.rpc().empty() ? v1::Transport_Name(a.transport()).c_str()
                        : a.rpc().c_str());
  }
  return 0;
}

// Prints the usage to `out`; returns 2 (a usage error) for stderr, 0 for
// stdout (--help).
int Usage(FILE* out = stderr) {
  std::fprintf(
      out,
      "usage:\n  signpost-cli wait-healthy ADDR...\n"
      "  signpost-cli health ADDR\n"
      "  signpost-cli submit INTAKE_ADDR FILE\n"
      "  signpost-cli import-directory ADVOCACY_ADDR FILE\n"
      "  signpost-cli demo --intake A --triage B --advocacy C --orders D "
      "--notification E [--timeout_s N] FILE...\n"
      "  signpost-cli load (same endpoint flags) --count N FILE\n"
      "  signpost-cli rotate-kek --db_path SERVICE_DB --kek_file KEYS\n"
      "  signpost-cli report --triage B --advocacy C --orders D --area AREA "
      "--from DATE --to DATE [--csv]\n"
      "  signpost-cli replay (--referral ID | --from TIME --to TIME) "
      "[--type signpost.v1.T]... [--dry-run] --intake A --triage B "
      "--advocacy C --orders D --notification E (any of them)\n"
      "  signpost-cli stalled --intake A [--area AREA]\n"
      "  signpost-cli audit verify --bootstrap HOST:PORT --keys DIR "
      "[--range] [--topic T[=AS]]... (default: every signpost.* topic; "
      "AS: read a copy as the topic it copies)\n"
      "  signpost-cli audit timeline REFERRAL_ID (--audit NOTIFICATION_ADDR "
      "| --bootstrap HOST:PORT --keys DIR)\n"
      "  signpost-cli audit access --person PERSON_ID --from DATE --to DATE "
      "(--audit NOTIFICATION_ADDR | --bootstrap HOST:PORT --keys DIR)\n"
      "every command: [--as AGENCY --pki DIR] (or SIGNPOST_AS, "
      "SIGNPOST_PKI_DIR) for mutual TLS; without --as, submit, demo and load "
      "submit each referral as the agency its referrer_org names when the "
      "PKI holds that agency's certificate\n"
      "  signpost-cli --help | --version\n"
      "exit codes: 0 done; 1 the call or check failed (a break, a refusal, "
      "a service down); 2 a usage or configuration error\n");
  return out == stderr ? 2 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args(argv, argv + argc);
  if (!SetUpIdentity(args)) return 2;
  argc = static_cast<int>(args.size());
  argv = args.data();
  if (argc < 2) return Usage();
  std::string command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    return Usage(stdout);
  }
  if (command == "--version") {
    std::printf("signpost-cli %s\n", SIGNPOST_VERSION);
    return 0;
  }
  if (command == "wait-healthy") {
    std::vector<std::string> addrs(argv + 2, argv + argc);
    if (addrs.empty()) return Usage();
    return WaitHealthy(addrs, absl::Seconds(60));
  }
  if (command == "health") {
    // One-shot health probe for container health checks.
    if (argc != 3) return Usage();
    return WaitHealthy({argv[2]}, absl::Seconds(2));
  }
  if (command == "submit") {
    if (argc != 4) return Usage();
    return Submit(argv[2], argv[3]);
  }
  if (command == "rotate-kek") {
    std::string db_path, kek_file;
    for (int i = 2; i + 1 < argc; i += 2) {
      std::string flag = argv[i];
      if (flag == "--db_path") {
        db_path = argv[i + 1];
      } else if (flag == "--kek_file") {
        kek_file = argv[i + 1];
      } else {
        return Usage();
      }
    }
    if (db_path.empty() || kek_file.empty() || argc != 6) return Usage();
    return RotateKek(db_path, kek_file);
  }
  if (command == "import-directory") {
    if (argc != 4) return Usage();
    return ImportDirectory(argv[2], argv[3]);
  }
  if (command == "report") {
    // Figures as CSV (docs/operations.md, "Figures"); --csv is the only
    // format and may be given or not.
    Endpoints ep;
    std::string area, from, to;
    std::map<std::string, std::string*> flags = {
        {"--triage", &ep.triage}, {"--advocacy", &ep.advocacy},
        {"--orders", &ep.orders}, {"--area", &area},
        {"--from", &from},        {"--to", &to}};
    for (int i = 2; i < argc; ++i) {
      std::string arg = argv[i];
      if (arg == "--csv") continue;
      if (!flags.count(arg) || i + 1 >= argc) return Usage();
      *flags[arg] = argv[++i];
    }
    for (const auto& [name, value] : flags) {
      if (value->empty()) {
        std::fprintf(stderr, "signpost-cli: %s is required\n", name.c_str());
        return 2;
      }
    }
    return Report(ep, area, from, to);
  }
  if (command == "replay") {
    std::vector<std::pair<std::string, std::string>> addrs;
    std::string referral, from, to;
    std::vector<std::string> types;
    bool dry_run = false;
    for (int i = 2; i < argc; ++i) {
      std::string arg = argv[i];
      if (arg == "--dry-run") {
        dry_run = true;
        continue;
      }
      if (i + 1 >= argc) return Usage();
      std::string value = argv[++i];
      if (arg == "--referral") {
        referral = value;
      } else if (arg == "--from") {
        from = value;
      } else if (arg == "--to") {
        to = value;
      } else if (arg == "--type") {
        types.push_back(value);
      } else if (arg == "--intake" || arg == "--triage" ||
                 arg == "--advocacy" || arg == "--orders" ||
                 arg == "--notification") {
        addrs.emplace_back(arg.substr(2), value);
      } else {
        std::fprintf(stderr, "signpost-cli: replay: unknown flag %s\n",
                     arg.c_str());
        return 2;
      }
    }
    if (addrs.empty() || (referral.empty() && (from.empty() || to.empty()))) {
      return Usage();
    }
    return Replay(addrs, referral, from, to, types, dry_run);
  }
  if (command == "audit") {
    if (argc >= 3 && (std::string(argv[2]) == "timeline" ||
                      std::string(argv[2]) == "access")) {
      // audit timeline REFERRAL | audit access --person P --from --to,
      // from AuditService (--audit) or from the log (--bootstrap --keys).
      const std::string sub = argv[2];
      AuditSource source;
      std::string referral, person, from, to;
      std::map<std::string, std::string*> flags = {
          {"--audit", &source.addr}, {"--bootstrap", &source.bootstrap},
          {"--keys", &source.keys},  {"--person", &person},
          {"--from", &from},         {"--to", &to}};
      for (int i = 3; i < argc; ++i) {
        std::string arg = argv[i];
        if (flags.count(arg) && i + 1 < argc) {
          *flags[arg] = argv[++i];
        } else if (sub == "timeline" && referral.empty() &&
                   !absl::StartsWith(arg, "--")) {
          referral = arg;
        } else {
          std::fprintf(stderr, "signpost-cli: audit %s: unexpected %s\n",
                       sub.c_str(), arg.c_str());
          return 2;
        }
      }
      if (source.addr.empty() ==
          (source.bootstrap.empty() || source.keys.empty())) {
        std::fprintf(stderr,
                     "signpost-cli: audit %s: give --audit ADDR, or "
                     "--bootstrap and --keys\n",
                     sub.c_str());
        return 2;
      }
      if (sub == "timeline") return AuditTimeline(source, referral);
      return AuditAccess(source, person, from, to);
    }
    // audit verify --bootstrap B --keys DIR [--range]
    if (argc < 3 || std::string(argv[2]) != "verify") return Usage();
    std::string bootstrap, keys;
    std::vector<std::string> topics;
    bool from_start = true;
    for (int i = 3; i < argc; ++i) {
      std::string arg = argv[i];
      if (arg == "--range") {
        from_start = false;
      } else if (arg == "--topic" && i + 1 < argc) {
        topics.push_back(argv[++i]);
      } else if (arg == "--bootstrap" && i + 1 < argc) {
        bootstrap = argv[++i];
      } else if (arg == "--keys" && i + 1 < argc) {
        keys = argv[++i];
      } else {
        return Usage();
      }
    }
    if (bootstrap.empty() || keys.empty()) return Usage();
    return AuditVerify(bootstrap, keys, from_start, topics);
  }
  if (command == "stalled") {
    std::string intake, area;
    for (int i = 2; i + 1 < argc; i += 2) {
      std::string arg = argv[i];
      if (arg == "--intake") {
        intake = argv[i + 1];
      } else if (arg == "--area") {
        area = argv[i + 1];
      } else {
        return Usage();
      }
    }
    if (intake.empty() || argc % 2 != 0) return Usage();
    return Stalled(intake, area);
  }
  if (command == "demo" || command == "load") {
    Endpoints ep;
    std::map<std::string, std::string*> flags = {
        {"--intake", &ep.intake},
        {"--triage", &ep.triage},
        {"--advocacy", &ep.advocacy},
        {"--orders", &ep.orders},
        {"--notification", &ep.notification}};
    int timeout_s = 60;
    int load_count = 0;
    std::vector<std::string> files;
    for (int i = 2; i < argc; ++i) {
      std::string arg = argv[i];
      if (flags.count(arg) && i + 1 < argc) {
        *flags[arg] = argv[++i];
      } else if (command == "load" && arg == "--count" && i + 1 < argc) {
        if (!absl::SimpleAtoi(argv[++i], &load_count) || load_count < 1)
          return Usage();
      } else if (arg == "--timeout_s" && i + 1 < argc) {
        if (!absl::SimpleAtoi(argv[++i], &timeout_s)) return Usage();
      } else if (absl::StartsWith(arg, "--")) {
        return Usage();
      } else {
        files.push_back(arg);
      }
    }
    for (const auto& [name, value] : flags) {
      if (value->empty()) {
        std::fprintf(stderr, "signpost-cli: %s is required\n", name.c_str());
        return 2;
      }
    }
    if (command == "load" && load_count == 0) return Usage();
    if (files.empty()) return Usage();
    if (load_count > 0) {
      if (files.size() != 1) return Usage();
      return Load(ep, files[0], load_count, absl::Seconds(timeout_s));
    }
    return Demo(ep, files, absl::Seconds(timeout_s));
  }
  std::fprintf(stderr, "signpost-cli: unknown command '%s'\n", command.c_str());
  return Usage();
}
