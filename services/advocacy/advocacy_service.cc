#include "services/advocacy/advocacy_service.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc/status.h"
#include "common/ids/ids.h"
#include "common/log/log.h"
#include "services/advocacy/directory.h"

namespace signpost::advocacy {
namespace {

void CheckUuid(grpcutil::FieldErrors& e, const char* field,
               const std::string& v) {
  if (!IsUuid(v)) e.Add(field, "must be an id (UUID)");
}

void CheckAdvocateId(grpcutil::FieldErrors& e, const std::string& v) {
  if (v.empty() || v.size() > 64)
    e.Add("advocate_id", "is required (1-64 characters)");
}

std::string CallerOrg(const grpc::CallbackServerContext* context) {
  auto it = context->client_metadata().find("x-signpost-org");
  if (it == context->client_metadata().end()) return "";
  return std::string(it->second.data(), it->second.size());
}

}  // namespace

grpc::ServerUnaryReactor* AdvocacyServiceImpl::UpsertProvider(
    grpc::CallbackServerContext* context, const v1::Provider* request,
    v1::Provider* response) {
  return grpcutil::RunUnary(context, executor_, [=, this]() -> absl::Status {
    v1::Directory d;
    *d.add_providers() = *request;
    grpcutil::FieldErrors errors = ValidateDirectory(d);
    if (!errors.empty()) return errors.ToStatus();
    absl::StatusOr<v1::Provider> p = store_.UpsertProvider(*request);
    if (!p.ok()) return p.status();
    *response = std::move(*p);
    response->clear_address_redacted();
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdvocacyServiceImpl::GetProvider(
    grpc::CallbackServerContext* context, const v1::GetProviderRequest* request,
    v1::Provider* response) {
  std::string caller = CallerOrg(context);
  return grpcutil::RunUnary(context, executor_, [=, this]() -> absl::Status {
    if (request->provider_id().empty()) {
      grpcutil::FieldErrors e;
      e.Add("provider_id", "is required");
      return e.ToStatus();
    }
    absl::StatusOr<v1::Provider> p =
        store_.GetProvider(request->provider_id(), caller);
    if (!p.ok()) return p.status();
    *response = std::move(*p);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdvocacyServiceImpl::UpsertAdvocate(
    grpc::CallbackServerContext* context, const v1::Advocate* request,
    v1::Advocate* response) {
  std::string traceparent = grpcutil::TraceparentOf(context);
  return grpcutil::RunUnary(context, executor_, [=, this]() -> absl::Status {
    grpcutil::FieldErrors errors;
    ValidateAdvocate(*request, "advocate", errors);
    if (!errors.empty()) return errors.ToStatus();
    absl::StatusOr<v1::Advocate> a =
        store_.UpsertAdvocate(*request, absl::Now(), traceparent);
    if (!a.ok()) return a.status();
    relay_.Notify();
    *response = std::move(*a);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdvocacyServiceImpl::SetAvailability(
    grpc::CallbackServerContext* context,
    const v1::SetAvailabilityRequest* request, v1::Advocate* response) {
  std::string traceparent = grpcutil::TraceparentOf(context);
  return grpcutil::RunUnary(context, executor_, [=, this]() -> absl::Status {
    grpcutil::FieldErrors errors;
    CheckAdvocateId(errors, request->advocate_id());
    const v1::Availability& av = request->availability();
    if (av.has_available_from() && av.has_available_to() &&
        av.available_from().seconds() > av.available_to().seconds()) {
      errors.Add("availability", "available_from is after available_to");
    }
    if (!errors.empty()) return errors.ToStatus();
    absl::StatusOr<v1::Advocate> a = store_.SetAvailability(
        request->advocate_id(), av, absl::Now(), traceparent);
    if (!a.ok()) return a.status();
    relay_.Notify();
    *response = std::move(*a);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdvocacyServiceImpl::ImportDirectory(
    grpc::CallbackServerContext* context, const v1::Directory* request,
    v1::ImportDirectoryResponse* response) {
  std::string traceparent = grpcutil::TraceparentOf(context);
  return grpcutil::RunUnary(context, executor_, [=, this]() -> absl::Status {
    grpcutil::FieldErrors errors = ValidateDirectory(*request);
    if (!errors.empty()) return errors.ToStatus();
    absl::StatusOr<v1::ImportDirectoryResponse> r =
        store_.ImportDirectory(*request, absl::Now(), traceparent);
    if (!r.ok()) return r.status();
    relay_.Notify();
    log::Info("directory imported",
              {{"providers", absl::StrCat(r->providers())},
               {"advocates", absl::StrCat(r->advocates())},
               {"waitlist_assigned", absl::StrCat(r->waitlist_assigned())}});
    *response = std::move(*r);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdvocacyServiceImpl::ListAdvocates(
    grpc::CallbackServerContext* context,
    const v1::ListAdvocatesRequest* request,
    v1::ListAdvocatesResponse* response) {
  return grpcutil::RunUnary(context, executor_, [=, this]() -> absl::Status {
    if (!v1::AdvocateRole_IsValid(request->role())) {
      grpcutil::FieldErrors e;
      e.Add("role", "unknown role");
      return e.ToStatus();
    }
    absl::StatusOr<std::vector<v1::Advocate>> all =
        store_.ListAdvocates(request->role(), request->provider_id());
    if (!all.ok()) return all.status();
    for (v1::Advocate& a : *all) *response->add_advocates() = std::move(a);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdvocacyServiceImpl::GetReferralAssignments(
    grpc::CallbackServerContext* context,
    const v1::GetReferralAssignmentsRequest* request,
    v1::GetReferralAssignmentsResponse* response) {
  return grpcutil::RunUnary(context, executor_, [=, this]() -> absl::Status {
    grpcutil::FieldErrors e;
    CheckUuid(e, "referral_id", request->referral_id());
    if (!e.empty()) return e.ToStatus();
    absl::StatusOr<v1::GetReferralAssignmentsResponse> found =
        store_.GetReferralAssignments(request->referral_id());
    if (!found.ok()) return found.status();
    *response = std::move(*found);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdvocacyServiceImpl::GetWorklist(
    grpc::CallbackServerContext* context, const v1::GetWorklistRequest* request,
    v1::GetWorklistResponse* response) {
  return grpcutil::RunUnary(context, executor_, [=, this]() -> absl::Status {
    grpcutil::FieldErrors e;
    CheckAdvocateId(e, request->advocate_id());
    if (!e.empty()) return e.ToStatus();
    absl::StatusOr<std::vector<v1::Assignment>> list =
        store_.GetWorklist(request->advocate_id());
    if (!list.ok()) return list.status();
    for (v1::Assignment& a : *list) *response->add_assignments() = std::move(a);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdvocacyServiceImpl::AcceptAssignment(
    grpc::CallbackServerContext* context,
    const v1::AcceptAssignmentRequest* request, v1::Assignment* response) {
  return grpcutil::RunMutation(
      context, executor_, [this] { relay_.Notify(); }, response,
      [request] {
        grpcutil::FieldErrors e;
        CheckUuid(e, "assignment_id", request->assignment_id());
        CheckAdvocateId(e, request->advocate_id());
        return e;
      },
      [this, request](const std::string& traceparent) {
        return store_.Accept(*request, absl::Now(), traceparent);
      });
}

grpc::ServerUnaryReactor* AdvocacyServiceImpl::DeclineAssignment(
    grpc::CallbackServerContext* context,
    const v1::DeclineAssignmentRequest* request, v1::Assignment* response) {
  return grpcutil::RunMutation(
      context, executor_, [this] { relay_.Notify(); }, response,
      [request] {
        grpcutil::FieldErrors e;
        CheckUuid(e, "assignment_id", request->assignment_id());
        CheckAdvocateId(e, request->advocate_id());
        if (!v1::DeclineReason_IsValid(request->reason()) ||
            request->reason() == v1::DECLINE_REASON_UNSPECIFIED) {
          e.Add("reason", "is required (a DeclineReason)");
        }
        if (request->note().size() > 2000)
          e.Add("note", "must be at most 2000 characters");
        return e;
      },
      [this, request](const std::string& traceparent) {
        return store_.Decline(*request, absl::Now(), traceparent);
      });
}

grpc::ServerUnaryReactor* AdvocacyServiceImpl::RecordContact(
    grpc::CallbackServerContext* context,
    const v1::RecordContactRequest* request, v1::Assignment* response) {
  return grpcutil::RunMutation(
      context, executor_, [this] { relay_.Notify(); }, response,
      [request] {
        grpcutil::FieldErrors e;
        CheckUuid(e, "assignment_id", request->assignment_id());
        CheckAdvocateId(e, request->advocate_id());
        if (!v1::ContactOutcome_IsValid(request->outcome()) ||
            request->outcome() == v1::CONTACT_OUTCOME_UNSPECIFIED) {
          e.Add("outcome", "is required (SUCCESSFUL, UNSAFE or NO_ANSWER)");
        }
        if (!v1::ContactChannel_IsValid(request->channel()) ||
            request->channel() == v1::CONTACT_CHANNEL_UNSPECIFIED) {
          e.Add("channel", "is required");
        }
        if (request->has_at() &&
            absl::FromUnixSeconds(request->at().seconds()) >
                absl::Now() + absl::Minutes(5)) {
          e.Add("at", "must not be in the future");
        }
        return e;
      },
      [this, request](const std::string& traceparent) {
        return store_.RecordContact(*request, absl::Now(), traceparent);
      });
}

grpc::ServerUnaryReactor* AdvocacyServiceImpl::CloseCase(
    grpc::CallbackServerContext* context, const v1::CloseCaseRequest* request,
    v1::Assignment* response) {
  return grpcutil::RunMutation(
      context, executor_, [this] { relay_.Notify(); }, response,
      [request] {
        grpcutil::FieldErrors e;
        CheckUuid(e, "assignment_id", request->assignment_id());
        CheckAdvocateId(e, request->advocate_id());
        if (!v1::ClosureReason_IsValid(request->closure_reason()) ||
            request->closure_reason() == v1::CLOSURE_REASON_UNSPECIFIED) {
          e.Add("closure_reason", "is required");
        }
        for (const auto& [field, value] :
             {std::pair<const char*, int>{"feels_safer",
                                          request->feels_safer()},
              {"copes_better", request->copes_better()},
              {"better_informed", request->better_informed()}}) {
          if (!v1::OutcomeAnswer_IsValid(value) ||
              value == v1::OUTCOME_ANSWER_UNSPECIFIED) {
            e.Add(field, "is required (YES, NO or NOT_ASKED)");
          }
        }
        return e;
      },
      [this, request](const std::string& traceparent) {
        return store_.Close(*request, absl::Now(), traceparent);
      });
}

grpc::ServerUnaryReactor* AdvocacyServiceImpl::CheckCapacity(
    grpc::CallbackServerContext* context,
    const v1::CheckCapacityRequest* request,
    v1::CheckCapacityResponse* response) {
  return grpcutil::RunUnary(context, executor_, [=, this]() -> absl::Status {
    grpcutil::FieldErrors e;
    if (!v1::Pathway_IsValid(request->pathway()) ||
        request->pathway() == v1::PATHWAY_UNSPECIFIED) {
      e.Add("pathway", "is required");
    }
    if (request->locality_code().empty()) e.Add("locality_code", "is required");
    if (!e.empty()) return e.ToStatus();
    absl::StatusOr<v1::CheckCapacityResponse> r =
        store_.CheckCapacity(*request, absl::Now());
    if (!r.ok()) return r.status();
    *response = std::move(*r);
    return absl::OkStatus();
  });
}

}  // namespace signpost::advocacy
