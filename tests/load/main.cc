// signpost-load: the load harness of issue 16 (docs/performance.md, "Load
// harness"). In one run it measures the baselines (a bare gRPC echo over
// the services' mutual TLS; bare produce-and-consume through the stack's
// broker) and the real stack (testing::Stack: the devbroker and the five
// binaries): SubmitReferral in a closed loop, end to end in open-loop
// Poisson runs and a closed loop, with the exactly-once check, and the idle
// cost; then prints a Markdown table (and with --write_doc puts it into
// docs/performance.md). --smoke is ctest's short correctness run.
//
// Exit codes: 0 done; 1 a correctness check failed (a lost or duplicated
// effect, an echo or a Kafka record not returned as sent, a failed call);
// 2 a usage error or a stack that did not start.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "grpcpp/client_context.h"
#include "signpost/v1/advocacy.grpc.pb.h"
#include "signpost/v1/intake.grpc.pb.h"
#include "tests/load/closed_loop.h"
#include "tests/load/echo_baseline.h"
#include "tests/load/end_to_end.h"
#include "tests/load/event_log.h"
#include "tests/load/idle.h"
#include "tests/load/kafka_baseline.h"
#include "tests/load/referrals.h"
#include "tests/load/report.h"
#include "tests/support/test_support.h"

namespace signpost::load {
namespace {

struct Flags {
  bool smoke = false;
  bool faults = false;
  double duration_s = 10;
  double warmup_s = 1;
  std::vector<double> rates = {50, 200, 500};
  std::string victims = "both";  // same, distinct or both
  double compare_rate = 200;     // the same-victim run's rate
  int closed_loop = 16;          // referrals in flight; 0: no closed loop
  double drain_timeout_s = 60;
  double kafka_rate = 1000;
  std::vector<int> outstanding = {16, 1};
  double idle_s = 10;
  int advocates = 40;
  std::string example = "t01_strangulation_punjabi";
  int log_fetch_wait_ms = 10;
  std::string write_doc;
  std::string append_markdown;  // a file put after the table (make bench)
};

absl::Duration Seconds(double s) { return absl::Milliseconds(s * 1000); }

void Say(const std::string& line) {
  std::fprintf(stderr, "signpost-load: %s\n", line.c_str());
  std::fflush(stderr);
}

// Adds `count` advocates with the example's role, language and locality at
// the largest capacity, so that a run's referrals are offered to a named
// advocate instead of filling the example directory (2-3 cases each) and
// waiting on the waitlist.
absl::Status AddCapacity(const testing::Stack& stack, int count) {
  if (count <= 0) return absl::OkStatus();
  auto advocacy = v1::AdvocacyService::NewStub(
      AgencyChannel(stack.address("advocacy"), "signpost-operator"));
  v1::ImportDirectoryRequest request;
  for (int i = 0; i < count; ++i) {
    v1::Advocate* a = request.mutable_directory()->add_advocates();
    a->set_advocate_id(absl::StrCat("load-idva-", i));
    a->set_provider_id("wm-idva-service");
    a->set_display_name(absl::StrCat("Load IDVA ", i));
    a->set_role(v1::ADVOCATE_ROLE_IDVA);
    for (const char* language : {"pa", "ur", "en"}) a->add_languages(language);
    a->add_localities("*");
    a->set_capacity(500);
  }
  auto context = testing::ContextWithDeadline(absl::Seconds(30));
  v1::ImportDirectoryResponse response;
  grpc::Status status =
      advocacy->ImportDirectory(context.get(), request, &response);
  if (!status.ok()) {
    return absl::UnavailableError(
        absl::StrCat("ImportDirectory: ", status.error_message()));
  }
  return absl::OkStatus();
}

// SubmitReferral with `outstanding` in flight on one channel, each a new
// referral (distinct victims), for the run's duration.
ClosedLoopResult SubmitClosedLoop(const testing::Stack& stack,
                                  const v1::SubmitReferralRequest& example,
                                  int outstanding, const Flags& flags) {
  ReferralMaker maker(example, Victims::kDistinct, NewUuid());
  auto intake = v1::IntakeService::NewStub(AgencyChannel(
      stack.address("intake"), example.referral().referrer_org()));
  struct Slot {
    std::unique_ptr<grpc::ClientContext> context;
    v1::SubmitReferralRequest request;
    v1::SubmitReferralResponse response;
  };
  std::vector<Slot> slots(static_cast<size_t>(outstanding));
  for (Slot& s : slots) s.request = example;
  std::atomic<int64_t> n{0};
  const StartCall start = [&](int i,
                              std::function<void(const grpc::Status&)> done) {
    Slot& slot = slots[static_cast<size_t>(i)];
    maker.Fill(n.fetch_add(1), &slot.request);
    slot.context = std::make_unique<grpc::ClientContext>();
    slot.context->set_deadline(
        absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    intake->async()->SubmitReferral(slot.context.get(), &slot.request,
                                    &slot.response, std::move(done));
  };
  return RunClosedLoop(start, outstanding, Seconds(flags.warmup_s),
                       Seconds(flags.duration_s));
}

std::string VictimsName(Victims v) {
  return v == Victims::kSame ? "same victim" : "distinct victims";
}

std::string Describe(const ExactlyOnce& c) {
  return absl::StrFormat(
      "lost %d, duplicated %d (received %d, triaged %d, advocacy outcomes "
      "%d, deliveries %d, records repeating an event id %d); per finished "
      "referral %d-%d advocacy outcomes, %d-%d deliveries",
      c.lost, c.duplicated(), c.duplicated_received, c.duplicated_triaged,
      c.duplicated_outcomes, c.duplicated_deliveries, c.duplicate_records,
      c.min_outcomes, c.max_outcomes, c.min_deliveries, c.max_deliveries);
}

std::string DescribeRun(const EndToEndResult& r) {
  return absl::StrFormat(
      "%s: %d submitted (%s/s; %d refused), %d finished, %d unfinished, "
      "%d offered a named advocate, %s/s completed (first send to last "
      "stage); %s",
      r.options.label, r.submitted, FormatRate(r.submit_rate), r.submit_errors,
      r.finished, r.unfinished, r.offered, FormatRate(r.completion_rate),
      Describe(r.check));
}

class Harness {
 public:
  explicit Harness(const Flags& flags) : flags_(flags) {
    example_ = testing::LoadExample(flags.example);
  }

  int Smoke();
  int Faults();
  int Full();

 private:
  bool CheckEcho(const EchoResult& r, const std::string& what) {
    const bool ok = r.loop.errors == 0 && r.mismatched == 0 && r.loop.calls > 0;
    if (!ok) {
      Say(absl::StrFormat("FAIL %s: %d calls, %d errors (%s), %d mismatched",
                          what, r.loop.calls, r.loop.errors, r.loop.first_error,
                          r.mismatched));
    }
    return ok;
  }
  bool CheckKafka(const absl::StatusOr<KafkaResult>& r) {
    if (!r.ok()) {
      Say(absl::StrCat("FAIL kafka baseline: ", r.status().ToString()));
      return false;
    }
    const bool ok = r->lost == 0 && r->duplicated == 0 && r->corrupted == 0 &&
                    r->received > 1;
    if (!ok) {
      Say(absl::StrFormat(
          "FAIL kafka baseline: %d sent, %d received, %d lost, %d "
          "duplicated, %d corrupted",
          r->sent, r->received, r->lost, r->duplicated, r->corrupted));
    }
    return ok;
  }
  // `all_finish`: an unfinished referral fails the run too (the smoke run).
  bool CheckRun(const absl::StatusOr<EndToEndResult>& r,
                bool all_finish = false) {
    if (!r.ok()) {
      Say(absl::StrCat("FAIL end to end: ", r.status().ToString()));
      return false;
    }
    Say(DescribeRun(*r));
    if (r->submit_errors > 0) {
      Say(absl::StrCat("first refused submit: ", r->first_submit_error));
    }
    // Under overload a submit may time out (its referral unknown to the
    // harness): a figure of the run, a failure only where all must finish.
    const bool ok =
        r->check.ok() && r->submitted > 0 &&
        !(all_finish && (r->unfinished > 0 || r->submit_errors > 0));
    if (!ok) Say(absl::StrCat("FAIL ", r->options.label));
    return ok;
  }
  std::unique_ptr<testing::Stack> StartStack() {
    Say("starting the stack");
    auto stack = std::make_unique<testing::Stack>();
    if (!stack->ready()) {
      Say("the stack did not start");
      return nullptr;
    }
    if (absl::Status s = AddCapacity(*stack, flags_.advocates); !s.ok()) {
      Say(absl::StrCat("adding advocates: ", s.ToString()));
      return nullptr;
    }
    return stack;
  }
  EndToEndOptions RunOptions(const testing::Stack& stack, Victims victims,
                             double rate, int outstanding) const {
    EndToEndOptions o;
    o.intake_address = stack.address("intake");
    o.example = example_;
    o.victims = victims;
    o.rate = rate;
    o.outstanding = outstanding;
    o.duration = Seconds(flags_.duration_s);
    o.drain_timeout = Seconds(flags_.drain_timeout_s);
    o.label = outstanding > 0
                  ? absl::StrCat("closed loop, ", outstanding, " in flight, ",
                                 VictimsName(victims))
                  : absl::StrCat("open loop ", FormatRate(rate), "/s, ",
                                 VictimsName(victims));
    return o;
  }
  void ReportRun(const EndToEndResult& r, const KafkaResult* bare);
  void ReportTargets(const EchoResult* echo16, const ClosedLoopResult* submit16,
                     const KafkaResult* bare,
                     const std::vector<EndToEndResult>& runs,
                     const std::vector<ProcessIdle>& idle);

  const Flags& flags_;
  v1::SubmitReferralRequest example_;
  Report report_;
};

int Harness::Smoke() {
  bool ok = true;
  Say("echo baseline, 1 s");
  ok &= CheckEcho(
      RunEchoBaseline(16, 1024, absl::Milliseconds(200), absl::Seconds(1)),
      "echo");
  std::unique_ptr<testing::Stack> stack = StartStack();
  if (stack == nullptr) return 2;
  Say("kafka baseline, 1 s at 200/s");
  KafkaOptions kafka;
  kafka.bootstrap = stack->bootstrap();
  kafka.rate = 200;
  kafka.warmup = absl::ZeroDuration();
  kafka.duration = absl::Seconds(1);
  ok &= CheckKafka(RunKafkaBaseline(kafka));
  absl::StatusOr<std::unique_ptr<EventLog>> log =
      EventLog::Start(stack->bootstrap(), flags_.log_fetch_wait_ms);
  if (!log.ok()) {
    Say(absl::StrCat("FAIL event log: ", log.status().ToString()));
    return 1;
  }
  EndToEndOptions o = RunOptions(*stack, Victims::kDistinct, 20, 0);
  o.duration = absl::Seconds(30);
  o.max_referrals = 30;
  o.drain_timeout = absl::Seconds(120);  // a slow CI machine
  o.label = "smoke: 30 referrals, open loop 20/s, distinct victims";
  Say("end to end: 30 referrals at 20/s");
  absl::StatusOr<EndToEndResult> run = RunEndToEnd(**log, o);
  ok &= CheckRun(run, /*all_finish=*/true);
  if (run.ok() && run->submitted != 30) {
    Say(absl::StrCat("FAIL smoke: ", run->submitted, " of 30 submitted"));
    ok = false;
  }
  (*log)->Stop();
  Say(ok ? "smoke: every check passed" : "smoke: FAILED");
  return ok ? 0 : 1;
}

// Issue 16 item 7: with batching on (the defaults), each service in turn is
// SIGKILLed and restarted while referrals arrive; every one must still be
// triaged, assigned and delivered, and no effect may happen twice.
int Harness::Faults() {
  std::unique_ptr<testing::Stack> stack = StartStack();
  if (stack == nullptr) return 2;
  absl::StatusOr<std::unique_ptr<EventLog>> log =
      EventLog::Start(stack->bootstrap(), flags_.log_fetch_wait_ms);
  if (!log.ok()) {
    Say(absl::StrCat("FAIL event log: ", log.status().ToString()));
    return 1;
  }
  const int kReferrals = 600;
  EndToEndOptions o = RunOptions(*stack, Victims::kDistinct, 30, 0);
  o.duration = absl::Seconds(60);
  o.max_referrals = kReferrals;
  o.drain_timeout = absl::Seconds(240);  // a slow CI machine
  o.quiet = absl::Seconds(30);
  o.retry_submits = true;
  o.label = absl::StrCat("faults: ", kReferrals,
                         " referrals at 30/s, each service SIGKILLed and "
                         "restarted in turn");
  std::atomic<bool> restarted{true};
  o.during = [&stack, &restarted] {
    for (const char* svc :
         {"triage", "advocacy", "notification", "orders", "intake"}) {
      absl::SleepFor(absl::Seconds(3));
      Say(absl::StrCat("SIGKILL ", svc));
      if (!stack->KillAndRestart(svc)) {
        Say(absl::StrCat("FAIL ", svc, " did not restart"));
        restarted = false;
      }
    }
  };
  Say("faults: referrals at 30/s while each service is killed in turn");
  absl::StatusOr<EndToEndResult> run = RunEndToEnd(**log, o);
  bool ok = CheckRun(run, /*all_finish=*/true) && restarted.load();
  if (run.ok()) {
    if (run->submitted != kReferrals) {
      Say(absl::StrCat("FAIL faults: ", run->submitted, " of ", kReferrals,
                       " submitted"));
      ok = false;
    }
    Say(
        absl::StrCat("records published again after a kill (same event id, "
                     "no second effect): ",
                     run->check.duplicate_records));
  }
  (*log)->Stop();
  Say(ok ? "faults: every check passed" : "faults: FAILED");
  return ok ? 0 : 1;
}

void Harness::ReportRun(const EndToEndResult& r, const KafkaResult* bare) {
  const std::string& l = r.options.label;
  const double window = absl::ToDoubleSeconds(r.options.duration);
  report_.Add(absl::StrCat(l, ": submit → triaged"),
              Summarise("", r.to_triaged, window));
  report_.Add(absl::StrCat(l, ": submit → assigned"),
              Summarise("", r.to_assigned, window));
  report_.Add(absl::StrCat(l, ": submit → delivered"),
              Summarise("", r.to_delivered, window));
  report_.AddText(absl::StrCat(l, ": completion"),
                  absl::StrCat(FormatRate(r.completion_rate), "/s completed"),
                  absl::StrCat(r.finished, " finished"),
                  absl::StrCat(r.unfinished, " unfinished"),
                  absl::StrCat(r.submit_errors, " submits failed"), "–",
                  r.check.ok() ? "exactly once" : "**lost or duplicated**");
  const Summary hop = Summarise("", r.hop_occurred, window);
  std::string baseline = "–", ratio = "–";
  if (bare != nullptr) {
    const double bare_p99 = bare->hop.QuantileMs(0.99);
    baseline = absl::StrCat("bare Kafka hop p99 ", FormatMs(bare_p99));
    ratio = absl::StrCat("p99 ", Times(hop.p99_ms, bare_p99));
  }
  report_.AddText(
      absl::StrCat(l,
                   ": one hop, ReferralReceived → ReferralTriaged "
                   "(occurred_at)"),
      absl::StrCat(FormatRate(r.log_records_per_s), " records/s in the log"),
      FormatMs(hop.p50_ms), FormatMs(hop.p99_ms), FormatMs(hop.p999_ms),
      baseline, ratio);
}

void Harness::ReportTargets(const EchoResult* echo16,
                            const ClosedLoopResult* submit16,
                            const KafkaResult* bare,
                            const std::vector<EndToEndResult>& runs,
                            const std::vector<ProcessIdle>& idle) {
  const double echo_rps =
      echo16 != nullptr ? echo16->loop.calls / echo16->loop.window_seconds : 0;
  // Sustained: the best completion rate of the open-loop runs.
  const EndToEndResult* best = nullptr;
  const EndToEndResult* at500 = nullptr;
  const EndToEndResult* hop_run = nullptr;
  bool exactly_once = true;
  for (const EndToEndResult& r : runs) {
    exactly_once &= r.check.ok();
    if (r.options.outstanding > 0) continue;
    if (best == nullptr || r.completion_rate > best->completion_rate) best = &r;
    if (r.options.rate == 500 && r.options.victims == Victims::kDistinct) {
      at500 = &r;
    }
    // The hop at the log rate nearest 1,000 records/s.
    if (hop_run == nullptr || std::abs(r.log_records_per_s - 1000) <
                                  std::abs(hop_run->log_records_per_s - 1000)) {
      hop_run = &r;
    }
  }
  if (best != nullptr) {
    report_.Target(
        "End to end, sustained, exactly once",
        "≥ 2,000 referrals/s and ≥ 5% of echo at 16 outstanding",
        absl::StrCat(FormatRate(best->completion_rate), "/s (",
                     best->options.label, "), ",
                     Percent(best->completion_rate, echo_rps), " of echo; ",
                     exactly_once ? "exactly once in every run"
                                  : "**an effect lost or duplicated**"),
        best->completion_rate >= 2000 && exactly_once &&
            best->completion_rate >= 0.05 * echo_rps);
  }
  if (at500 != nullptr) {
    const double p99 = at500->to_assigned.QuantileMs(0.99);
    report_.Target("Open-loop Poisson at 500/s: intake → assigned",
                   "p99 ≤ 50 ms",
                   absl::StrCat("p99 ", FormatMs(p99), "; ", at500->unfinished,
                                " unfinished after the drain"),
                   p99 >= 0 && p99 <= 50 && at500->unfinished == 0);
  }
  if (submit16 != nullptr && echo16 != nullptr) {
    const double rps = submit16->calls / submit16->window_seconds;
    report_.Target(
        "SubmitReferral, 16 outstanding", "≥ 25% of echo's rps",
        absl::StrCat(FormatRate(rps), " rps = ", Percent(rps, echo_rps),
                     " of echo's ", FormatRate(echo_rps)),
        rps >= 0.25 * echo_rps);
  }
  if (bare != nullptr && hop_run != nullptr) {
    const double p99 = hop_run->hop_occurred.QuantileMs(0.99);
    const double bare_p99 = bare->hop.QuantileMs(0.99);
    report_.Target(
        "One event hop (ReferralReceived → ReferralTriaged)",
        "p99 ≤ 3× the bare hop's p99 at 1,000 events/s",
        absl::StrCat("p99 ", FormatMs(p99), " at ",
                     FormatRate(hop_run->log_records_per_s), " records/s (",
                     hop_run->options.label, ") vs bare ", FormatMs(bare_p99),
                     " at ", FormatRate(flags_.kafka_rate),
                     "/s: ", Times(p99, bare_p99)),
        p99 >= 0 && bare_p99 > 0 && p99 <= 3 * bare_p99);
  }
  if (!idle.empty()) {
    std::vector<std::string> parts;
    bool met = true;
    for (const ProcessIdle& p : idle) {
      parts.push_back(absl::StrFormat("%s %.2f%% %.0f MiB", p.name,
                                      p.cpu_percent, p.rss_mib));
      if (p.name != "signpost-devbroker") {
        met &= p.cpu_percent < 1.0 && p.rss_mib < 64;
      }
    }
    report_.Target("Idle, each service", "< 1% of a core and < 64 MiB RSS",
                   absl::StrJoin(parts, "; "), met);
  }
}

int Harness::Full() {
  bool ok = true;
  const absl::Duration warmup = Seconds(flags_.warmup_s);
  const absl::Duration duration = Seconds(flags_.duration_s);
  std::map<int, EchoResult> echo;
  for (int n : flags_.outstanding) {
    Say(absl::StrCat("echo baseline, ", n, " outstanding"));
    echo[n] = RunEchoBaseline(n, 1024, warmup, duration);
    ok &= CheckEcho(echo[n], "echo");
    report_.Add(
        absl::StrCat("bare gRPC callback echo, 1 KiB, mutual TLS, ", n,
                     " outstanding"),
        Summarise("", echo[n].loop.latencies, echo[n].loop.window_seconds), "–",
        "1");
  }

  std::vector<EndToEndResult> runs;
  std::optional<KafkaResult> bare;
  std::map<int, ClosedLoopResult> submit;
  std::vector<ProcessIdle> idle;
  const bool distinct = flags_.victims != "same";
  const bool same = flags_.victims != "distinct";
  {
    std::unique_ptr<testing::Stack> stack = StartStack();
    if (stack == nullptr) return 2;
    Say(absl::StrCat("kafka baseline at ", flags_.kafka_rate, "/s"));
    KafkaOptions kafka;
    kafka.bootstrap = stack->bootstrap();
    kafka.rate = flags_.kafka_rate;
    kafka.warmup = warmup;
    kafka.duration = duration;
    absl::StatusOr<KafkaResult> k = RunKafkaBaseline(kafka);
    ok &= CheckKafka(k);
    if (k.ok()) {
      bare = *k;
      report_.Add(absl::StrFormat(
                      "bare Kafka produce → consume on the devbroker, fetch "
                      "wait %d ms, linger %d ms",
                      kafka::kDefaultFetchWaitMs, kafka::kDefaultLingerMs),
                  Summarise("", bare->hop, bare->window_seconds), "–", "1");
    }
    absl::StatusOr<std::unique_ptr<EventLog>> log =
        EventLog::Start(stack->bootstrap(), flags_.log_fetch_wait_ms);
    if (!log.ok()) {
      Say(absl::StrCat("FAIL event log: ", log.status().ToString()));
      return 1;
    }
    // The highest rate last: it may leave a backlog that the idle
    // measurement and the closed loop must not see.
    std::vector<double> rates = flags_.rates;
    std::sort(rates.begin(), rates.end());
    std::vector<EndToEndOptions> plan;
    if (distinct) {
      for (size_t i = 0; i + 1 < rates.size(); ++i) {
        plan.push_back(RunOptions(*stack, Victims::kDistinct, rates[i], 0));
      }
      if (flags_.closed_loop > 0) {
        plan.push_back(
            RunOptions(*stack, Victims::kDistinct, 0, flags_.closed_loop));
      }
    }
    for (const EndToEndOptions& o : plan) {
      Say(absl::StrCat("end to end: ", o.label));
      absl::StatusOr<EndToEndResult> r = RunEndToEnd(**log, o);
      ok &= CheckRun(r);
      if (r.ok()) runs.push_back(*std::move(r));
    }
    if (flags_.idle_s > 0) {
      Say(absl::StrCat("idle, ", flags_.idle_s, " s"));
      // "Finished" is the three stages; the services still have the
      // runs' other events to handle (orders, deliveries of every event).
      // Idle starts once the log has gained nothing for 5 s.
      const absl::Time give_up = absl::Now() + absl::Seconds(180);
      int64_t records = (*log)->Records();
      absl::Time moved = absl::Now();
      while (absl::Now() - moved < absl::Seconds(5) && absl::Now() < give_up) {
        absl::SleepFor(absl::Milliseconds(200));
        if ((*log)->Records() != records) {
          records = (*log)->Records();
          moved = absl::Now();
        }
      }
      idle = MeasureIdle(Seconds(flags_.idle_s));
    }
    if (distinct && !rates.empty()) {
      EndToEndOptions o =
          RunOptions(*stack, Victims::kDistinct, rates.back(), 0);
      Say(absl::StrCat("end to end: ", o.label));
      absl::StatusOr<EndToEndResult> r = RunEndToEnd(**log, o);
      ok &= CheckRun(r);
      if (r.ok()) runs.push_back(*std::move(r));
    }
    (*log)->Stop();
  }
  {
    // SubmitReferral on a fresh stack, with no backlog from the runs above.
    std::unique_ptr<testing::Stack> stack = StartStack();
    if (stack == nullptr) return 2;
    for (int n : flags_.outstanding) {
      Say(absl::StrCat("SubmitReferral, ", n, " outstanding"));
      submit[n] = SubmitClosedLoop(*stack, example_, n, flags_);
      const ClosedLoopResult& s = submit[n];
      if (s.errors > 0) {
        Say(absl::StrCat("FAIL SubmitReferral: ", s.errors,
                         " errors: ", s.first_error));
        ok = false;
      }
      const double echo_rps =
          echo.count(n) > 0 ? echo[n].loop.calls / echo[n].loop.window_seconds
                            : 0;
      report_.Add(
          absl::StrCat("SubmitReferral, mutual TLS, ", n, " outstanding"),
          Summarise("", s.latencies, s.window_seconds),
          absl::StrCat("echo, ", n, " outstanding: ", FormatRate(echo_rps),
                       " rps"),
          absl::StrCat(Percent(s.calls / s.window_seconds, echo_rps),
                       " of echo rps"));
    }
  }
  if (same) {
    std::unique_ptr<testing::Stack> stack = StartStack();
    if (stack == nullptr) return 2;
    absl::StatusOr<std::unique_ptr<EventLog>> log =
        EventLog::Start(stack->bootstrap(), flags_.log_fetch_wait_ms);
    if (!log.ok()) return 1;
    EndToEndOptions o =
        RunOptions(*stack, Victims::kSame, flags_.compare_rate, 0);
    o.label += " (a fresh stack)";
    Say(absl::StrCat("end to end: ", o.label));
    absl::StatusOr<EndToEndResult> r = RunEndToEnd(**log, o);
    ok &= CheckRun(r);
    if (r.ok()) runs.push_back(*std::move(r));
    (*log)->Stop();
  }
  for (const EndToEndResult& r : runs) {
    ReportRun(r, bare.has_value() ? &*bare : nullptr);
  }
  for (const ProcessIdle& p : idle) {
    report_.AddText(absl::StrCat("idle ", p.name, ", ", flags_.idle_s, " s"),
                    absl::StrFormat("%.2f%% of a core", p.cpu_percent),
                    absl::StrFormat("RSS %.0f MiB", p.rss_mib), "–", "–",
                    p.name == "signpost-devbroker" ? "–" : "target 1%, 64 MiB",
                    p.name == "signpost-devbroker"
                        ? "–"
                        : absl::StrFormat("CPU %.2f×, RSS %.2f×",
                                          p.cpu_percent / 1.0, p.rss_mib / 64));
  }
  ReportTargets(echo.count(16) ? &echo[16] : nullptr,
                submit.count(16) ? &submit[16] : nullptr,
                bare.has_value() ? &*bare : nullptr, runs, idle);
  for (const EndToEndResult& r : runs) report_.Note(DescribeRun(r));
  std::string markdown = report_.Markdown(RunFacts());
  if (!flags_.append_markdown.empty()) {
    absl::StrAppend(&markdown, "\n", testing::ReadFile(flags_.append_markdown));
  }
  std::printf("%s", markdown.c_str());
  std::fflush(stdout);
  if (!flags_.write_doc.empty()) {
    if (absl::Status s = WriteBetweenMarkers(flags_.write_doc, markdown);
        !s.ok()) {
      Say(s.ToString());
      return 2;
    }
    Say(absl::StrCat("wrote ", flags_.write_doc));
  }
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace signpost::load

int main(int argc, char** argv) {
  signpost::load::Flags flags;
  CLI::App app{
      "signpost-load: Signpost's load harness (issue 16). Starts its own "
      "stack; prints a Markdown table."};
  app.add_flag("--smoke", flags.smoke,
               "short correctness run (ctest load_smoke): 1 s echo, 1 s "
               "Kafka, 30 referrals at 20/s; asserts no speed");
  app.add_flag("--faults", flags.faults,
               "fault run (ctest load_faults): 600 referrals at 30/s while "
               "each service in turn is SIGKILLed and restarted; asserts "
               "every referral routed and no effect twice");
  app.add_option("--duration_s", flags.duration_s, "each measurement's length")
      ->capture_default_str();
  app.add_option("--warmup_s", flags.warmup_s,
                 "closed loops and Kafka: not measured first")
      ->capture_default_str();
  app.add_option("--rates", flags.rates,
                 "open-loop end-to-end rates, referrals/s (distinct victims)")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--victims", flags.victims,
                 "distinct: the rates; same: one run at --compare_rate with "
                 "one victim on a fresh stack; both")
      ->check(CLI::IsMember({"same", "distinct", "both"}))
      ->capture_default_str();
  app.add_option("--compare_rate", flags.compare_rate,
                 "the same-victim run's rate")
      ->capture_default_str();
  app.add_option("--closed_loop", flags.closed_loop,
                 "end-to-end closed loop: referrals in flight (0: none)")
      ->capture_default_str();
  app.add_option("--drain_timeout_s", flags.drain_timeout_s,
                 "after a run's last submit, the wait for every referral")
      ->capture_default_str();
  app.add_option("--kafka_rate", flags.kafka_rate,
                 "bare Kafka baseline, records/s")
      ->capture_default_str();
  app.add_option("--outstanding", flags.outstanding,
                 "echo and SubmitReferral closed loops: calls in flight")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--idle_s", flags.idle_s,
                 "idle CPU and RSS window after the runs (0: skip)")
      ->capture_default_str();
  app.add_option("--advocates", flags.advocates,
                 "IDVAs of capacity 500 added before the runs")
      ->capture_default_str();
  app.add_option("--example", flags.example,
                 "the examples/referrals file copied")
      ->capture_default_str();
  app.add_option("--log_fetch_wait_ms", flags.log_fetch_wait_ms,
                 "the harness's own log reader's fetch wait")
      ->capture_default_str();
  app.add_option("--append_markdown", flags.append_markdown,
                 "a Markdown file to put after the table (scripts/bench: "
                 "the micro-benchmarks)");
  app.add_option("--write_doc", flags.write_doc,
                 "put the table between the bench markers of this file "
                 "(docs/performance.md)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  signpost::load::Harness harness(flags);
  if (flags.faults) return harness.Faults();
  return flags.smoke ? harness.Smoke() : harness.Full();
}
