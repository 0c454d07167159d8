#include "common/reporting/reporting_service.h"

#include <utility>

#include "common/config/config.h"
#include "common/status/macros.h"
#include "common/time/timestamps.h"

namespace signpost::reporting {

grpc::ServerUnaryReactor* ReportingServiceImpl::GetFigures(
    grpc::CallbackServerContext* context, const v1::GetFiguresRequest* request,
    v1::GetFiguresResponse* response) {
  return gate_.Run(
      context, "/signpost.v1.ReportingService/GetFigures",
      [=, this](const access::Principal& caller) -> absl::Status {
        FigureQuery query;
        query.area_code = request->area_code();
        query.from = timeutil::FromTimestamp(request->from());
        query.to = timeutil::FromTimestamp(request->to());
        query.now = timeutil::NowMillis();
        query.threshold = threshold_;
        RETURN_IF_ERROR(CheckFigureRequest(query.area_code, request->has_from(),
                                           query.from, request->has_to(),
                                           query.to)
                            .ToStatus());
        RETURN_IF_ERROR(RequireFiguresAccess(caller, query.area_code));
        ASSIGN_OR_RETURN(std::vector<v1::Figure> figures, figures_(query));
        response->set_producer(producer_);
        response->set_area_code(query.area_code);
        *response->mutable_from() = request->from();
        *response->mutable_to() = request->to();
        response->set_suppression_threshold(threshold_);
        for (v1::Figure& f : figures) *response->add_figures() = std::move(f);
        return absl::OkStatus();
      });
}

void DefineFiguresFlags(config::Config& config) {
  config.DefineInt("figures_min_count", kMinSuppressionThreshold,
                   kMinSuppressionThreshold, 1000,
                   "figures over fewer cases than this are suppressed "
                   "(policy: never below 5)");
}

int FiguresMinCount(const config::Config& config) {
  return static_cast<int>(config.GetInt("figures_min_count"));
}

}  // namespace signpost::reporting
