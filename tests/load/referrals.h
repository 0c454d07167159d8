// The referrals a load run submits: copies of one example with a fresh
// idempotency key each, either all of the same victim (as the example
// names her) or each of a different victim (name, phone, victim reference
// and crime reference varied, so intake's blind-index matching sees
// different people). Not thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "signpost/v1/intake.pb.h"

namespace signpost::load {

enum class Victims { kSame, kDistinct };

class ReferralMaker {
 public:
  // `run` makes this run's idempotency keys unique across runs.
  ReferralMaker(v1::SubmitReferralRequest example, Victims victims,
                std::string run);
  // The n-th referral of the run.
  v1::SubmitReferralRequest Make(int64_t n) const;
  // Writes the n-th referral over `*request` (which already holds an
  // earlier one of this maker), touching only the fields that vary.
  void Fill(int64_t n, v1::SubmitReferralRequest* request) const;

 private:
  v1::SubmitReferralRequest example_;
  Victims victims_;
  std::string run_;
};

}  // namespace signpost::load
