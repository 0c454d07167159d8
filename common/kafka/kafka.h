// RAII wrappers over librdkafka: an idempotent producer (acks=all) that
// reports per-message delivery, and a consumer-group member that commits
// offsets only when told to (after the handler's effects are committed).
// rdkafka.h stays out of this header.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace signpost::kafka {

using Headers = std::vector<std::pair<std::string, std::string>>;

// Fast defaults, for the embedded broker; docs/operations.md gives values
// for a real cluster.
inline constexpr int kDefaultFetchWaitMs = 50;
inline constexpr int kDefaultLingerMs = 5;

struct ClientOptions {
  std::string bootstrap_servers;
  std::string client_id = "signpost";
  // Consumers: the longest a fetch waits for records (fetch.wait.max.ms).
  // librdkafka's mock cluster (the devbroker) answers an empty fetch only
  // when this ends, so each hop can wait this long; a real broker answers
  // as soon as records arrive, and a longer wait only saves idle requests.
  int fetch_wait_ms = kDefaultFetchWaitMs;
  // Producers: how long a record waits for others to share its batch
  // (linger.ms).
  int linger_ms = kDefaultLingerMs;
  // Extra librdkafka properties (e.g. security.protocol, sasl.*).
  std::map<std::string, std::string> properties;
};

struct OutgoingMessage {
  std::string topic;
  std::string key;
  std::string payload;
  Headers headers;
};

struct Delivery {
  absl::Status status;
  int32_t partition = -1;
  int64_t offset = -1;
};

// Idempotent producer. Thread-safe.
class Producer {
 public:
  static absl::StatusOr<std::unique_ptr<Producer>> Create(
      const ClientOptions& options);
  ~Producer();

  // Produces all messages and waits until each is acknowledged by all
  // in-sync replicas or `timeout` passes. Returns one Delivery per message,
  // in order. Messages to one partition keep their order.
  // Stops waiting early (reporting the rest as pending) once `*cancel`.
  std::vector<Delivery> ProduceAndWait(
      const std::vector<OutgoingMessage>& messages, absl::Duration timeout,
      const std::atomic<bool>* cancel = nullptr);
  // Waits for every outstanding message.
  absl::Status Flush(absl::Duration timeout);
  // Waits up to `timeout` for outstanding messages, then abandons the rest
  // so that the handle can be destroyed at once. DEADLINE_EXCEEDED names
  // how many were abandoned.
  absl::Status Shutdown(absl::Duration timeout);
  // True when the cluster answered a metadata request within `timeout`.
  bool ClusterReachable(absl::Duration timeout);
  // Those of `topics` the cluster does not have. UNAVAILABLE when the
  // cluster did not answer within `timeout` (nothing is known then).
  absl::StatusOr<std::vector<std::string>> MissingTopics(
      const std::vector<std::string>& topics, absl::Duration timeout);

 private:
  struct Impl;
  explicit Producer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  absl::Mutex mu_;
};

struct ConsumedMessage {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string payload;
  Headers headers;
  // Value of the first header named `name`, if any.
  std::optional<std::string> Header(const std::string& name) const;
};

// How far a consumer is behind on one partition it is assigned.
struct PartitionLag {
  std::string topic;
  int32_t partition = 0;
  // Records the partition holds beyond the consumer's position, as of the
  // last fetch.
  int64_t lag = 0;
};

// Consumer-group member with manual offset commits. Not thread-safe: use it
// from one thread (except Lag).
class Consumer {
 public:
  static absl::StatusOr<std::unique_ptr<Consumer>> Create(
      const ClientOptions& options, const std::string& group_id,
      const std::vector<std::string>& topics);
  ~Consumer();

  // Waits up to `timeout` for one message; nullopt on timeout. Errors that
  // librdkafka recovers from itself are logged and reported as nullopt.
  absl::StatusOr<std::optional<ConsumedMessage>> Poll(absl::Duration timeout);
  // Waits up to `timeout` for a first message, then takes those that
  // follow until there are `max_records` or `batch_wait` has passed since
  // the first (0: only those already fetched). Empty on timeout. Messages
  // of one partition keep their order.
  absl::StatusOr<std::vector<ConsumedMessage>> PollBatch(
      int max_records, absl::Duration timeout, absl::Duration batch_wait);
  // Commits `message.offset + 1` for its partition, synchronously.
  absl::Status Commit(const ConsumedMessage& message);
  // Commits, synchronously and in one request, the offset after the last
  // of `messages` on each of their partitions.
  absl::Status Commit(const std::vector<ConsumedMessage>& messages);
  // The lag of each assigned partition: the high watermark asked of the
  // partition's leader (within about half a second for all partitions;
  // librdkafka's cached watermarks stand in for those not answered) minus
  // this consumer's position. Thread-safe, also against Close; empty once
  // closed.
  std::vector<PartitionLag> Lag();
  // Leaves the group, waiting at most `timeout`, and releases the handle.
  // Later calls (and Poll/Commit) must not follow.
  void Close(absl::Duration timeout = absl::Seconds(10));

 private:
  struct Impl;
  explicit Consumer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Reads every record `topic` holds now: asks each partition's end offset,
// then reads (with no group membership or commits) until it is reached.
// Positive evidence that nothing more is there, with no sleep.
// DEADLINE_EXCEEDED if `timeout` passes first.
absl::StatusOr<std::vector<ConsumedMessage>> ReadToEnd(
    const ClientOptions& options, const std::string& topic,
    absl::Duration timeout);

// The names of every topic the cluster has, sorted.
absl::StatusOr<std::vector<std::string>> ListTopics(
    const ClientOptions& options, absl::Duration timeout);

// librdkafka's in-process mock cluster: a real Kafka-protocol broker set on
// loopback TCP. Used by the devbroker binary and integration tests.
// Thread-safe.
class MockCluster {
 public:
  static absl::StatusOr<std::unique_ptr<MockCluster>> Create(int brokers);
  ~MockCluster();
  const std::string& bootstrap_servers() const { return bootstrap_; }
  absl::Status CreateTopic(const std::string& topic, int partitions,
                           int replication_factor);
  // Fault injection: the next `count` requests of API `api_key` fail with
  // Kafka error code `error_code`.
  void PushRequestErrors(int api_key, int error_code, int count);
  absl::Status SetBrokerDown(int broker_id, bool down);

 private:
  struct Impl;
  explicit MockCluster(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::string bootstrap_;
};

struct TopicSpec {
  std::string name;
  int partitions = 1;
  int replication_factor = 1;
};

// Parses the topic list ("name partitions replication" per line, '#'
// comments) shared by the devbroker and docker-compose's topic creator.
absl::StatusOr<std::vector<TopicSpec>> ParseTopicList(const std::string& text);

}  // namespace signpost::kafka
