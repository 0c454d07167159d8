// The victim's safe-contact rules (v1::ContactRules), checked the same way
// wherever Signpost reaches a victim: advocacy on every contact an advocate
// records, notification on every message it would send. Pure domain code:
// no gRPC, no SQLite. Thread-safe (pure functions).
//
//   never_contact       every contact breaks NEVER-CONTACT
//   letters             need letter_safe (LETTER-NOT-SAFE) and a safe address
//                       (NO-SAFE-ADDRESS); they are not time-bound
//   other channels      must be among the safe channels (CHANNEL-NOT-SAFE;
//                       NO-SAFE-CHANNEL when none is recorded) and inside a
//                       safe window, if any is recorded (OUTSIDE-SAFE-TIMES)
//   voicemail           a voicemail left needs voicemail_safe
//                       (VOICEMAIL-NOT-SAFE)
//
// Windows are in UK local time (the zone given, Europe/London), so they stay
// right across the clock changes. Rules not `recorded` (a referral made
// before the rules were coded) limit nothing.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "signpost/v1/common.pb.h"

namespace signpost::safety {

// The rule id a refused contact names (FAILED_PRECONDITION).
inline constexpr char kSafeContactRule[] = "SAFE-CONTACT";
// An override must say why, in at least this many characters.
inline constexpr size_t kMinOverrideReason = 10;

// Breach codes.
inline constexpr char kNeverContact[] = "NEVER-CONTACT";
inline constexpr char kNoSafeChannel[] = "NO-SAFE-CHANNEL";
inline constexpr char kChannelNotSafe[] = "CHANNEL-NOT-SAFE";
inline constexpr char kOutsideSafeTimes[] = "OUTSIDE-SAFE-TIMES";
inline constexpr char kVoicemailNotSafe[] = "VOICEMAIL-NOT-SAFE";
inline constexpr char kLetterNotSafe[] = "LETTER-NOT-SAFE";
inline constexpr char kNoSafeAddress[] = "NO-SAFE-ADDRESS";

struct Contact {
  v1::ContactChannel channel = v1::CONTACT_CHANNEL_UNSPECIFIED;
  absl::Time at;
  bool voicemail_left = false;
};

// The rules `contact` breaks, as codes in a fixed order; empty when it is
// safe.
std::vector<std::string> Breaches(const v1::ContactRules& rules,
                                  const Contact& contact,
                                  const absl::TimeZone& zone);

// True when `t` falls inside one of the windows (or there are none).
bool InSafeWindow(const v1::ContactRules& rules, absl::Time t,
                  const absl::TimeZone& zone);

// The earliest time at or after `from` when `channel` is safe, looking at
// most 8 days ahead: `from` itself when it is safe now; nullopt when the
// channel is never safe (never contact, not a safe channel, a letter
// without letter_safe or a safe address).
std::optional<absl::Time> NextSafeTime(const v1::ContactRules& rules,
                                       v1::ContactChannel channel,
                                       absl::Time from,
                                       const absl::TimeZone& zone);

// Whether a service works with the victim directly (SARC, stalking clinic,
// children's safeguarding, modern slavery): it may contact the victim, sees
// the safe-contact rules once it acknowledges, and may read the referral.
// A perpetrator programme and MARAC do not: nothing of the victim's reaches
// them through a service referral.
bool WorksWithVictim(v1::ServiceKind service);

// "Mon-Fri 09:00-12:00; Sat 10:00-11:00", for a worklist or a reason.
std::string DescribeWindows(const v1::ContactRules& rules);

}  // namespace signpost::safety
