// Domain error types, free of gRPC: field violations (a request or record
// with bad fields) and rule violations (a transition a named rule refuses),
// carried as absl::Status payloads. common/grpc/status.cc turns them into
// google.rpc.BadRequest / PreconditionFailure details, in that one place.
// Also the classification the event consumer acts on. Thread-safe (values).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace signpost::errors {

struct FieldViolation {
  std::string field;
  std::string description;
};

struct RuleViolationDetail {
  std::string rule_id;
  std::string subject;
  std::string description;
};

// At most this many violations are carried in one error, and at most
// kMaxViolationBytes of field names and descriptions; one last entry then
// says how many more there were. The message names the first
// kMaxViolationsInMessage. So the error always fits a client's default
// trailer limit (8 KiB), however bad the request.
inline constexpr size_t kMaxNamedViolations = 100;
inline constexpr size_t kMaxViolationBytes = 3000;
inline constexpr size_t kMaxViolationsInMessage = 10;

// Collects every bad field of a request before answering once.
class FieldErrors {
 public:
  void Add(absl::string_view field, absl::string_view description);
  // Adds every violation of `status` (a ToStatus() result), prefixing each
  // field with `prefix` ("victim." say). Other errors are added as `prefix`.
  void Merge(absl::string_view prefix, const absl::Status& status);
  bool empty() const { return violations_.empty(); }
  size_t size() const { return violations_.size(); }
  const std::vector<FieldViolation>& violations() const { return violations_; }
  // OK when empty; otherwise INVALID_ARGUMENT naming every field (within
  // the caps above), with the violations as a payload.
  absl::Status ToStatus() const;

 private:
  std::vector<FieldViolation> violations_;
};

// INVALID_ARGUMENT for a single bad field.
absl::Status FieldError(absl::string_view field, absl::string_view description);

// FAILED_PRECONDITION naming the rule that refused a transition.
absl::Status RuleViolation(absl::string_view rule_id, absl::string_view subject,
                           absl::string_view description);

// PERMISSION_DENIED naming the access rule that refused a call (carried
// like a RuleViolation, so the caller sees the rule id). `subject` is the
// object the caller asked for, exactly as asked: the answer is the same
// whether or not that object exists.
absl::Status Denied(absl::string_view rule_id, absl::string_view subject,
                    absl::string_view description);

// INTERNAL marking a broken invariant (a state the code believes
// impossible). The event consumer crashes on it rather than loop or skip.
absl::Status InvariantViolation(absl::string_view description);

// The violations carried by `status` (empty when it carries none), with the
// closing "and N more" entry when the caps cut the list.
std::vector<FieldViolation> FieldViolationsOf(const absl::Status& status);
// How many violations `status` reports in all (named or only counted).
size_t FieldViolationCountOf(const absl::Status& status);
std::optional<RuleViolationDetail> RuleViolationOf(const absl::Status& status);
bool IsInvariantViolation(const absl::Status& status);

// How an event consumer treats a failed handler.
enum class Disposition {
  kRetry,         // transient (UNAVAILABLE; SQLite busy or locked): back off
  kDeadLetter,    // never processable (bad input, refused by a rule)
  kRetryBounded,  // unclassified: a bounded number of attempts, then DLQ
  kCrash,         // a broken invariant: log and abort the process
};
Disposition Classify(const absl::Status& status);

}  // namespace signpost::errors
