// Prometheus metrics of one service process (issue 15), served as text on
// their own HTTP port (prometheus-cpp's pull exposer), never on the gRPC
// port. Labels hold method names, status codes, topics, rule ids and
// other codes only: never personal data.
//
// Three kinds of series:
//   - kept here as they happen: RPCs (count by method and code, latency
//     histogram by method);
//   - read when scraped (AddScraped): figures a store already holds, such
//     as the outbox backlog, waitlist depth, timers, deadlines missed and
//     deliveries, so that they survive a restart and cost nothing between
//     scrapes;
//   - signpost_build_info{service, version} 1.
// Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace prometheus {
class Exposer;
class Registry;
template <typename T>
class Family;
class Counter;
class Histogram;
}  // namespace prometheus

namespace signpost::metrics {

using Labels = std::map<std::string, std::string>;

struct Sample {
  Labels labels;
  double value = 0;
};

enum class Kind { kCounter, kGauge };

class Metrics {
 public:
  // `service` ("intake") and `version` label every process's build info.
  Metrics(std::string service, std::string version);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Serves GET /metrics on `address` ("127.0.0.1:9101"; port 0 picks a
  // free one). INVALID_ARGUMENT naming the address when it cannot listen.
  absl::Status Serve(const std::string& address);
  // The port served on; 0 before Serve.
  int port() const;
  // Ends every scraped family's reads (waiting for one in progress), so
  // that what they read may be destroyed next; later scrapes show only
  // the in-memory series. The listener itself is left to the process's
  // exit: prometheus-cpp's server (civetweb) takes up to 2 s to stop,
  // which a shutdown deadline cannot spare.
  void Stop();

  // One finished RPC: its gRPC method path, status code name ("OK",
  // "PERMISSION_DENIED", ...) and latency.
  void ObserveRpc(absl::string_view method, absl::string_view code,
                  absl::Duration latency);

  // A family read at each scrape: `collect` returns its samples (an error
  // inside it should return none; the scrape goes on). `name` is
  // "signpost_..."; a counter's name ends in "_total". Call before Serve.
  void AddScraped(std::string name, std::string help, Kind kind,
                  std::function<std::vector<Sample>()> collect);

  // The text exposition format, as a scrape would see it (for tests and
  // `--print-metrics`).
  std::string Render() const;

 private:
  class Scraped;
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<Scraped> scraped_;
  prometheus::Family<prometheus::Counter>* rpcs_;
  prometheus::Family<prometheus::Histogram>* rpc_seconds_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;
};

}  // namespace signpost::metrics
