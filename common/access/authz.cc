#include "common/access/authz.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/errors/errors.h"

namespace signpost::access {
namespace {

using v1::Role;
constexpr Role kReferrer = v1::ROLE_REFERRER;
constexpr Role kProvider = v1::ROLE_PROVIDER;
constexpr Role kMarac = v1::ROLE_MARAC_COORDINATOR;
constexpr Role kPolice = v1::ROLE_POLICE_ORDERS;
constexpr Role kCommissioner = v1::ROLE_COMMISSIONER;
constexpr Role kOperator = v1::ROLE_OPERATOR;
constexpr Role kAuditor = v1::ROLE_AUDITOR;

std::string Path(absl::string_view service, absl::string_view method) {
  return absl::StrCat("/signpost.v1.", service, "/", method);
}

std::vector<RpcRule> BuildTable() {
  const char* kIntake = "IntakeService";
  const char* kTriage = "TriageService";
  const char* kAdvocacy = "AdvocacyService";
  const char* kOrders = "OrderService";
  const char* kNotification = "NotificationService";
  const char* kMaracService = "MaracService";
  const char* kAudit = "AuditService";
  const std::string police_area =
      "police: orders and review items of their own areas only "
      "(AUTHZ-OWN-AREA)";
  const std::string police_read =
      police_area + "; operator and auditor: every area, ids and codes";
  return {
      // Intake.
      {Path(kIntake, "SubmitReferral"),
       {kReferrer},
       "the referral is recorded as the caller's; referrer_org, when given, "
       "must be the caller (AUTHZ-OWN-AGENCY); idempotency keys are per "
       "agency"},
      {Path(kIntake, "GetReferral"),
       {kReferrer, kProvider, kMarac, kOperator},
       "referrer: its own referrals, whole (AUTHZ-OWN-REFERRAL); provider: "
       "a referral it holds an assignment for, whole once accepted, ids and "
       "codes while offered; MARAC: referrals of its areas, the MARAC field "
       "set; operator: ids and codes, whole only with a break-glass reason "
       "(AUTHZ-BREAK-GLASS, audited)"},
      {Path(kIntake, "UpdateConsent"),
       {kReferrer, kProvider},
       "referrer: its own referrals (AUTHZ-OWN-REFERRAL); provider: a "
       "referral it holds an accepted assignment for"},
      {Path(kIntake, "CancelReferral"),
       {kReferrer},
       "its own referrals only (AUTHZ-OWN-REFERRAL)"},
      {Path(kIntake, "RecordRjConsent"),
       {kReferrer, kProvider},
       "referrer: its own referrals (AUTHZ-OWN-REFERRAL); provider: a "
       "referral it holds an accepted assignment for"},
      {Path(kIntake, "EraseVictim"),
       {kOperator},
       "any referral; a reason and its legal ground are required and kept"},
      {Path(kIntake, "ListStalled"),
       {kCommissioner, kOperator, kAuditor},
       "commissioner: its own areas only (AUTHZ-OWN-AREA); operator and "
       "auditor: every area; ids and codes only"},
      // Audit (served by the notification process), from the log alone.
      {Path(kAudit, "GetTimeline"),
       {kOperator, kAuditor},
       "every referral; ids, codes, rule ids, agencies and times only; the "
       "call is itself audited"},
      {Path(kAudit, "ListAccess"),
       {kOperator, kAuditor},
       "any person, by Signpost's person id; ids, codes, agencies, field "
       "classes and bases only; the call is itself audited"},
      // Triage.
      {Path(kTriage, "GetDecision"),
       {kReferrer, kMarac, kPolice, kOperator, kAuditor},
       "referrer: its own referrals; MARAC and police: referrals of their "
       "areas (AUTHZ-OWN-AREA); operator and auditor: every referral"},
      {Path(kTriage, "Reassess"),
       {kReferrer, kOperator},
       "referrer: its own referrals (AUTHZ-OWN-REFERRAL)"},
      {Path(kTriage, "OverrideRisk"),
       {kReferrer, kMarac},
       "referrer: its own referrals; MARAC: referrals of its areas; the "
       "practitioner is stored with the caller's agency"},
      {Path(kTriage, "ListMaracAgenda"),
       {kMarac, kOperator},
       "MARAC: its own areas only (AUTHZ-OWN-AREA)"},
      // Advocacy.
      {Path(kAdvocacy, "UpsertProvider"),
       {kProvider},
       "the provider's own record only (AUTHZ-OWN-PROVIDER)"},
      {Path(kAdvocacy, "GetProvider"),
       {kReferrer, kProvider, kMarac, kPolice, kCommissioner, kOperator,
        kAuditor},
       "a confidential refuge address only to its own provider"},
      {Path(kAdvocacy, "UpsertAdvocate"),
       {kProvider},
       "an advocate of the caller's own provider (AUTHZ-OWN-PROVIDER)"},
      {Path(kAdvocacy, "SetAvailability"),
       {kProvider},
       "an advocate of the caller's own provider (AUTHZ-OWN-PROVIDER)"},
      {Path(kAdvocacy, "ImportDirectory"), {kOperator}, "none"},
      {Path(kAdvocacy, "ListAdvocates"),
       {kProvider, kOperator},
       "provider: its own advocates only (AUTHZ-OWN-PROVIDER)"},
      {Path(kAdvocacy, "GetReferralAssignments"),
       {kProvider, kOperator, kAuditor},
       "provider: only its own advocates' assignments are listed"},
      {Path(kAdvocacy, "GetWorklist"),
       {kProvider, kOperator},
       "provider: its own advocates only (AUTHZ-OWN-PROVIDER)"},
      {Path(kAdvocacy, "AcceptAssignment"),
       {kProvider},
       "an assignment of the caller's own advocate (AUTHZ-OWN-PROVIDER)"},
      {Path(kAdvocacy, "DeclineAssignment"),
       {kProvider},
       "an assignment of the caller's own advocate (AUTHZ-OWN-PROVIDER)"},
      {Path(kAdvocacy, "RecordContact"),
       {kProvider},
       "an assignment of the caller's own advocate (AUTHZ-OWN-PROVIDER)"},
      {Path(kAdvocacy, "RecordUpdate"),
       {kProvider},
       "an assignment of the caller's own advocate (AUTHZ-OWN-PROVIDER)"},
      {Path(kAdvocacy, "CloseCase"),
       {kProvider},
       "an assignment of the caller's own advocate (AUTHZ-OWN-PROVIDER)"},
      {Path(kAdvocacy, "CheckCapacity"),
       {kReferrer, kProvider, kCommissioner, kOperator},
       "none: counts only"},
      // Orders.
      {Path(kOrders, "RecordConsideration"), {kPolice}, police_area},
      {Path(kOrders, "RecordApplication"), {kPolice}, police_area},
      {Path(kOrders, "RecordDecision"), {kPolice}, police_area},
      {Path(kOrders, "RecordService"), {kPolice}, police_area},
      {Path(kOrders, "RecordVariation"), {kPolice}, police_area},
      {Path(kOrders, "RecordBreach"), {kPolice}, police_area},
      {Path(kOrders, "ImportOrder"), {kPolice}, police_area},
      {Path(kOrders, "GetOrder"), {kPolice, kOperator, kAuditor}, police_read},
      {Path(kOrders, "ListOrders"),
       {kPolice, kOperator, kAuditor},
       police_read},
      {Path(kOrders, "GetOrderHistory"),
       {kPolice, kOperator, kAuditor},
       police_read},
      {Path(kOrders, "ListReviewQueue"),
       {kPolice, kOperator, kAuditor},
       police_read},
      {Path(kOrders, "ListConsiderations"),
       {kPolice, kOperator, kAuditor},
       police_read},
      // Notification.
      {Path(kNotification, "ListDeliveries"),
       {kReferrer, kProvider, kMarac, kPolice, kCommissioner, kOperator,
        kAuditor},
       "each agency its own deliveries only (AUTHZ-OWN-AGENCY); operator "
       "and auditor: every agency's"},
      {Path(kNotification, "Subscribe"),
       {kReferrer, kProvider, kMarac, kPolice},
       "the calling agency's own feed only (the agency of its certificate)"},
      {Path(kNotification, "ReplayDeliveries"),
       {kReferrer, kProvider, kMarac, kPolice, kOperator},
       "each agency its own deliveries only (AUTHZ-OWN-AGENCY); operator: "
       "any agency's"},
      // MARAC meetings (served by the triage process).
      {Path(kMaracService, "ScheduleMeeting"),
       {kMarac},
       "its own areas only (AUTHZ-OWN-AREA)"},
      {Path(kMaracService, "ListMeetings"),
       {kMarac, kOperator, kAuditor},
       "MARAC: its own areas only (AUTHZ-OWN-AREA)"},
      {Path(kMaracService, "GetMeeting"),
       {kMarac, kOperator, kAuditor},
       "MARAC: its own areas only (AUTHZ-OWN-AREA); the MARAC field set"},
      {Path(kMaracService, "MarkHeard"),
       {kMarac},
       "its own areas only (AUTHZ-OWN-AREA)"},
      {Path(kMaracService, "AllocateAction"),
       {kMarac},
       "its own areas only (AUTHZ-OWN-AREA)"},
      {Path(kMaracService, "CompleteAction"),
       {kMarac, kReferrer, kProvider, kPolice},
       "MARAC: its own areas; any other agency: only an action allocated "
       "to it (AUTHZ-OWN-AGENCY)"},
      {Path(kMaracService, "CloseMeeting"),
       {kMarac},
       "its own areas only (AUTHZ-OWN-AREA)"},
      // Served by every service, each for its own data.
      {"/signpost.v1.OutboxService/ReplayOutbox",
       {kOperator},
       "none: re-publishes ids and codes the log already held"},
      {"/signpost.v1.ReportingService/GetFigures",
       {kCommissioner, kOperator, kAuditor},
       "commissioner: its own areas only (AUTHZ-OWN-AREA); figures hold no "
       "personal data and small counts are suppressed"},
  };
}

}  // namespace

bool Principal::Has(v1::Role role) const {
  return std::find(agency_.roles().begin(), agency_.roles().end(), role) !=
         agency_.roles().end();
}

bool Principal::Serves(absl::string_view area_code) const {
  return std::find(agency_.area_codes().begin(), agency_.area_codes().end(),
                   area_code) != agency_.area_codes().end();
}

std::optional<ProviderId> Principal::provider() const {
  if (agency_.provider_id().empty()) return std::nullopt;
  return ProviderId(agency_.provider_id());
}

const std::vector<RpcRule>& AuthorizationTable() {
  static const std::vector<RpcRule>* table =
      new std::vector<RpcRule>(BuildTable());
  return *table;
}

const RpcRule* FindRule(absl::string_view method) {
  for (const RpcRule& rule : AuthorizationTable()) {
    if (rule.method == method) return &rule;
  }
  return nullptr;
}

absl::StatusOr<Principal> Authorizer::Authorize(
    const AgencyId& agency, absl::string_view method) const {
  const v1::Agency* found = registry_->Find(agency);
  if (found == nullptr) {
    return errors::Denied(kRuleUnregistered, agency.value(),
                          "the calling agency is not in the agency registry");
  }
  const RpcRule* rule = FindRule(method);
  if (rule == nullptr) {
    return errors::Denied(kRuleUnlisted, method,
                          "no authorisation rule lists this method");
  }
  Principal principal(*found);
  for (v1::Role role : rule->roles) {
    if (principal.Has(role)) return principal;
  }
  std::vector<std::string> names;
  for (v1::Role role : rule->roles) names.push_back(v1::Role_Name(role));
  return errors::Denied(
      kRuleFunction, method,
      absl::StrCat("requires one of the roles ", absl::StrJoin(names, ", ")));
}

absl::Status RequireArea(const Principal& caller, absl::string_view area_code,
                         absl::string_view subject) {
  if (caller.Serves(area_code)) return absl::OkStatus();
  return errors::Denied(kRuleOwnArea, subject,
                        "outside the calling agency's areas");
}

absl::Status RequireProvider(const Principal& caller,
                             const ProviderId& provider,
                             absl::string_view subject) {
  std::optional<ProviderId> own = caller.provider();
  if (own.has_value() && *own == provider) return absl::OkStatus();
  return errors::Denied(kRuleOwnProvider, subject,
                        "not the calling agency's own provider");
}

absl::Status RequireOwnReferral(const Principal& caller, const AgencyId& owner,
                                absl::string_view subject) {
  if (caller.agency_id() == owner) return absl::OkStatus();
  return errors::Denied(kRuleOwnReferral, subject,
                        "not a referral of the calling agency");
}

absl::Status RequireReferralAccess(const Principal& caller,
                                   const std::optional<ReferralScope>& scope,
                                   const ReferralRule& rule,
                                   absl::string_view subject) {
  if (!scope.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("referral ", subject, " not found"));
  }
  for (v1::Role role : rule.any_roles) {
    if (caller.Has(role)) return absl::OkStatus();
  }
  if (rule.own_referrer && caller.Has(v1::ROLE_REFERRER) &&
      caller.agency_id() == scope->referrer) {
    return absl::OkStatus();
  }
  for (v1::Role role : rule.area_roles) {
    if (caller.Has(role) && caller.Serves(scope->area_code)) {
      return absl::OkStatus();
    }
  }
  return errors::Denied(kRuleOwnReferral, subject,
                        "not a referral the calling agency may act on");
}

bool SeesEverything(const Principal& caller) {
  return caller.Has(v1::ROLE_OPERATOR) || caller.Has(v1::ROLE_AUDITOR);
}

}  // namespace signpost::access
