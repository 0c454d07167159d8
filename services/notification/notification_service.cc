#include "services/notification/notification_service.h"

#include <optional>
#include <string>
#include <utility>

#include "common/errors/errors.h"
#include "common/ids/ids.h"
#include "common/paging/page.h"
#include "common/status/macros.h"

namespace signpost::notification {
namespace {

errors::FieldErrors Validate(const v1::ListDeliveriesRequest& request) {
  errors::FieldErrors errors;
  if (!request.referral_id().empty() && !IsUuid(request.referral_id())) {
    errors.Add("referral_id", "must be a referral id (UUID) or empty");
  }
  return errors;
}

}  // namespace

grpc::ServerUnaryReactor* NotificationServiceImpl::ListDeliveries(
    grpc::CallbackServerContext* context,
    const v1::ListDeliveriesRequest* request,
    v1::ListDeliveriesResponse* response) {
  return gate_.Run(
      context, "/signpost.v1.NotificationService/ListDeliveries",
      [=, this](const access::Principal& caller) -> absl::Status {
        const paging::Listing& listing = request->referral_id().empty()
                                             ? kRecentDeliveriesListing
                                             : kReferralDeliveriesListing;
        const std::string scope = paging::Scope({request->referral_id()});
        ASSIGN_OR_RETURN(paging::PageRequest page,
                         paging::CheckPageRequest(listing, scope, *request,
                                                  Validate(*request)));
        std::optional<ReferralId> referral_id;
        if (!request->referral_id().empty()) {
          referral_id.emplace(request->referral_id());
        }
        ASSIGN_OR_RETURN(DeliveryList list,
                         app_.ListDeliveries(caller, referral_id, page));
        for (v1::Delivery& d : list.deliveries) {
          *response->add_deliveries() = std::move(d);
        }
        response->set_events_processed(list.events_processed);
        response->set_next_page_token(
            paging::NextPageToken(listing, scope, list.next));
        return absl::OkStatus();
      });
}

}  // namespace signpost::notification
