#include "common/errors/errors.h"

#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace signpost::errors {
namespace {

// Payload type URLs. The values are our own encoding: one record per line,
// fields separated by tabs and C-escaped, so no separator can be forged.
constexpr char kFieldViolationsUrl[] = "signpost.dev/errors.FieldViolations";
constexpr char kRuleViolationUrl[] = "signpost.dev/errors.RuleViolation";
constexpr char kInvariantUrl[] = "signpost.dev/errors.Invariant";

std::string EncodeRecord(const std::vector<absl::string_view>& fields) {
  std::vector<std::string> escaped;
  escaped.reserve(fields.size());
  for (absl::string_view f : fields) escaped.push_back(absl::CEscape(f));
  return absl::StrJoin(escaped, "\t");
}

std::vector<std::string> DecodeRecord(absl::string_view line) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(line, '\t')) {
    std::string value;
    if (!absl::CUnescape(part, &value)) value = std::string(part);
    out.push_back(std::move(value));
  }
  return out;
}

}  // namespace

void FieldErrors::Add(absl::string_view field, absl::string_view description) {
  violations_.push_back({std::string(field), std::string(description)});
}

void FieldErrors::Merge(absl::string_view prefix, const absl::Status& status) {
  if (status.ok()) return;
  std::vector<FieldViolation> inner = FieldViolationsOf(status);
  if (inner.empty()) {
    Add(prefix, status.message());
    return;
  }
  for (const FieldViolation& v : inner) {
    Add(absl::StrCat(prefix, v.field), v.description);
  }
}

absl::Status FieldErrors::ToStatus() const {
  if (violations_.empty()) return absl::OkStatus();
  std::vector<std::string> parts;
  std::vector<std::string> lines = {absl::StrCat(violations_.size())};
  size_t bytes = 0;
  size_t carried = 0;
  for (const FieldViolation& v : violations_) {
    bytes += v.field.size() + v.description.size();
    if (carried == kMaxNamedViolations || bytes > kMaxViolationBytes) break;
    if (carried < kMaxViolationsInMessage) {
      parts.push_back(absl::StrCat(v.field, ": ", v.description));
    }
    lines.push_back(EncodeRecord({v.field, v.description}));
    ++carried;
  }
  if (carried < violations_.size()) {
    lines.push_back(
        EncodeRecord({"", absl::StrCat("and ", violations_.size() - carried,
                                       " more invalid fields not listed")}));
  }
  std::string message =
      absl::StrCat("invalid request: ", absl::StrJoin(parts, "; "));
  if (violations_.size() > parts.size()) {
    absl::StrAppend(&message, "; and ", violations_.size() - parts.size(),
                    " more");
  }
  absl::Status status = absl::InvalidArgumentError(message);
  status.SetPayload(kFieldViolationsUrl,
                    absl::Cord(absl::StrJoin(lines, "\n")));
  return status;
}

absl::Status FieldError(absl::string_view field,
                        absl::string_view description) {
  FieldErrors errors;
  errors.Add(field, description);
  return errors.ToStatus();
}

namespace {

// A `code` status naming `rule_id`, with the rule as its payload.
absl::Status WithRule(absl::StatusCode code, absl::string_view rule_id,
                      absl::string_view subject,
                      absl::string_view description) {
  absl::Status status(code, absl::StrCat(rule_id, ": ", description));
  status.SetPayload(kRuleViolationUrl,
                    absl::Cord(EncodeRecord({rule_id, subject, description})));
  return status;
}

}  // namespace

absl::Status RuleViolation(absl::string_view rule_id, absl::string_view subject,
                           absl::string_view description) {
  return WithRule(absl::StatusCode::kFailedPrecondition, rule_id, subject,
                  description);
}

absl::Status InvariantViolation(absl::string_view description) {
  absl::Status status =
      absl::InternalError(absl::StrCat("broken invariant: ", description));
  status.SetPayload(kInvariantUrl, absl::Cord("1"));
  return status;
}

std::vector<FieldViolation> FieldViolationsOf(const absl::Status& status) {
  std::vector<FieldViolation> out;
  auto payload = status.GetPayload(kFieldViolationsUrl);
  if (!payload) return out;
  std::vector<std::string> lines = absl::StrSplit(std::string(*payload), '\n');
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> fields = DecodeRecord(lines[i]);
    fields.resize(2);
    out.push_back({fields[0], fields[1]});
  }
  return out;
}

size_t FieldViolationCountOf(const absl::Status& status) {
  auto payload = status.GetPayload(kFieldViolationsUrl);
  if (!payload) return 0;
  std::string text(*payload);
  size_t count = 0;
  if (!absl::SimpleAtoi(text.substr(0, text.find('\n')), &count)) return 0;
  return count;
}

absl::Status Denied(absl::string_view rule_id, absl::string_view subject,
                    absl::string_view description) {
  absl::Status status =
      absl::PermissionDeniedError(absl::StrCat(rule_id, ": ", description));
  status.SetPayload(kRuleViolationUrl,
                    absl::Cord(EncodeRecord({rule_id, subject, description})));
  return status;
}

std::optional<RuleViolationDetail> RuleViolationOf(const absl::Status& status) {
  auto payload = status.GetPayload(kRuleViolationUrl);
  if (!payload) return std::nullopt;
  std::vector<std::string> fields = DecodeRecord(std::string(*payload));
  fields.resize(3);
  return RuleViolationDetail{fields[0], fields[1], fields[2]};
}

bool IsInvariantViolation(const absl::Status& status) {
  return status.GetPayload(kInvariantUrl).has_value();
}

Disposition Classify(const absl::Status& status) {
  if (IsInvariantViolation(status)) return Disposition::kCrash;
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kResourceExhausted:  // e.g. the disk is full
      return Disposition::kRetry;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kDataLoss:
      return Disposition::kDeadLetter;
    default:
      return Disposition::kRetryBounded;
  }
}

}  // namespace signpost::errors
