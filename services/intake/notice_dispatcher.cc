#include "services/intake/notice_dispatcher.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "common/http/webhook_signature.h"
#include "common/log/log.h"
#include "common/safety/contact_rules.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace signpost::intake {
namespace {

std::string ChannelName(v1::ContactChannel channel) {
  const std::string& name = v1::ContactChannel_Name(channel);
  return name.substr(std::string("CONTACT_CHANNEL_").size());
}

// The JSON body, escaped by protobuf's JSON printer.
std::string Body(const OutgoingNotice& n) {
  google::protobuf::Struct body;
  auto& fields = *body.mutable_fields();
  fields["id"].set_string_value(n.message_id);
  fields["channel"].set_string_value(ChannelName(n.channel));
  fields["to"].set_string_value(n.to);
  fields["text"].set_string_value(n.text);
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(body, &json);
  return json;
}

}  // namespace

absl::Time NoticeDispatcher::RunOnce(absl::Time now) {
  // Woken after every commit of intake's consumer: a read decides whether
  // there is anything to plan before the write transaction is taken.
  if (absl::StatusOr<absl::Time> next = app_.NextNoticeDue();
      next.ok() && *next > now) {
    return *next;
  }
  const absl::Time started = absl::Now();
  absl::StatusOr<std::vector<OutgoingNotice>> due = app_.NextNotices(now);
  if (!due.ok()) {
    log::Error("victim notices could not be planned",
               {{"error", std::string(due.status().message())}});
    return now + absl::Seconds(30);
  }
  for (const OutgoingNotice& n : *due) {
    // Planned at `now`; sent a little later: the window may have closed
    // meanwhile. Left due, the next run holds it until the next safe time.
    const absl::Time at = now + (absl::Now() - started);
    if (!safety::Breaches(n.rules, {n.channel, at}, zone_).empty()) continue;
    auto url = gateway_.urls.find(n.channel);
    std::string error;
    if (url == gateway_.urls.end()) {
      error = "NO-GATEWAY";
    } else {
      const std::string body = Body(n);
      const http::HttpHeaders headers = http::SignedJsonHeaders(
          gateway_.secret, n.message_id, absl::Now(), body);
      absl::StatusOr<http::HttpResponse> answer =
          client_.Post(url->second, headers, body);
      if (answer.ok() && answer->status >= 200 && answer->status < 300) {
        if (absl::Status s = app_.NoticeSent(n, absl::Now()); !s.ok()) {
          log::Error("victim notice sent but not recorded",
                     {{"referral_id", n.referral_id.value()},
                      {"kind", NoticeKindName(n.kind)},
                      {"error", std::string(s.message())}});
        }
        // Ids and codes only.
        log::Info("victim notice sent", {{"referral_id", n.referral_id.value()},
                                         {"kind", NoticeKindName(n.kind)},
                                         {"channel", ChannelName(n.channel)}});
        continue;
      }
      error =
          answer.ok()
              ? absl::StrCat("HTTP-", answer->status)
              : absl::StrCat("TRANSPORT-",
                             absl::StatusCodeToString(answer.status().code()));
    }
    log::Warn("victim notice not sent", {{"referral_id", n.referral_id.value()},
                                         {"kind", NoticeKindName(n.kind)},
                                         {"channel", ChannelName(n.channel)},
                                         {"error", error}});
    if (absl::Status s = app_.NoticeFailed(n, error, absl::Now()); !s.ok()) {
      log::Error("victim notice failure not recorded",
                 {{"referral_id", n.referral_id.value()},
                  {"error", std::string(s.message())}});
    }
  }
  absl::StatusOr<absl::Time> next = app_.NextNoticeDue();
  if (!next.ok()) return now + absl::Seconds(30);
  return *next;
}

}  // namespace signpost::intake
