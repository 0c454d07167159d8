// `demo` and `load`: submit example referrals, wait until each is routed
// through all five services, and print what happened (the demo) or the
// latency and throughput (load).
#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/status/macros.h"
#include "services/cli/commands.h"
#include "services/cli/figures.h"
#include "signpost/v1/advocacy.grpc.pb.h"
#include "signpost/v1/intake.grpc.pb.h"
#include "signpost/v1/notification.grpc.pb.h"
#include "signpost/v1/orders.grpc.pb.h"
#include "signpost/v1/triage.grpc.pb.h"

namespace signpost::cli {
namespace {

absl::StatusOr<v1::SubmitReferralRequest> LoadReferral(
    const std::string& path) {
  v1::SubmitReferralRequest req;
  if (absl::Status s = LoadMessageFile(path, &req); !s.ok()) return s;
  return req;
}

std::string Short(absl::string_view name, absl::string_view prefix) {
  absl::ConsumePrefix(&name, prefix);
  return std::string(name);
}

// Polls the services until the referral has gone through all of them.
struct Routed {
  v1::ReferralTriaged decision;
  v1::GetReferralAssignmentsResponse assignments;
  int considerations = 0;
  v1::ListDeliveriesResponse deliveries;
};

// The read-side clients WaitRouted polls; made once per run, not per referral.
struct RoutedClients {
  explicit RoutedClients(const Cli& cli)
      : cli(cli),
        triage(v1::TriageService::NewStub(cli.Dial(Service::kTriage))),
        advocacy(v1::AdvocacyService::NewStub(cli.Dial(Service::kAdvocacy))),
        orders(v1::OrderService::NewStub(cli.Dial(Service::kOrders))),
        notification(v1::NotificationService::NewStub(
            cli.Dial(Service::kNotification))) {}
  const Cli& cli;
  std::unique_ptr<v1::TriageService::Stub> triage;
  std::unique_ptr<v1::AdvocacyService::Stub> advocacy;
  std::unique_ptr<v1::OrderService::Stub> orders;
  std::unique_ptr<v1::NotificationService::Stub> notification;
};

// Every delivery of the referral, following next_page_token (ListDeliveries
// is paged); a failed call is UNAVAILABLE naming notification.
absl::StatusOr<v1::ListDeliveriesResponse> AllDeliveries(
    const Cli& cli, v1::NotificationService::Stub& notification,
    const std::string& id) {
  v1::ListDeliveriesResponse all;
  v1::ListDeliveriesRequest req;
  req.set_referral_id(id);
  req.set_page_size(500);
  do {
    grpc::ClientContext ctx;
    cli.SetDeadline(&ctx);
    v1::ListDeliveriesResponse page;
    grpc::Status s = notification.ListDeliveries(&ctx, req, &page);
    // Not yet seen by notification: nothing delivered so far.
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) return all;
    if (!s.ok()) {
      return absl::UnavailableError(
          absl::StrCat("notification: ", DescribeStatus(s)));
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
  const Cli& cli = clients.cli;
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
      cli.SetDeadline(&ctx);
      v1::GetDecisionRequest req;
      req.set_referral_id(id);
      v1::GetDecisionResponse resp;
      grpc::Status s = triage->GetDecision(&ctx, req, &resp);
      if (s.error_code() == grpc::StatusCode::NOT_FOUND) continue;
      if (!s.ok())
        return absl::UnavailableError(
            absl::StrCat("triage: ", DescribeStatus(s)));
      r.decision = resp.decision();
    }
    waiting_for = "advocacy";
    {
      grpc::ClientContext ctx;
      cli.SetDeadline(&ctx);
      v1::GetReferralAssignmentsRequest req;
      req.set_referral_id(id);
      grpc::Status s =
          advocacy->GetReferralAssignments(&ctx, req, &r.assignments);
      // Not yet seen by advocacy: still on its way.
      if (s.error_code() == grpc::StatusCode::NOT_FOUND) continue;
      if (!s.ok())
        return absl::UnavailableError(
            absl::StrCat("advocacy: ", DescribeStatus(s)));
      if (!r.assignments.processed()) continue;
    }
    waiting_for = "orders";
    {
      grpc::ClientContext ctx;
      cli.SetDeadline(&ctx);
      v1::ListConsiderationsRequest req;
      req.set_referral_id(id);
      v1::ListConsiderationsResponse resp;
      grpc::Status s = orders->ListConsiderations(&ctx, req, &resp);
      if (s.error_code() == grpc::StatusCode::NOT_FOUND) continue;
      if (!s.ok())
        return absl::UnavailableError(
            absl::StrCat("orders: ", DescribeStatus(s)));
      r.considerations = resp.considerations_size();
      if (r.considerations < r.decision.considerations_size()) continue;
    }
    waiting_for = "notification";
    {
      ASSIGN_OR_RETURN(r.deliveries,
                       AllDeliveries(clients.cli, *notification, id));
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

int Demo(const Cli& cli, const std::vector<std::string>& files,
         absl::Duration timeout) {
  std::vector<std::pair<std::string, std::string>> submitted;  // label, id
  std::string area;  // the first referral's: the demo area's figures end it
  for (const std::string& path : files) {
    absl::StatusOr<v1::SubmitReferralRequest> req = LoadReferral(path);
    if (!req.ok()) {
      std::fprintf(stderr, "signpost-cli: %s\n",
                   std::string(req.status().message()).c_str());
      return 2;
    }
    auto intake = v1::IntakeService::NewStub(cli.DialAs(
        cli.Address(Service::kIntake), req->referral().referrer_org()));
    grpc::ClientContext ctx;
    cli.SetDeadline(&ctx);
    v1::SubmitReferralResponse resp;
    grpc::Status s = intake->SubmitReferral(&ctx, *req, &resp);
    if (!s.ok()) {
      return cli.Fail(path + ": SubmitReferral failed", s);
    }
    std::string base = path.substr(path.rfind('/') + 1);
    std::string label = absl::AsciiStrToUpper(base.substr(0, base.find('_')));
    submitted.emplace_back(label, resp.referral_id());
    if (area.empty()) area = req->referral().area_code();
  }
  int failures = 0;
  RoutedClients clients(cli);
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
  if (failures == 0 && PrintFiguresTable(cli, area) != 0) ++failures;
  return failures == 0 ? 0 : 1;
}

// Submits `count` copies of one referral (fresh idempotency keys), then
// waits until every one is fully routed; prints submit latency percentiles
// and end-to-end throughput.
int Load(const Cli& cli, const std::string& file, int count,
         absl::Duration timeout) {
  absl::StatusOr<v1::SubmitReferralRequest> req = LoadReferral(file);
  if (!req.ok()) {
    std::fprintf(stderr, "signpost-cli: %s\n",
                 std::string(req.status().message()).c_str());
    return 2;
  }
  auto intake = v1::IntakeService::NewStub(cli.DialAs(
      cli.Address(Service::kIntake), req->referral().referrer_org()));
  std::vector<double> latencies_ms;
  std::vector<std::string> ids;
  std::string run = absl::StrCat(absl::ToUnixNanos(absl::Now()));
  absl::Time start = absl::Now();
  for (int i = 0; i < count; ++i) {
    req->set_idempotency_key(absl::StrCat("load-", run, "-", i));
    grpc::ClientContext ctx;
    cli.SetDeadline(&ctx);
    v1::SubmitReferralResponse resp;
    absl::Time t0 = absl::Now();
    grpc::Status s = intake->SubmitReferral(&ctx, *req, &resp);
    latencies_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
    if (!s.ok()) {
      return cli.Fail("load: submit failed", s);
    }
    ids.push_back(resp.referral_id());
  }
  absl::Duration submit_time = absl::Now() - start;
  RoutedClients clients(cli);
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

}  // namespace

void AddDemoCommands(CLI::App& app, Cli& cli) {
  struct Args {
    std::vector<std::string> files;
    int timeout_s = 60;
    int count = 0;
  };
  auto demo_args = std::make_shared<Args>();
  CLI::App* demo = app.add_subcommand(
      "demo",
      "submit each referral file as its referrer, wait until it is routed "
      "through all five services, print one line per referral and the "
      "area's figures");
  demo->add_option("FILE", demo_args->files, "referral files")->required();
  demo->add_option("--timeout_s", demo_args->timeout_s,
                   "how long to wait for each referral")
      ->capture_default_str();
  OnRun(demo, cli, [&cli, demo_args]() {
    return Demo(cli, demo_args->files, absl::Seconds(demo_args->timeout_s));
  });
  auto load_args = std::make_shared<Args>();
  CLI::App* load = app.add_subcommand(
      "load",
      "submit --count copies of one referral file, wait until all are "
      "routed, print submit latency and throughput");
  load->add_option("FILE", load_args->files, "the referral file")
      ->required()
      ->expected(1);
  load->add_option("--count", load_args->count, "how many copies")
      ->required()
      ->check(CLI::PositiveNumber);
  load->add_option("--timeout_s", load_args->timeout_s,
                   "how long to wait for each referral")
      ->capture_default_str();
  OnRun(load, cli, [&cli, load_args]() {
    return Load(cli, load_args->files[0], load_args->count,
                absl::Seconds(load_args->timeout_s));
  });
}

}  // namespace signpost::cli
