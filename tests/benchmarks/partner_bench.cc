// Partner delivery (issue 11), measured in one process: throughput per
// transport against same-run baselines, latency at an open-loop 100
// referrals/s, and the resident set of a slow Subscribe reader. Everything
// is real except the network: SQLite files with fsync, librdkafka's mock
// cluster (3 brokers), gRPC over mutual TLS on loopback, HTTPS (libcurl to
// an OpenSSL receiver). A plain main() printing a table (docs/performance.md
// says how it is run and read); figures are only comparable within one run.
//
//   partner_bench [referrals [latency_referrals [fill_referrals]]]
//   (defaults 500, 2000 and 25000: 1,000 partner events per throughput
//   path, 20 s at 100 referrals/s, a feed of 50,000 events)
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/events/envelope.h"
#include "common/events/signing.h"
#include "common/http/http_client.h"
#include "common/http/webhook_signature.h"
#include "common/ids/ids.h"
#include "common/kafka/kafka.h"
#include "common/status/macros.h"
#include "common/store/outbox.h"
#include "common/worker/periodic_task.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/client_context.h"
#include "services/notification/notification_app.h"
#include "services/notification/notification_service.h"
#include "services/notification/notification_store.h"
#include "services/notification/projection.h"
#include "services/notification/subscriptions.h"
#include "services/notification/webhook_dispatcher.h"
#include "signpost/v1/notification.grpc.pb.h"
#include "tests/support/https_receiver.h"
#include "tests/support/test_support.h"

namespace signpost::notification {
namespace {

constexpr char kAgency[] = "police-wmp";
const std::string kWebhookKey(32, 'w');

[[noreturn]] void Die(const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "partner_bench: %s: %s\n", what.c_str(),
               status.ToString().c_str());
  std::exit(1);
}
template <typename T>
T Must(absl::StatusOr<T> v, const std::string& what) {
  if (!v.ok()) Die(what, v.status());
  return *std::move(v);
}

int64_t NowNs() { return absl::GetCurrentTimeNanos(); }

// A field of /proc/self/status in kB (VmRSS; RssAnon, the heap and
// stacks; RssFile, mapped files such as SQLite's -shm).
long StatusKb(const char* field = "VmRSS:") {
  std::ifstream in("/proc/self/status");
  std::string line;
  const size_t len = std::strlen(field);
  while (std::getline(in, line)) {
    if (line.compare(0, len, field) == 0) return std::atol(line.c_str() + len);
  }
  return -1;
}
long RssKb() { return StatusKb(); }

// Commit times per referral and receipt times per partner event; latencies
// are joined at the end (a receipt may be noted a few microseconds before
// the injecting thread notes the commit).
class Recorder {
 public:
  void Committed(const std::string& referral, int64_t at) {
    absl::MutexLock lock(&mu_);
    committed_[referral] = at;
  }
  void Received(std::string referral) {
    const int64_t at = NowNs();
    absl::MutexLock lock(&mu_);
    received_.emplace_back(std::move(referral), at);
    last_ = at;
  }
  size_t count() {
    absl::MutexLock lock(&mu_);
    return received_.size();
  }
  int64_t last() {
    absl::MutexLock lock(&mu_);
    return last_;
  }
  bool WaitFor(size_t n, absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (count() < n) {
      if (absl::Now() > deadline) return false;
      absl::SleepFor(absl::Milliseconds(1));
    }
    return true;
  }
  // Latencies in ms of the receipts after the first `skip`.
  std::vector<double> LatenciesMs(size_t skip) {
    absl::MutexLock lock(&mu_);
    std::vector<double> out;
    for (size_t i = skip; i < received_.size(); ++i) {
      auto it = committed_.find(received_[i].first);
      if (it == committed_.end()) continue;
      out.push_back((received_[i].second - it->second) / 1e6);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  absl::Mutex mu_;
  std::unordered_map<std::string, int64_t> committed_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<std::string, int64_t>> received_ ABSL_GUARDED_BY(mu_);
  int64_t last_ ABSL_GUARDED_BY(mu_) = 0;
};

double Quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return -1;
  size_t i = static_cast<size_t>(q * (sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

void Result(const std::string& key, double value) {
  std::printf("RESULT %-34s %12.2f\n", key.c_str(), value);
  std::fflush(stdout);
}

void ResultRss(const std::string& key) {
  Result(key + "_mb", StatusKb() / 1024.0);
  Result(key + "_anon_mb", StatusKb("RssAnon:") / 1024.0);
  Result(key + "_file_mb", StatusKb("RssFile:") / 1024.0);
}

// One notification application on a fresh SQLite file with police-wmp
// receiving by `transport` (the closed loop: 2 partner events per
// referral, ReferralReceived and ReferralTriaged).
class Notification {
 public:
  Notification(v1::Transport transport, const std::string& webhook_url,
               std::function<void()> on_outbox, std::function<void()> on_feed)
      : db_(Must(store::Database::Open(dir_.File("n.db"),
                                       NotificationStore::Migrations()),
                 "open db")) {
    std::string text =
        absl::StrCat("subscriptions {\n  agency_id: \"", kAgency,
                     "\"\n  transports: ", v1::Transport_Name(transport), "\n");
    if (transport == v1::TRANSPORT_WEBHOOK) {
      const std::string secret = dir_.File("police.secret");
      std::ofstream(secret) << http::FormatWebhookSecret(kWebhookKey);
      absl::StrAppend(&text, "  webhook { url: \"", webhook_url,
                      "\" secret_file: \"", secret, "\" }\n");
    }
    absl::StrAppend(&text, "}\n");
    app_ = std::make_unique<NotificationApp>(
        *db_,
        Must(ParsePolicy(text, "bench", *testing::TestRegistry()), "policy"),
        std::move(on_outbox), std::move(on_feed));
  }

  store::Database& db() { return *db_; }
  NotificationApp& app() { return *app_; }

  // The two events of a new referral, each in its own transaction as the
  // event consumer does (ClaimInbox, then Deliver). Returns the referral id;
  // `committed` is when the second transaction (the one that makes both
  // partner events) returned.
  std::string Submit(int64_t* committed) {
    const std::string referral = NewUuid();
    v1::EventEnvelope received = events::NewEnvelope("intake", referral);
    auto* facts = received.mutable_referral_received()->mutable_facts();
    facts->set_area_code("WMP");
    facts->set_referrer_org(kAgency);
    v1::EventEnvelope triaged =
        events::NewEnvelope("triage", referral, &received);
    triaged.mutable_referral_triaged()->set_area_code("WMP");
    triaged.mutable_referral_triaged()->set_status(v1::REFERRAL_STATUS_ROUTED);
    int made = 0;
    for (v1::EventEnvelope* e : {&received, &triaged}) {
      events::StampType(e);
      made += Must(db_->Write([&](store::Tx& tx) -> absl::StatusOr<int> {
        ASSIGN_OR_RETURN(bool claimed, store::ClaimInbox(tx, *e));
        if (!claimed) return 0;
        return app_->Deliver(tx, *e, NewTraceparent());
      }),
                   "deliver");
      // The host's consumer wakes the relay, then its commit hooks (the
      // feed's readers), after each commit.
      if (after_commit_) after_commit_();
      app_->Committed();
    }
    if (committed != nullptr) *committed = NowNs();
    if (made != 2) Die("deliver", absl::InternalError("not 2 partner events"));
    return referral;
  }

  // Fills the feed with `referrals` referrals, `per_tx` to a transaction.
  void Fill(int referrals, int per_tx) {
    for (int done = 0; done < referrals; done += per_tx) {
      absl::Status s = db_->Write([&](store::Tx& tx) -> absl::Status {
        for (int i = 0; i < per_tx && done + i < referrals; ++i) {
          const std::string referral = NewUuid();
          v1::EventEnvelope received = events::NewEnvelope("intake", referral);
          auto* facts = received.mutable_referral_received()->mutable_facts();
          facts->set_area_code("WMP");
          facts->set_referrer_org(kAgency);
          v1::EventEnvelope triaged =
              events::NewEnvelope("triage", referral, &received);
          triaged.mutable_referral_triaged()->set_area_code("WMP");
          triaged.mutable_referral_triaged()->set_status(
              v1::REFERRAL_STATUS_ROUTED);
          for (v1::EventEnvelope* e : {&received, &triaged}) {
            events::StampType(e);
            RETURN_IF_ERROR(store::ClaimInbox(tx, *e).status());
            RETURN_IF_ERROR(app_->Deliver(tx, *e, NewTraceparent()).status());
          }
        }
        return absl::OkStatus();
      });
      if (!s.ok()) Die("fill", s);
    }
  }

  void set_after_commit(std::function<void()> f) {
    after_commit_ = std::move(f);
  }

 private:
  testing::TempDir dir_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<NotificationApp> app_;
  std::function<void()> after_commit_;
};

// The feed alone: `n` referrals through Deliver (two transactions each),
// with no transport running; partner events per second.
double FeedAlone(int n) {
  Notification notification(v1::TRANSPORT_GRPC_STREAM, "", nullptr, nullptr);
  int64_t t = 0;
  notification.Submit(&t);
  const int64_t start = NowNs();
  for (int i = 0; i < n; ++i) notification.Submit(&t);
  return 2 * n / ((NowNs() - start) / 1e9);
}

// What a throughput or latency run found.
struct Run {
  double feed_seconds = 0;  // injecting alone
  double events_per_s = 0;  // first injection to last receipt
  double p50_ms = -1, p99_ms = -1, max_ms = -1;
  double achieved_referrals_per_s = 0;
};

// Drives `n` referrals into `notification` after a one-referral warm-up
// (which connects consumers, streams and TLS). `interval` zero: as fast as
// the feed goes (throughput); otherwise open-loop at fixed intervals.
Run Drive(Notification& notification, Recorder& recorder, int n,
          absl::Duration interval, const std::string& label) {
  int64_t t = 0;
  recorder.Committed(notification.Submit(&t), t);
  if (!recorder.WaitFor(2, absl::Seconds(60))) {
    Die(label, absl::DeadlineExceededError("warm-up never arrived"));
  }
  Run run;
  const int64_t start = NowNs();
  for (int i = 0; i < n; ++i) {
    if (interval > absl::ZeroDuration()) {
      const int64_t due = start + i * absl::ToInt64Nanoseconds(interval);
      const int64_t wait = due - NowNs();
      if (wait > 0) absl::SleepFor(absl::Nanoseconds(wait));
    }
    const std::string referral = notification.Submit(&t);
    recorder.Committed(referral, t);
  }
  const int64_t fed = NowNs();
  run.feed_seconds = (fed - start) / 1e9;
  run.achieved_referrals_per_s = n / run.feed_seconds;
  if (!recorder.WaitFor(2 + 2 * static_cast<size_t>(n), absl::Seconds(120))) {
    std::fprintf(stderr, "%s: only %zu of %d events arrived\n", label.c_str(),
                 recorder.count() - 2, 2 * n);
  }
  run.events_per_s = (recorder.count() - 2) / ((recorder.last() - start) / 1e9);
  std::vector<double> lat = recorder.LatenciesMs(2);
  run.p50_ms = Quantile(lat, 0.50);
  run.p99_ms = Quantile(lat, 0.99);
  run.max_ms = lat.empty() ? -1 : lat.back();
  return run;
}

void Report(const std::string& prefix, const Run& run, bool latency) {
  if (latency) {
    Result(prefix + ".rate_ref_per_s", run.achieved_referrals_per_s);
    Result(prefix + ".p50_ms", run.p50_ms);
    Result(prefix + ".p99_ms", run.p99_ms);
    Result(prefix + ".max_ms", run.max_ms);
  } else {
    Result(prefix + ".events_per_s", run.events_per_s);
    Result(prefix + ".feed_concurrent_events_per_s",
           2 * run.achieved_referrals_per_s);
  }
}

// ---------------------------------------------------------------- Kafka

const std::string& PartnerTopicName() {
  static const std::string topic = PartnerTopic(kAgency);
  return topic;
}

// Reads the partner topic in a thread until stopped, noting each record.
class TopicReader {
 public:
  // `fetch_wait_ms` > 0 sets the partner consumer's fetch.wait.max.ms
  // (otherwise kafka::Consumer's, i.e. librdkafka's default, 500 ms).
  TopicReader(const std::string& bootstrap, Recorder& recorder,
              bool bare = false, int fetch_wait_ms = 0)
      : recorder_(recorder), bare_(bare) {
    kafka::ClientOptions options;
    options.bootstrap_servers = bootstrap;
    if (fetch_wait_ms > 0) {
      options.properties["fetch.wait.max.ms"] = absl::StrCat(fetch_wait_ms);
    }
    consumer_ =
        Must(kafka::Consumer::Create(options, absl::StrCat("bench-", NewUuid()),
                                     {PartnerTopicName()}),
             "consumer");
    thread_ = std::thread([this] { Loop(); });
  }
  ~TopicReader() {
    stop_ = true;
    thread_.join();
    consumer_->Close();
  }
  // A copy of the first record read (for the same-size baseline).
  kafka::ConsumedMessage sample() {
    absl::MutexLock lock(&mu_);
    return sample_;
  }

 private:
  void Loop() {
    while (!stop_) {
      auto m = consumer_->Poll(absl::Milliseconds(100));
      if (!m.ok() || !m->has_value()) continue;
      const kafka::ConsumedMessage& msg = **m;
      if (bare_) {
        recorder_.Received(msg.key);
        continue;
      }
      v1::EventEnvelope e;
      if (!e.ParseFromString(msg.payload)) continue;
      {
        absl::MutexLock lock(&mu_);
        if (sample_.payload.empty()) sample_ = msg;
      }
      recorder_.Received(e.partner_event().referral_id());
    }
  }

  Recorder& recorder_;
  const bool bare_;
  std::unique_ptr<kafka::Consumer> consumer_;
  std::atomic<bool> stop_{false};
  absl::Mutex mu_;
  kafka::ConsumedMessage sample_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

Run KafkaPath(int n, absl::Duration interval, kafka::ConsumedMessage* sample,
              int fetch_wait_ms = 0) {
  std::unique_ptr<kafka::MockCluster> cluster = testing::StartEmbeddedKafka();
  kafka::ClientOptions options;
  options.bootstrap_servers = cluster->bootstrap_servers();
  std::unique_ptr<kafka::Producer> producer =
      Must(kafka::Producer::Create(options), "producer");
  events::EventSigner signer =
      Must(events::EventSigner::FromPemFile(
               absl::StrCat(testing::TestPki(), "/signing/notification.key"),
               "notification"),
           "signer");
  std::unique_ptr<store::OutboxRelay> relay;
  Notification notification(v1::TRANSPORT_KAFKA, "", nullptr, nullptr);
  store::OutboxRelay::Options relay_options;
  relay_options.signer = &signer;
  relay = std::make_unique<store::OutboxRelay>(notification.db(), *producer,
                                               relay_options);
  notification.set_after_commit([&relay] { relay->Notify(); });
  relay->Start();
  // As main.cc: the acknowledgement sweep every 200 ms.
  NotificationApp& app = notification.app();
  worker::PeriodicTask acks("partner-kafka-acks", absl::Milliseconds(250),
                            [&app](absl::Time now) {
                              (void)app.RecordKafkaAcks();
                              return now + absl::Milliseconds(200);
                            });
  acks.Start();
  Recorder recorder;
  Run run;
  {
    TopicReader reader(cluster->bootstrap_servers(), recorder, false,
                       fetch_wait_ms);
    run = Drive(notification, recorder, n, interval, "kafka");
    if (sample != nullptr) *sample = reader.sample();
  }
  acks.Stop();
  relay->Stop();
  (void)producer->Shutdown(absl::Seconds(5));
  return run;
}

// Bare produce (batches of 100, as the relay) and consume of `n` records
// the size of `sample` (same headers, payload and key length).
double KafkaBare(int n, const kafka::ConsumedMessage& sample) {
  std::unique_ptr<kafka::MockCluster> cluster = testing::StartEmbeddedKafka();
  kafka::ClientOptions options;
  options.bootstrap_servers = cluster->bootstrap_servers();
  std::unique_ptr<kafka::Producer> producer =
      Must(kafka::Producer::Create(options), "producer");
  Recorder recorder;
  auto record = [&] {
    return kafka::OutgoingMessage{PartnerTopicName(), NewUuid(), sample.payload,
                                  sample.headers};
  };
  TopicReader reader(cluster->bootstrap_servers(), recorder, /*bare=*/true);
  (void)producer->ProduceAndWait({record()}, absl::Seconds(30));
  if (!recorder.WaitFor(1, absl::Seconds(60))) {
    Die("kafka bare", absl::DeadlineExceededError("warm-up"));
  }
  const int64_t start = NowNs();
  for (int done = 0; done < n; done += 100) {
    std::vector<kafka::OutgoingMessage> batch;
    for (int i = 0; i < 100 && done + i < n; ++i) batch.push_back(record());
    for (const kafka::Delivery& d :
         producer->ProduceAndWait(batch, absl::Seconds(30))) {
      if (!d.status.ok()) Die("kafka bare produce", d.status);
    }
  }
  recorder.WaitFor(1 + static_cast<size_t>(n), absl::Seconds(120));
  const double rate =
      (recorder.count() - 1) / ((recorder.last() - start) / 1e9);
  (void)producer->Shutdown(absl::Seconds(5));
  return rate;
}

// ---------------------------------------------------------------- gRPC

// Reads a Subscribe stream as police-wmp in a thread until stopped.
class StreamReader {
 public:
  StreamReader(const testing::InProcessServer& server, Recorder& recorder,
               int64_t after = 0, absl::Duration pause = absl::ZeroDuration())
      : recorder_(recorder), pause_(pause) {
    stub_ = v1::NotificationService::NewStub(server.ChannelAs(kAgency));
    v1::SubscribeRequest request;
    request.set_after_sequence(after);
    reader_ = stub_->Subscribe(&context_, request);
    thread_ = std::thread([this] { Loop(); });
  }
  ~StreamReader() {
    context_.TryCancel();
    thread_.join();
    (void)reader_->Finish();
  }
  int64_t read() const { return read_.load(); }

 private:
  void Loop() {
    v1::SubscribeResponse response;
    while (reader_->Read(&response)) {
      recorder_.Received(response.event().referral_id());
      ++read_;
      if (pause_ > absl::ZeroDuration()) absl::SleepFor(pause_);
    }
  }

  Recorder& recorder_;
  const absl::Duration pause_;
  std::unique_ptr<v1::NotificationService::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::SubscribeResponse>> reader_;
  std::atomic<int64_t> read_{0};
  std::thread thread_;
};

struct StreamFigures {
  Run run;
  double prefilled_events_per_s = 0;  // Subscribe over the filled feed
  v1::PartnerEvent sample;
};

StreamFigures StreamPath(int n, absl::Duration interval) {
  Notification notification(v1::TRANSPORT_GRPC_STREAM, "", nullptr, nullptr);
  testing::TestGate gate(notification.db(), "notification");
  NotificationServiceImpl api(notification.app(), gate.gate());
  testing::InProcessServer server({&api});
  StreamFigures out;
  Recorder recorder;
  {
    StreamReader reader(server, recorder);
    out.run = Drive(notification, recorder, n, interval, "stream");
  }
  // The same feed, already written, read again from the start.
  Recorder again;
  const int64_t start = NowNs();
  {
    StreamReader reader(server, again);
    again.WaitFor(2 + 2 * static_cast<size_t>(n), absl::Seconds(120));
  }
  out.prefilled_events_per_s = again.count() / ((again.last() - start) / 1e9);
  auto feed = notification.app().ReadFeed(AgencyId(kAgency), 1, 1);
  if (feed.ok() && !feed->empty()) out.sample = (*feed)[0];
  return out;
}

// A bare server stream over the same mutual TLS: `count` copies of one
// partner event from memory, one write in flight (as Subscribe), no gate,
// no store.
class BareStreamService final
    : public v1::NotificationService::CallbackService {
 public:
  BareStreamService(v1::PartnerEvent sample, int count)
      : sample_(std::move(sample)), count_(count) {}
  grpc::ServerWriteReactor<v1::SubscribeResponse>* Subscribe(
      grpc::CallbackServerContext*, const v1::SubscribeRequest*) override {
    class Writer : public grpc::ServerWriteReactor<v1::SubscribeResponse> {
     public:
      Writer(const v1::PartnerEvent& e, int count) : left_(count) {
        *response_.mutable_event() = e;
        Next();
      }
      void OnWriteDone(bool ok) override {
        if (!ok) {
          Finish(grpc::Status::CANCELLED);
          return;
        }
        Next();
      }
      void OnDone() override { delete this; }

     private:
      void Next() {
        if (left_-- == 0) {
          Finish(grpc::Status::OK);
          return;
        }
        v1::PartnerEvent& event = *response_.mutable_event();
        event.set_sequence(event.sequence() + 1);
        StartWrite(&response_);
      }
      v1::SubscribeResponse response_;
      int left_;
    };
    return new Writer(sample_, count_);
  }

 private:
  const v1::PartnerEvent sample_;
  const int count_;
};

double StreamBare(const v1::PartnerEvent& sample, int count) {
  BareStreamService bare(sample, count);
  testing::InProcessServer server({&bare});
  auto stub = v1::NotificationService::NewStub(server.ChannelAs(kAgency));
  // Warm-up connection (TLS handshake) before timing.
  {
    grpc::ClientContext context;
    v1::SubscribeRequest request;
    auto reader = stub->Subscribe(&context, request);
    v1::SubscribeResponse e;
    (void)reader->Read(&e);
    context.TryCancel();
    (void)reader->Finish();
  }
  grpc::ClientContext context;
  v1::SubscribeRequest request;
  const int64_t start = NowNs();
  auto reader = stub->Subscribe(&context, request);
  v1::SubscribeResponse e;
  int read = 0;
  while (reader->Read(&e)) ++read;
  const double rate = read / ((NowNs() - start) / 1e9);
  (void)reader->Finish();
  return rate;
}

// ---------------------------------------------------------------- webhook

struct WebhookFigures {
  Run run;
  double bare_events_per_s = 0;
};

std::unique_ptr<testing::HttpsReceiver> StartReceiver(Recorder*& target) {
  const std::string& pki = testing::TestPki();
  return Must(testing::HttpsReceiver::Start(
                  absl::StrCat(pki, "/services/notification.crt"),
                  absl::StrCat(pki, "/services/notification.key"),
                  [&target](const testing::HttpsReceiver::Request& r) {
                    v1::PartnerEvent event;
                    google::protobuf::util::JsonParseOptions options;
                    options.ignore_unknown_fields = true;
                    if (!google::protobuf::util::JsonStringToMessage(
                             r.body, &event, options)
                             .ok()) {
                      return 400;
                    }
                    if (target != nullptr)
                      target->Received(event.referral_id());
                    return 200;
                  }),
              "receiver");
}

WebhookFigures WebhookPath(int n, absl::Duration interval, bool with_bare) {
  Recorder* target = nullptr;
  std::unique_ptr<testing::HttpsReceiver> receiver = StartReceiver(target);
  http::HttpClient::Options client_options;
  client_options.ca_file = absl::StrCat(testing::TestPki(), "/ca.crt");
  http::HttpClientPtr client =
      Must(http::HttpClient::Create(client_options), "http client");
  worker::PeriodicTask* task = nullptr;
  Notification notification(v1::TRANSPORT_WEBHOOK, receiver->url("/signpost"),
                            nullptr, [&task] {
                              if (task != nullptr) task->Notify();
                            });
  // As main.cc: default backoff and breaker; the task every 250 ms at most,
  // woken when the feed grows.
  WebhookDispatcher dispatcher(notification.app(), *client,
                               WebhookDispatcher::Options());
  worker::PeriodicTask webhooks(
      "partner-webhooks", absl::Milliseconds(250),
      [&dispatcher](absl::Time now) { return dispatcher.RunOnce(now); });
  task = &webhooks;
  webhooks.Start();
  WebhookFigures out;
  Recorder recorder;
  target = &recorder;
  out.run = Drive(notification, recorder, n, interval, "webhook");
  webhooks.Stop();
  task = nullptr;
  if (with_bare) {
    // The same bodies and headers, posted one after another by HttpClient
    // to the same receiver.
    std::vector<testing::HttpsReceiver::Request> sent = receiver->requests();
    Recorder bare;
    target = &bare;
    const int64_t start = NowNs();
    for (const auto& r : sent) {
      http::HttpHeaders headers(r.headers.begin(), r.headers.end());
      headers.erase(std::remove_if(headers.begin(), headers.end(),
                                   [](const auto& h) {
                                     return h.first == "host" ||
                                            h.first == "content-length" ||
                                            h.first == "user-agent" ||
                                            h.first == "accept" ||
                                            h.first == "expect";
                                   }),
                    headers.end());
      auto answer = client->Post(receiver->url("/signpost"), headers, r.body);
      if (!answer.ok() || answer->status != 200) {
        Die("bare post",
            answer.ok() ? absl::InternalError("status") : answer.status());
      }
    }
    out.bare_events_per_s = sent.size() / ((NowNs() - start) / 1e9);
  }
  target = nullptr;
  receiver->Stop();
  return out;
}

// ---------------------------------------------------------------- memory

struct RssSampler {
  explicit RssSampler() : thread_([this] { Loop(); }) {}
  ~RssSampler() {
    stop_ = true;
    thread_.join();
  }
  void Loop() {
    while (!stop_) {
      long kb = RssKb();
      long seen = max_kb.load();
      while (kb > seen && !max_kb.compare_exchange_weak(seen, kb)) {
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
  }
  std::atomic<long> max_kb{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

void Memory(int fill_referrals) {
  Notification notification(v1::TRANSPORT_GRPC_STREAM, "", nullptr, nullptr);
  const int64_t fill_start = NowNs();
  notification.Fill(fill_referrals, 250);
  Result("memory.fill_seconds", (NowNs() - fill_start) / 1e9);
  testing::TestGate gate(notification.db(), "notification");
  NotificationServiceImpl api(notification.app(), gate.gate());
  testing::InProcessServer server({&api});
  absl::SleepFor(absl::Seconds(1));
  const long before = RssKb();
  ResultRss("memory.before");
  Recorder slow_rec;
  long slow_max = 0;
  int64_t slow_read = 0;
  {
    RssSampler sampler;
    StreamReader slow(server, slow_rec, 0, absl::Milliseconds(5));
    // The slope, not only the peak: RSS after 1 s and after 10 s.
    absl::SleepFor(absl::Seconds(1));
    ResultRss("memory.slow_at_1s");
    absl::SleepFor(absl::Seconds(9));
    ResultRss("memory.slow_at_10s");
    slow_read = slow.read();
    slow_max = sampler.max_kb.load();
  }
  absl::SleepFor(absl::Milliseconds(500));
  const long after_slow = RssKb();
  Result("memory.slow_events_read", static_cast<double>(slow_read));
  Result("memory.slow_max_mb", slow_max / 1024.0);
  Result("memory.slow_delta_mb", (slow_max - before) / 1024.0);
  ResultRss("memory.after_slow");
  Recorder fast_rec;
  long fast_max = 0;
  const int64_t fast_start = NowNs();
  {
    RssSampler sampler;
    StreamReader fast(server, fast_rec, 0);
    fast_rec.WaitFor(2 * static_cast<size_t>(fill_referrals),
                     absl::Seconds(120));
    fast_max = sampler.max_kb.load();
  }
  Result("memory.fast_events_read", static_cast<double>(fast_rec.count()));
  Result("memory.fast_events_per_s",
         fast_rec.count() / ((fast_rec.last() - fast_start) / 1e9));
  absl::SleepFor(absl::Milliseconds(500));
  Result("memory.fast_max_mb", fast_max / 1024.0);
  Result("memory.fast_delta_mb", (fast_max - after_slow) / 1024.0);
  ResultRss("memory.after_fast");
}

int Main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 500;
  const absl::Duration every = absl::Milliseconds(10);  // 100 referrals/s
  // 20 s at 100/s; the feed for the memory test (2 events per referral).
  const int latency_referrals = argc > 2 ? std::atoi(argv[2]) : 2000;
  const int fill_referrals = argc > 3 ? std::atoi(argv[3]) : 25000;
  (void)testing::TestPki();  // made once, before anything is timed
  const int64_t t0 = NowNs();

  std::printf("# throughput: %d referrals (%d partner events) per path\n", n,
              2 * n);
  const double feed = FeedAlone(n);
  Result("feed_alone.events_per_s", feed);
  kafka::ConsumedMessage kafka_sample;
  Run kafka = KafkaPath(n, absl::ZeroDuration(), &kafka_sample);
  Report("kafka", kafka, false);
  Result("kafka.record_bytes",
         static_cast<double>(kafka_sample.payload.size()));
  const double kafka_bare = KafkaBare(2 * n, kafka_sample);
  Result("kafka.bare_events_per_s", kafka_bare);
  Result("kafka.ratio", kafka.events_per_s / kafka_bare);

  StreamFigures stream = StreamPath(n, absl::ZeroDuration());
  Report("stream", stream.run, false);
  Result("stream.prefilled_events_per_s", stream.prefilled_events_per_s);
  Result("stream.event_bytes", stream.sample.ByteSizeLong());
  const double stream_bare = StreamBare(stream.sample, 2 * n);
  Result("stream.bare_events_per_s", stream_bare);
  Result("stream.ratio", stream.run.events_per_s / stream_bare);
  Result("stream.prefilled_ratio", stream.prefilled_events_per_s / stream_bare);

  WebhookFigures webhook = WebhookPath(n, absl::ZeroDuration(), true);
  Report("webhook", webhook.run, false);
  Result("webhook.bare_events_per_s", webhook.bare_events_per_s);
  Result("webhook.ratio", webhook.run.events_per_s / webhook.bare_events_per_s);

  std::printf("# latency: %d referrals at 100/s, commit to receipt\n",
              latency_referrals);
  Report("lat.kafka", KafkaPath(latency_referrals, every, nullptr), true);
  Report("lat.kafka_fetch10",
         KafkaPath(latency_referrals, every, nullptr, /*fetch_wait_ms=*/10),
         true);
  Report("lat.stream", StreamPath(latency_referrals, every).run, true);
  Report("lat.webhook", WebhookPath(latency_referrals, every, false).run, true);

  std::printf("# memory: Subscribe over a filled feed\n");
  Memory(fill_referrals);
  Result("total_seconds", (NowNs() - t0) / 1e9);
  return 0;
}

}  // namespace
}  // namespace signpost::notification

int main(int argc, char** argv) {
  return signpost::notification::Main(argc, argv);
}
