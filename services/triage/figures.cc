#include "services/triage/figures.h"

#include <map>
#include <string>
#include <utility>

#include "common/status/macros.h"
#include "services/triage/figures_store.h"

namespace signpost::triage {

absl::StatusOr<std::vector<v1::Figure>> TriageFigures(
    store::Database& db, const reporting::FigureQuery& query) {
  ASSIGN_OR_RETURN(
      std::vector<ReceivedReferral> referrals, db.Read([&](store::Tx& tx) {
        return ReferralsReceived(tx, query.area_code, query.from, query.to);
      }));
  int64_t total = 0, marac = 0;
  std::map<std::string, int64_t> by_source, by_pathway;
  std::map<std::pair<std::string, std::string>, int64_t> by_both;
  for (const ReceivedReferral& r : referrals) {
    if (r.withdrawn == v1::WITHDRAWAL_REASON_ENTERED_IN_ERROR ||
        r.withdrawn == v1::WITHDRAWAL_REASON_DUPLICATE) {
      continue;
    }
    ++total;
    marac += r.marac;
    const std::string source = v1::ReferralSource_Name(r.source);
    ++by_source[source];
    for (v1::Pathway p : r.pathways) {
      const std::string pathway = v1::Pathway_Name(p);
      ++by_pathway[pathway];
      ++by_both[{source, pathway}];
    }
  }
  reporting::FigureBuilder b(query.threshold);
  b.Count("referrals", {}, "count", total);
  b.Count("referrals", {}, "marac_count", marac);
  for (const auto& [source, n] : by_source) {
    b.Count("referrals", {{"source", source}}, "count", n);
  }
  for (const auto& [pathway, n] : by_pathway) {
    b.Count("referrals", {{"pathway", pathway}}, "count", n);
  }
  for (const auto& [key, n] : by_both) {
    b.Count("referrals", {{"source", key.first}, {"pathway", key.second}},
            "count", n);
  }
  return b.Take();
}

}  // namespace signpost::triage
