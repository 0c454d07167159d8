#include "common/metrics/metrics.h"

#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "prometheus/collectable.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/metric_family.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"

namespace signpost::metrics {

// The families read at scrape time.
class Metrics::Scraped : public prometheus::Collectable {
 public:
  void Add(std::string name, std::string help, Kind kind,
           std::function<std::vector<Sample>()> collect) {
    absl::MutexLock lock(&mu_);
    families_.push_back(
        {std::move(name), std::move(help), kind, std::move(collect)});
  }

  // No family is read after this returns.
  void Close() {
    absl::WriterMutexLock lock(&mu_);
    families_.clear();
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    // Held while the families read, so that Close waits for them.
    absl::ReaderMutexLock lock(&mu_);
    std::vector<prometheus::MetricFamily> out;
    for (const Family& f : families_) {
      prometheus::MetricFamily family;
      family.name = f.name;
      family.help = f.help;
      family.type = f.kind == Kind::kCounter ? prometheus::MetricType::Counter
                                             : prometheus::MetricType::Gauge;
      for (const Sample& s : f.collect()) {
        prometheus::ClientMetric m;
        for (const auto& [k, v] : s.labels) m.label.push_back({k, v});
        if (f.kind == Kind::kCounter) {
          m.counter.value = s.value;
        } else {
          m.gauge.value = s.value;
        }
        family.metric.push_back(std::move(m));
      }
      out.push_back(std::move(family));
    }
    return out;
  }

 private:
  struct Family {
    std::string name;
    std::string help;
    Kind kind;
    std::function<std::vector<Sample>()> collect;
  };
  mutable absl::Mutex mu_;
  std::vector<Family> families_ ABSL_GUARDED_BY(mu_);
};

Metrics::Metrics(std::string service, std::string version)
    : registry_(std::make_shared<prometheus::Registry>()),
      scraped_(std::make_shared<Scraped>()) {
  rpcs_ = &prometheus::BuildCounter()
               .Name("signpost_rpc_total")
               .Help("gRPC calls finished, by method and status code")
               .Register(*registry_);
  rpc_seconds_ = &prometheus::BuildHistogram()
                      .Name("signpost_rpc_duration_seconds")
                      .Help("gRPC call latency, from the gate to the answer")
                      .Register(*registry_);
  prometheus::BuildGauge()
      .Name("signpost_build_info")
      .Help("1, labelled with the service and its version")
      .Register(*registry_)
      .Add({{"service", std::move(service)}, {"version", std::move(version)}})
      .Set(1);
}

Metrics::~Metrics() { Stop(); }

void Metrics::Stop() {
  scraped_->Close();
  // Deliberately not destroyed (see the header); it holds the registries
  // weakly, so it reads nothing of this object once it is gone.
  if (exposer_ != nullptr) (void)exposer_.release();
}

absl::Status Metrics::Serve(const std::string& address) {
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(address, 1);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot serve metrics on ", address, ": ", e.what()));
  }
  exposer_->RegisterCollectable(registry_);
  exposer_->RegisterCollectable(scraped_);
  std::vector<int> ports = exposer_->GetListeningPorts();
  port_ = ports.empty() ? 0 : ports.front();
  return absl::OkStatus();
}

int Metrics::port() const { return port_; }

void Metrics::ObserveRpc(absl::string_view method, absl::string_view code,
                         absl::Duration latency) {
  rpcs_->Add({{"method", std::string(method)}, {"code", std::string(code)}})
      .Increment();
  // 1 ms to 10 s: an RPC's answer, not a scan.
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};
  rpc_seconds_->Add({{"method", std::string(method)}}, kBuckets)
      .Observe(absl::ToDoubleSeconds(latency));
}

void Metrics::AddScraped(std::string name, std::string help, Kind kind,
                         std::function<std::vector<Sample>()> collect) {
  scraped_->Add(std::move(name), std::move(help), kind, std::move(collect));
}

std::string Metrics::Render() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  for (auto& f : scraped_->Collect()) families.push_back(std::move(f));
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace signpost::metrics
