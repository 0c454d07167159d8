#include "services/intake/victim_notices.h"

#include <algorithm>

#include "common/safety/contact_rules.h"

namespace signpost::intake {

std::string NoticeKindName(NoticeKind kind) {
  switch (kind) {
    case NoticeKind::kReferralReceived:
      return "REFERRAL_RECEIVED";
    case NoticeKind::kServiceToContact:
      return "SERVICE_TO_CONTACT";
    case NoticeKind::kAdvocateAssigned:
      return "ADVOCATE_ASSIGNED";
  }
  return "";
}

std::optional<NoticeKind> ParseNoticeKind(const std::string& name) {
  for (NoticeKind k :
       {NoticeKind::kReferralReceived, NoticeKind::kServiceToContact,
        NoticeKind::kAdvocateAssigned}) {
    if (NoticeKindName(k) == name) return k;
  }
  return std::nullopt;
}

std::string NoticeText(NoticeKind kind) {
  switch (kind) {
    case NoticeKind::kReferralReceived:
      return "Hello. Your request has been received and someone will be in "
             "touch. You do not need to reply.";
    case NoticeKind::kServiceToContact:
      return "Hello. Someone has been asked to get in touch with you about "
             "your request, at a time you said suits you.";
    case NoticeKind::kAdvocateAssigned:
      return "Hello. A named person will now be your contact about your "
             "request. They will get in touch at a time you said suits you.";
  }
  return "";
}

NoticePlan PlanNotice(const v1::ContactRules& rules, const NoticeReach& reach,
                      absl::Time now, const absl::TimeZone& zone) {
  NoticePlan plan;
  if (!rules.recorded()) {
    plan.suppressed = kSuppressNoRules;
    return plan;
  }
  if (rules.never_contact()) {
    plan.suppressed = kSuppressNeverContact;
    return plan;
  }
  bool any_safe = false, any_detail = false;
  for (v1::ContactChannel channel :
       {v1::CONTACT_CHANNEL_SMS, v1::CONTACT_CHANNEL_EMAIL,
        v1::CONTACT_CHANNEL_LETTER}) {
    const std::optional<absl::Time> at =
        safety::NextSafeTime(rules, channel, now, zone);
    if (!at) continue;
    any_safe = true;
    const bool detail = channel == v1::CONTACT_CHANNEL_SMS ? reach.phone
                        : channel == v1::CONTACT_CHANNEL_EMAIL
                            ? reach.email
                            : reach.safe_address;
    if (!detail) continue;
    any_detail = true;
    if (reach.gateways.count(channel) == 0) continue;
    if (!plan.channel || *at < plan.send_at) {
      plan.channel = channel;
      plan.send_at = *at;
    }
  }
  if (!plan.channel) {
    plan.suppressed = !any_safe     ? kSuppressNoSafeChannel
                      : !any_detail ? kSuppressNoDetail
                                    : kSuppressNoGateway;
  }
  return plan;
}

}  // namespace signpost::intake
