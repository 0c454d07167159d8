#include "common/events/event_consumer.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/errors/errors.h"
#include "common/events/envelope.h"
#include "common/ids/ids.h"
#include "common/log/log.h"
#include "common/status/macros.h"
#include "common/store/outbox.h"

namespace signpost::events {

absl::StatusOr<std::unique_ptr<EventConsumer>> EventConsumer::Create(
    Options options, store::Database& db, kafka::Producer& dlq_producer,
    EventHandler handler) {
  ASSIGN_OR_RETURN(std::unique_ptr<kafka::Consumer> consumer,
                   kafka::Consumer::Create(options.client, options.group_id,
                                           options.topics));
  return std::unique_ptr<EventConsumer>(
      new EventConsumer(std::move(options), std::move(consumer), db,
                        dlq_producer, std::move(handler)));
}

EventConsumer::EventConsumer(Options options,
                             std::unique_ptr<kafka::Consumer> consumer,
                             store::Database& db, kafka::Producer& dlq_producer,
                             EventHandler handler)
    : options_(std::move(options)),
      consumer_(std::move(consumer)),
      db_(db),
      dlq_producer_(dlq_producer),
      handler_(std::move(handler)) {}

EventConsumer::~EventConsumer() { Stop(); }

void EventConsumer::Start() {
  thread_ = std::thread([this] { Run(); });
}

void EventConsumer::RequestStop() { stopping_ = true; }

void EventConsumer::Stop(absl::Duration close_timeout) {
  RequestStop();
  if (thread_.joinable()) thread_.join();
  if (consumer_) consumer_->Close(close_timeout);
}

void EventConsumer::Run() {
  while (!stopping_) PollOnce(absl::Milliseconds(200));
}

bool EventConsumer::Backoff(absl::Duration d) {
  const absl::Time until = absl::Now() + d;
  while (!stopping_ && absl::Now() < until) {
    absl::SleepFor(std::min(absl::Milliseconds(50), until - absl::Now()));
  }
  return !stopping_;
}

void EventConsumer::CommitWithRetry(
    const std::vector<kafka::ConsumedMessage>& messages) {
  // A lost commit only means a redelivery, which the inbox absorbs; retry a
  // few times, then move on. Once stopping, do not start one: a synchronous
  // commit can wait long for an unreachable coordinator.
  for (int attempt = 0; attempt < 5 && !stopping_; ++attempt) {
    absl::Status s = consumer_->Commit(messages);
    if (s.ok()) return;
    log::Warn("offset commit failed", {{"topic", messages.back().topic},
                                       {"partition", messages.back().partition},
                                       {"offset", messages.back().offset},
                                       {"records", messages.size()},
                                       {"error", std::string(s.message())}});
    if (!Backoff(absl::Milliseconds(100 * (attempt + 1)))) return;
  }
}

bool EventConsumer::DeadLetter(const kafka::ConsumedMessage& message,
                               absl::string_view reason, bool commit_offset) {
  kafka::OutgoingMessage out;
  out.topic = options_.dead_letter_topic;
  out.key = message.key;
  out.payload = message.payload;
  out.headers = message.headers;
  out.headers.emplace_back("dlq_reason", std::string(reason));
  out.headers.emplace_back("dlq_source_topic", message.topic);
  out.headers.emplace_back("dlq_source_partition",
                           absl::StrCat(message.partition));
  out.headers.emplace_back("dlq_source_offset", absl::StrCat(message.offset));
  out.headers.emplace_back("dlq_consumer", options_.service_name);
  // The record must not be lost: keep trying until it is on the DLQ.
  while (true) {
    std::vector<kafka::Delivery> d =
        dlq_producer_.ProduceAndWait({out}, absl::Seconds(15), &stopping_);
    if (d[0].status.ok()) break;
    log::Warn("dead-letter publish failed; retrying",
              {{"error", std::string(d[0].status.message())}});
    // Not committed when stopping: redelivered after restart.
    if (!Backoff(absl::Seconds(1))) return false;
  }
  ++dead_lettered_;
  log::Warn("record dead-lettered", {{"topic", message.topic},
                                     {"partition", message.partition},
                                     {"offset", message.offset},
                                     {"reason", std::string(reason)}});
  if (commit_offset) CommitWithRetry({message});
  return true;
}

absl::Status EventConsumer::Apply(const std::vector<const Admitted*>& events,
                                  size_t* failed) {
  std::vector<bool> fresh(events.size(), false);
  // Past the end unless a record's own work failed (a BEGIN or COMMIT that
  // failed is no record's).
  size_t at = events.size();
  absl::Status status = db_.Write([&](store::Tx& tx) -> absl::Status {
    for (at = 0; at < events.size(); ++at) {
      const IncomingEvent& event = events[at]->event;
      ASSIGN_OR_RETURN(fresh[at], store::ClaimInbox(tx, event.envelope));
      if (fresh[at]) RETURN_IF_ERROR(handler_(event, tx));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) {
    if (failed != nullptr) *failed = at;
    return status;
  }
  bool any_fresh = false;
  for (size_t i = 0; i < events.size(); ++i) {
    if (fresh[i]) {
      any_fresh = true;
      ++handled_;
      continue;
    }
    ++duplicates_;
    log::Debug("duplicate event ignored",
               {{"event_id", events[i]->event.envelope.event_id()}},
               TraceIdOf(events[i]->event.traceparent));
  }
  if (any_fresh && options_.on_commit) options_.on_commit();
  return absl::OkStatus();
}

bool EventConsumer::Process(const Admitted& admitted,
                            std::optional<absl::Status> first_attempt) {
  const kafka::ConsumedMessage& message = *admitted.message;
  const IncomingEvent& event = admitted.event;
  absl::Duration backoff = options_.initial_backoff;
  int attempts = 0;
  while (true) {
    ++attempts;
    absl::Status status;
    if (first_attempt.has_value()) {
      status = *std::move(first_attempt);
      first_attempt.reset();
    } else {
      status = Apply({&admitted});
    }
    if (status.ok()) {
      CommitWithRetry({message});
      return true;
    }
    const errors::Disposition disposition = errors::Classify(status);
    if (disposition == errors::Disposition::kCrash) {
      log::Error("broken invariant while handling an event; aborting",
                 {{"event_id", event.envelope.event_id()},
                  {"event_type", event.envelope.type()},
                  {"topic", message.topic},
                  {"partition", message.partition},
                  {"offset", message.offset},
                  {"error", std::string(status.message())}},
                 TraceIdOf(event.traceparent));
      std::abort();
    }
    if (disposition == errors::Disposition::kDeadLetter) {
      return DeadLetter(message,
                        absl::StrCat("handler rejected: ", status.message()));
    }
    if (disposition == errors::Disposition::kRetryBounded &&
        attempts >= options_.max_attempts) {
      return DeadLetter(message, absl::StrCat("handler failed ", attempts,
                                              " times: ", status.message()));
    }
    log::Warn("event handling failed; retrying",
              {{"event_id", event.envelope.event_id()},
               {"event_type", event.envelope.type()},
               {"attempt", attempts},
               {"error", std::string(status.message())}},
              TraceIdOf(event.traceparent));
    // Not committed when stopping: redelivered after restart.
    if (!Backoff(backoff)) return false;
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

absl::StatusOr<IncomingEvent> EventConsumer::Admit(
    const kafka::ConsumedMessage& message) {
  // Before decoding: an unverified record is never parsed, and nothing it
  // says can reach the store.
  if (options_.verifier != nullptr) {
    if (absl::Status verified = options_.verifier->Verify(message);
        !verified.ok()) {
      return absl::Status(verified.code(),
                          absl::StrCat("signature: ", verified.message()));
    }
  }
  ASSIGN_OR_RETURN(v1::EventEnvelope envelope, DecodeEnvelope(message));
  return IncomingEvent{std::move(envelope),
                       message.Header("traceparent").value_or(NewTraceparent()),
                       message.topic};
}

void EventConsumer::ProcessBatch(
    const std::vector<kafka::ConsumedMessage>& messages) {
  // A record that does not verify or decode goes to the dead-letter topic
  // before any transaction opens; its offset is committed with the batch's,
  // never before the records ahead of it are applied.
  std::vector<Admitted> admitted;
  admitted.reserve(messages.size());
  for (const kafka::ConsumedMessage& message : messages) {
    absl::StatusOr<IncomingEvent> event = Admit(message);
    if (event.ok()) {
      admitted.push_back(Admitted{&message, *std::move(event)});
      continue;
    }
    if (!DeadLetter(message, event.status().message(),
                    /*commit_offset=*/false)) {
      return;
    }
  }
  // The failure of the record the batch failed on, counted as its first
  // attempt: the records ahead of it had succeeded, as they will alone.
  size_t failed = admitted.size();
  absl::Status failure;
  if (admitted.size() > 1) {
    std::vector<const Admitted*> all;
    all.reserve(admitted.size());
    for (const Admitted& a : admitted) all.push_back(&a);
    failure = Apply(all, &failed);
    if (failure.ok()) {
      ++batches_;
      admitted.clear();
    } else {
      ++batch_fallbacks_;
      log::Warn("batch failed; applying its records one at a time",
                {{"records", admitted.size()},
                 {"error", std::string(failure.message())}});
    }
  }
  for (size_t i = 0; i < admitted.size(); ++i) {
    std::optional<absl::Status> first;
    if (i == failed) first = failure;
    if (!Process(admitted[i], std::move(first))) return;
  }
  CommitWithRetry(messages);
}

bool EventConsumer::PollOnce(absl::Duration timeout) {
  absl::StatusOr<std::vector<kafka::ConsumedMessage>> polled =
      consumer_->PollBatch(std::max(1, options_.batch_max_records), timeout,
                           options_.batch_wait);
  if (!polled.ok()) {
    log::Error("consumer poll failed",
               {{"error", std::string(polled.status().message())}});
    Backoff(absl::Seconds(1));
    return false;
  }
  if (polled->empty()) return false;
  ProcessBatch(*polled);
  return true;
}

}  // namespace signpost::events
