#include "common/service/outbox_service.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/grpc/decoding.h"
#include "common/log/log.h"
#include "common/status/macros.h"
#include "common/time/timestamps.h"

namespace signpost::service {

namespace {
constexpr int kMaxTypes = 50;
}  // namespace

errors::FieldErrors ValidateReplay(const v1::ReplayOutboxRequest& request,
                                   store::ReplaySelection& selection) {
  errors::FieldErrors e;
  const bool by_referral = !request.referral_id().empty();
  const bool by_range = request.has_from() || request.has_to();
  if (by_referral && by_range) {
    e.Add("referral_id",
          "give either a referral_id or a range (from and to), not both");
  } else if (!by_referral && !by_range) {
    for (const char* field : {"referral_id", "from", "to"}) {
      e.Add(field, "give either a referral_id or a range (from and to)");
    }
  }
  if (request.referral_id().size() > 64) {
    e.Add("referral_id", "must be at most 64 characters");
  }
  if (by_range) {
    if (!request.has_from()) e.Add("from", "is required with to");
    if (!request.has_to()) e.Add("to", "is required with from");
    if (request.has_from() && request.has_to()) {
      const absl::Time from = timeutil::FromTimestamp(request.from());
      const absl::Time to = timeutil::FromTimestamp(request.to());
      if (to <= from) e.Add("to", "must be after from");
      selection.from = from;
      selection.to = to;
    }
  }
  if (request.types_size() > kMaxTypes) {
    e.Add("types", absl::StrCat("at most ", kMaxTypes, " types"));
  }
  for (int i = 0; i < request.types_size() && i < kMaxTypes; ++i) {
    const std::string& t = request.types(i);
    if (!absl::StartsWith(t, "signpost.v1.") || t.size() > 128) {
      e.Add(absl::StrCat("types[", i, "]"),
            "must be an event type, e.g. signpost.v1.ReferralReceived");
    }
    selection.types.push_back(t);
  }
  selection.referral_id = request.referral_id();
  return e;
}

OutboxServiceImpl::OutboxServiceImpl(std::string producer, store::Database& db,
                                     std::string guard,
                                     std::function<void()> wake_relay,
                                     grpcutil::Gate& gate)
    : producer_(std::move(producer)),
      db_(db),
      guard_(std::move(guard)),
      wake_relay_(std::move(wake_relay)),
      gate_(gate) {
  grpcutil::RefuseUndecodable(this, v1::OutboxService::service_full_name(),
                              "ReplayOutbox", &OutboxServiceImpl::ReplayOutbox);
}

grpc::ServerUnaryReactor* OutboxServiceImpl::ReplayOutbox(
    grpc::CallbackServerContext* context,
    const v1::ReplayOutboxRequest* request,
    v1::ReplayOutboxResponse* response) {
  return gate_.Run(
      context, "/signpost.v1.OutboxService/ReplayOutbox",
      [=, this](const access::Principal& caller) -> absl::Status {
        store::ReplaySelection selection;
        RETURN_IF_ERROR(ValidateReplay(*request, selection).ToStatus());
        selection.guard = guard_;
        ASSIGN_OR_RETURN(int replayed,
                         db_.Write([&](store::Tx& tx) -> absl::StatusOr<int> {
                           return store::RequeueSentEvents(tx, selection,
                                                           request->dry_run());
                         }));
        if (!request->dry_run() && replayed > 0) wake_relay_();
        // Ids and counts only.
        log::Info("outbox replay", {{"agency_id", caller.agency_id().value()},
                                    {"referral_id", selection.referral_id},
                                    {"replayed", replayed},
                                    {"dry_run", request->dry_run()}});
        response->set_producer(producer_);
        response->set_replayed(replayed);
        return absl::OkStatus();
      });
}

}  // namespace signpost::service
