// The events orders emits, as payloads set on an envelope the application
// made (ids, causation and the outbox are its business). Free text never
// enters an event. No I/O. Thread-safe (pure).
#pragma once

#include "absl/status/status.h"
#include "services/orders/timers.h"
#include "signpost/v1/events.pb.h"
#include "signpost/v1/orders.pb.h"

namespace signpost::orders {

// OrderRecorded: `order` is now in its state, coming from `previous`.
void SetOrderRecorded(const v1::Order& order, v1::OrderState previous,
                      v1::EventEnvelope& out);
// OrderConsiderationOpened for a review item opened from triage.
void SetConsiderationOpened(const std::string& consideration_id,
                            v1::Consideration consideration,
                            const std::string& area_code,
                            v1::EventEnvelope& out);
// ConsiderationDecided for a closed review item.
void SetConsiderationDecided(const v1::ConsiderationRecord& record,
                             v1::EventEnvelope& out);
// OrderBreached (always URGENT).
void SetOrderBreached(const v1::Order& order, const v1::Breach& breach,
                      v1::EventEnvelope& out);
// The event a fired timer emits: HearingDue, OrderExpiring, OrderExpired,
// NotificationDutyOverdue or ElectronicMonitoringEnded. DATA_LOSS for a
// kind this code does not know.
absl::Status SetTimerFired(const DueTimer& timer, const v1::Order& order,
                           v1::EventEnvelope& out);

}  // namespace signpost::orders
