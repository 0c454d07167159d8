#include "services/triage/policy.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/config/textproto.h"
#include "common/status/macros.h"
#include "google/protobuf/text_format.h"

namespace signpost::triage {

const std::vector<RuleInfo>& KnownRules() {
  static const auto* rules = new std::vector<RuleInfo>{
      {"DASH-SCORE", true},
      {"PJ-RAISE", true},
      {"MARAC-VISIBLE", true},
      {"MARAC-PJ", true},
      {"MARAC-ESCALATION", true},
      {"MARAC-REPEAT", true},
      {"MARAC-HIGH", true},
      {"DA-HIGH", false},
      {"DA-STANDARD", false},
      {"SV-ADULT", false},
      {"SV-CHILD", false},
      {"SV-RECENT", false},
      {"CSA-NONRECENT", false},
      {"STALK-SDASH", true},
      {"STALK-HIGH", false},
      {"STALK-STANDARD", false},
      {"CONSIDER-SPO", true},
      {"CONSIDER-DVDS", true},
      {"CONSIDER-DAPN", false},
      {"PERP-HIGH", false},
      {"PERP-STANDARD", false},
      {"HATE", false},
      {"RJ", false},
      {"GENERAL", false},
      {"CONSENT-PATHWAY", true},
      {"ENHANCED", true},
      {"HBA-FM", false},
      {"FGM-CHILD", false},
      {"SLAVERY", false},
      {"LANGUAGE", false},
      {"SPECIALISM", false},
      {"CONSENT", true},
      {"WITHDRAWN", true},
      {"REFERRAL-WITHDRAWN", true},
      {"SLA-VCOP-REFERRAL", true},
      {"SLA-SV-CONTACT", false},
      {"SLA-SARC-CONTACT", false},
      {"SLA-HIGH-CONTACT", false},
      {"SLA-STANDARD-CONTACT", false},
      {"SLA-UPDATES", true},
      {"DAPN-HEARING", true},
      {"DVPN-HEARING", true},
  };
  return *rules;
}

namespace {

void Range(std::vector<std::string>& errors, const std::string& field,
           int64_t value, int64_t min, int64_t max) {
  if (value < min || value > max) {
    errors.push_back(absl::StrCat(
        field, ": ", value == 0 ? "missing or 0" : absl::StrCat(value),
        ", must be ", min, "-", max));
  }
}

// Line (1-based) of a field path such as "dash.high_threshold" or
// "pathways[3]"; 0 when the field is absent from the file.
int LineOf(const google::protobuf::Message& message,
           const google::protobuf::TextFormat::ParseInfoTree& tree,
           absl::string_view path) {
  const google::protobuf::Descriptor* d = message.GetDescriptor();
  const google::protobuf::TextFormat::ParseInfoTree* t = &tree;
  std::vector<absl::string_view> parts = absl::StrSplit(path, '.');
  for (size_t i = 0; i < parts.size(); ++i) {
    absl::string_view name = parts[i];
    int index = -1;
    if (auto bracket = name.find('['); bracket != absl::string_view::npos) {
      index = std::atoi(std::string(name.substr(bracket + 1)).c_str());
      name = name.substr(0, bracket);
    }
    const google::protobuf::FieldDescriptor* f =
        d->FindFieldByName(std::string(name));
    if (f == nullptr) return 0;
    if (f->is_repeated() && index < 0) index = 0;
    if (i + 1 == parts.size()) {
      google::protobuf::TextFormat::ParseLocation loc =
          t->GetLocation(f, index);
      return loc.line < 0 ? 0 : loc.line + 1;
    }
    t = t->GetTreeForNested(f, index);
    if (t == nullptr || f->message_type() == nullptr) return 0;
    d = f->message_type();
  }
  return 0;
}

}  // namespace

std::vector<std::string> CheckPolicy(const v1::TriagePolicy& p) {
  std::vector<std::string> errors;
  if (p.version().empty()) errors.push_back("version: is required");
  if (p.time_zone().empty()) errors.push_back("time_zone: is required");
  Range(errors, "dash.high_threshold", p.dash().high_threshold(), 1, 24);
  Range(errors, "dash.medium_threshold", p.dash().medium_threshold(), 1, 24);
  if (p.dash().medium_threshold() >= p.dash().high_threshold() &&
      p.dash().high_threshold() > 0) {
    errors.push_back(
        "dash.medium_threshold: must be below dash.high_threshold");
  }
  Range(errors, "marac.threshold", p.marac().threshold(), 1, 24);
  Range(errors, "marac.escalation_incidents", p.marac().escalation_incidents(),
        1, 100);
  Range(errors, "marac.repeat_days", p.marac().repeat_days(), 1, 3650);
  Range(errors, "sarc_window_days", p.sarc_window_days(), 1, 60);
  Range(errors, "stalking_high_threshold", p.stalking_high_threshold(), 1, 11);
  const v1::DeadlineParameters& d = p.deadlines();
  Range(errors, "deadlines.vcop_referral_working_days",
        d.vcop_referral_working_days(), 1, 30);
  Range(errors, "deadlines.sv_contact_working_days",
        d.sv_contact_working_days(), 1, 30);
  Range(errors, "deadlines.high_contact_working_days",
        d.high_contact_working_days(), 1, 30);
  Range(errors, "deadlines.standard_contact_working_days",
        d.standard_contact_working_days(), 1, 30);
  Range(errors, "deadlines.updates_enhanced_working_days",
        d.updates_enhanced_working_days(), 1, 30);
  Range(errors, "deadlines.updates_standard_working_days",
        d.updates_standard_working_days(), 1, 30);
  Range(errors, "deadlines.dapn_hearing_hours", d.dapn_hearing_hours(), 1, 168);
  Range(errors, "deadlines.dvpn_hearing_hours", d.dvpn_hearing_hours(), 1, 168);
  if (d.urgent_contact_hours() != 0) {
    Range(errors, "deadlines.urgent_contact_hours", d.urgent_contact_hours(), 1,
          168);
  }
  if (p.pathways_size() == 0)
    errors.push_back("pathways: at least one pathway is required");
  std::set<int> seen;
  for (int i = 0; i < p.pathways_size(); ++i) {
    int pw = p.pathways(i);
    if (!v1::Pathway_IsValid(pw) || pw == v1::PATHWAY_UNSPECIFIED) {
      errors.push_back(absl::StrCat("pathways[", i, "]: unknown pathway"));
    } else if (!seen.insert(pw).second) {
      errors.push_back(absl::StrCat("pathways[", i, "]: listed twice"));
    }
  }
  for (int i = 0; i < p.disabled_rules_size(); ++i) {
    const std::string& id = p.disabled_rules(i);
    const RuleInfo* found = nullptr;
    for (const RuleInfo& r : KnownRules()) {
      if (id == r.id) found = &r;
    }
    if (found == nullptr) {
      errors.push_back(
          absl::StrCat("disabled_rules[", i, "]: unknown rule '", id, "'"));
    } else if (found->national) {
      errors.push_back(
          absl::StrCat("disabled_rules[", i, "]: ", id,
                       " follows national guidance or law and cannot be "
                       "switched off"));
    }
  }
  if (p.legal_basis_without_consent().empty()) {
    errors.push_back("legal_basis_without_consent: is required");
  }
  return errors;
}

absl::StatusOr<std::shared_ptr<const Policy>> Policy::Create(
    v1::TriagePolicy config,
    std::shared_ptr<const calendar::WorkingCalendar> calendar) {
  std::vector<std::string> errors = CheckPolicy(config);
  if (!errors.empty())
    return absl::InvalidArgumentError(absl::StrJoin(errors, "; "));
  if (calendar == nullptr)
    return absl::InvalidArgumentError("a calendar is required");
  std::shared_ptr<Policy> policy(new Policy());
  for (const std::string& id : config.disabled_rules())
    policy->disabled_.insert(id);
  for (int p : config.pathways())
    policy->pathways_.insert(static_cast<v1::Pathway>(p));
  policy->config_ = std::move(config);
  policy->calendar_ = std::move(calendar);
  return std::shared_ptr<const Policy>(std::move(policy));
}

absl::StatusOr<v1::TriagePolicy> ParsePolicyText(const std::string& text,
                                                 const std::string& name) {
  v1::TriagePolicy policy;
  config::internal::CollectErrors parse_errors;
  google::protobuf::TextFormat::Parser parser;
  google::protobuf::TextFormat::ParseInfoTree tree;
  parser.RecordErrorsTo(&parse_errors);
  parser.WriteLocationsTo(&tree);
  if (!parser.ParseFromString(text, &policy)) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": ", absl::StrJoin(parse_errors.errors, "; ")));
  }
  std::vector<std::string> errors = CheckPolicy(policy);
  if (!errors.empty()) {
    std::vector<std::string> located;
    for (const std::string& e : errors) {
      std::string field = e.substr(0, e.find(':'));
      int line = LineOf(policy, tree, field);
      located.push_back(line > 0 ? absl::StrCat("line ", line, ": ", e)
                                 : absl::StrCat("(not set): ", e));
    }
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": ", absl::StrJoin(located, "; ")));
  }
  return policy;
}

absl::StatusOr<std::shared_ptr<const Policy>> LoadPolicy(
    const std::string& policy_path, const std::string& calendar_path) {
  std::ifstream in(policy_path);
  if (!in)
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read ", policy_path));
  std::stringstream text;
  text << in.rdbuf();
  ASSIGN_OR_RETURN(v1::TriagePolicy config,
                   ParsePolicyText(text.str(), policy_path));
  ASSIGN_OR_RETURN(
      std::shared_ptr<const calendar::WorkingCalendar> cal,
      calendar::WorkingCalendar::Load(calendar_path, config.time_zone()));
  return Policy::Create(std::move(config), std::move(cal));
}

}  // namespace signpost::triage
