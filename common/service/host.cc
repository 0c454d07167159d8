#include "common/service/host.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/events/envelope.h"
#include "common/grpc/tls.h"
#include "common/log/log.h"
#include "common/status/macros.h"

namespace signpost::service {
namespace {

struct EventKeys {
  std::unique_ptr<events::EventSigner> signer;
  std::unique_ptr<events::EventVerifier> verifier;  // null without a dir
};

// The signer from event_signing_key (as `producer`) and, when event_keys_dir
// is set, the verifier from it. Errors name the flag and the file.
absl::StatusOr<EventKeys> LoadEventKeys(const config::Config& config,
                                        const std::string& producer) {
  EventKeys keys;
  absl::StatusOr<events::EventSigner> signer = events::EventSigner::FromPemFile(
      config.GetString("event_signing_key"), producer);
  if (!signer.ok()) {
    return absl::Status(
        signer.status().code(),
        absl::StrCat("event_signing_key: ", signer.status().message()));
  }
  keys.signer = std::make_unique<events::EventSigner>(std::move(*signer));
  log::Fields fields = {{"producer", keys.signer->producer()},
                        {"key_id", keys.signer->key_id()}};
  const std::string& keys_dir = config.GetString("event_keys_dir");
  if (!keys_dir.empty()) {
    absl::StatusOr<events::EventVerifier> verifier =
        events::LoadVerifier(keys_dir);
    if (!verifier.ok()) {
      return absl::Status(
          verifier.status().code(),
          absl::StrCat("event_keys_dir: ", verifier.status().message()));
    }
    keys.verifier =
        std::make_unique<events::EventVerifier>(std::move(*verifier));
    fields.emplace_back("verify_keys_dir", keys_dir);
  }
  log::Info("event keys loaded", fields);
  return keys;
}

}  // namespace

void BlockShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void WaitForShutdownSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int signal_number = 0;
  sigwait(&set, &signal_number);
  log::Info("shutdown signal", {{"signal", signal_number}});
}

// 9101 for intake, then triage, advocacy, orders, notification; 9100 for
// any other.
std::string DefaultMetricsAddress(const std::string& service) {
  const char* kOrder[] = {"intake", "triage", "advocacy", "orders",
                          "notification"};
  for (int i = 0; i < 5; ++i) {
    if (service == kOrder[i]) return absl::StrCat("127.0.0.1:", 9101 + i);
  }
  return "127.0.0.1:9100";
}

void DefineCommonFlags(config::Config& config, const ServiceSpec& spec) {
  config.DefineString(
      "grpc_address", spec.default_grpc_address,
      "host:port the gRPC server listens on (port 0: any free)");
  config.DefineString("db_path", absl::StrCat("signpost-", spec.name, ".db"),
                      "this service's SQLite database file", true);
  config.DefineString("kafka_bootstrap", "",
                      "Kafka bootstrap servers (e.g. the devbroker's address)",
                      true);
  config.DefineString("kafka_group", absl::StrCat("signpost-", spec.name),
                      "Kafka consumer group id", true);
  config.DefineString("kafka_security_protocol", "plaintext",
                      "Kafka security.protocol (plaintext, ssl, sasl_ssl)");
  config.DefineString("kafka_sasl_mechanism", "", "Kafka sasl.mechanism");
  config.DefineString("kafka_sasl_username", "", "Kafka SASL user name");
  config.DefineString("kafka_sasl_password", "", "Kafka SASL password", false,
                      /*secret=*/true);
  config.DefineInt(
      "kafka_fetch_wait_ms", kafka::kDefaultFetchWaitMs, 1, 10000,
      "longest a consumer's fetch waits for records (fetch.wait.max.ms): low "
      "for the embedded broker, which answers an empty fetch only when the "
      "wait ends; 500 suits a real cluster, which answers when records "
      "arrive");
  config.DefineInt("kafka_linger_ms", kafka::kDefaultLingerMs, 0, 1000,
                   "how long the producer holds a record to batch it with "
                   "others (linger.ms)");
  config.DefineString("log_level", "info", "debug, info, warn or error");
  config.DefineString(
      "metrics_address", DefaultMetricsAddress(spec.name),
      "host:port of the Prometheus /metrics endpoint (plain HTTP, its own "
      "port; no personal data); empty turns it off");
  config.DefineInt("max_message_bytes", 4 * 1024 * 1024, 1024, 64 * 1024 * 1024,
                   "largest gRPC message accepted or sent");
  config.DefineInt("shutdown_timeout", 15, 1, 600,
                   "seconds the whole graceful shutdown may take, even with "
                   "Kafka unreachable; past it the process exits with code 3");
  config.DefineString("tls_cert_file", "",
                      "this service's TLS certificate (PEM); with "
                      "tls_key_file and tls_ca_file, every gRPC call needs a "
                      "client certificate from that CA");
  config.DefineString("tls_key_file", "", "the certificate's private key");
  config.DefineString("tls_ca_file", "",
                      "CA bundle that client certificates must chain to");
  config.DefineBool("dev_plaintext", false,
                    "development only: serve plaintext gRPC without TLS "
                    "(refused unless grpc_address is a loopback address)");
  config.DefineInt("consumer_max_attempts", 5, 1, 1000,
                   "attempts at an event whose failure is not known to be "
                   "transient before it goes to the dead-letter topic");
  config.DefineInt("worker_threads", 8, 1, 256,
                   "threads running RPCs' work; concurrent writes among "
                   "them share one transaction and fsync (group commit)");
  config.DefineInt("consumer_batch_max_records", 500, 1, 100000,
                   "most records a consumer applies in one transaction (one "
                   "fsync and one offset commit per batch; 1 turns batching "
                   "off)");
  config.DefineInt("consumer_batch_wait_ms", 1, 0, 1000,
                   "after a batch's first record, how long the consumer "
                   "waits for more before applying it (0: only records "
                   "already fetched)");
  config.DefineString("event_signing_key", "",
                      "this service's Ed25519 event-signing private key "
                      "(PKCS#8 PEM); signs every record it publishes",
                      true);
  config.DefineString("kek_file", "",
                      "key-encryption keys (keys/kek.keys from "
                      "scripts/dev-pki): wrap each person's data key; the "
                      "first is the active one",
                      true);
  config.DefineString("access_registry", "",
                      "the agency registry (signpost.v1.AgencyRegistry text "
                      "format, deploy/access/agencies.textproto): who may "
                      "call this service and with which roles",
                      true);
  config.DefineString(
      "event_keys_dir", "",
      "directory of the producers' event-signing public keys "
      "(<producer>.pub for intake, triage, advocacy, orders and "
      "notification); every consumed record must verify against its topic's "
      "producer",
      /*required=*/!spec.subscribe_topics.empty());
}

int ParseConfig(config::Config& config, int argc, char** argv) {
  absl::Status status = config.Parse(argc, argv);
  if (config.help_requested()) {
    std::fputs(config.Usage().c_str(), stdout);
    return 0;
  }
  if (config.version_requested()) {
    std::printf("%s %s\n", argv[0], SIGNPOST_VERSION);
    return 0;
  }
  if (!status.ok()) {
    config::PrintConfigError(argv[0], status);
    return 2;
  }
  log::Level level;
  if (!log::ParseLevel(config.GetString("log_level"), &level)) {
    config::PrintConfigError(
        argv[0], absl::InvalidArgumentError("log_level must be debug, info, "
                                            "warn or error"));
    return 2;
  }
  log::SetMinLevel(level);
  for (const std::string& warning : config.warnings()) {
    log::Warn("configuration warning", {{"detail", warning}});
  }
  if (config.print_config_requested()) {
    std::fputs(config.Render().c_str(), stdout);
    return 0;
  }
  return -1;
}

namespace {

// A counter without labels whose value the process already keeps.
void AddScrapedCounter(metrics::Metrics& metrics, std::string name,
                       std::string help, std::function<int64_t()> value) {
  metrics.AddScraped(
      std::move(name), std::move(help), metrics::Kind::kCounter,
      [value = std::move(value)] {
        return std::vector<metrics::Sample>{{{}, static_cast<double>(value())}};
      });
}

// Mutual TLS unless --dev_plaintext, which only a loopback address may use.
absl::Status CheckTransport(const config::Config& config) {
  const std::string& address = config.GetString("grpc_address");
  if (config.GetBool("dev_plaintext")) {
    if (!grpcutil::IsLoopbackAddress(address)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "dev_plaintext is allowed only on a loopback grpc_address, not ",
          address));
    }
    return absl::OkStatus();
  }
  if (config.GetString("tls_cert_file").empty() ||
      config.GetString("tls_key_file").empty() ||
      config.GetString("tls_ca_file").empty()) {
    return absl::InvalidArgumentError(
        "tls_cert_file, tls_key_file and tls_ca_file are required (every "
        "gRPC call is mutual TLS; --dev_plaintext serves plaintext on a "
        "loopback address, for development only)");
  }
  absl::Status files = grpcutil::CheckTlsFiles(
      {config.GetString("tls_cert_file"), config.GetString("tls_key_file"),
       config.GetString("tls_ca_file")});
  if (!files.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tls files: ", files.message()));
  }
  return absl::OkStatus();
}

}  // namespace

ServiceHost::ServiceHost(const config::Config& config, ServiceSpec spec)
    : config_(config),
      spec_(std::move(spec)),
      executor_(static_cast<int>(config.GetInt("worker_threads"))) {}

absl::StatusOr<std::unique_ptr<ServiceHost>> ServiceHost::Create(
    const config::Config& config, const ServiceSpec& spec) {
  log::SetService(spec.name);
  // Before anything is opened, so that a bad key is one line and no effect.
  ASSIGN_OR_RETURN(EventKeys keys, LoadEventKeys(config, spec.name));
  RETURN_IF_ERROR(CheckTransport(config));
  absl::StatusOr<access::Registry> registry =
      access::LoadRegistry(config.GetString("access_registry"));
  if (!registry.ok()) {
    return absl::Status(
        registry.status().code(),
        absl::StrCat("access_registry: ", registry.status().message()));
  }
  ASSIGN_OR_RETURN(
      std::shared_ptr<const crypto::PersonKeys> person_keys,
      crypto::LoadPersonKeys("kek_file", config.GetString("kek_file")));
  std::unique_ptr<ServiceHost> host(new ServiceHost(config, spec));
  host->person_keys_ = std::move(person_keys);
  host->authorizer_ = std::make_unique<access::Authorizer>(
      std::make_shared<const access::Registry>(std::move(*registry)));
  host->signer_ = std::move(keys.signer);
  host->verifier_ = std::move(keys.verifier);
  absl::StatusOr<std::unique_ptr<store::Database>> db =
      store::Database::Open(config.GetString("db_path"), spec.migrations);
  if (!db.ok()) {
    return absl::Status(db.status().code(),
                        absl::StrCat("db_path: ", db.status().message()));
  }
  host->db_ = std::move(*db);
  // A wrong key file stops here, before anything is served.
  if (absl::Status checked = host->db_->Read(
          [&](store::Tx& tx) { return host->person_keys_->CheckAll(tx); });
      !checked.ok()) {
    return absl::Status(checked.code(),
                        absl::StrCat("kek_file: ", checked.message()));
  }

  host->kafka_options_.bootstrap_servers = config.GetString("kafka_bootstrap");
  host->kafka_options_.client_id = absl::StrCat("signpost-", spec.name);
  host->kafka_options_.fetch_wait_ms =
      static_cast<int>(config.GetInt("kafka_fetch_wait_ms"));
  host->kafka_options_.linger_ms =
      static_cast<int>(config.GetInt("kafka_linger_ms"));
  host->kafka_options_.properties["security.protocol"] =
      config.GetString("kafka_security_protocol");
  for (const auto& [flag, property] :
       {std::pair<const char*, const char*>{"kafka_sasl_mechanism",
                                            "sasl.mechanism"},
        {"kafka_sasl_username", "sasl.username"},
        {"kafka_sasl_password", "sasl.password"}}) {
    if (!config.GetString(flag).empty()) {
      host->kafka_options_.properties[property] = config.GetString(flag);
    }
  }
  absl::StatusOr<std::unique_ptr<kafka::Producer>> producer =
      kafka::Producer::Create(host->kafka_options_);
  if (!producer.ok()) {
    return absl::Status(
        producer.status().code(),
        absl::StrCat("kafka settings: ", producer.status().message()));
  }
  host->producer_ = std::move(*producer);
  store::OutboxRelay::Options relay_options;
  relay_options.signer = host->signer_.get();
  relay_options.producer = spec.name;
  host->relay_ = std::make_unique<store::OutboxRelay>(
      *host->db_, *host->producer_, relay_options);
  store::OutboxRelay* relay = host->relay_.get();
  host->audit_ = std::make_unique<store::AccessAuditLog>(
      *host->db_, spec.name, [relay] { relay->Notify(); });
  host->gate_ = std::make_unique<grpcutil::Gate>(
      host->executor_, *host->authorizer_, host->audit_.get());
  host->metrics_ =
      std::make_unique<metrics::Metrics>(spec.name, SIGNPOST_VERSION);
  metrics::Metrics* m = host->metrics_.get();
  // One access line and one metric per RPC: method, code, latency, agency
  // and trace id; never a request's content.
  host->gate_->SetObserver([m](const grpcutil::Gate::Finished& call) {
    m->ObserveRpc(call.method, call.code, call.latency);
    const std::vector<absl::string_view> trace =
        absl::StrSplit(call.traceparent, '-');
    log::Info("rpc",
              {{"method", std::string(call.method)},
               {"code", std::string(call.code)},
               {"ms", absl::ToDoubleMilliseconds(call.latency)},
               {"agency", std::string(call.agency)}},
              trace.size() > 1 ? trace[1] : absl::string_view());
  });
  host->AddStoreMetric(
      "signpost_outbox_backlog", "outbox rows committed, not yet published",
      metrics::Kind::kGauge,
      [](store::Tx& tx) -> absl::StatusOr<std::vector<metrics::Sample>> {
        ASSIGN_OR_RETURN(store::OutboxBacklog b,
                         store::ReadOutboxBacklog(tx, absl::Now()));
        return std::vector<metrics::Sample>{{{}, static_cast<double>(b.rows)}};
      });
  host->AddStoreMetric(
      "signpost_outbox_oldest_age_seconds",
      "how long the oldest unpublished outbox row has waited (0: none)",
      metrics::Kind::kGauge,
      [](store::Tx& tx) -> absl::StatusOr<std::vector<metrics::Sample>> {
        ASSIGN_OR_RETURN(store::OutboxBacklog b,
                         store::ReadOutboxBacklog(tx, absl::Now()));
        return std::vector<metrics::Sample>{
            {{}, absl::ToDoubleSeconds(b.oldest_age)}};
      });
  return host;
}

ServiceHost::~ServiceHost() {
  // Destroy the Kafka handles and the store while the watchdog still guards
  // the deadline, then release it. The metrics endpoint stops first: its
  // scrapes read the consumer and the store.
  const absl::Time start = absl::Now();
  if (metrics_ != nullptr) metrics_->Stop();
  for (auto& w : workers_) w->Stop();
  consumer_.reset();
  relay_.reset();
  producer_.reset();
  db_.reset();
  log::Info("closed", {{"ms", absl::ToInt64Milliseconds(absl::Now() - start)}});
  {
    absl::MutexLock lock(&mu_);
    exited_ = true;
  }
  if (watchdog_.joinable()) watchdog_.join();
}

void ServiceHost::AddStoreMetric(
    std::string name, std::string help, metrics::Kind kind,
    std::function<absl::StatusOr<std::vector<metrics::Sample>>(store::Tx&)>
        query) {
  store::Database* db = db_.get();
  // Read at most every 10 s, whatever the scrape rate: each read holds the
  // service's database for its query, and the endpoint is unauthenticated.
  struct Cache {
    absl::Mutex mu;
    absl::Time read_at = absl::InfinitePast();
    std::vector<metrics::Sample> samples;
  };
  auto cache = std::make_shared<Cache>();
  metrics_->AddScraped(
      name, std::move(help), kind,
      [db, name, cache,
       query = std::move(query)]() -> std::vector<metrics::Sample> {
        absl::MutexLock lock(&cache->mu);
        const absl::Time now = absl::Now();
        if (now - cache->read_at < absl::Seconds(10)) return cache->samples;
        absl::StatusOr<std::vector<metrics::Sample>> samples = db->Read(query);
        if (!samples.ok()) {
          log::Warn("metric not read",
                    {{"metric", name}, {"error", samples.status().ToString()}});
          return {};
        }
        cache->read_at = now;
        cache->samples = *std::move(samples);
        return cache->samples;
      });
}

worker::PeriodicTask& ServiceHost::AddPeriodicTask(
    std::string name, absl::Duration max_interval,
    worker::PeriodicTask::Fn fn) {
  workers_.push_back(std::make_unique<worker::PeriodicTask>(
      std::move(name), max_interval, std::move(fn)));
  return *workers_.back();
}

std::string ServiceHost::grpc_address() const {
  return server_ ? server_->address() : "";
}

std::vector<std::string> ServiceHost::shutdown_steps() const {
  absl::MutexLock lock(&mu_);
  return steps_;
}

absl::Time ServiceHost::CheckReadiness(absl::Time now) {
  const bool ready = producer_->ClusterReachable(absl::Seconds(1));
  if (ready != ready_) {
    server_->SetServing(ready);
    log::Info(ready ? "ready: store open and Kafka reachable"
                    : "not ready: Kafka unreachable");
    ready_ = ready;
  }
  return now + absl::Seconds(2);
}

void ServiceHost::StartWatchdog(absl::Time deadline) {
  watchdog_ = std::thread([this, deadline] {
    absl::MutexLock lock(&mu_);
    auto exited = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return exited_; };
    if (mu_.AwaitWithDeadline(absl::Condition(&exited), deadline)) return;
    log::Error(
        "shutdown deadline passed; exiting now (unsent events stay "
        "in the outbox and are published after the restart)",
        {{"steps_done", absl::StrJoin(steps_, ",")}});
    std::_Exit(3);
  });
}

void ServiceHost::StepDone(const char* step, absl::Time started) {
  log::Info("shutdown step done",
            {{"step", step},
             {"ms", absl::ToInt64Milliseconds(absl::Now() - started)}});
  absl::MutexLock lock(&mu_);
  steps_.push_back(step);
}

void ServiceHost::Shutdown() {
  const absl::Duration budget =
      absl::Seconds(config_.GetInt("shutdown_timeout"));
  const absl::Time start = absl::Now();
  StartWatchdog(start + budget);
  // The steps aim to finish early enough to leave time for destroying the
  // Kafka handles and closing the store.
  const absl::Time deadline =
      start + budget - std::min(absl::Seconds(1), budget / 5);
  auto left = [&deadline] {
    return std::max(deadline - absl::Now(), absl::ZeroDuration());
  };

  // 1. Stop accepting RPCs; calls in flight get a third of the budget.
  absl::Time t = absl::Now();
  server_->Shutdown(std::min(absl::Seconds(5), budget / 3));
  executor_.Stop();
  StepDone("grpc", t);

  // 2. Stop the workers: ask them all first, then join.
  t = absl::Now();
  if (consumer_) consumer_->RequestStop();
  for (auto& w : workers_) w->Stop();
  if (consumer_) consumer_->Stop(std::min(absl::Seconds(5), left() / 3));
  StepDone("workers", t);

  // 3. Publish what is committed, keeping a share of the budget to flush.
  t = absl::Now();
  relay_->Stop(left() * 2 / 3);
  StepDone("outbox", t);

  // 4. Flush the producer; what the cluster did not take is abandoned.
  t = absl::Now();
  absl::Status flushed = producer_->Shutdown(left());
  StepDone("producer", t);

  absl::StatusOr<int64_t> unsent = store::CountUnsent(*db_);
  log::Info(
      "stopped",
      {{"outbox_unsent", unsent.ok() ? log::Value(*unsent) : log::Value("?")},
       {"flush", flushed.ok() ? "ok" : std::string(flushed.message())},
       {"ms", absl::ToInt64Milliseconds(absl::Now() - start)}});
}

int ServiceHost::Run(const std::vector<grpc::Service*>& services,
                     events::EventHandler handler, const WaitFn& wait) {
  if (const std::string& address = config_.GetString("metrics_address");
      !address.empty()) {
    if (absl::Status s = metrics_->Serve(address); !s.ok()) {
      std::fprintf(stderr, "signpost-%s: metrics_address: %s\n",
                   spec_.name.c_str(), std::string(s.message()).c_str());
      return 2;
    }
  }
  grpcutil::ServerRunner::Options options;
  options.address = config_.GetString("grpc_address");
  options.max_message_bytes =
      static_cast<int>(config_.GetInt("max_message_bytes"));
  if (!config_.GetBool("dev_plaintext")) {
    options.tls = grpcutil::TlsFiles{config_.GetString("tls_cert_file"),
                                     config_.GetString("tls_key_file"),
                                     config_.GetString("tls_ca_file")};
  }
  // Every service serves its own outbox's replay.
  outbox_api_ = std::make_unique<OutboxServiceImpl>(
      spec_.name, *db_, replay_guard_, [this] { relay_->Notify(); }, *gate_);
  std::vector<grpc::Service*> all = services;
  all.push_back(outbox_api_.get());
  absl::StatusOr<std::unique_ptr<grpcutil::ServerRunner>> server =
      grpcutil::ServerRunner::Start(options, all);
  if (!server.ok()) {
    std::fprintf(stderr, "signpost-%s: grpc_address: %s\n", spec_.name.c_str(),
                 std::string(server.status().message()).c_str());
    return 1;
  }
  server_ = std::move(*server);

  // Erased and shredded values must not linger in the -wal file until
  // SQLite's own checkpoint (secure_delete zeroes them in the database
  // file); a periodic full checkpoint bounds how long they can.
  store::Database* db = db_.get();
  AddPeriodicTask("wal-checkpoint", absl::Minutes(5), [db](absl::Time) {
    if (absl::Status s = db->Checkpoint(); !s.ok()) {
      log::Warn("WAL checkpoint failed", {{"error", s.ToString()}});
    }
    return absl::InfiniteFuture();
  });
  relay_->Start();
  if (handler) {
    events::EventConsumer::Options consumer_options;
    consumer_options.client = kafka_options_;
    consumer_options.group_id = config_.GetString("kafka_group");
    consumer_options.topics = spec_.subscribe_topics;
    consumer_options.dead_letter_topic = events::kDeadLetterTopic;
    consumer_options.service_name = spec_.name;
    consumer_options.max_attempts =
        static_cast<int>(config_.GetInt("consumer_max_attempts"));
    consumer_options.batch_max_records =
        static_cast<int>(config_.GetInt("consumer_batch_max_records"));
    consumer_options.batch_wait =
        absl::Milliseconds(config_.GetInt("consumer_batch_wait_ms"));
    // The relay is woken by the commit itself (its outbox listener).
    consumer_options.on_commit = [this] {
      for (const auto& hook : commit_hooks_) hook();
    };
    consumer_options.verifier = verifier_.get();
    // Never consume unverified records: only a spec that subscribes to no
    // topic may leave event_keys_dir empty.
    absl::StatusOr<std::unique_ptr<events::EventConsumer>> consumer =
        verifier_ == nullptr
            ? absl::FailedPreconditionError(
                  "event_keys_dir is required to consume events")
            : events::EventConsumer::Create(consumer_options, *db_, *producer_,
                                            std::move(handler));
    if (!consumer.ok()) {
      std::fprintf(stderr, "signpost-%s: kafka consumer: %s\n",
                   spec_.name.c_str(),
                   std::string(consumer.status().message()).c_str());
      server_->Shutdown(absl::ZeroDuration());
      relay_->Stop(absl::ZeroDuration());
      return 1;
    }
    consumer_ = std::move(*consumer);
    consumer_->Start();
    events::EventConsumer* c = consumer_.get();
    metrics_->AddScraped(
        "signpost_consumer_lag",
        "records on a subscribed partition not yet consumed, as of the last "
        "fetch",
        metrics::Kind::kGauge, [c] {
          std::vector<metrics::Sample> out;
          for (const kafka::PartitionLag& l : c->Lag()) {
            out.push_back(
                {{{"topic", l.topic}, {"partition", absl::StrCat(l.partition)}},
                 static_cast<double>(l.lag)});
          }
          return out;
        });
    AddScrapedCounter(*metrics_, "signpost_dead_lettered_total",
                      "records this process sent to the dead-letter topic",
                      [c] { return c->dead_lettered(); });
    AddScrapedCounter(*metrics_, "signpost_consumed_total",
                      "records this process handled",
                      [c] { return c->handled(); });
    metrics_->AddScraped(
        "signpost_consumer_batches_total",
        "batches of records applied in one transaction (outcome=applied), "
        "and batches that failed and were applied one record at a time "
        "(outcome=split)",
        metrics::Kind::kCounter, [c] {
          return std::vector<metrics::Sample>{
              {{{"outcome", "applied"}}, static_cast<double>(c->batches())},
              {{{"outcome", "split"}},
               static_cast<double>(c->batch_fallbacks())}};
        });
  }
  AddScrapedCounter(*metrics_, "signpost_store_commits_total",
                    "write transactions committed (group commit: one may "
                    "hold many writes)",
                    [db] { return db->write_commits(); });
  AddScrapedCounter(*metrics_, "signpost_store_writes_total",
                    "writes (RPCs' and consumer batches') committed",
                    [db] { return db->committed_writes(); });

  AddPeriodicTask("readiness", absl::Seconds(2),
                  [this](absl::Time now) { return CheckReadiness(now); });
  for (auto& w : workers_) w->Start();
  // The line scripts wait for; the address is what partner systems dial.
  log::Info("listening", {{"grpc_address", server_->address()},
                          {"transport", config_.GetBool("dev_plaintext")
                                            ? "plaintext (development)"
                                            : "mutual TLS"},
                          {"db_path", db_->path()},
                          {"metrics_port", metrics_->port()},
                          {"topic", spec_.topic}});

  wait();
  log::Info("shutting down");
  Shutdown();
  return 0;
}

int ServiceMain(int argc, char** argv, const ServiceSpec& spec,
                const std::function<void(config::Config&)>& define_flags,
                const WireFn& wire) {
  BlockShutdownSignals();
  config::Config config(absl::StrCat("signpost-", spec.name));
  DefineCommonFlags(config, spec);
  if (define_flags) define_flags(config);
  if (int code = ParseConfig(config, argc, argv); code >= 0) return code;
  absl::StatusOr<std::unique_ptr<ServiceHost>> host =
      ServiceHost::Create(config, spec);
  if (!host.ok()) {
    config::PrintConfigError(argv[0], host.status());
    return 2;
  }
  return wire(**host, config, (*host)->gate());
}

}  // namespace signpost::service
