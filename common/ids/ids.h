// Strong identifier types and id generation. A ReferralId is not an EventId:
// the tag type keeps them apart at compile time. Thread-safe.
#pragma once

#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace signpost {

template <typename Tag>
class StrongId {
 public:
  StrongId() = default;
  explicit StrongId(std::string value) : value_(std::move(value)) {}
  const std::string& value() const { return value_; }
  bool empty() const { return value_.empty(); }
  friend bool operator==(const StrongId& a, const StrongId& b) {
    return a.value_ == b.value_;
  }
  friend bool operator!=(const StrongId& a, const StrongId& b) {
    return a.value_ != b.value_;
  }
  friend bool operator<(const StrongId& a, const StrongId& b) {
    return a.value_ < b.value_;
  }
  template <typename H>
  friend H AbslHashValue(H h, const StrongId& id) {
    return H::combine(std::move(h), id.value_);
  }

 private:
  std::string value_;
};

using ReferralId = StrongId<struct ReferralIdTag>;
using EventId = StrongId<struct EventIdTag>;
using AdvocateId = StrongId<struct AdvocateIdTag>;
using AssignmentId = StrongId<struct AssignmentIdTag>;
using ProviderId = StrongId<struct ProviderIdTag>;
using OrderId = StrongId<struct OrderIdTag>;
// A partner agency (police force, hospital trust, provider, MARAC, ...) as
// named in the access registry (the trust-boundary issue).
using AgencyId = StrongId<struct AgencyIdTag>;

// A random (version 4) UUID in canonical lowercase form, from OpenSSL's CSPRNG.
std::string NewUuid();
// True for a canonical UUID string.
bool IsUuid(absl::string_view text);
// A W3C traceparent ("00-<32 hex trace id>-<16 hex span id>-01").
std::string NewTraceparent();
// The trace id part of a traceparent, or "" if malformed.
std::string TraceIdOf(absl::string_view traceparent);
// A traceparent continuing the trace of `parent` with a new span id.
std::string ChildTraceparent(absl::string_view parent);

}  // namespace signpost
