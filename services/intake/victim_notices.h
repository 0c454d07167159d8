// What the Victims' Code says a victim is told, and whether, when and how it
// may be sent: pure domain code (no gRPC, no SQLite, no HTTP).
//
// Three notices: the referral received (its first routed decision), a
// service to contact them (an offer to an advocate or a service), and an
// advocate assigned (an offer accepted). Each is sent once per referral,
// through a channel gateway (SMS, email or letter), and only where the
// victim's safe-contact rules allow it:
//   - no rules recorded, or "never contact": suppressed;
//   - a channel must be safe, have a gateway and the detail it needs (a
//     phone for SMS, an email address, a safe address for a letter);
//   - outside the safe windows the notice is held until the next safe time;
//   - among the channels that qualify, the earliest safe time wins, then
//     SMS, email, letter.
// The text is the same for everyone and says nothing of the case: no
// service, crime, risk or name that someone else reading the phone would
// learn from. Thread-safe (pure).
#pragma once

#include <optional>
#include <set>
#include <string>

#include "absl/time/time.h"
#include "signpost/v1/common.pb.h"

namespace signpost::intake {

enum class NoticeKind {
  kReferralReceived,
  kServiceToContact,
  kAdvocateAssigned,
};

// "REFERRAL_RECEIVED", "SERVICE_TO_CONTACT", "ADVOCATE_ASSIGNED".
std::string NoticeKindName(NoticeKind kind);
std::optional<NoticeKind> ParseNoticeKind(const std::string& name);

// The neutral text of a notice.
std::string NoticeText(NoticeKind kind);

// What Signpost could use to reach the victim.
struct NoticeReach {
  bool phone = false;
  bool email = false;
  bool safe_address = false;
  // Channels with a gateway configured (SMS, EMAIL, LETTER).
  std::set<v1::ContactChannel> gateways;
};

// Codes for a suppressed notice.
inline constexpr char kSuppressNoRules[] = "NO-SAFE-CONTACT-RULES";
inline constexpr char kSuppressNeverContact[] = "NEVER-CONTACT";
inline constexpr char kSuppressNoSafeChannel[] = "NO-SAFE-CHANNEL";
inline constexpr char kSuppressNoDetail[] = "NO-CONTACT-DETAIL";
inline constexpr char kSuppressNoGateway[] = "NO-GATEWAY";

struct NoticePlan {
  // Set when the notice may be sent: on `channel`, at `send_at` (now, or
  // the next safe time: the notice is held until then).
  std::optional<v1::ContactChannel> channel;
  absl::Time send_at;
  // Otherwise why not (a kSuppress* code).
  std::string suppressed;
};

NoticePlan PlanNotice(const v1::ContactRules& rules, const NoticeReach& reach,
                      absl::Time now, const absl::TimeZone& zone);

}  // namespace signpost::intake
