#include "common/events/envelope.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/ids/ids.h"
#include "google/protobuf/util/time_util.h"

namespace signpost::events {

v1::EventEnvelope NewEnvelope(absl::string_view producer,
                              absl::string_view referral_id,
                              const v1::EventEnvelope* cause) {
  v1::EventEnvelope env;
  env.set_event_id(NewUuid());
  env.set_referral_id(std::string(referral_id));
  int64_t micros = absl::ToUnixMicros(absl::Now());
  *env.mutable_occurred_at() =
      google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(micros);
  env.set_producer(std::string(producer));
  env.set_schema_version(kSchemaVersion);
  if (cause != nullptr) {
    env.set_causation_id(cause->event_id());
    env.set_correlation_id(cause->correlation_id().empty()
                               ? cause->event_id()
                               : cause->correlation_id());
  } else {
    env.set_correlation_id(env.event_id());
  }
  return env;
}

std::string PayloadTypeName(const v1::EventEnvelope& envelope) {
  const google::protobuf::Reflection* reflection = envelope.GetReflection();
  const google::protobuf::OneofDescriptor* oneof =
      envelope.GetDescriptor()->FindOneofByName("payload");
  const google::protobuf::FieldDescriptor* field =
      reflection->GetOneofFieldDescriptor(envelope, oneof);
  if (field == nullptr) return "";
  return field->message_type()->full_name();
}

void StampType(v1::EventEnvelope* envelope) {
  envelope->set_type(PayloadTypeName(*envelope));
}

kafka::Headers CloudEventHeaders(const v1::EventEnvelope& envelope,
                                 absl::string_view traceparent) {
  return {
      {"ce_specversion", "1.0"},
      {"ce_id", envelope.event_id()},
      {"ce_type", envelope.type()},
      {"ce_source", absl::StrCat("/signpost/", envelope.producer())},
      {"ce_time",
       google::protobuf::util::TimeUtil::ToString(envelope.occurred_at())},
      {"ce_subject", envelope.referral_id()},
      {"content-type", "application/protobuf"},
      // The protobuf message the value decodes as (ce_type names the
      // payload inside it): `protoc --decode signpost.v1.EventEnvelope`.
      {"ce_dataschema", std::string(kEventDataSchema)},
      {"traceparent", std::string(traceparent)},
  };
}

absl::StatusOr<v1::EventEnvelope> DecodeEnvelope(
    const kafka::ConsumedMessage& message) {
  std::optional<std::string> content_type = message.Header("content-type");
  if (!content_type || *content_type != "application/protobuf") {
    return absl::InvalidArgumentError(
        "missing or unsupported content-type header");
  }
  v1::EventEnvelope env;
  if (!env.ParseFromString(message.payload)) {
    return absl::InvalidArgumentError("payload is not an EventEnvelope");
  }
  if (!IsUuid(env.event_id())) {
    return absl::InvalidArgumentError("event_id is not a UUID");
  }
  std::string payload_type = PayloadTypeName(env);
  if (payload_type.empty()) {
    return absl::InvalidArgumentError("envelope has no known payload");
  }
  if (env.type() != payload_type) {
    return absl::InvalidArgumentError(absl::StrCat(
        "type '", env.type(), "' does not match payload ", payload_type));
  }
  std::optional<std::string> ce_id = message.Header("ce_id");
  if (ce_id && *ce_id != env.event_id()) {
    return absl::InvalidArgumentError("ce_id header does not match event_id");
  }
  if (env.referral_id().empty() || env.referral_id() != message.key) {
    return absl::InvalidArgumentError("referral_id does not match record key");
  }
  if (env.schema_version() < 1 || env.schema_version() > kSchemaVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported schema_version ", env.schema_version()));
  }
  return env;
}

}  // namespace signpost::events
