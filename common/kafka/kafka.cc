#include "common/kafka/kafka.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <map>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/log/log.h"
#include "common/status/macros.h"

namespace signpost::kafka {
namespace {

void OnLog(const rd_kafka_t*, int level, const char* facility, const char* buf);

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

struct HandleDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using HandlePtr = std::unique_ptr<rd_kafka_t, HandleDeleter>;

struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};

absl::Status SetProperty(rd_kafka_conf_t* conf, const std::string& key,
                         const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof(err)) !=
      RD_KAFKA_CONF_OK) {
    return absl::InvalidArgumentError(
        absl::StrCat("kafka property ", key, ": ", err));
  }
  return absl::OkStatus();
}

absl::StatusOr<ConfPtr> BaseConf(
    const ClientOptions& options,
    const std::map<std::string, std::string>& defaults) {
  ConfPtr conf(rd_kafka_conf_new());
  rd_kafka_conf_set_log_cb(conf.get(), OnLog);
  std::map<std::string, std::string> props = defaults;
  props["bootstrap.servers"] = options.bootstrap_servers;
  props["client.id"] = options.client_id;
  for (const auto& [k, v] : options.properties) props[k] = v;
  for (const auto& [k, v] : props) {
    RETURN_IF_ERROR(SetProperty(conf.get(), k, v));
  }
  return conf;
}

// Kafka errors that a retry can fix become UNAVAILABLE; the rest are permanent.
absl::Status FromKafkaError(rd_kafka_resp_err_t err, absl::string_view what) {
  std::string msg = absl::StrCat(what, ": ", rd_kafka_err2str(err));
  switch (err) {
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
      return absl::UnavailableError(msg);
    default:
      return absl::InternalError(msg);
  }
}

// Shared between a ProduceAndWait call and librdkafka's delivery callback;
// the callback owns one reference so a late report never touches freed memory.
struct DeliverySlot {
  std::atomic<bool> done{false};
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  int32_t partition = -1;
  int64_t offset = -1;
};

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void*) {
  auto* holder = static_cast<std::shared_ptr<DeliverySlot>*>(msg->_private);
  if (holder == nullptr) return;
  (*holder)->err = msg->err;
  (*holder)->partition = msg->partition;
  (*holder)->offset = msg->offset;
  (*holder)->done.store(true);
  delete holder;
}

void OnLog(const rd_kafka_t*, int level, const char* facility,
           const char* buf) {
  // librdkafka's own lines carry broker addresses and codes, never payloads.
  // A broker connection failing ("FAIL") is transient, and the error
  // callback already reports it once as a warning: here it is debug, not
  // an error. Its informational lines are debug too; notices are info.
  const bool connection = std::strcmp(facility, "FAIL") == 0;
  log::Level ours = connection   ? log::Level::kDebug
                    : level <= 3 ? log::Level::kError
                    : level == 4 ? log::Level::kWarn
                    : level == 5 ? log::Level::kInfo
                                 : log::Level::kDebug;
  log::Log(ours, "librdkafka", {{"facility", facility}, {"detail", buf}});
}

void OnError(rd_kafka_t*, int err, const char* reason, void*) {
  log::Warn("kafka client error",
            {{"kafka_error",
              rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err))},
             {"detail", reason}});
}

// Copies a fetched record (without error) into our type.
ConsumedMessage ToConsumedMessage(const rd_kafka_message_t& msg) {
  ConsumedMessage out;
  out.topic = rd_kafka_topic_name(msg.rkt);
  out.partition = msg.partition;
  out.offset = msg.offset;
  if (msg.key != nullptr) {
    out.key.assign(static_cast<const char*>(msg.key), msg.key_len);
  }
  if (msg.payload != nullptr) {
    out.payload.assign(static_cast<const char*>(msg.payload), msg.len);
  }
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(&msg, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name;
    const void* value;
    size_t size;
    for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size) ==
                       RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i) {
      out.headers.emplace_back(
          name,
          value ? std::string(static_cast<const char*>(value), size) : "");
    }
  }
  return out;
}

}  // namespace

struct Producer::Impl {
  HandlePtr rk;
};

Producer::Producer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Producer::~Producer() {
  // Shutdown() normally ran; otherwise give outstanding messages a moment.
  if (impl_ && impl_->rk) (void)Shutdown(absl::Seconds(5));
}

absl::Status Producer::Shutdown(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  rd_kafka_t* rk = impl_->rk.get();
  rd_kafka_resp_err_t err =
      rd_kafka_flush(rk, static_cast<int>(absl::ToInt64Milliseconds(
                             std::max(timeout, absl::ZeroDuration()))));
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return absl::OkStatus();
  // Whatever is still queued is abandoned, so that destroying the handle
  // does not wait for an unreachable cluster. Outbox rows stay unsent in the
  // store and are published after the restart.
  const int left = rd_kafka_outq_len(rk);
  rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  // Serve the purged messages' delivery reports (which free their slots).
  const absl::Time until = absl::Now() + absl::Milliseconds(500);
  while (rd_kafka_outq_len(rk) > 0 && absl::Now() < until)
    rd_kafka_poll(rk, 10);
  return absl::DeadlineExceededError(
      absl::StrCat(left, " message(s) not delivered before the deadline"));
}

absl::StatusOr<std::unique_ptr<Producer>> Producer::Create(
    const ClientOptions& options) {
  ASSIGN_OR_RETURN(
      ConfPtr conf,
      BaseConf(options, {{"enable.idempotence", "true"},
                         {"acks", "all"},
                         {"linger.ms", absl::StrCat(options.linger_ms)},
                         {"message.timeout.ms", "30000"},
                         {"compression.type", "none"}}));
  rd_kafka_conf_set_dr_msg_cb(conf.get(), OnDelivery);
  rd_kafka_conf_set_error_cb(conf.get(), OnError);
  char err[512];
  rd_kafka_t* rk =
      rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof(err));
  if (rk == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("kafka producer: ", err));
  }
  (void)conf.release();  // owned by rk now
  auto impl = std::make_unique<Impl>();
  impl->rk.reset(rk);
  return std::unique_ptr<Producer>(new Producer(std::move(impl)));
}

std::vector<Delivery> Producer::ProduceAndWait(
    const std::vector<OutgoingMessage>& messages, absl::Duration timeout,
    const std::atomic<bool>* cancel) {
  absl::MutexLock lock(&mu_);
  rd_kafka_t* rk = impl_->rk.get();
  std::vector<Delivery> results(messages.size());
  std::vector<std::shared_ptr<DeliverySlot>> slots(messages.size());
  absl::Time deadline = absl::Now() + timeout;
  for (size_t i = 0; i < messages.size(); ++i) {
    const OutgoingMessage& m = messages[i];
    slots[i] = std::make_shared<DeliverySlot>();
    while (true) {
      rd_kafka_headers_t* hdrs = rd_kafka_headers_new(m.headers.size());
      for (const auto& [name, value] : m.headers) {
        rd_kafka_header_add(hdrs, name.data(),
                            static_cast<ssize_t>(name.size()), value.data(),
                            static_cast<ssize_t>(value.size()));
      }
      auto* holder = new std::shared_ptr<DeliverySlot>(slots[i]);
      rd_kafka_resp_err_t err = rd_kafka_producev(
          rk, RD_KAFKA_V_TOPIC(m.topic.c_str()),
          RD_KAFKA_V_KEY(m.key.data(), m.key.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(m.payload.data()),
                           m.payload.size()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs),
          RD_KAFKA_V_OPAQUE(holder), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      rd_kafka_headers_destroy(hdrs);
      delete holder;
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && absl::Now() < deadline) {
        rd_kafka_poll(rk, 50);
        continue;
      }
      slots[i]->err = err;
      slots[i]->done.store(true);
      break;
    }
  }
  while (absl::Now() < deadline && !(cancel != nullptr && cancel->load())) {
    bool all_done = true;
    for (const auto& slot : slots) {
      if (!slot->done.load()) {
        all_done = false;
        break;
      }
    }
    if (all_done) break;
    rd_kafka_poll(rk, 20);
  }
  for (size_t i = 0; i < slots.size(); ++i) {
    if (!slots[i]->done.load()) {
      results[i].status = absl::DeadlineExceededError("kafka delivery pending");
    } else if (slots[i]->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      results[i].status = FromKafkaError(slots[i]->err, "kafka delivery");
    } else {
      results[i].partition = slots[i]->partition;
      results[i].offset = slots[i]->offset;
    }
  }
  return results;
}

absl::Status Producer::Flush(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  rd_kafka_resp_err_t err = rd_kafka_flush(
      impl_->rk.get(), static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return FromKafkaError(err, "flush");
  return absl::OkStatus();
}

bool Producer::ClusterReachable(absl::Duration timeout) {
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err =
      rd_kafka_metadata(impl_->rk.get(), 0, nullptr, &md,
                        static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  if (md != nullptr) rd_kafka_metadata_destroy(md);
  return err == RD_KAFKA_RESP_ERR_NO_ERROR;
}

absl::StatusOr<std::vector<std::string>> Producer::MissingTopics(
    const std::vector<std::string>& topics, absl::Duration timeout) {
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err =
      rd_kafka_metadata(impl_->rk.get(), /*all_topics=*/1, nullptr, &md,
                        static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (md != nullptr) rd_kafka_metadata_destroy(md);
    return absl::UnavailableError(absl::StrCat("kafka: no metadata within ",
                                               absl::FormatDuration(timeout),
                                               ": ", rd_kafka_err2str(err)));
  }
  std::set<std::string> present;
  for (int i = 0; i < md->topic_cnt; ++i) {
    if (md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      present.insert(md->topics[i].topic);
    }
  }
  rd_kafka_metadata_destroy(md);
  std::vector<std::string> missing;
  for (const std::string& topic : topics) {
    if (present.count(topic) == 0) missing.push_back(topic);
  }
  return missing;
}

std::optional<std::string> ConsumedMessage::Header(
    const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return std::nullopt;
}

struct Consumer::Impl {
  HandlePtr rk;
  bool closed = false;
  // Held by Close while it releases the handle, and by Lag (another
  // thread) while it reads it.
  absl::Mutex handle_mu;
};

Consumer::Consumer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Consumer::~Consumer() { Close(); }

absl::StatusOr<std::unique_ptr<Consumer>> Consumer::Create(
    const ClientOptions& options, const std::string& group_id,
    const std::vector<std::string>& topics) {
  ASSIGN_OR_RETURN(
      ConfPtr conf,
      BaseConf(options,
               {{"group.id", group_id},
                {"enable.auto.commit", "false"},
                {"enable.auto.offset.store", "false"},
                {"auto.offset.reset", "earliest"},
                {"session.timeout.ms", "10000"},
                {"heartbeat.interval.ms", "1000"},
                {"topic.metadata.refresh.interval.ms", "5000"},
                {"fetch.wait.max.ms", absl::StrCat(options.fetch_wait_ms)}}));
  rd_kafka_conf_set_error_cb(conf.get(), OnError);
  char err[512];
  rd_kafka_t* rk =
      rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), err, sizeof(err));
  if (rk == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("kafka consumer: ", err));
  }
  (void)conf.release();
  auto impl = std::make_unique<Impl>();
  impl->rk.reset(rk);
  rd_kafka_poll_set_consumer(rk);
  std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter> list(
      rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
  for (const std::string& t : topics) {
    rd_kafka_topic_partition_list_add(list.get(), t.c_str(),
                                      RD_KAFKA_PARTITION_UA);
  }
  if (rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, list.get());
      e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return FromKafkaError(e, "subscribe");
  }
  return std::unique_ptr<Consumer>(new Consumer(std::move(impl)));
}

namespace {

// What one rd_kafka_consumer_poll gave: a message, nothing, or a fatal error.
absl::StatusOr<std::optional<ConsumedMessage>> PollHandle(rd_kafka_t* rk,
                                                          int timeout_ms) {
  rd_kafka_message_t* msg = rd_kafka_consumer_poll(rk, timeout_ms);
  if (msg == nullptr) return std::optional<ConsumedMessage>();
  std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> guard(
      msg, rd_kafka_message_destroy);
  if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      log::Warn("kafka consume error",
                {{"kafka_error", rd_kafka_err2name(msg->err)}});
    }
    if (msg->err == RD_KAFKA_RESP_ERR__FATAL)
      return FromKafkaError(msg->err, "consume");
    return std::optional<ConsumedMessage>();
  }
  return std::optional<ConsumedMessage>(ToConsumedMessage(*msg));
}

int ToTimeoutMs(absl::Duration d) {
  if (d <= absl::ZeroDuration()) return 0;
  return static_cast<int>(std::min<int64_t>(
      absl::ToInt64Milliseconds(absl::Ceil(d, absl::Milliseconds(1))),
      std::numeric_limits<int>::max()));
}

}  // namespace

absl::StatusOr<std::optional<ConsumedMessage>> Consumer::Poll(
    absl::Duration timeout) {
  if (!impl_->rk) return absl::FailedPreconditionError("consumer closed");
  return PollHandle(impl_->rk.get(), ToTimeoutMs(timeout));
}

absl::StatusOr<std::vector<ConsumedMessage>> Consumer::PollBatch(
    int max_records, absl::Duration timeout, absl::Duration batch_wait) {
  if (!impl_->rk) return absl::FailedPreconditionError("consumer closed");
  std::vector<ConsumedMessage> batch;
  ASSIGN_OR_RETURN(std::optional<ConsumedMessage> first,
                   PollHandle(impl_->rk.get(), ToTimeoutMs(timeout)));
  if (!first.has_value()) return batch;
  batch.push_back(*std::move(first));
  const absl::Time until = absl::Now() + batch_wait;
  while (static_cast<int>(batch.size()) < max_records) {
    absl::StatusOr<std::optional<ConsumedMessage>> next =
        PollHandle(impl_->rk.get(), ToTimeoutMs(until - absl::Now()));
    // A fatal error is reported by the next poll; what is in hand is kept.
    if (!next.ok() || !next->has_value()) break;
    batch.push_back(**std::move(next));
  }
  return batch;
}

absl::Status Consumer::Commit(const ConsumedMessage& message) {
  return Commit(std::vector<ConsumedMessage>{message});
}

absl::Status Consumer::Commit(const std::vector<ConsumedMessage>& messages) {
  if (!impl_->rk) return absl::FailedPreconditionError("consumer closed");
  if (messages.empty()) return absl::OkStatus();
  std::map<std::pair<std::string, int32_t>, int64_t> next;
  for (const ConsumedMessage& m : messages) {
    int64_t& offset = next[{m.topic, m.partition}];
    offset = std::max(offset, m.offset + 1);
  }
  std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter> list(
      rd_kafka_topic_partition_list_new(static_cast<int>(next.size())));
  for (const auto& [partition, offset] : next) {
    rd_kafka_topic_partition_list_add(list.get(), partition.first.c_str(),
                                      partition.second)
        ->offset = offset;
  }
  rd_kafka_resp_err_t err = rd_kafka_commit(impl_->rk.get(), list.get(), 0);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return FromKafkaError(err, "commit");
  return absl::OkStatus();
}

// Each partition's watermark query waits at most this long, and all of
// one Lag() call's queries together at most about kLagBudget.
constexpr int kLagQueryTimeoutMs = 250;
constexpr absl::Duration kLagBudget = absl::Milliseconds(500);

std::vector<PartitionLag> Consumer::Lag() {
  std::vector<PartitionLag> out;
  if (!impl_) return out;
  absl::MutexLock lock(&impl_->handle_mu);
  if (!impl_->rk || impl_->closed) return out;
  rd_kafka_topic_partition_list_t* raw = nullptr;
  if (rd_kafka_assignment(impl_->rk.get(), &raw) !=
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    return out;
  }
  std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter> list(
      raw);
  if (rd_kafka_position(impl_->rk.get(), list.get()) !=
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    return out;
  }
  const absl::Time ask_until = absl::Now() + kLagBudget;
  for (int i = 0; i < list->cnt; ++i) {
    const rd_kafka_topic_partition_t& p = list->elems[i];
    int64_t low = 0, high = 0;
    // Asked of the partition's leader, so that the lag keeps growing while
    // this consumer is stuck (the cached watermarks move only with its own
    // fetches). With the leader slow or away, the cached ones stand in.
    // All the queries together take at most kLagBudget, so that a scrape
    // holds Close (which waits for handle_mu) only briefly.
    const int64_t left_ms = absl::ToInt64Milliseconds(ask_until - absl::Now());
    const bool asked =
        left_ms > 0 &&
        rd_kafka_query_watermark_offsets(
            impl_->rk.get(), p.topic, p.partition, &low, &high,
            static_cast<int>(std::min<int64_t>(kLagQueryTimeoutMs, left_ms))) ==
            RD_KAFKA_RESP_ERR_NO_ERROR;
    if (!asked && rd_kafka_get_watermark_offsets(impl_->rk.get(), p.topic,
                                                 p.partition, &low, &high) !=
                      RD_KAFKA_RESP_ERR_NO_ERROR) {
      continue;
    }
    if (high < 0) continue;
    // Before the first record is read the position is not known yet: all
    // that the partition holds is still to be read.
    const int64_t position = p.offset >= 0 ? p.offset : low;
    out.push_back(
        {p.topic, p.partition, std::max<int64_t>(0, high - position)});
  }
  return out;
}

void Consumer::Close(absl::Duration timeout) {
  if (!impl_) return;
  absl::MutexLock lock(&impl_->handle_mu);
  if (!impl_->rk || impl_->closed) return;
  impl_->closed = true;
  rd_kafka_t* rk = impl_->rk.get();
  // Leave the group in the background and wait at most `timeout`: with the
  // cluster unreachable a synchronous close could wait far longer.
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  rd_kafka_error_t* error = rd_kafka_consumer_close_queue(rk, queue);
  if (error != nullptr) {
    log::Warn("kafka consumer close failed",
              {{"detail", rd_kafka_error_string(error)}});
    rd_kafka_error_destroy(error);
  } else {
    const absl::Time deadline = absl::Now() + timeout;
    while (!rd_kafka_consumer_closed(rk) && absl::Now() < deadline) {
      if (rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, 50)) {
        rd_kafka_event_destroy(ev);
      }
    }
    if (!rd_kafka_consumer_closed(rk)) {
      log::Warn("kafka consumer did not leave its group before the deadline");
    }
  }
  rd_kafka_queue_destroy(queue);
  // Destroy without a second (blocking) close.
  rd_kafka_destroy_flags(impl_->rk.release(),
                         RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
}

absl::StatusOr<std::vector<std::string>> ListTopics(
    const ClientOptions& options, absl::Duration timeout) {
  ASSIGN_OR_RETURN(ConfPtr conf,
                   BaseConf(options, {{"group.id", "signpost-reader"},
                                      {"enable.auto.commit", "false"}}));
  char err[512];
  HandlePtr rk(rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), err, sizeof(err)));
  if (rk == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("kafka reader: ", err));
  }
  (void)conf.release();
  const rd_kafka_metadata_t* md = nullptr;
  if (rd_kafka_resp_err_t e = rd_kafka_metadata(
          rk.get(), 1, nullptr, &md,
          static_cast<int>(absl::ToInt64Milliseconds(timeout)));
      e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return FromKafkaError(e, "metadata");
  }
  std::vector<std::string> names;
  for (int i = 0; i < md->topic_cnt; ++i) {
    if (md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      names.emplace_back(md->topics[i].topic);
    }
  }
  rd_kafka_metadata_destroy(md);
  std::sort(names.begin(), names.end());
  return names;
}

absl::StatusOr<std::vector<ConsumedMessage>> ReadToEnd(
    const ClientOptions& options, const std::string& topic,
    absl::Duration timeout) {
  // A group id is required by the client, but nothing joins or commits:
  // the partitions are assigned directly.
  ASSIGN_OR_RETURN(ConfPtr conf,
                   BaseConf(options, {{"group.id", "signpost-reader"},
                                      {"enable.auto.commit", "false"}}));
  char err[512];
  HandlePtr rk(rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), err, sizeof(err)));
  if (rk == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("kafka reader: ", err));
  }
  (void)conf.release();
  const absl::Time deadline = absl::Now() + timeout;
  const int timeout_ms = static_cast<int>(absl::ToInt64Milliseconds(timeout));
  // The end offset of every partition, read now: the records to expect.
  std::unique_ptr<rd_kafka_topic_t, void (*)(rd_kafka_topic_t*)> rkt(
      rd_kafka_topic_new(rk.get(), topic.c_str(), nullptr),
      rd_kafka_topic_destroy);
  const rd_kafka_metadata_t* md = nullptr;
  if (rd_kafka_resp_err_t e =
          rd_kafka_metadata(rk.get(), 0, rkt.get(), &md, timeout_ms);
      e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return FromKafkaError(e, absl::StrCat("metadata for ", topic));
  }
  std::unique_ptr<const rd_kafka_metadata_t,
                  void (*)(const rd_kafka_metadata_t*)>
      metadata(md, rd_kafka_metadata_destroy);
  if (md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::NotFoundError(absl::StrCat("no topic ", topic));
  }
  std::map<int32_t, int64_t> end;
  std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>
      assignment(
          rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt));
  for (int i = 0; i < md->topics[0].partition_cnt; ++i) {
    const int32_t partition = md->topics[0].partitions[i].id;
    int64_t low = 0, high = 0;
    if (rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(
            rk.get(), topic.c_str(), partition, &low, &high, timeout_ms);
        e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return FromKafkaError(
          e, absl::StrCat("end offset of ", topic, "/", partition));
    }
    if (high > low) {
      end[partition] = high;
      rd_kafka_topic_partition_list_add(assignment.get(), topic.c_str(),
                                        partition)
          ->offset = low;
    }
  }
  rd_kafka_assign(rk.get(), assignment.get());
  std::vector<ConsumedMessage> out;
  while (!end.empty() && absl::Now() < deadline) {
    rd_kafka_message_t* raw = rd_kafka_consumer_poll(rk.get(), 100);
    if (raw == nullptr) continue;
    std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> msg(
        raw, rd_kafka_message_destroy);
    if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    auto it = end.find(msg->partition);
    if (it == end.end() || msg->offset >= it->second) continue;
    if (msg->offset + 1 >= it->second) end.erase(it);
    out.push_back(ToConsumedMessage(*msg));
  }
  if (!end.empty()) {
    return absl::DeadlineExceededError(
        absl::StrCat(topic, ": end offset not reached in time"));
  }
  rd_kafka_consumer_close(rk.get());
  return out;
}

struct MockCluster::Impl {
  HandlePtr rk;
  rd_kafka_mock_cluster_t* cluster = nullptr;
};

MockCluster::MockCluster(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
  bootstrap_ = rd_kafka_mock_cluster_bootstraps(impl_->cluster);
}

MockCluster::~MockCluster() {
  if (impl_->cluster != nullptr) rd_kafka_mock_cluster_destroy(impl_->cluster);
}

absl::StatusOr<std::unique_ptr<MockCluster>> MockCluster::Create(int brokers) {
  ConfPtr conf(rd_kafka_conf_new());
  rd_kafka_conf_set_log_cb(conf.get(), OnLog);
  // The host handle has no bootstrap servers of its own; only errors matter.
  (void)SetProperty(conf.get(), "log_level", "3");
  char err[512];
  rd_kafka_t* rk =
      rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof(err));
  if (rk == nullptr) {
    return absl::InternalError(absl::StrCat("mock cluster host: ", err));
  }
  (void)conf.release();
  auto impl = std::make_unique<Impl>();
  impl->rk.reset(rk);
  impl->cluster = rd_kafka_mock_cluster_new(rk, brokers);
  if (impl->cluster == nullptr) {
    return absl::InternalError("rd_kafka_mock_cluster_new failed");
  }
  return std::unique_ptr<MockCluster>(new MockCluster(std::move(impl)));
}

absl::Status MockCluster::CreateTopic(const std::string& topic, int partitions,
                                      int replication_factor) {
  rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(
      impl_->cluster, topic.c_str(), partitions, replication_factor);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return FromKafkaError(err, absl::StrCat("create topic ", topic));
  }
  return absl::OkStatus();
}

void MockCluster::PushRequestErrors(int api_key, int error_code, int count) {
  std::vector<rd_kafka_resp_err_t> errors(
      count, static_cast<rd_kafka_resp_err_t>(error_code));
  rd_kafka_mock_push_request_errors_array(impl_->cluster,
                                          static_cast<int16_t>(api_key),
                                          errors.size(), errors.data());
}

absl::Status MockCluster::SetBrokerDown(int broker_id, bool down) {
  rd_kafka_resp_err_t err =
      down ? rd_kafka_mock_broker_set_down(impl_->cluster, broker_id)
           : rd_kafka_mock_broker_set_up(impl_->cluster, broker_id);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    return FromKafkaError(err, "broker state");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<TopicSpec>> ParseTopicList(const std::string& text) {
  std::vector<TopicSpec> topics;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    if (auto hash = line.find('#'); hash != absl::string_view::npos) {
      line = line.substr(0, hash);
    }
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    std::vector<absl::string_view> parts =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    TopicSpec spec;
    if (parts.size() != 3 || !absl::SimpleAtoi(parts[1], &spec.partitions) ||
        !absl::SimpleAtoi(parts[2], &spec.replication_factor) ||
        spec.partitions < 1 || spec.replication_factor < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("topic list line ", line_no,
                       ": expected '<name> <partitions> <replication>' with "
                       "positive numbers"));
    }
    spec.name = std::string(parts[0]);
    topics.push_back(spec);
  }
  if (topics.empty()) return absl::InvalidArgumentError("topic list is empty");
  return topics;
}

}  // namespace signpost::kafka
