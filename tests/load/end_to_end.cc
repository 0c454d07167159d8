#include "tests/load/end_to_end.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/ids/ids.h"
#include "grpcpp/client_context.h"
#include "signpost/v1/intake.grpc.pb.h"
#include "tests/load/closed_loop.h"

namespace signpost::load {
namespace {

// One accepted submit: the referral and when the client sent it.
struct Sent {
  std::string referral_id;
  int64_t sent_ns = 0;  // steady clock
};

// Sends referrals without blocking and collects what intake answered.
// Thread-safe.
class Submitter {
 public:
  Submitter(const std::string& address, const ReferralMaker& maker, bool retry)
      : stub_(v1::IntakeService::NewStub(
            AgencyChannel(address, maker.Make(0).referral().referrer_org()))),
        maker_(maker),
        retry_(retry) {}

  // Sends the n-th referral now; `on_answer` (if set) gets the referral id
  // ("" when refused) on a gRPC thread.
  void Send(int64_t n, std::function<void(const std::string&)> on_answer = {}) {
    {
      absl::MutexLock lock(&mu_);
      ++in_flight_;
    }
    Start(maker_.Make(n), SteadyNowNs(), 1, std::move(on_answer));
  }

  // Sends `request` (first sent at `sent_ns`); with retry_, a failure while
  // intake is down sends it again, same idempotency key, up to 30 times.
  void Start(v1::SubmitReferralRequest request, int64_t sent_ns, int attempt,
             std::function<void(const std::string&)> on_answer) {
    auto call = std::make_shared<Call>();
    call->request = std::move(request);
    call->context.set_deadline(
        absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    // Waits out a restart instead of failing at once.
    if (retry_) call->context.set_wait_for_ready(true);
    call->sent_ns = sent_ns;
    stub_->async()->SubmitReferral(
        &call->context, &call->request, &call->response,
        [this, call, attempt,
         on_answer = std::move(on_answer)](grpc::Status status) mutable {
          if (!status.ok() && retry_ && attempt < 30 &&
              (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
               status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            Start(call->request, call->sent_ns, attempt + 1,
                  std::move(on_answer));
            return;
          }
          const int64_t now = SteadyNowNs();
          std::string id = status.ok() ? call->response.referral_id() : "";
          // Before the call counts as answered: WaitAnswered's caller may
          // then free what on_answer touches.
          if (on_answer) on_answer(id);
          {
            absl::MutexLock lock(&mu_);
            if (status.ok()) {
              sent_.push_back({id, call->sent_ns});
              rpc_.Add(now - call->sent_ns);
            } else if (errors_++ == 0) {
              first_error_ = absl::StrCat(status.error_code(), ": ",
                                          status.error_message());
            }
            --in_flight_;
          }
        });
  }

  // Waits until every call sent so far has its answer.
  void WaitAnswered() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](int64_t* n) { return *n == 0; }, &in_flight_));
  }

  void Collect(EndToEndResult* result, std::vector<Sent>* sent) {
    absl::MutexLock lock(&mu_);
    *sent = sent_;
    result->submitted = static_cast<int64_t>(sent_.size());
    result->submit_errors = errors_;
    result->first_submit_error = first_error_;
    result->submit_rpc.Merge(rpc_);
  }

 private:
  struct Call {
    grpc::ClientContext context;
    v1::SubmitReferralRequest request;
    v1::SubmitReferralResponse response;
    int64_t sent_ns = 0;
  };
  std::unique_ptr<v1::IntakeService::Stub> stub_;
  const ReferralMaker& maker_;
  const bool retry_;
  absl::Mutex mu_;
  int64_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<Sent> sent_ ABSL_GUARDED_BY(mu_);
  Samples rpc_ ABSL_GUARDED_BY(mu_);
  int64_t errors_ ABSL_GUARDED_BY(mu_) = 0;
  std::string first_error_ ABSL_GUARDED_BY(mu_);
};

void SleepUntil(int64_t steady_ns) {
  const int64_t now = SteadyNowNs();
  if (steady_ns > now) {
    std::this_thread::sleep_for(std::chrono::nanoseconds(steady_ns - now));
  }
}

// Poisson arrivals at `rate` for `duration`.
void OpenLoop(Submitter& submitter, double rate, absl::Duration duration,
              int64_t max_referrals) {
  std::mt19937_64 random(7);
  std::exponential_distribution<double> gap(rate);
  const int64_t start = SteadyNowNs();
  const int64_t end = start + absl::ToInt64Nanoseconds(duration);
  double next = static_cast<double>(start);
  for (int64_t n = 0;; ++n) {
    next += gap(random) * 1e9;
    if (next >= end || (max_referrals > 0 && n >= max_referrals)) break;
    SleepUntil(static_cast<int64_t>(next));
    submitter.Send(n);
  }
}

// `outstanding` referrals in flight; each slot sends its next one once the
// log shows its last one finished.
void ClosedLoop(Submitter& submitter, EventLog& log, int outstanding,
                absl::Duration duration) {
  struct Slot {
    absl::Mutex mu;
    bool answered ABSL_GUARDED_BY(mu) = false;
    std::string referral_id ABSL_GUARDED_BY(mu);
  };
  std::vector<std::unique_ptr<Slot>> slots;
  for (int i = 0; i < outstanding; ++i) {
    slots.push_back(std::make_unique<Slot>());
  }
  int64_t n = 0;
  auto send = [&](Slot* slot) {
    {
      absl::MutexLock lock(&slot->mu);
      slot->answered = false;
      slot->referral_id.clear();
    }
    submitter.Send(n++, [slot](const std::string& id) {
      absl::MutexLock lock(&slot->mu);
      slot->answered = true;
      slot->referral_id = id;
    });
  };
  for (auto& slot : slots) send(slot.get());
  const int64_t end = SteadyNowNs() + absl::ToInt64Nanoseconds(duration);
  while (SteadyNowNs() < end) {
    for (auto& slot : slots) {
      std::string id;
      bool answered = false;
      {
        absl::MutexLock lock(&slot->mu);
        answered = slot->answered;
        id = slot->referral_id;
      }
      if (answered && (id.empty() || log.IsFinished(id))) send(slot.get());
    }
    absl::SleepFor(absl::Milliseconds(1));
  }
  submitter.WaitAnswered();  // before the slots go
}

void Check(const std::vector<ReferralTrace>& traces, ExactlyOnce* check) {
  bool first = true;
  for (const ReferralTrace& t : traces) {
    if (!t.Finished()) ++check->lost;
    check->duplicated_received += std::max(0, t.received_count - 1);
    check->duplicated_triaged += std::max(0, t.triaged_count - 1);
    for (const auto& [key, count] : t.outcomes) {
      check->duplicated_outcomes += count - 1;
    }
    for (const auto& [key, count] : t.deliveries) {
      check->duplicated_deliveries += count - 1;
    }
    if (!t.Finished()) continue;
    const int outcomes = static_cast<int>(t.outcomes.size());
    const int deliveries = static_cast<int>(t.deliveries.size());
    if (first) {
      check->min_outcomes = check->max_outcomes = outcomes;
      check->min_deliveries = check->max_deliveries = deliveries;
      first = false;
    }
    check->min_outcomes = std::min(check->min_outcomes, outcomes);
    check->max_outcomes = std::max(check->max_outcomes, outcomes);
    check->min_deliveries = std::min(check->min_deliveries, deliveries);
    check->max_deliveries = std::max(check->max_deliveries, deliveries);
  }
}

}  // namespace

absl::StatusOr<EndToEndResult> RunEndToEnd(EventLog& log,
                                           const EndToEndOptions& options) {
  EndToEndResult result;
  result.options = options;
  const int64_t duplicates_before = log.DuplicateRecords();
  ReferralMaker maker(options.example, options.victims, NewUuid());
  Submitter submitter(options.intake_address, maker, options.retry_submits);
  const int64_t records_before = log.Records();
  const int64_t start = SteadyNowNs();
  std::thread during;
  if (options.during) during = std::thread(options.during);
  if (options.outstanding > 0) {
    ClosedLoop(submitter, log, options.outstanding, options.duration);
  } else {
    OpenLoop(submitter, options.rate, options.duration, options.max_referrals);
  }
  if (during.joinable()) during.join();
  const int64_t sending_ended = SteadyNowNs();
  result.log_records_per_s =
      (log.Records() - records_before) / ((sending_ended - start) / 1e9);
  submitter.WaitAnswered();
  std::vector<Sent> sent;
  submitter.Collect(&result, &sent);
  result.submit_rate = result.submitted / ((sending_ended - start) / 1e9);
  std::vector<std::string> ids;
  for (const Sent& s : sent) ids.push_back(s.referral_id);
  const absl::Time drain_by = absl::Now() + options.drain_timeout;
  int64_t records = log.Records();
  absl::Time moved = absl::Now();
  bool quiet = false;
  while (log.CountFinished(ids) < static_cast<int64_t>(ids.size())) {
    if (absl::Now() >= drain_by) {
      result.drain_timed_out = true;
      break;
    }
    if (log.Records() != records) {
      records = log.Records();
      moved = absl::Now();
    } else if (absl::Now() - moved >= options.quiet) {
      quiet = true;
      break;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  // A moment more, for any duplicate that would follow its original.
  absl::SleepFor(absl::Milliseconds(500));

  const std::vector<ReferralTrace> traces = log.Traces(ids);
  int64_t last_stage = start;
  for (size_t i = 0; i < traces.size(); ++i) {
    const ReferralTrace& t = traces[i];
    const int64_t sent_ns = sent[i].sent_ns;
    auto since_sent = [sent_ns](const Seen& seen) {
      return seen.seen() ? seen.read_ns - sent_ns : kNeverNs;
    };
    result.to_triaged.Add(since_sent(t.triaged));
    result.to_assigned.Add(since_sent(t.assigned));
    result.to_offered.Add(since_sent(t.offered));
    result.to_delivered.Add(since_sent(t.delivered));
    if (t.received.seen() && t.triaged.seen()) {
      result.hop_occurred.Add(t.triaged.occurred_unix_ns -
                              t.received.occurred_unix_ns);
      result.hop_read.Add(t.triaged.read_ns - t.received.read_ns);
    }
    if (t.Finished()) {
      ++result.finished;
      result.offered += t.offered.seen();
      last_stage = std::max({last_stage, t.triaged.read_ns, t.assigned.read_ns,
                             t.delivered.read_ns});
    }
  }
  result.unfinished = result.submitted - result.finished;
  if (last_stage > start) {
    result.completion_rate = result.finished / ((last_stage - start) / 1e9);
  }
  Check(traces, &result.check);
  // Unfinished while the stack was still busy: slow, not (yet) lost.
  if (!quiet) result.check.lost = 0;
  result.check.duplicate_records = log.DuplicateRecords() - duplicates_before;
  result.check.records_may_repeat = static_cast<bool>(options.during);
  return result;
}

}  // namespace signpost::load
