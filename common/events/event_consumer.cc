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

void EventConsumer::CommitWithRetry(const kafka::ConsumedMessage& message) {
  // A lost commit only means a redelivery, which the inbox absorbs; retry a
  // few times, then move on. Once stopping, do not start one: a synchronous
  // commit can wait long for an unreachable coordinator.
  for (int attempt = 0; attempt < 5 && !stopping_; ++attempt) {
    absl::Status s = consumer_->Commit(message);
    if (s.ok()) return;
    log::Warn("offset commit failed", {{"topic", message.topic},
                                       {"partition", message.partition},
                                       {"offset", message.offset},
                                       {"error", std::string(s.message())}});
    if (!Backoff(absl::Milliseconds(100 * (attempt + 1)))) return;
  }
}

void EventConsumer::DeadLetter(const kafka::ConsumedMessage& message,
                               absl::string_view reason) {
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
    if (!Backoff(absl::Seconds(1))) return;
  }
  ++dead_lettered_;
  log::Warn("record dead-lettered", {{"topic", message.topic},
                                     {"partition", message.partition},
                                     {"offset", message.offset},
                                     {"reason", std::string(reason)}});
  CommitWithRetry(message);
}

absl::Status EventConsumer::Apply(const IncomingEvent& event) {
  bool duplicate = false;
  RETURN_IF_ERROR(db_.Write([&](store::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(bool fresh, store::ClaimInbox(tx, event.envelope));
    if (!fresh) {
      duplicate = true;
      return absl::OkStatus();
    }
    return handler_(event, tx);
  }));
  if (duplicate) {
    ++duplicates_;
    log::Debug("duplicate event ignored",
               {{"event_id", event.envelope.event_id()}},
               TraceIdOf(event.traceparent));
    return absl::OkStatus();
  }
  ++handled_;
  if (options_.on_commit) options_.on_commit();
  return absl::OkStatus();
}

void EventConsumer::Process(const kafka::ConsumedMessage& message,
                            const IncomingEvent& event) {
  absl::Duration backoff = options_.initial_backoff;
  int attempts = 0;
  while (true) {
    ++attempts;
    absl::Status status = Apply(event);
    if (status.ok()) {
      CommitWithRetry(message);
      return;
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
      DeadLetter(message, absl::StrCat("handler rejected: ", status.message()));
      return;
    }
    if (disposition == errors::Disposition::kRetryBounded &&
        attempts >= options_.max_attempts) {
      DeadLetter(message, absl::StrCat("handler failed ", attempts,
                                       " times: ", status.message()));
      return;
    }
    log::Warn("event handling failed; retrying",
              {{"event_id", event.envelope.event_id()},
               {"event_type", event.envelope.type()},
               {"attempt", attempts},
               {"error", std::string(status.message())}},
              TraceIdOf(event.traceparent));
    // Not committed when stopping: redelivered after restart.
    if (!Backoff(backoff)) return;
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

bool EventConsumer::PollOnce(absl::Duration timeout) {
  absl::StatusOr<std::optional<kafka::ConsumedMessage>> polled =
      consumer_->Poll(timeout);
  if (!polled.ok()) {
    log::Error("consumer poll failed",
               {{"error", std::string(polled.status().message())}});
    Backoff(absl::Seconds(1));
    return false;
  }
  if (!polled->has_value()) return false;
  const kafka::ConsumedMessage& message = **polled;

  // Before decoding: an unverified record is never parsed, and nothing it
  // says can reach the store.
  if (options_.verifier != nullptr) {
    if (absl::Status verified = options_.verifier->Verify(message);
        !verified.ok()) {
      DeadLetter(message, absl::StrCat("signature: ", verified.message()));
      return true;
    }
  }
  absl::StatusOr<v1::EventEnvelope> envelope = DecodeEnvelope(message);
  if (!envelope.ok()) {
    DeadLetter(message, envelope.status().message());
    return true;
  }
  IncomingEvent event{std::move(*envelope),
                      message.Header("traceparent").value_or(NewTraceparent()),
                      message.topic};
  Process(message, event);
  return true;
}

}  // namespace signpost::events
