#include "services/notification/notification_service.h"

#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/errors/errors.h"
#include "common/grpc/status.h"
#include "common/ids/ids.h"
#include "common/log/log.h"
#include "common/paging/page.h"
#include "common/status/macros.h"
#include "common/time/timestamps.h"

namespace signpost::notification {
namespace {

constexpr char kSubscribe[] = "/signpost.v1.NotificationService/Subscribe";

void CheckReferralId(const std::string& id, errors::FieldErrors& errors) {
  if (!id.empty() && !IsUuid(id)) {
    errors.Add("referral_id", "must be a referral id (UUID) or empty");
  }
}

void CheckTransport(v1::Transport transport, errors::FieldErrors& errors) {
  if (!v1::Transport_IsValid(transport)) {
    errors.Add("transport", "must be a Transport value");
  }
}

void CheckTimes(const google::protobuf::Timestamp& since,
                const google::protobuf::Timestamp& until, bool has_since,
                bool has_until, errors::FieldErrors& errors) {
  if (has_since && has_until &&
      timeutil::FromTimestamp(since) >= timeutil::FromTimestamp(until)) {
    errors.Add("until", "must be after since");
  }
}

errors::FieldErrors Validate(const v1::ListDeliveriesRequest& request) {
  errors::FieldErrors errors;
  CheckReferralId(request.referral_id(), errors);
  if (!v1::DeliveryStatus_IsValid(request.status())) {
    errors.Add("status", "must be a DeliveryStatus value");
  }
  CheckTransport(request.transport(), errors);
  CheckTimes(request.since(), request.until(), request.has_since(),
             request.has_until(), errors);
  if (!request.agency_id().empty() &&
      !access::IsAgencyId(request.agency_id())) {
    errors.Add("agency_id", "must be an agency id or empty");
  }
  return errors;
}

errors::FieldErrors Validate(const v1::ReplayDeliveriesRequest& request) {
  errors::FieldErrors errors;
  CheckReferralId(request.referral_id(), errors);
  CheckTransport(request.transport(), errors);
  if (request.transport() == v1::TRANSPORT_GRPC_STREAM) {
    errors.Add("transport",
               "a stream reader resumes from its cursor: replay KAFKA or "
               "WEBHOOK");
  }
  CheckTimes(request.since(), request.until(), request.has_since(),
             request.has_until(), errors);
  if (!request.agency_id().empty() &&
      !access::IsAgencyId(request.agency_id())) {
    errors.Add("agency_id", "must be an agency id or empty");
  }
  return errors;
}

std::optional<absl::Time> TimeOf(bool has,
                                 const google::protobuf::Timestamp& t) {
  if (!has) return std::nullopt;
  return timeutil::FromTimestamp(t);
}

}  // namespace

// One Subscribe call: a thread reads a page of the agency's feed after the
// cursor, writes the events one at a time (the next write starts only when
// the last is done, so a slow reader holds one page), acknowledges what was
// written, and waits for new events when the feed is drained, until the
// client cancels or the server shuts down.
class SubscribeStream : public grpc::ServerWriteReactor<v1::SubscribeResponse> {
 public:
  SubscribeStream(NotificationServiceImpl& service, AgencyId agency,
                  int64_t after, absl::Time started, std::string traceparent)
      : service_(service),
        agency_(std::move(agency)),
        cursor_(after),
        acknowledged_(0),
        started_(started),
        traceparent_(std::move(traceparent)) {
    thread_ = std::thread([this] { Run(); });
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    write_ok_ = ok;
    writing_ = false;
  }
  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
  }
  void OnDone() override {
    if (thread_.get_id() == std::this_thread::get_id()) {
      thread_.detach();
    } else {
      thread_.join();
    }
    --service_.open_streams_;
    delete this;
  }

 private:
  bool Cancelled() {
    absl::MutexLock lock(&mu_);
    return cancelled_;
  }

  // Writes `event` and waits until it is written; false when the call ended.
  bool WriteOne(const v1::PartnerEvent& event) {
    {
      absl::MutexLock lock(&mu_);
      writing_ = true;
    }
    // Outlives the write: this waits below until it is done.
    v1::SubscribeResponse response;
    *response.mutable_event() = event;
    StartWrite(&response);
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](SubscribeStream* s)
             ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) { return !s->writing_; },
        this));
    return write_ok_;
  }

  void Acknowledge(int64_t up_to) {
    if (up_to <= acknowledged_) return;
    absl::StatusOr<int> done =
        service_.app_.AcknowledgeStream(agency_, acknowledged_, up_to);
    if (!done.ok()) {
      log::Error("subscribe: acknowledging failed",
                 {{"agency_id", agency_.value()},
                  {"error", std::string(done.status().message())}});
      return;
    }
    acknowledged_ = up_to;
  }

  void Run() {
    absl::Status status;
    bool closed = false;
    while (!Cancelled()) {
      // Read before the page, so that an event added after the read wakes
      // the wait below.
      const int64_t version = service_.app_.FeedVersion();
      absl::StatusOr<std::vector<v1::PartnerEvent>> page =
          service_.app_.ReadFeed(agency_, cursor_,
                                 service_.options_.stream_page);
      if (!page.ok()) {
        status = page.status();
        break;
      }
      if (page->empty()) {
        Acknowledge(cursor_);
        service_.app_.WaitForFeed(version, service_.options_.stream_poll);
        continue;
      }
      bool open = true;
      for (const v1::PartnerEvent& event : *page) {
        if (Cancelled() || !WriteOne(event)) {
          open = false;
          break;
        }
        cursor_ = event.sequence();
      }
      Acknowledge(cursor_);
      if (!open) {
        closed = true;
        break;
      }
    }
    // A write that failed (the client went away, or the server is
    // stopping) ends the stream as cancelled, not as a success.
    if (status.ok() && (closed || Cancelled())) {
      status = absl::CancelledError("the stream was closed");
    }
    service_.gate_.ObserveStream(
        {kSubscribe, grpcutil::AnsweredCodeName(status), absl::Now() - started_,
         agency_.value(), traceparent_});
    Finish(grpcutil::ToGrpcStatus(status));
  }

  NotificationServiceImpl& service_;
  const AgencyId agency_;
  int64_t cursor_;
  // Acknowledged up to here. It starts at 0: the client's cursor confirms
  // it received everything up to it (an earlier stream may have written
  // those events and stopped before acknowledging them).
  int64_t acknowledged_;
  absl::Mutex mu_;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool write_ok_ ABSL_GUARDED_BY(mu_) = true;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  const absl::Time started_;
  const std::string traceparent_;
  std::thread thread_;
};

// Answers a refused or invalid Subscribe at once.
class RefusedStream : public grpc::ServerWriteReactor<v1::SubscribeResponse> {
 public:
  explicit RefusedStream(const absl::Status& status) {
    Finish(grpcutil::ToGrpcStatus(status));
  }
  void OnDone() override { delete this; }
};

grpc::ServerWriteReactor<v1::SubscribeResponse>*
NotificationServiceImpl::Subscribe(grpc::CallbackServerContext* context,
                                   const v1::SubscribeRequest* request) {
  // Set while this thread sets up a call whose bytes did not decode.
  const std::optional<std::string> undecodable = grpcutil::UndecodableRequest();
  const absl::Time started = absl::Now();
  std::string traceparent = grpcutil::TraceparentOf(context);
  std::string agency;
  absl::StatusOr<access::Principal> caller =
      gate_.AdmitStream(*context, kSubscribe, &agency);
  // Counted and logged like a unary call that was refused.
  auto refuse = [&](const absl::Status& status) {
    gate_.ObserveStream({kSubscribe, grpcutil::AnsweredCodeName(status),
                         absl::Now() - started, agency, traceparent});
    return new RefusedStream(status);
  };
  if (!caller.ok()) return refuse(caller.status());
  if (undecodable.has_value()) {
    return refuse(absl::InvalidArgumentError(
        absl::StrCat("the request bytes do not decode as ", *undecodable)));
  }
  if (request->after_sequence() < 0) {
    return refuse(errors::FieldError(
        "after_sequence", "must be 0 or the sequence of an event received"));
  }
  if (++open_streams_ > options_.max_streams) {
    --open_streams_;
    return refuse(absl::ResourceExhaustedError(
        "too many Subscribe streams are open; retry later"));
  }
  return new SubscribeStream(*this, caller->agency_id(),
                             request->after_sequence(), started,
                             std::move(traceparent));
}

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
        const std::string scope = paging::Scope(
            {request->referral_id(), request->agency_id(),
             absl::StrCat(request->status()),
             absl::StrCat(request->transport()),
             request->has_since() ? request->since().DebugString() : "",
             request->has_until() ? request->until().DebugString() : ""});
        ASSIGN_OR_RETURN(paging::PageRequest page,
                         paging::CheckPageRequest(listing, scope, *request,
                                                  Validate(*request)));
        DeliveryFilter filter;
        if (!request->referral_id().empty()) {
          filter.referral_id.emplace(request->referral_id());
        }
        if (!request->agency_id().empty()) {
          filter.agency.emplace(request->agency_id());
        }
        filter.status = request->status();
        filter.transport = request->transport();
        filter.since = TimeOf(request->has_since(), request->since());
        filter.until = TimeOf(request->has_until(), request->until());
        ASSIGN_OR_RETURN(DeliveryList list,
                         app_.ListDeliveries(caller, filter, page));
        for (v1::Delivery& d : list.deliveries) {
          *response->add_deliveries() = std::move(d);
        }
        response->set_events_processed(list.events_processed);
        response->set_next_page_token(
            paging::NextPageToken(listing, scope, list.next));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* NotificationServiceImpl::ReplayDeliveries(
    grpc::CallbackServerContext* context,
    const v1::ReplayDeliveriesRequest* request,
    v1::ReplayDeliveriesResponse* response) {
  return gate_.Run(
      context, "/signpost.v1.NotificationService/ReplayDeliveries",
      [=, this](const access::Principal& caller) -> absl::Status {
        errors::FieldErrors errors = Validate(*request);
        if (!errors.empty()) return errors.ToStatus();
        ReplayFilter filter;
        filter.agency = AgencyId(request->agency_id());
        if (!request->referral_id().empty()) {
          filter.referral_id.emplace(request->referral_id());
        }
        filter.since = TimeOf(request->has_since(), request->since());
        filter.until = TimeOf(request->has_until(), request->until());
        filter.transport = request->transport();
        filter.include_delivered = request->include_delivered();
        ASSIGN_OR_RETURN(int requeued, app_.Replay(caller, filter));
        response->set_requeued(requeued);
        return absl::OkStatus();
      });
}

}  // namespace signpost::notification
