#include "services/orders/figures.h"

#include <array>
#include <map>
#include <string>

#include "absl/strings/str_format.h"
#include "common/status/macros.h"
#include "services/orders/figures_store.h"

namespace signpost::orders {
namespace {

constexpr std::array<std::pair<OrderStep, const char*>, 5> kMeasures = {{
    {OrderStep::kConsiderationOpened, "considerations_opened"},
    {OrderStep::kConsiderationDecided, "considerations_decided"},
    {OrderStep::kApplication, "applications"},
    {OrderStep::kGrant, "grants"},
    {OrderStep::kBreach, "breaches"},
}};

std::string MonthLabel(absl::CivilMonth m) {
  return absl::StrFormat("%04d-%02d", m.year(), m.month());
}

}  // namespace

absl::StatusOr<std::vector<v1::Figure>> OrdersFigures(
    store::Database& db, const absl::TimeZone& zone,
    const reporting::FigureQuery& query) {
  ASSIGN_OR_RETURN(std::vector<OrderStepAt> steps, db.Read([&](store::Tx& tx) {
    return OrderSteps(tx, query.area_code, query.from, query.to);
  }));
  std::map<std::pair<absl::CivilMonth, OrderStep>, int64_t> counts;
  for (const OrderStepAt& s : steps) {
    ++counts[{absl::ToCivilMonth(s.at, zone), s.step}];
  }
  reporting::FigureBuilder b(query.threshold);
  const absl::CivilMonth last =
      absl::ToCivilMonth(query.to - absl::Milliseconds(1), zone);
  for (absl::CivilMonth m = absl::ToCivilMonth(query.from, zone); m <= last;
       ++m) {
    for (const auto& [step, measure] : kMeasures) {
      auto it = counts.find({m, step});
      b.Count("orders", {{"month", MonthLabel(m)}}, measure,
              it == counts.end() ? 0 : it->second);
    }
  }
  return b.Take();
}

}  // namespace signpost::orders
