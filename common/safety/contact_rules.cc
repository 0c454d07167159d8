#include "common/safety/contact_rules.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"

namespace signpost::safety {
namespace {

bool IsSafeChannel(const v1::ContactRules& rules, v1::ContactChannel channel) {
  return std::find(rules.safe_channels().begin(), rules.safe_channels().end(),
                   channel) != rules.safe_channels().end();
}

v1::Weekday WeekdayOf(absl::CivilDay day) {
  switch (absl::GetWeekday(day)) {
    case absl::Weekday::monday:
      return v1::WEEKDAY_MONDAY;
    case absl::Weekday::tuesday:
      return v1::WEEKDAY_TUESDAY;
    case absl::Weekday::wednesday:
      return v1::WEEKDAY_WEDNESDAY;
    case absl::Weekday::thursday:
      return v1::WEEKDAY_THURSDAY;
    case absl::Weekday::friday:
      return v1::WEEKDAY_FRIDAY;
    case absl::Weekday::saturday:
      return v1::WEEKDAY_SATURDAY;
    case absl::Weekday::sunday:
      return v1::WEEKDAY_SUNDAY;
  }
  return v1::WEEKDAY_UNSPECIFIED;
}

bool OnDay(const v1::SafeWindow& w, v1::Weekday day) {
  return std::find(w.days().begin(), w.days().end(), day) != w.days().end();
}

// Whether the channel could ever be safe, whatever the time.
bool ChannelAllowed(const v1::ContactRules& rules, v1::ContactChannel channel) {
  if (rules.never_contact()) return false;
  if (channel == v1::CONTACT_CHANNEL_LETTER) {
    return rules.letter_safe() && rules.has_safe_address();
  }
  return IsSafeChannel(rules, channel);
}

std::string Hhmm(int minute) {
  return absl::StrFormat("%02d:%02d", minute / 60, minute % 60);
}

}  // namespace

bool InSafeWindow(const v1::ContactRules& rules, absl::Time t,
                  const absl::TimeZone& zone) {
  if (rules.safe_windows().empty()) return true;
  const absl::CivilSecond local = absl::ToCivilSecond(t, zone);
  const v1::Weekday day = WeekdayOf(absl::CivilDay(local));
  const int minute = local.hour() * 60 + local.minute();
  for (const v1::SafeWindow& w : rules.safe_windows()) {
    if (OnDay(w, day) && minute >= w.start_minute() &&
        minute < w.end_minute()) {
      return true;
    }
  }
  return false;
}

std::vector<std::string> Breaches(const v1::ContactRules& rules,
                                  const Contact& contact,
                                  const absl::TimeZone& zone) {
  std::vector<std::string> out;
  if (!rules.recorded()) return out;
  if (rules.never_contact()) {
    out.push_back(kNeverContact);
    return out;
  }
  if (contact.channel == v1::CONTACT_CHANNEL_LETTER) {
    if (!rules.letter_safe()) out.push_back(kLetterNotSafe);
    if (!rules.has_safe_address()) out.push_back(kNoSafeAddress);
    return out;
  }
  if (rules.safe_channels().empty()) {
    out.push_back(kNoSafeChannel);
  } else if (!IsSafeChannel(rules, contact.channel)) {
    out.push_back(kChannelNotSafe);
  }
  if (!InSafeWindow(rules, contact.at, zone)) out.push_back(kOutsideSafeTimes);
  if (contact.voicemail_left && !rules.voicemail_safe()) {
    out.push_back(kVoicemailNotSafe);
  }
  return out;
}

std::optional<absl::Time> NextSafeTime(const v1::ContactRules& rules,
                                       v1::ContactChannel channel,
                                       absl::Time from,
                                       const absl::TimeZone& zone) {
  if (!rules.recorded()) return from;
  if (!ChannelAllowed(rules, channel)) return std::nullopt;
  if (channel == v1::CONTACT_CHANNEL_LETTER) return from;
  if (InSafeWindow(rules, from, zone)) return from;
  // The earliest window start after `from`, day by day in local time (a
  // start skipped by the spring clock change resolves forward).
  const absl::CivilDay today(absl::ToCivilSecond(from, zone));
  std::optional<absl::Time> best;
  for (int d = 0; d <= 8 && !best; ++d) {
    const absl::CivilDay day = today + d;
    for (const v1::SafeWindow& w : rules.safe_windows()) {
      if (!OnDay(w, WeekdayOf(day))) continue;
      const absl::CivilSecond start =
          absl::CivilSecond(day) + w.start_minute() * 60;
      const absl::Time t = absl::FromCivil(start, zone);
      if (t < from) continue;
      // A start skipped by the spring clock change resolves forward, perhaps
      // past the window's end.
      if (!InSafeWindow(rules, t, zone)) continue;
      if (!best || t < *best) best = t;
    }
  }
  return best;
}

bool WorksWithVictim(v1::ServiceKind service) {
  switch (service) {
    case v1::SERVICE_KIND_SARC:
    case v1::SERVICE_KIND_STALKING_CLINIC:
    case v1::SERVICE_KIND_CHILDREN_SAFEGUARDING:
    case v1::SERVICE_KIND_MODERN_SLAVERY:
      return true;
    default:
      return false;
  }
}

std::string DescribeWindows(const v1::ContactRules& rules) {
  static constexpr const char* kDay[] = {"",    "Mon", "Tue", "Wed",
                                         "Thu", "Fri", "Sat", "Sun"};
  std::vector<std::string> parts;
  for (const v1::SafeWindow& w : rules.safe_windows()) {
    std::vector<std::string> days;
    for (int d : w.days()) {
      if (d >= 1 && d <= 7) days.push_back(kDay[d]);
    }
    parts.push_back(absl::StrCat(absl::StrJoin(days, ","), " ",
                                 Hhmm(w.start_minute()), "-",
                                 Hhmm(w.end_minute())));
  }
  return parts.empty() ? "any time" : absl::StrJoin(parts, "; ");
}

}  // namespace signpost::safety
