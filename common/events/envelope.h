// The event envelope shared by every Signpost event: building envelopes
// (ids, causation and correlation, schema version), naming their type, and
// mapping them to CloudEvents binary-mode Kafka headers. Thread-safe (pure).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/kafka/kafka.h"
#include "signpost/v1/events.pb.h"

namespace signpost::events {

inline constexpr int kSchemaVersion = 1;

// Topics: one per producing service, plus the dead-letter topic.
inline constexpr char kIntakeTopic[] = "signpost.intake.v1";
inline constexpr char kTriageTopic[] = "signpost.triage.v1";
inline constexpr char kAdvocacyTopic[] = "signpost.advocacy.v1";
inline constexpr char kOrdersTopic[] = "signpost.orders.v1";
inline constexpr char kNotificationTopic[] = "signpost.notification.v1";
inline constexpr char kDeadLetterTopic[] = "signpost.deadletter.v1";
// The access audit: every service writes AccessAudited events here.
inline constexpr char kAuditTopic[] = "signpost.audit.v1";

// A new envelope with a fresh event id and the current time. When `cause` is
// given, causation is its event id and correlation is inherited; otherwise
// the event starts a new flow and correlates with itself.
v1::EventEnvelope NewEnvelope(absl::string_view producer,
                              absl::string_view referral_id,
                              const v1::EventEnvelope* cause = nullptr);

// "signpost.v1.ReferralReceived" etc., from the payload that is set; "" when
// no payload is set.
std::string PayloadTypeName(const v1::EventEnvelope& envelope);

// Sets envelope.type from its payload. Call after filling the payload.
void StampType(v1::EventEnvelope* envelope);

// Every record's ce_dataschema (CloudEvents wants an absolute URI): a URN
// naming the protobuf message its value decodes as.
inline constexpr absl::string_view kEventDataSchema =
    "urn:signpost:proto:signpost.v1.EventEnvelope";

// CloudEvents binary-mode headers (ce_id, ce_type, ce_source, ce_time,
// ce_subject, ce_dataschema, content-type) plus W3C traceparent.
kafka::Headers CloudEventHeaders(const v1::EventEnvelope& envelope,
                                 absl::string_view traceparent);

// Decodes a consumed record into an envelope; InvalidArgument with the reason
// when the record is not a well-formed Signpost event.
absl::StatusOr<v1::EventEnvelope> DecodeEnvelope(
    const kafka::ConsumedMessage& message);

}  // namespace signpost::events
