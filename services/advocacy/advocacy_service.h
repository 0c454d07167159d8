// gRPC adapter for AdvocacyService: decodes each request, checks every field
// (validation.h, directory.h), converts ids to their strong types, calls
// AdvocacyApp and encodes the answer; after a change it wakes the outbox
// relay. No SQL and no rules here. The caller is the agency the gate
// authenticated from its client certificate (never a header). Thread-safe.
#pragma once

#include <functional>
#include <utility>

#include "common/grpc/decoding.h"
#include "common/grpc/gate.h"
#include "services/advocacy/advocacy_app.h"
#include "signpost/v1/advocacy.grpc.pb.h"

namespace signpost::advocacy {

class AdvocacyServiceImpl final : public v1::AdvocacyService::CallbackService {
 public:
  // `wake_relay` is called after a change that appended events (in the
  // binary: OutboxRelay::Notify).
  AdvocacyServiceImpl(AdvocacyApp& app, std::function<void()> wake_relay,
                      grpcutil::Gate& gate)
      : app_(app), wake_relay_(std::move(wake_relay)), gate_(gate) {
    // Undecodable request bytes get INVALID_ARGUMENT (decoding.h).
    grpcutil::RefuseUndecodable(this, v1::AdvocacyService::service_full_name(),
                                "UpsertProvider",
                                &AdvocacyServiceImpl::UpsertProvider);
    grpcutil::RefuseUndecodable(this, v1::AdvocacyService::service_full_name(),
                                "GetProvider",
                                &AdvocacyServiceImpl::GetProvider);
    grpcutil::RefuseUndecodable(this, v1::AdvocacyService::service_full_name(),
                                "UpsertAdvocate",
                                &AdvocacyServiceImpl::UpsertAdvocate);
    grpcutil::RefuseUndecodable(this, v1::AdvocacyService::service_full_name(),
                                "SetAvailability",
                                &AdvocacyServiceImpl::SetAvailability);
    grpcutil::RefuseUndecodable(this, v1::AdvocacyService::service_full_name(),
                                "ImportDirectory",
                                &AdvocacyServiceImpl::ImportDirectory);
    grpcutil::RefuseUndecodable(this, v1::AdvocacyService::service_full_name(),
                                "ListAdvocates",
                                &AdvocacyServiceImpl::ListAdvocates);
    grpcutil::RefuseUndecodable(this, v1::AdvocacyService::service_full_name(),
                                "GetReferralAssignments",
                                &AdvocacyServiceImpl::GetReferralAssignments);
    grpcutil::RefuseUndecodable(this, v1::AdvocacyService::service_full_name(),
                                "GetWorklist",
                                &AdvocacyServiceImpl::GetWorklist);
    grpcutil::RefuseUndecodable(this, v1::AdvocacyService::service_full_name(),
                                "AcceptAssignment",
                                &AdvocacyServiceImpl::AcceptAssignment);
    grpcutil::RefuseUndecodable(this, v1::AdvocacyService::service_full_name(),
                                "DeclineAssignment",
                                &AdvocacyServiceImpl::DeclineAssignment);
    grpcutil::RefuseUndecodable(this, v1::AdvocacyService::service_full_name(),
                                "RecordContact",
                                &AdvocacyServiceImpl::RecordContact);
    grpcutil::RefuseUndecodable(this, v1::AdvocacyService::service_full_name(),
                                "RecordUpdate",
                                &AdvocacyServiceImpl::RecordUpdate);
    grpcutil::RefuseUndecodable(this, v1::AdvocacyService::service_full_name(),
                                "CloseCase", &AdvocacyServiceImpl::CloseCase);
    grpcutil::RefuseUndecodable(this, v1::AdvocacyService::service_full_name(),
                                "CheckCapacity",
                                &AdvocacyServiceImpl::CheckCapacity);
  }

  grpc::ServerUnaryReactor* UpsertProvider(
      grpc::CallbackServerContext* context,
      const v1::UpsertProviderRequest* request,
      v1::UpsertProviderResponse* response) override;
  grpc::ServerUnaryReactor* GetProvider(
      grpc::CallbackServerContext* context,
      const v1::GetProviderRequest* request,
      v1::GetProviderResponse* response) override;
  grpc::ServerUnaryReactor* UpsertAdvocate(
      grpc::CallbackServerContext* context,
      const v1::UpsertAdvocateRequest* request,
      v1::UpsertAdvocateResponse* response) override;
  grpc::ServerUnaryReactor* SetAvailability(
      grpc::CallbackServerContext* context,
      const v1::SetAvailabilityRequest* request,
      v1::SetAvailabilityResponse* response) override;
  grpc::ServerUnaryReactor* ImportDirectory(
      grpc::CallbackServerContext* context,
      const v1::ImportDirectoryRequest* request,
      v1::ImportDirectoryResponse* response) override;
  grpc::ServerUnaryReactor* ListAdvocates(
      grpc::CallbackServerContext* context,
      const v1::ListAdvocatesRequest* request,
      v1::ListAdvocatesResponse* response) override;
  grpc::ServerUnaryReactor* GetReferralAssignments(
      grpc::CallbackServerContext* context,
      const v1::GetReferralAssignmentsRequest* request,
      v1::GetReferralAssignmentsResponse* response) override;
  grpc::ServerUnaryReactor* GetWorklist(
      grpc::CallbackServerContext* context,
      const v1::GetWorklistRequest* request,
      v1::GetWorklistResponse* response) override;
  grpc::ServerUnaryReactor* AcceptAssignment(
      grpc::CallbackServerContext* context,
      const v1::AcceptAssignmentRequest* request,
      v1::AcceptAssignmentResponse* response) override;
  grpc::ServerUnaryReactor* DeclineAssignment(
      grpc::CallbackServerContext* context,
      const v1::DeclineAssignmentRequest* request,
      v1::DeclineAssignmentResponse* response) override;
  grpc::ServerUnaryReactor* RecordContact(
      grpc::CallbackServerContext* context,
      const v1::RecordContactRequest* request,
      v1::RecordContactResponse* response) override;
  grpc::ServerUnaryReactor* RecordUpdate(
      grpc::CallbackServerContext* context,
      const v1::RecordUpdateRequest* request,
      v1::RecordUpdateResponse* response) override;
  grpc::ServerUnaryReactor* CloseCase(grpc::CallbackServerContext* context,
                                      const v1::CloseCaseRequest* request,
                                      v1::CloseCaseResponse* response) override;
  grpc::ServerUnaryReactor* CheckCapacity(
      grpc::CallbackServerContext* context,
      const v1::CheckCapacityRequest* request,
      v1::CheckCapacityResponse* response) override;

 private:
  AdvocacyApp& app_;
  std::function<void()> wake_relay_;
  grpcutil::Gate& gate_;
};

}  // namespace signpost::advocacy
