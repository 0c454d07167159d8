// The one gRPC adapter for ReportingService, shared by every service that
// holds figures: admits the caller through the gate (the function rule:
// commissioner, operator, auditor), checks every field of the request at
// once (figures.h: CheckFigureRequest), applies the area rule
// (RequireFiguresAccess), then asks the service's own figures use case and
// answers with the producer, the period and the suppression threshold.
// Thread-safe (the use case must be too).
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/grpc/decoding.h"
#include "common/grpc/gate.h"
#include "common/reporting/figures.h"
#include "signpost/v1/reporting.grpc.pb.h"

namespace signpost::config {
class Config;
}

namespace signpost::reporting {

// A service's figures for a checked query, from one read transaction.
using FiguresFn =
    std::function<absl::StatusOr<std::vector<v1::Figure>>(const FigureQuery&)>;

class ReportingServiceImpl final
    : public v1::ReportingService::CallbackService {
 public:
  // `producer` names the service in the answer ("advocacy"); `threshold`
  // is --figures_min_count (at least kMinSuppressionThreshold).
  ReportingServiceImpl(std::string producer, int threshold, FiguresFn figures,
                       grpcutil::Gate& gate)
      : producer_(std::move(producer)),
        threshold_(threshold),
        figures_(std::move(figures)),
        gate_(gate) {
    grpcutil::RefuseUndecodable(this, v1::ReportingService::service_full_name(),
                                "GetFigures",
                                &ReportingServiceImpl::GetFigures);
  }

  grpc::ServerUnaryReactor* GetFigures(
      grpc::CallbackServerContext* context,
      const v1::GetFiguresRequest* request,
      v1::GetFiguresResponse* response) override;

 private:
  const std::string producer_;
  const int threshold_;
  const FiguresFn figures_;
  grpcutil::Gate& gate_;
};

// Declares --figures_min_count (default and minimum 5) in a service's
// config; FiguresMinCount reads it.
void DefineFiguresFlags(config::Config& config);
int FiguresMinCount(const config::Config& config);

}  // namespace signpost::reporting
