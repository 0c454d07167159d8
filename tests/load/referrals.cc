#include "tests/load/referrals.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace signpost::load {

ReferralMaker::ReferralMaker(v1::SubmitReferralRequest example, Victims victims,
                             std::string run)
    : example_(std::move(example)), victims_(victims), run_(std::move(run)) {}

v1::SubmitReferralRequest ReferralMaker::Make(int64_t n) const {
  v1::SubmitReferralRequest request = example_;
  Fill(n, &request);
  return request;
}

void ReferralMaker::Fill(int64_t n, v1::SubmitReferralRequest* request) const {
  request->set_idempotency_key(absl::StrCat("load-", run_, "-", n));
  if (victims_ == Victims::kSame) return;
  v1::Referral* r = request->mutable_referral();
  // Every identifying field the blind indexes read (matching.cc): name with
  // date of birth or phone, and the referrer's victim reference.
  r->mutable_personal()->set_full_name(
      absl::StrCat("Loadtest Victim ", run_.substr(0, 8), " ", n));
  r->mutable_personal()->set_phone(
      absl::StrFormat("+44 7700 %06d", static_cast<int>(n % 1000000)));
  r->mutable_victim()->set_victim_ref(absl::StrCat("VREF-LOAD-", n));
  if (r->reporting().reported_to_police()) {
    r->mutable_reporting()->set_crime_reference(
        absl::StrCat("LD/", run_.substr(0, 8), "/", n));
  }
}

}  // namespace signpost::load
