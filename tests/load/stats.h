// Latency figures for the load harness: samples in nanoseconds, summarised
// as count, rate and quantiles (p50, p99, p99.9, max). Thread-compatible: a
// Samples is filled by one thread at a time (the harness keeps one per
// closed-loop slot or per stage and merges them afterwards).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace signpost::load {

// Steady-clock nanoseconds, for intervals measured inside this process.
int64_t SteadyNowNs();
// System-clock (Unix) nanoseconds, for comparing with event timestamps that
// other processes on this machine wrote.
int64_t SystemNowNs();

// A sample that never completed (a referral unfinished after the drain):
// it sorts last and its quantiles print as "unfinished".
inline constexpr int64_t kNeverNs = INT64_MAX;

class Samples {
 public:
  void Add(int64_t ns) { ns_.push_back(ns); }
  void Merge(const Samples& other);
  size_t size() const { return ns_.size(); }
  bool empty() const { return ns_.empty(); }
  // The q-quantile (0..1) in milliseconds, nearest rank; -1 when empty,
  // +infinity when it falls on a kNeverNs sample.
  double QuantileMs(double q) const;

 private:
  // Sorted lazily by QuantileMs.
  mutable std::vector<int64_t> ns_;
  mutable bool sorted_ = false;
};

// One measured line of the report.
struct Summary {
  std::string name;
  int64_t count = 0;
  double rate = 0;  // per second, over the measured window
  double p50_ms = -1;
  double p99_ms = -1;
  double p999_ms = -1;
  double max_ms = -1;
};

Summary Summarise(const std::string& name, const Samples& samples,
                  double window_seconds);

// "12.3 ms" style, with fewer digits as the value grows; "–" when absent,
// "unfinished" for +infinity.
std::string FormatMs(double ms);
// "1,234" or "12.5" for rates.
std::string FormatRate(double per_second);

}  // namespace signpost::load
