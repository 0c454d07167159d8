// The routing policy as data: parsing and checking a signpost.v1.TriagePolicy
// textproto, and the compiled view the rules engine reads. A bad file is
// refused naming the line and field of every problem. A loaded Policy is an
// immutable snapshot shared by shared_ptr: thread-safe.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/calendar/working_calendar.h"
#include "signpost/v1/policy.pb.h"

namespace signpost::triage {

struct RuleInfo {
  const char* id;
  bool national;  // national rules cannot be switched off by an area
};

// Every rule id the engine knows, in evaluation order.
const std::vector<RuleInfo>& KnownRules();

class Policy {
 public:
  // Checks `config` (field paths only; no line numbers) and binds it to a
  // calendar whose zone must be the policy's.
  static absl::StatusOr<std::shared_ptr<const Policy>> Create(
      v1::TriagePolicy config,
      std::shared_ptr<const calendar::WorkingCalendar> calendar);

  const v1::TriagePolicy& config() const { return config_; }
  const std::string& version() const { return config_.version(); }
  const calendar::WorkingCalendar& calendar() const { return *calendar_; }
  bool RuleOn(const std::string& id) const { return disabled_.count(id) == 0; }
  bool PathwayAvailable(v1::Pathway p) const { return pathways_.count(p) > 0; }

 private:
  Policy() = default;
  v1::TriagePolicy config_;
  std::shared_ptr<const calendar::WorkingCalendar> calendar_;
  std::set<std::string> disabled_;
  std::set<v1::Pathway> pathways_;
};

// Every problem with a policy, as "<field>: <problem>" strings.
std::vector<std::string> CheckPolicy(const v1::TriagePolicy& config);

// Parses and checks the policy text; errors carry "<name>: line N: <field>:
// <problem>" for every problem at once.
absl::StatusOr<v1::TriagePolicy> ParsePolicyText(const std::string& text,
                                                 const std::string& name);

// Loads the policy file, then the calendar file in the policy's time zone.
absl::StatusOr<std::shared_ptr<const Policy>> LoadPolicy(
    const std::string& policy_path, const std::string& calendar_path);

}  // namespace signpost::triage
