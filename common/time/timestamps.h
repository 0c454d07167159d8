// Conversions between google.protobuf.Timestamp and absl::Time. Millisecond
// conversions (the stores' column unit) are protobuf's own
// google::protobuf::util::TimeUtil::{TimestampToMilliseconds,
// MillisecondsToTimestamp}. Thread-safe (pure).
#pragma once

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace signpost::timeutil {

// The stores keep milliseconds; every time a service stamps, stores and
// reports uses this, so that a response and a later read agree exactly.
inline absl::Time TruncateToMillis(absl::Time t) {
  return absl::FromUnixMillis(absl::ToUnixMillis(t));
}
inline absl::Time NowMillis() { return TruncateToMillis(absl::Now()); }

inline absl::Time FromTimestamp(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

inline google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t nanos = absl::ToUnixNanos(t);
  ts.set_seconds(nanos / 1000000000);
  ts.set_nanos(static_cast<int32_t>(nanos % 1000000000));
  if (ts.nanos() < 0) {  // before 1970: keep nanos non-negative
    ts.set_seconds(ts.seconds() - 1);
    ts.set_nanos(ts.nanos() + 1000000000);
  }
  return ts;
}

}  // namespace signpost::timeutil
