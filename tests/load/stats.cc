#include "tests/load/stats.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace signpost::load {

int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t SystemNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void Samples::Merge(const Samples& other) {
  ns_.insert(ns_.end(), other.ns_.begin(), other.ns_.end());
  sorted_ = false;
}

double Samples::QuantileMs(double q) const {
  if (ns_.empty()) return -1;
  if (!sorted_) {
    std::sort(ns_.begin(), ns_.end());
    sorted_ = true;
  }
  // Nearest rank: the smallest sample with at least q of them at or below.
  size_t rank = static_cast<size_t>(std::ceil(q * ns_.size()));
  rank = std::clamp<size_t>(rank, 1, ns_.size());
  const int64_t ns = ns_[rank - 1];
  return ns == kNeverNs ? std::numeric_limits<double>::infinity() : ns / 1e6;
}

Summary Summarise(const std::string& name, const Samples& samples,
                  double window_seconds) {
  Summary s;
  s.name = name;
  s.count = static_cast<int64_t>(samples.size());
  s.rate = window_seconds > 0 ? s.count / window_seconds : 0;
  s.p50_ms = samples.QuantileMs(0.50);
  s.p99_ms = samples.QuantileMs(0.99);
  s.p999_ms = samples.QuantileMs(0.999);
  s.max_ms = samples.QuantileMs(1.0);
  return s;
}

std::string FormatMs(double ms) {
  if (ms < 0) return "–";
  if (std::isinf(ms)) return "unfinished";
  if (ms < 1) return absl::StrFormat("%.2f ms", ms);
  if (ms < 100) return absl::StrFormat("%.1f ms", ms);
  if (ms < 1000) return absl::StrFormat("%.0f ms", ms);
  if (ms < 10000) return absl::StrFormat("%.2f s", ms / 1000);
  return absl::StrFormat("%.1f s", ms / 1000);
}

std::string FormatRate(double per_second) {
  if (per_second < 100) return absl::StrFormat("%.1f", per_second);
  const int64_t n = static_cast<int64_t>(std::llround(per_second));
  std::string digits = absl::StrCat(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

}  // namespace signpost::load
