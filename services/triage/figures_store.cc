#include "services/triage/figures_store.h"

#include "common/status/macros.h"
#include "signpost/v1/events.pb.h"
#include "signpost/v1/referral.pb.h"

namespace signpost::triage {

absl::StatusOr<std::vector<ReceivedReferral>> ReferralsReceived(
    store::Tx& tx, const std::string& area_code, absl::Time from,
    absl::Time to) {
  ASSIGN_OR_RETURN(
      store::Statement q,
      tx.Prepare("SELECT d.decision, f.facts FROM decisions d JOIN "
                 "referral_facts f ON f.referral_id = d.referral_id WHERE "
                 "d.version = 1 AND d.area_code = ? AND d.decided_at_ms >= ? "
                 "AND d.decided_at_ms < ? ORDER BY d.referral_id"));
  q.Bind(1, area_code)
      .Bind(2, absl::ToUnixMillis(from))
      .Bind(3, absl::ToUnixMillis(to));
  std::vector<ReceivedReferral> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    v1::ReferralTriaged decision;
    v1::ReferralFacts facts;
    if (!decision.ParseFromString(q.ColumnBlob(0)) ||
        !facts.ParseFromString(q.ColumnBlob(1))) {
      return absl::DataLossError("stored decision or facts do not parse");
    }
    ReceivedReferral r;
    r.source = facts.source();
    r.withdrawn = facts.withdrawn();
    r.marac = decision.marac();
    for (int p : decision.pathways()) {
      r.pathways.push_back(static_cast<v1::Pathway>(p));
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace signpost::triage
