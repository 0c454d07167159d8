#include "common/events/event_consumer.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/events/envelope.h"
#include "common/ids/ids.h"
#include "common/log/log.h"

namespace signpost::events {
namespace {

bool IsPermanent(const absl::Status& s) {
  return s.code() == absl::StatusCode::kInvalidArgument ||
         s.code() == absl::StatusCode::kFailedPrecondition ||
         s.code() == absl::StatusCode::kDataLoss;
}

}  // namespace

absl::StatusOr<std::unique_ptr<EventConsumer>> EventConsumer::Create(
    Options options, kafka::Producer& dlq_producer, EventHandler handler) {
  absl::StatusOr<std::unique_ptr<kafka::Consumer>> consumer =
      kafka::Consumer::Create(options.client, options.group_id, options.topics);
  if (!consumer.ok()) return consumer.status();
  return std::unique_ptr<EventConsumer>(
      new EventConsumer(std::move(options), std::move(*consumer), dlq_producer,
                        std::move(handler)));
}

EventConsumer::EventConsumer(Options options,
                             std::unique_ptr<kafka::Consumer> consumer,
                             kafka::Producer& dlq_producer,
                             EventHandler handler)
    : options_(std::move(options)),
      consumer_(std::move(consumer)),
      dlq_producer_(dlq_producer),
      handler_(std::move(handler)) {}

EventConsumer::~EventConsumer() { Stop(); }

void EventConsumer::Start() {
  thread_ = std::thread([this] { Run(); });
}

void EventConsumer::Stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  if (consumer_) consumer_->Close();
}

void EventConsumer::Run() {
  while (!stopping_) PollOnce(absl::Milliseconds(200));
}

void EventConsumer::CommitWithRetry(const kafka::ConsumedMessage& message) {
  // A lost commit only means a redelivery, which the inbox absorbs; retry a
  // few times, then move on.
  for (int attempt = 0; attempt < 5; ++attempt) {
    absl::Status s = consumer_->Commit(message);
    if (s.ok()) return;
    log::Warn("offset commit failed",
              {{"topic", message.topic},
               {"partition", absl::StrCat(message.partition)},
               {"offset", absl::StrCat(message.offset)},
               {"error", std::string(s.message())}});
    absl::SleepFor(absl::Milliseconds(100 * (attempt + 1)));
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
        dlq_producer_.ProduceAndWait({out}, absl::Seconds(15));
    if (d[0].status.ok()) break;
    log::Warn("dead-letter publish failed; retrying",
              {{"error", std::string(d[0].status.message())}});
    if (stopping_) return;  // not committed: redelivered after restart
    absl::SleepFor(absl::Seconds(1));
  }
  ++dead_lettered_;
  log::Warn("record dead-lettered",
            {{"topic", message.topic},
             {"partition", absl::StrCat(message.partition)},
             {"offset", absl::StrCat(message.offset)},
             {"reason", std::string(reason)}});
  CommitWithRetry(message);
}

bool EventConsumer::PollOnce(absl::Duration timeout) {
  absl::StatusOr<std::optional<kafka::ConsumedMessage>> polled =
      consumer_->Poll(timeout);
  if (!polled.ok()) {
    log::Error("consumer poll failed",
               {{"error", std::string(polled.status().message())}});
    absl::SleepFor(absl::Seconds(1));
    return false;
  }
  if (!polled->has_value()) return false;
  const kafka::ConsumedMessage& message = **polled;

  absl::StatusOr<v1::EventEnvelope> envelope = DecodeEnvelope(message);
  if (!envelope.ok()) {
    DeadLetter(message, envelope.status().message());
    return true;
  }
  IncomingEvent event{std::move(*envelope),
                      message.Header("traceparent").value_or(NewTraceparent()),
                      message.topic};
  absl::Duration backoff = absl::Milliseconds(100);
  while (true) {
    absl::Status status = handler_(event);
    if (status.ok()) {
      ++handled_;
      CommitWithRetry(message);
      return true;
    }
    if (IsPermanent(status)) {
      DeadLetter(message, absl::StrCat("handler rejected: ", status.message()));
      return true;
    }
    log::Warn("event handling failed; retrying",
              {{"event_id", event.envelope.event_id()},
               {"event_type", event.envelope.type()},
               {"error", std::string(status.message())}},
              TraceIdOf(event.traceparent));
    if (stopping_) return true;  // not committed: redelivered after restart
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(5));
  }
}

}  // namespace signpost::events
