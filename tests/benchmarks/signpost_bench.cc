// Google Benchmarks for the hot paths: the triage decision, intake
// validation, a durable intake submit (SQLite WAL, synchronous=FULL, with
// its outbox row) and advocate matching over a 1,000-advocate directory.
// Results are recorded in docs/performance.md. Not run by ctest.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <thread>

#include "common/audit/chain.h"
#include "common/audit/timeline.h"
#include "common/crypto/keyring.h"
#include "common/events/envelope.h"
#include "common/events/event_consumer.h"
#include "common/events/signing.h"
#include "common/grpc/executor.h"
#include "common/grpc/server_runner.h"
#include "common/grpc/tls.h"
#include "common/ids/ids.h"
#include "common/status/macros.h"
#include "common/store/outbox.h"
#include "common/time/timestamps.h"
#include "grpcpp/create_channel.h"
#include "services/advocacy/advocacy_app.h"
#include "services/advocacy/advocacy_store.h"
#include "services/advocacy/assignment_store.h"
#include "services/advocacy/matching.h"
#include "services/intake/intake_app.h"
#include "services/intake/intake_service.h"
#include "services/intake/intake_store.h"
#include "services/intake/validation.h"
#include "services/orders/orders_app.h"
#include "services/orders/orders_store.h"
#include "services/triage/rules.h"
#include "services/triage/triage_store.h"
#include "signpost/v1/intake.grpc.pb.h"
#include "tests/services/intake/intake_fixture.h"
#include "tests/support/test_support.h"

namespace signpost {
namespace {

void BM_TriageDecide(benchmark::State& state) {
  v1::ReferralFacts facts = intake::ExtractFacts(
      testing::LoadExample("t01_strangulation_punjabi").referral());
  auto policy = triage::LoadPolicy(
      testing::SourcePath("deploy/policy/default.textproto"),
      testing::SourcePath("deploy/calendar/england-and-wales.txt"));
  triage::VictimHistory history;
  for (auto _ : state) {
    v1::ReferralTriaged d = triage::Decide(**policy, facts, history);
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_TriageDecide);

void BM_IntakeValidate(benchmark::State& state) {
  v1::SubmitReferralRequest req =
      testing::LoadExample("t01_strangulation_punjabi");
  absl::Time now = absl::FromUnixSeconds(1717405200 + 60);
  for (auto _ : state) {
    errors::FieldErrors e = intake::ValidateSubmission(req, now);
    benchmark::DoNotOptimize(e);
  }
}
BENCHMARK(BM_IntakeValidate);

void BM_IntakeSubmitDurable(benchmark::State& state) {
  testing::TempDir dir;
  auto db = store::Database::Open(dir.File("intake.db"),
                                  intake::IntakeStore::Migrations());
  intake::IntakeApp app(**db, testing::TestPersonKeys(),
                        intake::TestIntakeOptions());
  v1::SubmitReferralRequest req =
      testing::LoadExample("t01_strangulation_punjabi");
  absl::Time now = absl::FromUnixSeconds(1717405200 + 60);
  std::string tp = NewTraceparent();
  const access::Principal caller = testing::PrincipalOf("police-wmp");
  int64_t i = 0;
  for (auto _ : state) {
    req.set_idempotency_key(absl::StrCat("bench-", i++));
    auto out = app.SubmitReferral(caller, req.idempotency_key(), req.referral(),
                                  now, tp);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_IntakeSubmitDurable)->Unit(benchmark::kMicrosecond);

// The same durable submit, each referral about a different person (arg 0:
// a new person, data key and blind-index entries each time) or the same one
// (arg 1: found again by blind index, a new incident each time, linking
// checked against their earlier referrals).
// A durable intake on a fresh database file, with T01 to submit.
struct IntakeBench {
  testing::TempDir dir;
  std::unique_ptr<store::Database> db = *store::Database::Open(
      dir.File("intake.db"), intake::IntakeStore::Migrations());
  intake::IntakeApp app{*db, testing::TestPersonKeys(),
                        intake::TestIntakeOptions()};
  v1::Referral referral =
      testing::LoadExample("t01_strangulation_punjabi").referral();
  const absl::Time now = absl::FromUnixSeconds(1717405200 + 60);
  const std::string tp = NewTraceparent();
};

void BM_IntakeSubmitPeople(benchmark::State& state) {
  IntakeBench b;
  auto& [dir, db, app, referral, now, tp] = b;
  const access::Principal caller = testing::PrincipalOf("police-wmp");
  const bool same_person = state.range(0) == 1;
  int64_t i = 0;
  for (auto _ : state) {
    if (!same_person) {
      referral.mutable_personal()->set_full_name(
          absl::StrCat("Bench Person ", i));
      referral.mutable_victim()->set_victim_ref(absl::StrCat("B-", i));
    } else {
      // A new incident each time: its own crime reference, a day later.
      referral.mutable_reporting()->set_crime_reference(
          absl::StrCat("22/", i, "/24"));
      referral.mutable_reporting()->mutable_report_time()->set_seconds(
          1717405200 + i * 86400);
      referral.mutable_reporting()->clear_offence_time();
    }
    auto out = app.SubmitReferral(caller, absl::StrCat("people-", i++),
                                  referral, now, tp);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_IntakeSubmitPeople)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

// EraseVictim for a person with 10 referrals: ten sealed referrals deleted,
// the data key destroyed, the blind-index entries deleted, 20 events
// written, and the WAL checkpointed. Compare with BM_IntakeSubmitDurable in
// the same run.
void BM_EraseVictim10(benchmark::State& state) {
  IntakeBench b;
  auto& [dir, db, app, referral, now, tp] = b;
  const access::Principal police = testing::PrincipalOf("police-wmp");
  const access::Principal op = testing::PrincipalOf("signpost-operator");
  int64_t i = 0;
  for (auto _ : state) {
    state.PauseTiming();
    referral.mutable_personal()->set_full_name(
        absl::StrCat("Erased Person ", i));
    referral.mutable_victim()->set_victim_ref(absl::StrCat("E-", i));
    ReferralId first;
    for (int k = 0; k < 10; ++k) {
      referral.mutable_reporting()->set_crime_reference(
          absl::StrCat("22/", i, "/", k));
      auto out = app.SubmitReferral(police, absl::StrCat("erase-", i, "-", k),
                                    referral, now, tp);
      if (k == 0 && out.ok()) first = out->referral_id;
    }
    ++i;
    state.ResumeTiming();
    auto erased =
        app.EraseVictim(op, first, v1::ERASURE_GROUND_RIGHT_TO_ERASURE,
                        "benchmark: subject asked", now, tp);
    if (!erased.ok() || erased->referrals_erased != 10) {
      state.SkipWithError("erasure did not erase 10 referrals");
      break;
    }
  }
}
BENCHMARK(BM_EraseVictim10)->Unit(benchmark::kMicrosecond);

// The encryption inside each durable submit above: a fresh data key wrapped
// by the KEK, and T1 sealed with it (AES-256-GCM). Compare with
// BM_IntakeSubmitDurable in the same run for its share of a submit.
void BM_SealReferral(benchmark::State& state) {
  std::shared_ptr<const crypto::Keyring> keys = testing::TestKeyring();
  const std::string bytes = testing::LoadExample("t01_strangulation_punjabi")
                                .referral()
                                .SerializeAsString();
  for (auto _ : state) {
    auto data_key = keys->NewDataKey("person");
    auto sealed = crypto::Seal(data_key->first, bytes, "referral/column");
    benchmark::DoNotOptimize(sealed);
  }
}
BENCHMARK(BM_SealReferral)->Unit(benchmark::kMicrosecond);

// Issue 14: what the hash chain adds to each published record. The
// baseline is the record's signature alone (the relay's cost before the
// chain); the chained record computes the chain hash and signs the larger
// canonical bytes.
kafka::OutgoingMessage BenchRecord() {
  v1::EventEnvelope e = events::NewEnvelope("intake", "ref-bench");
  *e.mutable_referral_received()->mutable_facts() = intake::ExtractFacts(
      testing::LoadExample("t01_strangulation_punjabi").referral());
  events::StampType(&e);
  return {events::kIntakeTopic, e.referral_id(), e.SerializeAsString(),
          events::CloudEventHeaders(e, NewTraceparent())};
}

events::EventSigner& BenchSigner() {
  static testing::TempDir* dir = [] {
    auto* d = new testing::TempDir();
    testing::MakeSigningKeys(d->path());
    return d;
  }();
  static auto* signer = new events::EventSigner(
      *events::EventSigner::FromPemFile(dir->File("intake.key"), "intake"));
  return *signer;
}

void BM_SignRecord(benchmark::State& state) {
  const kafka::OutgoingMessage m = BenchRecord();
  events::EventSigner& signer = BenchSigner();
  for (auto _ : state) benchmark::DoNotOptimize(signer.Sign(m));
}
BENCHMARK(BM_SignRecord)->Unit(benchmark::kMicrosecond);

void BM_ChainAndSignRecord(benchmark::State& state) {
  kafka::OutgoingMessage m = BenchRecord();
  for (auto& h : audit::ChainHeaders(41, audit::kGenesis)) {
    m.headers.push_back(h);
  }
  events::EventSigner& signer = BenchSigner();
  for (auto _ : state) {
    benchmark::DoNotOptimize(audit::ChainHash(audit::kGenesis, 41, m.topic,
                                              m.key, m.payload, m.headers));
    benchmark::DoNotOptimize(signer.Sign(m));
  }
}
BENCHMARK(BM_ChainAndSignRecord)->Unit(benchmark::kMicrosecond);

// `audit verify` without Kafka: N chained, signed records checked.
void BM_VerifyChains(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  testing::TempDir dir;
  testing::MakeSigningKeys(dir.path());
  auto signer =
      events::EventSigner::FromPemFile(dir.File("intake.key"), "intake");
  auto keys = events::LoadVerifier(dir.path());
  const kafka::OutgoingMessage base = BenchRecord();
  std::vector<kafka::ConsumedMessage> records;
  std::string prev = audit::kGenesis;
  for (int i = 1; i <= n; ++i) {
    kafka::OutgoingMessage m = base;
    for (auto& h : audit::ChainHeaders(i, prev)) m.headers.push_back(h);
    prev = audit::ChainHash(prev, i, m.topic, m.key, m.payload, m.headers);
    for (auto& h : signer->Sign(m)) m.headers.push_back(std::move(h));
    records.push_back({m.topic, 0, i - 1, m.key, m.payload, m.headers});
  }
  for (auto _ : state) {
    audit::ChainReport r = audit::VerifyChains(records, *keys, true);
    if (!r.breaks.empty()) state.SkipWithError("chain broken");
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_VerifyChains)->Arg(10000)->Unit(benchmark::kMillisecond);

// AuditService's timeline and subject access over a log of N signed
// records (N/10 referrals of 10 events each), against `audit verify`'s
// signature check of the same records (arg 0: the baseline). Each reads
// the whole log per call, so its cost is the log's size, not the answer's.
void BM_AuditReadsOfTheLog(benchmark::State& state) {
  const int what = static_cast<int>(state.range(0));
  const int n = static_cast<int>(state.range(1));
  testing::TempDir dir;
  testing::MakeSigningKeys(dir.path());
  auto signer =
      events::EventSigner::FromPemFile(dir.File("intake.key"), "intake");
  auto keys = events::LoadVerifier(dir.path());
  const kafka::OutgoingMessage base = BenchRecord();
  v1::EventEnvelope envelope;
  envelope.ParseFromString(base.payload);
  std::vector<std::string> referrals;
  for (int i = 0; i < n / 10; ++i) referrals.push_back(NewUuid());
  const std::string person = NewUuid();
  std::vector<kafka::ConsumedMessage> records;
  for (int i = 0; i < n; ++i) {
    v1::EventEnvelope e = envelope;
    e.set_event_id(NewUuid());
    e.set_referral_id(referrals[i % referrals.size()]);
    if (i % 10 == 1) {
      e.mutable_referral_triaged()->set_person_id(person);
      e.mutable_referral_triaged()->add_reasons()->set_rule_id("DA-HIGH");
    }
    events::StampType(&e);
    kafka::OutgoingMessage m{events::kIntakeTopic, e.referral_id(),
                             e.SerializeAsString(),
                             events::CloudEventHeaders(e, "")};
    for (auto& h : signer->Sign(m)) m.headers.push_back(std::move(h));
    records.push_back({m.topic, 0, i, m.key, m.payload, m.headers});
  }
  for (auto _ : state) {
    if (what == 0) {
      benchmark::DoNotOptimize(audit::VerifyChains(records, *keys, true));
    } else if (what == 1) {
      benchmark::DoNotOptimize(
          audit::BuildTimeline(records, *keys, referrals.front()));
    } else {
      benchmark::DoNotOptimize(audit::BuildAccessList(records, *keys, person,
                                                      absl::InfinitePast(),
                                                      absl::InfiniteFuture()));
    }
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_AuditReadsOfTheLog)
    ->ArgNames({"verify0_timeline1_access2", "records"})
    ->Args({0, 10000})
    ->Args({1, 10000})
    ->Args({2, 10000})
    ->Unit(benchmark::kMillisecond);

// SubmitReferral over a real gRPC server in this process, one call at a
// time: plaintext (arg 0) against mutual TLS with a dev-pki agency
// certificate (arg 1), in the same run, over the same adapter, application
// and SQLite store. The connection is made once, as a partner's would be.
void BM_SubmitOverGrpc(benchmark::State& state) {
  const bool mtls = state.range(0) == 1;
  testing::TempDir dir;
  if (mtls) {
    std::string cmd = absl::StrCat(testing::SourcePath("scripts/dev-pki"), " ",
                                   dir.File("pki"), " >/dev/null 2>&1");
    if (std::system(cmd.c_str()) != 0) {
      state.SkipWithError("dev-pki failed");
      return;
    }
  }
  auto db = store::Database::Open(dir.File("intake.db"),
                                  intake::IntakeStore::Migrations());
  intake::IntakeApp app(**db, testing::TestPersonKeys(),
                        intake::TestIntakeOptions());
  grpcutil::Executor executor(4);
  access::Authorizer authorizer(testing::TestRegistry());
  store::AccessAuditLog audit(**db, "intake", nullptr);
  // Both arms pass the same gate (function rule, object rules, audit);
  // plaintext has no certificate, so its caller is fixed as police-wmp,
  // which is who the mTLS arm's certificate names.
  grpcutil::Gate::Authenticate authenticate = grpcutil::CallerOf;
  if (!mtls) {
    authenticate = [](const grpc::ServerContextBase&) {
      return absl::StatusOr<grpcutil::Caller>(
          grpcutil::Caller{grpcutil::Caller::Kind::kAgency, "police-wmp"});
    };
  }
  grpcutil::Gate gate(executor, authorizer, &audit, authenticate);
  intake::IntakeServiceImpl api(
      app, [] {}, gate);
  grpcutil::ServerRunner::Options options;
  std::shared_ptr<grpc::ChannelCredentials> credentials =
      grpc::InsecureChannelCredentials();
  if (mtls) {
    const std::string pki = dir.File("pki");
    options.tls =
        grpcutil::TlsFiles{pki + "/services/intake.crt",
                           pki + "/services/intake.key", pki + "/ca.crt"};
    credentials = *grpcutil::MutualTlsChannelCredentials(
        {pki + "/agencies/police-wmp.crt", pki + "/agencies/police-wmp.key",
         pki + "/ca.crt"});
  }
  auto server = grpcutil::ServerRunner::Start(options, {&api});
  auto stub = v1::IntakeService::NewStub(
      grpc::CreateChannel((*server)->address(), credentials));
  v1::SubmitReferralRequest req =
      testing::LoadExample("t01_strangulation_punjabi");
  // range(1) callers, each one call at a time on the shared channel: one
  // iteration is one call from each (the gate, the authorisation and the
  // SQLite transaction included).
  const int callers = static_cast<int>(state.range(1));
  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  std::string error;
  auto submit = [&] {
    v1::SubmitReferralRequest mine = req;
    mine.set_idempotency_key(absl::StrCat("bench-", next++));
    grpc::ClientContext context;
    v1::SubmitReferralResponse response;
    grpc::Status status = stub->SubmitReferral(&context, mine, &response);
    if (!status.ok() && !failed.exchange(true)) error = status.error_message();
  };
  for (auto _ : state) {
    if (callers == 1) {
      submit();
    } else {
      std::vector<std::thread> threads;
      for (int c = 0; c < callers; ++c) threads.emplace_back(submit);
      for (std::thread& t : threads) t.join();
    }
    if (failed) {
      state.SkipWithError(error.c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * callers);
  state.SetLabel(mtls ? "mutual TLS" : "plaintext");
  (*server)->Shutdown(absl::Seconds(1));
  executor.Stop();
}
BENCHMARK(BM_SubmitOverGrpc)
    ->Args({0, 1})
    ->Args({1, 1})
    ->Args({0, 8})
    ->Args({1, 8})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

void BM_MatchAdvocate(benchmark::State& state) {
  std::vector<advocacy::AdvocateView> roster;
  const char* langs[] = {"en", "pa", "ur", "pl", "cy"};
  for (int i = 0; i < state.range(0); ++i) {
    advocacy::AdvocateView a;
    a.advocate_id = absl::StrCat("adv-", i);
    a.provider_id = "p";
    a.role = v1::ADVOCATE_ROLE_IDVA;
    a.languages = {"en", langs[i % 5]};
    a.localities = {absl::StrCat("L", i % 20)};
    a.capacity = 10;
    a.caseload = i % 11;
    a.last_assigned_ms = i;
    roster.push_back(std::move(a));
  }
  advocacy::MatchRequest req;
  req.pathway = v1::PATHWAY_IDVA;
  req.locality = "L3";
  req.language = "pa";
  req.language_match_required = true;
  req.now_ms = 1717405200000;
  for (auto _ : state) {
    advocacy::MatchResult r = advocacy::Match(req, roster);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_MatchAdvocate)->Arg(1000);

// A full assignment: the transaction that loads the role's advocates from
// SQLite, matches, reserves capacity and writes the assignment, its history
// and its event, against a 1,000-advocate directory.
void BM_AssignFromDirectory(benchmark::State& state) {
  testing::TempDir dir;
  auto db = store::Database::Open(dir.File("advocacy.db"),
                                  advocacy::AdvocacyStore::Migrations());
  advocacy::AdvocacyApp app(**db, testing::TestPersonKeys());
  v1::Directory directory;
  auto* p = directory.add_providers();
  p->set_provider_id("p");
  p->set_name("provider");
  const char* langs[] = {"en", "pa", "ur", "pl", "cy"};
  for (int i = 0; i < state.range(0); ++i) {
    v1::Advocate* a = directory.add_advocates();
    a->set_advocate_id(absl::StrCat("adv-", i));
    a->set_provider_id("p");
    a->set_role(v1::ADVOCATE_ROLE_IDVA);
    a->add_languages("en");
    a->add_languages(langs[i % 5]);
    a->add_localities(absl::StrCat("L", i % 20));
    a->set_capacity(100000);
  }
  absl::Time now = absl::FromUnixSeconds(1717405200);
  (void)app.ImportDirectory(directory, now, NewTraceparent());
  int64_t n = 0;
  for (auto _ : state) {
    events::IncomingEvent e;
    e.envelope = events::NewEnvelope("triage", absl::StrCat("ref-", n++));
    auto* t = e.envelope.mutable_referral_triaged();
    t->add_pathways(v1::PATHWAY_IDVA);
    t->set_locality_code("L3");
    t->set_language("pa");
    t->set_language_match_required(true);
    t->set_priority(v1::PRIORITY_HIGH);
    t->set_status(v1::REFERRAL_STATUS_ROUTED);
    events::StampType(&e.envelope);
    e.traceparent = NewTraceparent();
    // What the consumer does: one transaction, inbox claim, handler.
    auto r = (*db)->Write([&](store::Tx& tx) -> absl::StatusOr<int> {
      ASSIGN_OR_RETURN(bool claimed, store::ClaimInbox(tx, e.envelope));
      if (!claimed) return 0;
      return app.RouteTriaged(tx, e.envelope, e.traceparent, now);
    });
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_AssignFromDirectory)
    ->Arg(1000)
    ->Arg(10000)
    ->Unit(benchmark::kMicrosecond);

// The order timer scheduler's tick with 100,000 live orders (two timers
// each: expiring and expired, spread over the next two years). Arg 0: a tick
// with nothing due (the usual case); arg 100: a tick that fires 100 timers,
// each with its event, in one transaction.
void BM_OrderTimerTick(benchmark::State& state) {
  testing::TempDir dir;
  auto db =
      store::Database::Open(dir.File("orders.db"), orders::OrdersMigrations());
  auto cal = calendar::WorkingCalendar::Load(
      testing::SourcePath("deploy/calendar/england-and-wales.txt"),
      "Europe/London");
  orders::OrdersApp::Options options;
  options.calendar = *cal;
  orders::OrdersApp app(**db, options);
  const int64_t now_ms = 1717405200000;
  const int kOrders = 100000;
  (void)(*db)->Write([&](store::Tx& tx) -> absl::Status {
    for (int i = 0; i < kOrders; ++i) {
      std::string id = absl::StrCat("order-", i);
      auto o = tx.Prepare(
          "INSERT INTO orders (order_id, referral_id, order_type, state, "
          "updated_at_ms, "
          "area_code) VALUES (?,?,?,?,?,?)");
      o->Bind(1, id)
          .Bind(2, absl::StrCat("ref-", i))
          .Bind(3, int64_t{5})
          .Bind(4, int64_t{5})
          .Bind(5, now_ms)
          .Bind(6, "WMP");
      (void)o->Run();
      int64_t expires = now_ms + (1 + i % 730) * int64_t{86400000};
      for (auto [kind, due] :
           {std::pair<const char*, int64_t>{"ORDER_EXPIRING",
                                            expires - 14 * int64_t{86400000}},
            {"ORDER_EXPIRED", expires}}) {
        auto t = tx.Prepare(
            "INSERT INTO timers (order_id, kind, due_ms, rule_id) VALUES "
            "(?,?,?,?)");
        t->Bind(1, id).Bind(2, kind).Bind(3, due).Bind(4, "ORDER-EXPIRY");
        (void)t->Run();
      }
    }
    return absl::OkStatus();
  });
  const int due_per_tick = static_cast<int>(state.range(0));
  int64_t next = 0;
  for (auto _ : state) {
    if (due_per_tick > 0) {
      state.PauseTiming();
      (void)(*db)->Write([&](store::Tx& tx) -> absl::Status {
        for (int i = 0; i < due_per_tick; ++i, ++next) {
          auto t = tx.Prepare(
              "INSERT INTO timers (order_id, kind, due_ms, rule_id) VALUES "
              "(?,?,?,?)");
          t->Bind(1, absl::StrCat("order-", next % kOrders))
              .Bind(2, "EM_END")
              .Bind(3, now_ms - 1000)
              .Bind(4, "DAPO-EM-END");
          (void)t->Run();
        }
        return absl::OkStatus();
      });
      state.ResumeTiming();
    }
    auto fired = app.FireDueTimers(absl::FromUnixMillis(now_ms), 1000);
    benchmark::DoNotOptimize(fired);
  }
}
BENCHMARK(BM_OrderTimerTick)->Arg(0)->Arg(100)->Unit(benchmark::kMicrosecond);

// Issue 16: the history lookup and decision of a referral whose victim has
// `range(0)` earlier domestic-abuse referrals (one a minute, the first to
// MARAC). Flat: the lookups read a fixed number of index entries.
void BM_TriageHistory(benchmark::State& state) {
  testing::TempDir dir;
  auto db = store::Database::Open(dir.File("triage.db"),
                                  triage::TriageStore::Migrations());
  if (!db.ok()) return state.SkipWithError("open");
  auto policy = triage::LoadPolicy(
      testing::SourcePath("deploy/policy/default.textproto"),
      testing::SourcePath("deploy/calendar/england-and-wales.txt"));
  v1::ReferralFacts facts = intake::ExtractFacts(
      testing::LoadExample("t01_strangulation_punjabi").referral());
  facts.set_person_id("person-repeated");
  facts.clear_latest_incident_time();
  facts.clear_offence_time();
  const absl::Time start = absl::Now() - absl::Hours(24 * 200);
  triage::TriageStore store;
  const int64_t earlier = state.range(0);
  absl::Status filled = (*db)->Write([&](store::Tx& tx) -> absl::Status {
    for (int64_t i = 0; i < earlier; ++i) {
      v1::ReferralFacts f = facts;
      *f.mutable_report_time() =
          timeutil::ToTimestamp(start + absl::Minutes(i));
      RETURN_IF_ERROR(store.RecordVictimReferral(
          tx, ReferralId(absl::StrCat("earlier-", i)), f, i == 0));
    }
    return absl::OkStatus();
  });
  if (!filled.ok()) return state.SkipWithError("fill");
  *facts.mutable_report_time() =
      timeutil::ToTimestamp(start + absl::Minutes(earlier + 1));
  const ReferralId next("next");
  for (auto _ : state) {
    auto decision =
        (*db)->Read([&](store::Tx& tx) -> absl::StatusOr<v1::ReferralTriaged> {
          ASSIGN_OR_RETURN(triage::VictimHistory history,
                           store.LoadVictimHistory(tx, next, facts));
          return triage::Decide(**policy, facts, history);
        });
    benchmark::DoNotOptimize(decision);
  }
}
BENCHMARK(BM_TriageHistory)->Arg(1)->Arg(10000)->Unit(benchmark::kMicrosecond);

// Issue 16: advocacy's "who supported this victim before" with `range(0)`
// earlier assignments of the victim (a third accepted, by five advocates).
void BM_AdvocacyPreviousAdvocates(benchmark::State& state) {
  testing::TempDir dir;
  auto db = store::Database::Open(dir.File("advocacy.db"),
                                  advocacy::AdvocacyStore::Migrations());
  if (!db.ok()) return state.SkipWithError("open");
  advocacy::AssignmentStore store;
  absl::Status filled = (*db)->Write([&](store::Tx& tx) -> absl::Status {
    for (int64_t i = 0; i < state.range(0); ++i) {
      advocacy::AssignmentRecord a;
      a.assignment_id = AssignmentId(absl::StrCat("a", i));
      a.referral_id = ReferralId(absl::StrCat("r", i));
      a.pathway = v1::PATHWAY_IDVA;
      a.state = i % 3 == 0 ? v1::ASSIGNMENT_STATE_ACCEPTED
                           : v1::ASSIGNMENT_STATE_OFFERED;
      a.advocate_id = AdvocateId(absl::StrCat("advocate-", i % 5));
      a.victim_ref = "person-repeated";
      a.created_at = absl::FromUnixMillis(i);
      RETURN_IF_ERROR(store.Save(tx, a));
    }
    return absl::OkStatus();
  });
  if (!filled.ok()) return state.SkipWithError("fill");
  for (auto _ : state) {
    auto ids = (*db)->Read([&](store::Tx& tx) {
      return store.AdvocatesWhoSupportedVictim(tx, "person-repeated",
                                               AssignmentId("new"));
    });
    benchmark::DoNotOptimize(ids);
  }
}
BENCHMARK(BM_AdvocacyPreviousAdvocates)
    ->Arg(1)
    ->Arg(10000)
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace signpost

BENCHMARK_MAIN();
