// `audit verify|timeline|access`: the event log's integrity, a referral's
// story, and who saw a person's data (AuditService, or the log itself).
#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/audit/chain.h"
#include "common/audit/log_reader.h"
#include "common/audit/timeline.h"
#include "common/events/signing.h"
#include "common/kafka/kafka.h"
#include "common/time/timestamps.h"
#include "services/cli/commands.h"
#include "signpost/v1/audit.grpc.pb.h"

namespace signpost::cli {
namespace {

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
int FetchAudit(const Cli& cli, const AuditSource& source, const char* what,
               Response* resp, Call call, Build build) {
  std::string error;
  if (!source.addr.empty()) {
    auto stub = v1::AuditService::NewStub(cli.Dial(source.addr));
    grpc::ClientContext ctx;
    cli.SetDeadline(&ctx, std::max(cli.timeout(), absl::Minutes(3)));
    if (grpc::Status s = call(*stub, &ctx); !s.ok()) {
      return cli.Fail(absl::StrCat("audit ", what), s);
    }
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
  if (error.empty()) return kExitOk;
  return cli.Fail(absl::StrCat("audit ", what), error, kExitProblem);
}

// `audit timeline REFERRAL`: every event of the referral, in causal order,
// one per line, indented by its depth under its cause.
int AuditTimeline(const Cli& cli, const AuditSource& source,
                  const std::string& referral) {
  v1::GetTimelineRequest req;
  req.set_referral_id(referral);
  if (absl::Status bad = audit::CheckTimelineRequest(req).ToStatus();
      !bad.ok()) {
    std::fprintf(stderr, "signpost-cli: audit timeline: %s\n",
                 std::string(bad.message()).c_str());
    return 2;
  }
  v1::GetTimelineResponse resp;
  if (int code = FetchAudit(
          cli, source, "timeline", &resp,
          [&](v1::AuditService::Stub& stub, grpc::ClientContext* ctx) {
            return stub.GetTimeline(ctx, req, &resp);
          },
          [&](const std::vector<kafka::ConsumedMessage>& records,
              const events::EventVerifier& keys) {
            return audit::BuildTimeline(records, keys, referral);
          });
      code != kExitOk) {
    return code;
  }
  if (cli.format() == Format::kJson) {
    cli.printer().Print(resp);
    return resp.unverified() == 0 ? kExitOk : kExitProblem;
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
int AuditAccess(const Cli& cli, const AuditSource& source,
                const std::string& person, const std::string& from_text,
                const std::string& to_text) {
  v1::ListAccessRequest req;
  req.set_person_id(person);
  absl::StatusOr<absl::Time> from = ParseTime(from_text);
  absl::StatusOr<absl::Time> to = ParseTime(to_text);
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
  if (int code = FetchAudit(
          cli, source, "access", &resp,
          [&](v1::AuditService::Stub& stub, grpc::ClientContext* ctx) {
            return stub.ListAccess(ctx, req, &resp);
          },
          [&](const std::vector<kafka::ConsumedMessage>& records,
              const events::EventVerifier& keys) {
            return audit::BuildAccessList(records, keys, person, *from, *to);
          });
      code != kExitOk) {
    return code;
  }
  if (cli.format() == Format::kJson) {
    cli.printer().Print(resp);
    return kExitOk;
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

}  // namespace

void AddAuditCommands(CLI::App& app, Cli& cli) {
  CLI::App* audit = app.add_subcommand(
      "audit",
      "the event log: verify its chains, a referral's timeline, "
      "who accessed a person's data");
  audit->require_subcommand(1);

  struct VerifyArgs {
    std::string bootstrap, keys;
    std::vector<std::string> topics;
    bool range = false;
  };
  auto v = std::make_shared<VerifyArgs>();
  CLI::App* verify = audit->add_subcommand(
      "verify",
      "check every producer's hash chain, signatures and checkpoints; exit 1 "
      "on a break");
  verify->add_option("--bootstrap", v->bootstrap, "Kafka bootstrap servers")
      ->required();
  verify->add_option("--keys", v->keys, "directory of <producer>.pub")
      ->required();
  verify
      ->add_option("--topic", v->topics,
                   "T or COPY=T (read a copy as the topic it copies); "
                   "default every signpost.* topic")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  verify->add_flag("--range", v->range,
                   "the log may start mid-chain (retention)");
  OnRun(verify, cli, [v]() {
    return AuditVerify(v->bootstrap, v->keys, !v->range, v->topics);
  });

  struct QueryArgs {
    AuditSource source;
    std::string referral, person, from, to;
  };
  auto q = std::make_shared<QueryArgs>();
  auto add_source = [&q](CLI::App* sub) {
    sub->add_option("--audit", q->source.addr,
                    "AuditService's address (notification)");
    sub->add_option("--bootstrap", q->source.bootstrap,
                    "read the log itself: Kafka bootstrap servers");
    sub->add_option("--keys", q->source.keys,
                    "read the log itself: directory of <producer>.pub");
  };
  auto check_source = [&cli, q](const std::string& what) {
    if (q->source.addr.empty() ==
        (q->source.bootstrap.empty() || q->source.keys.empty())) {
      return cli.Fail(what, "give --audit ADDR, or --bootstrap and --keys",
                      kExitUsage);
    }
    return kExitOk;
  };
  CLI::App* timeline = audit->add_subcommand(
      "timeline", "GetTimeline: every event of a referral, in causal order");
  timeline->add_option("REFERRAL_ID,--referral_id", q->referral)->required();
  add_source(timeline);
  OnRun(timeline, cli, [&cli, q, check_source]() {
    if (int code = check_source("audit timeline"); code != kExitOk) return code;
    return AuditTimeline(cli, q->source, q->referral);
  });
  CLI::App* access = audit->add_subcommand(
      "access", "ListAccess: who received or read a person's data");
  access->add_option("--person,--person_id", q->person)->required();
  access->add_option("--from", q->from, "YYYY-MM-DD or RFC 3339")->required();
  access->add_option("--to", q->to, "YYYY-MM-DD or RFC 3339")->required();
  add_source(access);
  OnRun(access, cli, [&cli, q, check_source]() {
    if (int code = check_source("audit access"); code != kExitOk) return code;
    return AuditAccess(cli, q->source, q->person, q->from, q->to);
  });
}

}  // namespace signpost::cli
