#include "tests/load/event_log.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/events/envelope.h"
#include "common/ids/ids.h"
#include "common/status/macros.h"
#include "tests/load/stats.h"

namespace signpost::load {
namespace {

int64_t UnixNs(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1'000'000'000 + t.nanos();
}

void First(Seen* seen, int64_t read_ns, const v1::EventEnvelope& e) {
  if (seen->seen()) return;
  seen->read_ns = read_ns;
  seen->occurred_unix_ns = UnixNs(e.occurred_at());
}

bool IsAdvocacyOutcome(const v1::EventEnvelope& e) {
  return (e.has_advocate_offered() && !e.advocate_offered().reoffer()) ||
         e.has_referral_waitlisted() || e.has_service_offered() ||
         e.has_pathway_unserved();
}

// One advocacy outcome's identity: its assignment, else what went unserved.
std::string OutcomeKey(const v1::EventEnvelope& e) {
  std::string assignment;
  if (e.has_advocate_offered())
    assignment = e.advocate_offered().assignment_id();
  if (e.has_referral_waitlisted()) {
    assignment = e.referral_waitlisted().assignment_id();
  }
  if (e.has_service_offered()) assignment = e.service_offered().assignment_id();
  if (e.has_pathway_unserved()) {
    const v1::PathwayUnserved& u = e.pathway_unserved();
    return absl::StrCat(e.type(), "/", u.assignment_id(), "/", u.pathway(), "/",
                        u.service(), "/", u.role());
  }
  return absl::StrCat(e.type(), "/", assignment);
}

}  // namespace

absl::StatusOr<std::unique_ptr<EventLog>> EventLog::Start(
    const std::string& bootstrap, int fetch_wait_ms) {
  kafka::ClientOptions options;
  options.bootstrap_servers = bootstrap;
  options.client_id = "signpost-load-log";
  options.fetch_wait_ms = fetch_wait_ms;
  ASSIGN_OR_RETURN(std::unique_ptr<kafka::Consumer> consumer,
                   kafka::Consumer::Create(
                       options, absl::StrCat("signpost-load-log-", NewUuid()),
                       {events::kIntakeTopic, events::kTriageTopic,
                        events::kAdvocacyTopic, events::kNotificationTopic}));
  std::unique_ptr<EventLog> log(new EventLog(std::move(consumer)));
  // The group has its partitions once the consumer reports a lag for them.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (log->consumer_->Lag().empty()) {
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError("event log: no partitions assigned");
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return log;
}

EventLog::EventLog(std::unique_ptr<kafka::Consumer> consumer)
    : consumer_(std::move(consumer)) {
  reader_ = std::thread([this] { ReadLoop(); });
}

EventLog::~EventLog() { Stop(); }

void EventLog::Stop() {
  if (stop_.exchange(true)) return;
  reader_.join();
  consumer_->Close();
}

void EventLog::ReadLoop() {
  while (!stop_.load()) {
    absl::StatusOr<std::optional<kafka::ConsumedMessage>> m =
        consumer_->Poll(absl::Milliseconds(100));
    if (!m.ok() || !m->has_value()) continue;
    Note(**m, SteadyNowNs());
  }
}

void EventLog::Note(const kafka::ConsumedMessage& message, int64_t read_ns) {
  absl::StatusOr<v1::EventEnvelope> decoded = events::DecodeEnvelope(message);
  absl::MutexLock lock(&mu_);
  ++records_;
  if (!decoded.ok()) {
    ++undecodable_;
    return;
  }
  const v1::EventEnvelope& e = *decoded;
  if (event_ids_[e.event_id()]++ > 0) {
    ++duplicate_records_;
    return;
  }
  ReferralTrace& t = traces_[e.referral_id()];
  if (e.has_referral_received()) {
    ++t.received_count;
    First(&t.received, read_ns, e);
  } else if (e.has_referral_triaged()) {
    ++t.triaged_count;
    First(&t.triaged, read_ns, e);
  } else if (IsAdvocacyOutcome(e)) {
    ++t.outcomes[OutcomeKey(e)];
    First(&t.assigned, read_ns, e);
    if (e.has_advocate_offered()) First(&t.offered, read_ns, e);
  } else if (e.has_delivery_recorded()) {
    const v1::DeliveryRecorded& d = e.delivery_recorded();
    ++t.deliveries[absl::StrCat(d.delivered_event_id(), "/", d.agency_id(), "/",
                                d.transport())];
    // Events on the advocacy topic are the ones that name an outcome.
    const std::string& type = d.delivered_event_type();
    if (type == "signpost.v1.AdvocateOffered" ||
        type == "signpost.v1.ServiceOffered" ||
        type == "signpost.v1.ReferralWaitlisted" ||
        type == "signpost.v1.PathwayUnserved") {
      First(&t.delivered, read_ns, e);
    }
  }
}

std::vector<ReferralTrace> EventLog::Traces(
    const std::vector<std::string>& referral_ids) {
  absl::MutexLock lock(&mu_);
  std::vector<ReferralTrace> out;
  out.reserve(referral_ids.size());
  for (const std::string& id : referral_ids) {
    auto it = traces_.find(id);
    out.push_back(it == traces_.end() ? ReferralTrace() : it->second);
  }
  return out;
}

bool EventLog::IsFinished(const std::string& referral_id) {
  absl::MutexLock lock(&mu_);
  auto it = traces_.find(referral_id);
  return it != traces_.end() && it->second.Finished();
}

int64_t EventLog::CountFinished(const std::vector<std::string>& referral_ids) {
  absl::MutexLock lock(&mu_);
  int64_t n = 0;
  for (const std::string& id : referral_ids) {
    auto it = traces_.find(id);
    n += it != traces_.end() && it->second.Finished();
  }
  return n;
}

int64_t EventLog::DuplicateRecords() {
  absl::MutexLock lock(&mu_);
  return duplicate_records_;
}

int64_t EventLog::UndecodableRecords() {
  absl::MutexLock lock(&mu_);
  return undecodable_;
}

int64_t EventLog::Records() {
  absl::MutexLock lock(&mu_);
  return records_;
}

}  // namespace signpost::load
