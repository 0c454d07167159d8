// Google Benchmarks for the hot paths: the triage decision, intake
// validation, a durable intake submit (SQLite WAL, synchronous=FULL, with
// its outbox row) and advocate matching over a 1,000-advocate directory.
// Results are recorded in docs/performance.md. Not run by ctest.
#include <benchmark/benchmark.h>

#include "common/ids/ids.h"
#include "services/advocacy/matching.h"
#include "services/intake/intake_store.h"
#include "services/intake/validation.h"
#include "services/triage/rules.h"
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
    grpcutil::FieldErrors e = intake::ValidateSubmission(req, now);
    benchmark::DoNotOptimize(e);
  }
}
BENCHMARK(BM_IntakeValidate);

void BM_IntakeSubmitDurable(benchmark::State& state) {
  testing::TempDir dir;
  auto db = store::Database::Open(dir.File("intake.db"),
                                  intake::IntakeStore::Migrations());
  intake::IntakeStore store(**db);
  v1::SubmitReferralRequest req =
      testing::LoadExample("t01_strangulation_punjabi");
  absl::Time now = absl::FromUnixSeconds(1717405200 + 60);
  std::string tp = NewTraceparent();
  int64_t i = 0;
  for (auto _ : state) {
    req.set_idempotency_key(absl::StrCat("bench-", i++));
    auto out = store.Submit(req, now, tp);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_IntakeSubmitDurable)->Unit(benchmark::kMicrosecond);

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
  advocacy::MatchRequest req{v1::PATHWAY_IDVA, "L3", "pa", true};
  for (auto _ : state) {
    advocacy::MatchResult r = advocacy::Match(req, roster);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_MatchAdvocate)->Arg(1000);

}  // namespace
}  // namespace signpost

BENCHMARK_MAIN();
