#include "tests/load/kafka_baseline.h"

#include <atomic>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "common/ids/ids.h"
#include "common/kafka/kafka.h"
#include "common/status/macros.h"

namespace signpost::load {
namespace {

// "<run>|<seq>|<produce call ns>|" then filler up to the size; the filler
// is a function of seq, so a record that came back altered is caught.
std::string Payload(const std::string& run, int64_t seq, int64_t sent_ns,
                    int bytes) {
  std::string out = absl::StrCat(run, "|", seq, "|", sent_ns, "|");
  while (static_cast<int>(out.size()) < bytes) {
    out.push_back(static_cast<char>('a' + (seq + out.size()) % 26));
  }
  return out;
}

struct Parsed {
  int64_t seq = -1;
  int64_t sent_ns = 0;
};

// Empty seq when the record is not one of this run's, intact.
Parsed Parse(const std::string& run, const std::string& payload, int bytes,
             bool* corrupted) {
  std::vector<absl::string_view> parts = absl::StrSplit(payload, '|');
  Parsed p;
  if (parts.size() != 4 || parts[0] != run) return p;
  if (!absl::SimpleAtoi(parts[1], &p.seq) ||
      !absl::SimpleAtoi(parts[2], &p.sent_ns)) {
    *corrupted = true;
    p.seq = -1;
    return p;
  }
  *corrupted = payload != Payload(run, p.seq, p.sent_ns, bytes);
  return p;
}

// What the consumer thread saw, by sequence number.
class Receipts {
 public:
  void Add(int64_t seq, int64_t sent_ns, int64_t at, bool corrupted) {
    absl::MutexLock lock(&mu_);
    if (corrupted) {
      ++corrupted_;
      return;
    }
    if (seq >= static_cast<int64_t>(at_.size())) at_.resize(seq + 1, -1);
    if (at_[seq] >= 0) {
      ++duplicated_;
      return;
    }
    at_[seq] = at;
    hop_ns_.resize(at_.size(), -1);
    hop_ns_[seq] = at - sent_ns;
  }
  int64_t Count() {
    absl::MutexLock lock(&mu_);
    int64_t n = 0;
    for (int64_t t : at_) n += t >= 0;
    return n;
  }
  bool Has(int64_t seq) {
    absl::MutexLock lock(&mu_);
    return seq < static_cast<int64_t>(at_.size()) && at_[seq] >= 0;
  }
  void Fill(int64_t sent, int64_t first_measured, KafkaResult* out) {
    absl::MutexLock lock(&mu_);
    out->duplicated = duplicated_;
    out->corrupted = corrupted_;
    for (int64_t seq = 0; seq < sent; ++seq) {
      if (seq >= static_cast<int64_t>(at_.size()) || at_[seq] < 0) {
        ++out->lost;
        continue;
      }
      ++out->received;
      if (seq >= first_measured) out->hop.Add(hop_ns_[seq]);
    }
  }

 private:
  absl::Mutex mu_;
  std::vector<int64_t> at_ ABSL_GUARDED_BY(mu_);
  std::vector<int64_t> hop_ns_ ABSL_GUARDED_BY(mu_);
  int64_t duplicated_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t corrupted_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace

absl::StatusOr<KafkaResult> RunKafkaBaseline(const KafkaOptions& options) {
  kafka::ClientOptions client;
  client.bootstrap_servers = options.bootstrap;
  client.client_id = "signpost-load";
  if (options.fetch_wait_ms >= 0) client.fetch_wait_ms = options.fetch_wait_ms;
  if (options.linger_ms >= 0) client.linger_ms = options.linger_ms;
  ASSIGN_OR_RETURN(std::unique_ptr<kafka::Producer> producer,
                   kafka::Producer::Create(client));
  const std::string run = NewUuid();
  const int bytes = options.payload_bytes;
  int64_t seq = 0;
  auto produce = [&](int n) -> absl::Status {
    std::vector<kafka::OutgoingMessage> batch;
    const int64_t now = SteadyNowNs();
    for (int i = 0; i < n; ++i, ++seq) {
      batch.push_back({kBaselineTopic,
                       absl::StrCat(seq),
                       Payload(run, seq, now, bytes),
                       {}});
    }
    for (const kafka::Delivery& d :
         producer->ProduceAndWait(batch, absl::Seconds(30))) {
      RETURN_IF_ERROR(d.status);
    }
    return absl::OkStatus();
  };
  // The first record creates the topic.
  RETURN_IF_ERROR(produce(1));

  ASSIGN_OR_RETURN(
      std::unique_ptr<kafka::Consumer> consumer,
      kafka::Consumer::Create(client, absl::StrCat("signpost-load-", run),
                              {kBaselineTopic}));
  Receipts receipts;
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    while (!stop.load()) {
      absl::StatusOr<std::optional<kafka::ConsumedMessage>> m =
          consumer->Poll(absl::Milliseconds(100));
      if (!m.ok() || !m->has_value()) continue;
      const int64_t at = SteadyNowNs();
      bool corrupted = false;
      Parsed p = Parse(run, (*m)->payload, bytes, &corrupted);
      if (p.seq >= 0 || corrupted)
        receipts.Add(p.seq, p.sent_ns, at, corrupted);
    }
  });
  // Until the consumer has joined and read the first record: then every
  // later record is fetched as it arrives.
  const absl::Time joined_by = absl::Now() + absl::Seconds(30);
  while (!receipts.Has(0) && absl::Now() < joined_by) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  absl::Status status = receipts.Has(0)
                            ? absl::OkStatus()
                            : absl::DeadlineExceededError(
                                  "kafka baseline: the consumer never joined");
  KafkaResult result;
  int64_t first_measured = seq;
  if (status.ok()) {
    std::mt19937_64 random(42);
    std::exponential_distribution<double> gap(options.rate);
    const int64_t start = SteadyNowNs();
    const int64_t measure_from =
        start + absl::ToInt64Nanoseconds(options.warmup);
    const int64_t end =
        measure_from + absl::ToInt64Nanoseconds(options.duration);
    double next = static_cast<double>(start);
    bool measuring = false;
    while (status.ok()) {
      const int64_t now = SteadyNowNs();
      if (now >= end) break;
      if (!measuring && now >= measure_from) {
        measuring = true;
        first_measured = seq;
      }
      int due = 0;
      while (next <= now) {
        ++due;
        next += gap(random) * 1e9;
      }
      if (due > 0) {
        status = produce(due);
      } else {
        std::this_thread::sleep_for(
            std::chrono::nanoseconds(static_cast<int64_t>(next) - now));
      }
    }
    result.window_seconds = absl::ToDoubleSeconds(options.duration);
    const absl::Time drained_by = absl::Now() + absl::Seconds(10);
    while (receipts.Count() < seq && absl::Now() < drained_by) {
      absl::SleepFor(absl::Milliseconds(10));
    }
  }
  stop.store(true);
  reader.join();
  consumer->Close();
  (void)producer->Shutdown(absl::Seconds(5));
  RETURN_IF_ERROR(status);
  result.sent = seq;
  receipts.Fill(seq, first_measured, &result);
  return result;
}

}  // namespace signpost::load
