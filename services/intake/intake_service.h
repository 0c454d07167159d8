// gRPC adapter for IntakeService: decodes and validates each request,
// converts ids to their strong types, calls IntakeApp with the caller the
// gate authenticated and authorised, and encodes the answer. No SQL and no
// rules here. Thread-safe.
#pragma once

#include <functional>
#include <utility>

#include "common/grpc/decoding.h"
#include "common/grpc/gate.h"
#include "services/intake/intake_app.h"
#include "signpost/v1/intake.grpc.pb.h"

namespace signpost::intake {

class IntakeServiceImpl final : public v1::IntakeService::CallbackService {
 public:
  // `wake_relay` is called after a submission that appended an event (in
  // the binary: OutboxRelay::Notify).
  IntakeServiceImpl(IntakeApp& app, std::function<void()> wake_relay,
                    grpcutil::Gate& gate)
      : app_(app), wake_relay_(std::move(wake_relay)), gate_(gate) {
    // Undecodable request bytes get INVALID_ARGUMENT (decoding.h).
    grpcutil::RefuseUndecodable(this, v1::IntakeService::service_full_name(),
                                "SubmitReferral",
                                &IntakeServiceImpl::SubmitReferral);
    grpcutil::RefuseUndecodable(this, v1::IntakeService::service_full_name(),
                                "GetReferral", &IntakeServiceImpl::GetReferral);
    grpcutil::RefuseUndecodable(this, v1::IntakeService::service_full_name(),
                                "UpdateConsent",
                                &IntakeServiceImpl::UpdateConsent);
    grpcutil::RefuseUndecodable(this, v1::IntakeService::service_full_name(),
                                "CancelReferral",
                                &IntakeServiceImpl::CancelReferral);
    grpcutil::RefuseUndecodable(this, v1::IntakeService::service_full_name(),
                                "RecordRjConsent",
                                &IntakeServiceImpl::RecordRjConsent);
    grpcutil::RefuseUndecodable(this, v1::IntakeService::service_full_name(),
                                "EraseVictim", &IntakeServiceImpl::EraseVictim);
    grpcutil::RefuseUndecodable(this, v1::IntakeService::service_full_name(),
                                "ListStalled", &IntakeServiceImpl::ListStalled);
  }

  grpc::ServerUnaryReactor* SubmitReferral(
      grpc::CallbackServerContext* context,
      const v1::SubmitReferralRequest* request,
      v1::SubmitReferralResponse* response) override;
  grpc::ServerUnaryReactor* GetReferral(
      grpc::CallbackServerContext* context,
      const v1::GetReferralRequest* request,
      v1::GetReferralResponse* response) override;

  grpc::ServerUnaryReactor* UpdateConsent(
      grpc::CallbackServerContext* context,
      const v1::UpdateConsentRequest* request,
      v1::UpdateConsentResponse* response) override;
  grpc::ServerUnaryReactor* CancelReferral(
      grpc::CallbackServerContext* context,
      const v1::CancelReferralRequest* request,
      v1::CancelReferralResponse* response) override;
  grpc::ServerUnaryReactor* RecordRjConsent(
      grpc::CallbackServerContext* context,
      const v1::RecordRjConsentRequest* request,
      v1::RecordRjConsentResponse* response) override;
  grpc::ServerUnaryReactor* EraseVictim(
      grpc::CallbackServerContext* context,
      const v1::EraseVictimRequest* request,
      v1::EraseVictimResponse* response) override;
  grpc::ServerUnaryReactor* ListStalled(
      grpc::CallbackServerContext* context,
      const v1::ListStalledRequest* request,
      v1::ListStalledResponse* response) override;

 private:
  IntakeApp& app_;
  std::function<void()> wake_relay_;
  grpcutil::Gate& gate_;
};

}  // namespace signpost::intake
