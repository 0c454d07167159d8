#include "services/advocacy/advocacy_app.h"

#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/errors/errors.h"
#include "common/events/envelope.h"
#include "common/log/log.h"
#include "common/safety/contact_rules.h"
#include "common/status/macros.h"
#include "common/store/access_audit.h"
#include "common/time/timestamps.h"
#include "google/protobuf/util/message_differencer.h"
#include "services/advocacy/directory.h"
#include "services/advocacy/matching.h"

namespace signpost::advocacy {
namespace {

using store::Tx;
using timeutil::TruncateToMillis;

constexpr char kProducer[] = "advocacy";
// A perpetrator programme or MARAC recording contact with the victim.
constexpr char kServiceNoContactRule[] = "SERVICE-NO-VICTIM-CONTACT";
// The column a sealed note's associated data names.
constexpr char kNoteColumn[] = "note";
// The column sealed safe-contact rules' associated data names.
constexpr char kContactRulesColumn[] = "contact_rules";

// Whose data key seals the assignment's notes: the person, or the referral
// when triage sent no person id.
std::string NoteOwner(const AssignmentRecord& a) {
  return a.victim_ref.empty() ? a.referral_id.value() : a.victim_ref;
}

// A sealed note's row id: its history row's key.
std::string NoteRowId(const AssignmentId& assignment_id, int64_t seq) {
  return absl::StrCat(assignment_id.value(), "/", seq);
}

// A decline's or expiry's detail: for a service referral, the provider's id
// first (so that it is not asked again), then the code.
std::string StepSubject(const AssignmentRecord& a, const std::string& code) {
  if (a.service == v1::SERVICE_KIND_UNSPECIFIED) return code;
  return absl::StrCat(a.provider_id.value(), " ", code);
}

// `step` as made by `caller`'s advocate: stored with the calling agency.
v1::AssignmentStep By(const access::Principal& caller,
                      v1::AssignmentStep step) {
  step.set_agency_id(caller.agency_id().value());
  return step;
}

absl::Status AdvocateNotFound(const AdvocateId& id) {
  return absl::NotFoundError(
      absl::StrCat("advocate ", id.value(), " not found"));
}

// The pathway's own first-contact deadline; a decision made before
// deadlines were per pathway has one, for the whole referral.
struct DueByRule {
  std::optional<absl::Time> due;
  std::string rule;
};
DueByRule FirstContactDue(const v1::ReferralTriaged& decision,
                          v1::Pathway pathway) {
  DueByRule out;
  for (const auto& d : decision.deadlines()) {
    if (d.kind() != "FIRST_CONTACT") continue;
    if (d.pathway() == pathway || d.pathway() == v1::PATHWAY_UNSPECIFIED) {
      out.due = TruncateToMillis(timeutil::FromTimestamp(d.due()));
      out.rule = d.rule_id();
      if (d.pathway() == pathway) break;
    }
  }
  return out;
}

// A new assignment for one advocate pathway of a triage decision.
AssignmentRecord NewAssignment(const ReferralId& referral_id,
                               v1::Pathway pathway,
                               const v1::ReferralTriaged& decision,
                               absl::Time now) {
  AssignmentRecord a;
  a.assignment_id = AssignmentId(NewUuid());
  a.referral_id = referral_id;
  a.pathway = pathway;
  a.priority = decision.priority();
  a.victim_ref = decision.person_id();
  a.locality = decision.locality_code();
  a.area = decision.area_code();
  a.language = decision.language();
  a.language_required = decision.language_match_required();
  a.preferred_specialisms.assign(decision.preferred_specialisms().begin(),
                                 decision.preferred_specialisms().end());
  const DueByRule due = FirstContactDue(decision, pathway);
  a.first_contact_due = due.due;
  a.first_contact_rule = due.rule;
  a.update_working_days = decision.updates_working_days();
  a.created_at = now;
  return a;
}

// A service referral of a decision.
AssignmentRecord NewServiceReferral(const ReferralId& referral_id,
                                    const ServiceNeed& need,
                                    const v1::ReferralTriaged& decision,
                                    absl::Time now) {
  AssignmentRecord a = NewAssignment(referral_id, need.pathway, decision, now);
  a.service = need.service;
  // The flags (safeguarding, MARAC) have no pathway of their own: they are
  // due with the referral's earliest first contact.
  if (need.pathway == v1::PATHWAY_UNSPECIFIED) {
    a.first_contact_due.reset();
    for (const auto& d : decision.deadlines()) {
      if (d.kind() != "FIRST_CONTACT") continue;
      const absl::Time due = TruncateToMillis(timeutil::FromTimestamp(d.due()));
      if (!a.first_contact_due || due < *a.first_contact_due) {
        a.first_contact_due = due;
        a.first_contact_rule = d.rule_id();
      }
    }
  }
  return a;
}

}  // namespace

AdvocacyApp::AdvocacyApp(store::Database& db,
                         std::shared_ptr<const crypto::PersonKeys> keys,
                         Options options)
    : db_(db),
      keys_(std::move(keys)),
      options_(options),
      assigner_(directory_, assignments_, options.offer_timeout) {}

absl::StatusOr<v1::Assignment> AdvocacyApp::View(
    Tx& tx, const AssignmentRecord& assignment,
    const access::Principal* caller) {
  ASSIGN_OR_RETURN(std::vector<v1::AssignmentStep> history,
                   assignments_.History(tx, assignment.assignment_id));
  if (caller != nullptr && !access::SeesEverything(*caller)) {
    // A provider sees its own advocates' steps and Signpost's own, never
    // another provider's advocates, decisions or caseloads.
    std::vector<v1::AssignmentStep> own;
    const std::string own_provider =
        caller->provider() ? caller->provider()->value() : "";
    for (v1::AssignmentStep& step : history) {
      bool keep = step.advocate_id().empty();
      if (keep && assignment.service != v1::SERVICE_KIND_UNSPECIFIED) {
        // A service referral's steps name the provider first in their
        // detail (offers, declines, expiries) or carry the acting agency:
        // another provider's are not shown.
        const std::string provider =
            step.detail().substr(0, step.detail().find(' '));
        keep = step.agency_id() == caller->agency_id().value() ||
               provider == own_provider ||
               (step.agency_id().empty() && (step.step() == kStepWaitlisted ||
                                             step.step() == kStepReleased));
      }
      if (!keep) {
        ASSIGN_OR_RETURN(
            keep, IsOwnAdvocate(tx, *caller, AdvocateId(step.advocate_id())));
      }
      if (keep) own.push_back(std::move(step));
    }
    history = std::move(own);
  }
  v1::Assignment view = ToAssignmentView(assignment, std::move(history));
  // The matching reason names the runners-up and their caseloads.
  if (caller != nullptr && !access::SeesEverything(*caller)) {
    view.clear_reason();
  }
  return view;
}

absl::StatusOr<v1::Advocate> AdvocacyApp::LoadAdvocateFor(
    Tx& tx, const access::Principal& caller, const AdvocateId& advocate_id) {
  ASSIGN_OR_RETURN(std::optional<v1::Advocate> advocate,
                   directory_.FindAdvocate(tx, advocate_id));
  if (!advocate) return AdvocateNotFound(advocate_id);
  if (caller.Has(v1::ROLE_OPERATOR) && !caller.provider().has_value()) {
    return *std::move(advocate);
  }
  RETURN_IF_ERROR(access::RequireProvider(
      caller, ProviderId(advocate->provider_id()), advocate_id.value()));
  return *std::move(advocate);
}

absl::StatusOr<bool> AdvocacyApp::IsOwnAdvocate(Tx& tx,
                                                const access::Principal& caller,
                                                const AdvocateId& advocate_id) {
  if (advocate_id.value().empty()) return false;
  ASSIGN_OR_RETURN(std::optional<v1::Advocate> advocate,
                   directory_.FindAdvocate(tx, advocate_id));
  return advocate.has_value() &&
         access::RequireProvider(caller, ProviderId(advocate->provider_id()),
                                 advocate_id.value())
             .ok();
}

absl::StatusOr<AssignmentRecord> AdvocacyApp::LoadAssignmentFor(
    Tx& tx, const access::Principal& caller,
    const AssignmentId& assignment_id) {
  ASSIGN_OR_RETURN(AssignmentRecord a, assignments_.Load(tx, assignment_id));
  bool own = false;
  if (a.service != v1::SERVICE_KIND_UNSPECIFIED) {
    // A service referral is its provider's.
    own = !a.provider_id.empty() && caller.provider().has_value() &&
          *caller.provider() == a.provider_id;
  } else {
    ASSIGN_OR_RETURN(own, IsOwnAdvocate(tx, caller, a.advocate_id));
  }
  if (!own) {
    return errors::Denied(access::kRuleOwnProvider, assignment_id.value(),
                          "not the calling agency's own provider");
  }
  ASSIGN_OR_RETURN(bool erased, assignments_.IsErased(tx, a.referral_id));
  RETURN_IF_ERROR(CheckReferralNotErased(a, erased));
  return a;
}

absl::StatusOr<v1::Advocate> AdvocacyApp::LoadAdvocate(
    Tx& tx, const AdvocateId& advocate_id) {
  ASSIGN_OR_RETURN(std::optional<v1::Advocate> advocate,
                   directory_.FindAdvocate(tx, advocate_id));
  if (!advocate) return AdvocateNotFound(advocate_id);
  return *std::move(advocate);
}

// --- Directory ---------------------------------------------------------------

absl::StatusOr<v1::ImportDirectoryResponse> AdvocacyApp::ImportInTx(
    Tx& tx, const v1::Directory& directory, absl::Time now,
    const std::string& traceparent) {
  for (const v1::Provider& p : directory.providers()) {
    RETURN_IF_ERROR(directory_.UpsertProvider(tx, p));
  }
  for (const v1::Advocate& a : directory.advocates()) {
    ASSIGN_OR_RETURN(
        bool known, directory_.ProviderExists(tx, ProviderId(a.provider_id())));
    if (!known) {
      return errors::FieldError(
          absl::StrCat("advocates[", a.advocate_id(), "].provider_id"),
          absl::StrCat("unknown provider '", a.provider_id(), "'"));
    }
    RETURN_IF_ERROR(directory_.UpsertAdvocate(tx, a));
  }
  // New or returning capacity serves the waitlist at once.
  ASSIGN_OR_RETURN(int assigned, assigner_.DrainWaitlist(tx, now, traceparent));
  v1::ImportDirectoryResponse response;
  response.set_providers(directory.providers_size());
  response.set_advocates(directory.advocates_size());
  response.set_waitlist_assigned(assigned);
  return response;
}

absl::StatusOr<v1::ImportDirectoryResponse> AdvocacyApp::ImportDirectory(
    const v1::Directory& directory, absl::Time now,
    const std::string& traceparent) {
  now = TruncateToMillis(now);
  return db_.Write([&](Tx& tx) -> absl::StatusOr<v1::ImportDirectoryResponse> {
    // The operator adds providers and sets the services they take
    // referrals for; only a provider changes the rest of its own record
    // (UpsertProvider), so a refuge's confidential address cannot be opened
    // up by an import.
    for (const v1::Provider& p : directory.providers()) {
      ASSIGN_OR_RETURN(
          std::optional<v1::Provider> existing,
          directory_.FindProvider(tx, ProviderId(p.provider_id())));
      if (!existing) continue;
      v1::Provider before = Normalized(*existing), after = Normalized(p);
      before.clear_services();
      after.clear_services();
      if (!google::protobuf::util::MessageDifferencer::Equals(before, after)) {
        return errors::Denied(access::kRuleOwnProvider, p.provider_id(),
                              "an import may add providers and set their "
                              "services but not change a provider's record: "
                              "the provider changes its own record");
      }
    }
    return ImportInTx(tx, directory, now, traceparent);
  });
}

absl::StatusOr<v1::Provider> AdvocacyApp::UpsertProvider(
    const access::Principal& caller, const v1::Provider& provider) {
  RETURN_IF_ERROR(access::RequireProvider(
      caller, ProviderId(provider.provider_id()), provider.provider_id()));
  RETURN_IF_ERROR(db_.Write([&](Tx& tx) -> absl::Status {
    // Which services a provider takes referrals for, and where, is the
    // operator's to set (ImportDirectory): a provider may not claim a
    // service, and with it victims' referrals.
    ASSIGN_OR_RETURN(
        std::optional<v1::Provider> existing,
        directory_.FindProvider(tx, ProviderId(provider.provider_id())));
    // Only the services, in one order, compared.
    auto services_of = [](const v1::Provider& p) {
      v1::Provider only;
      *only.mutable_services() = Normalized(p).services();
      return only;
    };
    if (!google::protobuf::util::MessageDifferencer::Equals(
            services_of(existing.value_or(v1::Provider())),
            services_of(provider))) {
      return errors::Denied(access::kRuleOwnProvider, provider.provider_id(),
                            "a provider's services are set by an operator "
                            "(ImportDirectory), not by the provider");
    }
    return directory_.UpsertProvider(tx, provider);
  }));
  return provider;
}

absl::StatusOr<AdvocacyApp::ProviderView> AdvocacyApp::GetProvider(
    const access::Principal& caller, const ProviderId& provider_id,
    const std::string& traceparent) {
  return db_.Write([&](Tx& tx) -> absl::StatusOr<ProviderView> {
    ASSIGN_OR_RETURN(std::optional<v1::Provider> provider,
                     directory_.FindProvider(tx, provider_id));
    if (!provider) {
      return absl::NotFoundError(
          absl::StrCat("provider ", provider_id.value(), " not found"));
    }
    ProviderView view{ProviderAsSeenBy(*std::move(provider), caller.provider()),
                      false};
    if (view.provider.address_confidential() &&
        !view.provider.address_redacted()) {
      const v1::AccessAudited record = store::AccessAllowed(
          caller.agency_id().value(),
          "/signpost.v1.AdvocacyService/GetProvider", provider_id.value(),
          v1::FIELD_CLASS_CONFIDENTIAL_ADDRESS, v1::ACCESS_DECISION_ALLOWED,
          access::kRuleOwnProvider);
      RETURN_IF_ERROR(
          store::AppendAccessAudit(tx, kProducer, record, traceparent));
      view.audited = true;
    }
    return view;
  });
}

absl::StatusOr<v1::Advocate> AdvocacyApp::UpsertAdvocate(
    const access::Principal& caller, const v1::Advocate& advocate,
    absl::Time now, const std::string& traceparent) {
  now = TruncateToMillis(now);
  RETURN_IF_ERROR(access::RequireProvider(
      caller, ProviderId(advocate.provider_id()), advocate.advocate_id()));
  return db_.Write([&](Tx& tx) -> absl::StatusOr<v1::Advocate> {
    // An existing advocate stays with its provider: another provider may
    // not take it over.
    ASSIGN_OR_RETURN(
        std::optional<v1::Advocate> existing,
        directory_.FindAdvocate(tx, AdvocateId(advocate.advocate_id())));
    if (existing) {
      RETURN_IF_ERROR(access::RequireProvider(
          caller, ProviderId(existing->provider_id()), advocate.advocate_id()));
    }
    v1::Directory one;
    *one.add_advocates() = advocate;
    RETURN_IF_ERROR(ImportInTx(tx, one, now, traceparent));
    return LoadAdvocate(tx, AdvocateId(advocate.advocate_id()));
  });
}

absl::StatusOr<v1::Advocate> AdvocacyApp::SetAvailability(
    const access::Principal& caller, const AdvocateId& advocate_id,
    const v1::Availability& availability, absl::Time now,
    const std::string& traceparent) {
  now = TruncateToMillis(now);
  return db_.Write([&](Tx& tx) -> absl::StatusOr<v1::Advocate> {
    RETURN_IF_ERROR(LoadAdvocateFor(tx, caller, advocate_id).status());
    ASSIGN_OR_RETURN(bool found,
                     directory_.SetAvailability(tx, advocate_id, availability));
    if (!found) return AdvocateNotFound(advocate_id);
    // Back from leave: the advocate may serve someone already waiting.
    RETURN_IF_ERROR(assigner_.DrainWaitlist(tx, now, traceparent));
    return LoadAdvocate(tx, advocate_id);
  });
}

absl::StatusOr<paging::Page<v1::Advocate>> AdvocacyApp::ListAdvocates(
    const access::Principal& caller, v1::AdvocateRole role,
    const std::optional<ProviderId>& provider_id,
    const paging::PageRequest& page) {
  std::optional<ProviderId> scope = provider_id;
  if (!caller.Has(v1::ROLE_OPERATOR)) {
    // A provider lists its own advocates, whether or not it asks for them.
    const ProviderId own = caller.provider().value_or(ProviderId());
    if (provider_id.has_value()) {
      RETURN_IF_ERROR(
          access::RequireProvider(caller, *provider_id, provider_id->value()));
    }
    scope = own;
  }
  return db_.Read(
      [&](Tx& tx) { return directory_.ListAdvocates(tx, role, scope, page); });
}

// --- Routing -----------------------------------------------------------------

absl::StatusOr<int> AdvocacyApp::RouteTriaged(Tx& tx,
                                              const v1::EventEnvelope& envelope,
                                              const std::string& traceparent,
                                              absl::Time now) {
  now = TruncateToMillis(now);
  // A reassessment carries a whole new decision; pathways already routed for
  // this referral are not routed twice.
  const v1::ReferralTriaged& decision =
      envelope.has_referral_reassessed()
          ? envelope.referral_reassessed().decision()
          : envelope.referral_triaged();
  const ReferralId referral_id(envelope.referral_id());
  ASSIGN_OR_RETURN(bool erased, assignments_.IsErased(tx, referral_id));
  if (erased) {
    // VictimErased overtook this decision (it comes on the intake topic):
    // the erasure released everything, and nothing is made for the person
    // now. Ids only.
    log::Info("decision for an erased referral: ignored",
              {{"referral_id", referral_id.value()},
               {"event_id", envelope.event_id()}},
              TraceIdOf(traceparent));
    return 0;
  }
  if (decision.contact_rules().recorded()) {
    RETURN_IF_ERROR(KeepContactRules(tx, referral_id,
                                     decision.person_id().empty()
                                         ? referral_id.value()
                                         : decision.person_id(),
                                     decision.contact_rules()));
  }
  const bool routed = decision.status() == v1::REFERRAL_STATUS_ROUTED;
  const bool withdrawn = decision.status() == v1::REFERRAL_STATUS_WITHDRAWN;
  const std::vector<ServiceNeed> needs = ServicesFor(decision);
  ASSIGN_OR_RETURN(std::vector<AssignmentRecord> existing,
                   assignments_.ForReferral(tx, referral_id));
  if (routed || withdrawn) {
    // What the decision keeps: nothing once the referral is withdrawn.
    std::set<int> keep;
    if (routed)
      keep.insert(decision.pathways().begin(), decision.pathways().end());
    std::set<int> keep_services;
    for (const ServiceNeed& need : needs) keep_services.insert(need.service);
    int released = 0;
    for (AssignmentRecord& a : existing) {
      if (!IsOpen(a.state)) continue;
      // An IDSVA's assignment needs both its pathways: with one gone it is
      // released and the other is routed on its own.
      const bool kept =
          a.service != v1::SERVICE_KIND_UNSPECIFIED
              ? keep_services.count(a.service) == 1
          : a.also_pathway != v1::PATHWAY_UNSPECIFIED
              ? keep.count(a.pathway) == 1 && keep.count(a.also_pathway) == 1
              : keep.count(a.pathway) == 1;
      if (kept) continue;
      RETURN_IF_ERROR(ReleaseOne(
          tx, a, withdrawn ? kReleaseWithdrawn : kReleasePathwayRemoved, now,
          traceparent, envelope));
      ++released;
    }
    // The freed places serve those already waiting before any new pathway
    // of this referral.
    if (released > 0) {
      RETURN_IF_ERROR(assigner_.DrainWaitlist(tx, now, traceparent).status());
    }
  } else {
    int open = 0;
    for (const AssignmentRecord& a : existing) open += IsOpen(a.state);
    if (open > 0) {
      // Codes and ids only.
      log::Warn(
          "decision without consent or assessment after routing; "
          "assignments kept",
          {{"referral_id", referral_id.value()},
           {"status", v1::ReferralStatus_Name(decision.status())},
           {"open_assignments", open}},
          TraceIdOf(traceparent));
    }
  }
  int created = 0;
  // SLA-VCOP-REFERRAL: one deadline for the referral, held on its first
  // victim-support assignment (deadline_watch.h).
  std::optional<absl::Time> referral_due;
  for (const auto& d : decision.deadlines()) {
    if (d.kind() == kReferralKind) {
      referral_due = TruncateToMillis(timeutil::FromTimestamp(d.due()));
    }
  }
  if (referral_due) {
    ASSIGN_OR_RETURN(std::vector<AssignmentRecord> earlier,
                     assignments_.ForReferral(tx, referral_id));
    for (const AssignmentRecord& e : earlier) {
      if (e.referral_due) referral_due.reset();
    }
  }
  auto carry = [&referral_due](AssignmentRecord& a) {
    if (!referral_due || !IsVictimSupport(a)) return;
    a.referral_due = referral_due;
    referral_due.reset();
  };
  // Consent required, withdrawn or an incomplete assessment: no referral is
  // made.
  if (routed) {
    std::vector<v1::Pathway> pathways;
    for (int p : decision.pathways()) {
      pathways.push_back(static_cast<v1::Pathway>(p));
    }
    ASSIGN_OR_RETURN(std::optional<AssignmentRecord> idsva,
                     IdsvaAssignment(tx, referral_id, pathways, decision, now));
    if (idsva) {
      carry(*idsva);
      RETURN_IF_ERROR(assigner_.OfferOrWaitlist(
          tx, *idsva, AssignmentAction::kRoute, now, traceparent, &envelope));
      ++created;
    }
    for (v1::Pathway pathway : pathways) {
      if (!RoleForPathway(pathway)) continue;  // a service: no advocate
      ASSIGN_OR_RETURN(bool has, assignments_.Exists(tx, referral_id, pathway));
      if (has) continue;
      AssignmentRecord a = NewAssignment(referral_id, pathway, decision, now);
      carry(a);
      RETURN_IF_ERROR(assigner_.OfferOrWaitlist(tx, a, AssignmentAction::kRoute,
                                                now, traceparent, &envelope));
      ++created;
    }
  }
  for (const ServiceNeed& need : needs) {
    ASSIGN_OR_RETURN(bool has,
                     assignments_.ServiceExists(tx, referral_id, need.service));
    if (has) continue;
    AssignmentRecord a = NewServiceReferral(referral_id, need, decision, now);
    carry(a);
    RETURN_IF_ERROR(assigner_.OfferOrWaitlist(tx, a, AssignmentAction::kRoute,
                                              now, traceparent, &envelope));
    ++created;
  }
  RETURN_IF_ERROR(
      assignments_.MarkRouted(tx, referral_id, decision.status(), now));
  return created;
}

absl::StatusOr<std::optional<AssignmentRecord>> AdvocacyApp::IdsvaAssignment(
    Tx& tx, const ReferralId& referral_id,
    const std::vector<v1::Pathway>& pathways,
    const v1::ReferralTriaged& decision, absl::Time now) {
  const std::optional<IdsvaPair> pair = IdsvaPathways(pathways);
  if (!pair) return std::nullopt;
  ASSIGN_OR_RETURN(bool da, assignments_.Exists(tx, referral_id, pair->da));
  ASSIGN_OR_RETURN(bool sv, assignments_.Exists(tx, referral_id, pair->sv));
  if (da || sv) return std::nullopt;  // routed before as two
  // Only where an IDSVA serves the locality (free or not).
  ASSIGN_OR_RETURN(std::vector<AdvocateView> idsvas,
                   directory_.AdvocatesWithRole(tx, v1::ADVOCATE_ROLE_IDSVA));
  MatchRequest probe;
  probe.role = v1::ADVOCATE_ROLE_IDSVA;
  probe.locality = decision.locality_code();
  probe.now_ms = absl::ToUnixMillis(now);
  if (Match(probe, idsvas).serving == 0) return std::nullopt;
  AssignmentRecord a = NewAssignment(referral_id, pair->da, decision, now);
  a.also_pathway = pair->sv;
  const DueByRule sv_due = FirstContactDue(decision, pair->sv);
  if (sv_due.due &&
      (!a.first_contact_due || *sv_due.due < *a.first_contact_due)) {
    a.first_contact_due = sv_due.due;
    a.first_contact_rule = sv_due.rule;
  }
  return a;
}

absl::Status AdvocacyApp::ReleaseOne(Tx& tx, AssignmentRecord& a,
                                     const std::string& reason_code,
                                     absl::Time now,
                                     const std::string& traceparent,
                                     const v1::EventEnvelope& cause) {
  const bool held = HoldsCapacity(a.state);
  RETURN_IF_ERROR(advocacy::Release(a, now));
  RETURN_IF_ERROR(assignments_.Save(tx, a));
  if (held) RETURN_IF_ERROR(directory_.ReleaseCapacity(tx, a.advocate_id));
  // A waitlisted assignment has no advocate: the step is Signpost's alone.
  RETURN_IF_ERROR(assignments_.AddHistory(
      tx, a.assignment_id,
      Step(now, kStepReleased, a.advocate_id, reason_code)));
  v1::EventEnvelope out =
      events::NewEnvelope(kProducer, a.referral_id.value(), &cause);
  v1::AssignmentReleased* r = out.mutable_assignment_released();
  r->set_assignment_id(a.assignment_id.value());
  r->set_advocate_id(a.advocate_id.value());
  r->set_pathway(a.pathway);
  r->set_reason_code(reason_code);
  return Emit(tx, std::move(out), traceparent);
}

absl::StatusOr<absl::Time> AdvocacyApp::WatchDeadlines(absl::Time now) {
  now = TruncateToMillis(now);
  const absl::Duration lead = options_.deadline_lead;
  // A perpetrator programme and MARAC never contact the victim: there is no
  // first contact of theirs to watch.
  std::set<v1::ServiceKind> unwatched;
  for (int k = v1::ServiceKind_MIN; k <= v1::ServiceKind_MAX; ++k) {
    const auto kind = static_cast<v1::ServiceKind>(k);
    if (v1::ServiceKind_IsValid(k) && kind != v1::SERVICE_KIND_UNSPECIFIED &&
        !safety::WorksWithVictim(kind)) {
      unwatched.insert(kind);
    }
  }
  return db_.Write([&](Tx& tx) -> absl::StatusOr<absl::Time> {
    ASSIGN_OR_RETURN(std::vector<AssignmentRecord> due,
                     assignments_.DeadlinesDue(tx, now, lead, unwatched));
    for (AssignmentRecord& a : due) {
      bool awaits_support = false;
      if (a.referral_due && !a.referral_missed_at) {
        ASSIGN_OR_RETURN(std::vector<AssignmentRecord> referral,
                         assignments_.ForReferral(tx, a.referral_id));
        awaits_support = ReferralAwaitsSupport(referral);
      }
      const std::vector<DeadlineReport> reports =
          DueReports(a, now, lead, awaits_support);
      if (reports.empty()) continue;
      RETURN_IF_ERROR(assignments_.Save(tx, a));
      for (const DeadlineReport& r : reports) {
        // Each trace starts here.
        const std::string traceparent = NewTraceparent();
        v1::EventEnvelope out =
            events::NewEnvelope(kProducer, a.referral_id.value());
        auto fill = [&](auto* e) {
          *e->mutable_deadline() = r.deadline;
          e->set_assignment_id(a.assignment_id.value());
          e->set_advocate_id(a.advocate_id.value());
          e->set_provider_id(a.provider_id.value());
          e->set_service(a.service);
          e->set_area_code(a.area);
        };
        if (r.missed) {
          fill(out.mutable_deadline_missed());
        } else {
          fill(out.mutable_deadline_approaching());
        }
        RETURN_IF_ERROR(Emit(tx, std::move(out), traceparent));
        // Ids and codes only.
        log::Warn(r.missed ? "deadline missed" : "deadline approaching",
                  {{"referral_id", a.referral_id.value()},
                   {"assignment_id", a.assignment_id.value()},
                   {"deadline", r.deadline.kind()},
                   {"rule", r.deadline.rule_id()},
                   {"pathway", v1::Pathway_Name(a.pathway)}},
                  TraceIdOf(traceparent));
      }
    }
    ASSIGN_OR_RETURN(std::optional<absl::Time> next,
                     assignments_.NextDeadlineReport(tx, lead, unwatched));
    return next.value_or(absl::InfiniteFuture());
  });
}

absl::Status AdvocacyApp::KeepContactRules(Tx& tx,
                                           const ReferralId& referral_id,
                                           const std::string& owner,
                                           const v1::ContactRules& rules) {
  ASSIGN_OR_RETURN(std::string key, keys_->GetOrCreate(tx, owner));
  ASSIGN_OR_RETURN(
      std::string sealed,
      crypto::SealField(key, referral_id.value(), kContactRulesColumn,
                        rules.SerializeAsString()));
  return assignments_.SaveContactRules(
      tx, referral_id, SealedValue{crypto::kSealedFieldFormat, sealed});
}

absl::StatusOr<std::optional<v1::ContactRules>> AdvocacyApp::ContactRulesOf(
    Tx& tx, const AssignmentRecord& a) {
  ASSIGN_OR_RETURN(std::optional<SealedValue> stored,
                   assignments_.FindContactRules(tx, a.referral_id));
  if (!stored) return std::nullopt;
  if (stored->format != crypto::kSealedFieldFormat) {
    return errors::InvariantViolation(
        absl::StrCat("contact rules in unknown format '", stored->format, "'"));
  }
  ASSIGN_OR_RETURN(std::optional<std::string> key,
                   keys_->Find(tx, NoteOwner(a)));
  if (!key) return std::nullopt;  // the person was erased
  ASSIGN_OR_RETURN(std::string bytes,
                   crypto::OpenField(*key, a.referral_id.value(),
                                     kContactRulesColumn, stored->sealed));
  v1::ContactRules rules;
  if (!rules.ParseFromString(bytes)) {
    return errors::InvariantViolation("contact rules do not parse");
  }
  return rules;
}

absl::Status AdvocacyApp::AddStepWithNote(Tx& tx, const AssignmentRecord& a,
                                          const v1::AssignmentStep& step,
                                          const std::string& note) {
  if (note.empty()) return assignments_.AddHistory(tx, a.assignment_id, step);
  ASSIGN_OR_RETURN(int64_t seq,
                   assignments_.NextHistorySeq(tx, a.assignment_id));
  ASSIGN_OR_RETURN(std::string key, keys_->GetOrCreate(tx, NoteOwner(a)));
  ASSIGN_OR_RETURN(std::string sealed,
                   crypto::SealField(key, NoteRowId(a.assignment_id, seq),
                                     kNoteColumn, note));
  return assignments_.AddHistoryWithNote(tx, a.assignment_id, seq, step, sealed,
                                         crypto::kSealedFieldFormat);
}

absl::StatusOr<int> AdvocacyApp::EraseVictim(Tx& tx,
                                             const v1::EventEnvelope& envelope,
                                             const std::string& traceparent,
                                             absl::Time now) {
  now = TruncateToMillis(now);
  const ReferralId referral_id(envelope.referral_id());
  const std::string& person_id = envelope.victim_erased().person_id();
  // Triage's WITHDRAWN decision comes on another topic and may come after a
  // decision still queued there: release now, the same way, and remember
  // the erasure so that no decision makes a new assignment for the person.
  // A redelivery finds nothing open and the erasure already recorded.
  ASSIGN_OR_RETURN(std::vector<AssignmentRecord> existing,
                   assignments_.ForReferral(tx, referral_id));
  int released = 0;
  for (AssignmentRecord& a : existing) {
    if (!IsOpen(a.state)) continue;
    RETURN_IF_ERROR(
        ReleaseOne(tx, a, kReleaseWithdrawn, now, traceparent, envelope));
    ++released;
  }
  RETURN_IF_ERROR(assignments_.MarkErased(tx, referral_id, now));
  if (released > 0) {
    RETURN_IF_ERROR(assigner_.DrainWaitlist(tx, now, traceparent).status());
  }
  // Destroying the key shreds every note sealed under it, in this referral
  // and in the person's others (each has its own VictimErased too).
  if (!person_id.empty()) {
    RETURN_IF_ERROR(keys_->Destroy(tx, person_id).status());
  }
  RETURN_IF_ERROR(keys_->Destroy(tx, referral_id.value()).status());
  RETURN_IF_ERROR(assignments_.EraseReferralPerson(tx, referral_id));
  checkpoint_due_ = true;
  return released;
}

absl::Status AdvocacyApp::CheckpointAfterErasure() {
  if (!checkpoint_due_.exchange(false)) return absl::OkStatus();
  absl::Status s = db_.Checkpoint();
  if (!s.ok()) checkpoint_due_ = true;  // try again next time
  return s;
}

// --- The advocate's moves ----------------------------------------------------

absl::StatusOr<v1::Assignment> AdvocacyApp::Accept(
    const access::Principal& caller, const AssignmentId& assignment_id,
    const AdvocateId& advocate_id, absl::Time now,
    const std::string& traceparent) {
  now = TruncateToMillis(now);
  return db_.Write([&](Tx& tx) -> absl::StatusOr<v1::Assignment> {
    if (!advocate_id.empty()) {
      RETURN_IF_ERROR(LoadAdvocateFor(tx, caller, advocate_id).status());
    }
    ASSIGN_OR_RETURN(AssignmentRecord a,
                     LoadAssignmentFor(tx, caller, assignment_id));
    RETURN_IF_ERROR(advocacy::Accept(a, advocate_id, now));
    RETURN_IF_ERROR(assignments_.Save(tx, a));
    RETURN_IF_ERROR(assignments_.AddHistory(
        tx, a.assignment_id,
        By(caller, Step(now, kStepAccepted, advocate_id))));
    v1::EventEnvelope out =
        events::NewEnvelope(kProducer, a.referral_id.value());
    out.mutable_assignment_accepted()->set_assignment_id(
        a.assignment_id.value());
    out.mutable_assignment_accepted()->set_advocate_id(advocate_id.value());
    RETURN_IF_ERROR(Emit(tx, std::move(out), traceparent));
    return View(tx, a, &caller);
  });
}

absl::StatusOr<v1::Assignment> AdvocacyApp::Decline(
    const access::Principal& caller, const AssignmentId& assignment_id,
    const AdvocateId& advocate_id, const DeclineDetails& decline,
    absl::Time now, const std::string& traceparent) {
  now = TruncateToMillis(now);
  return db_.Write([&](Tx& tx) -> absl::StatusOr<v1::Assignment> {
    if (!advocate_id.empty()) {
      RETURN_IF_ERROR(LoadAdvocateFor(tx, caller, advocate_id).status());
    }
    ASSIGN_OR_RETURN(AssignmentRecord a,
                     LoadAssignmentFor(tx, caller, assignment_id));
    RETURN_IF_ERROR(CheckDecline(a, advocate_id));
    const std::string code = v1::DeclineReason_Name(decline.reason);
    RETURN_IF_ERROR(AddStepWithNote(
        tx, a,
        By(caller, Step(now, kStepDeclined, advocate_id, StepSubject(a, code))),
        decline.note));
    RETURN_IF_ERROR(directory_.ReleaseCapacity(tx, advocate_id));
    v1::EventEnvelope declined =
        events::NewEnvelope(kProducer, a.referral_id.value());
    v1::AssignmentDeclined* d = declined.mutable_assignment_declined();
    d->set_assignment_id(a.assignment_id.value());
    d->set_advocate_id(advocate_id.value());
    d->set_reason_code(code);
    RETURN_IF_ERROR(Emit(tx, declined, traceparent));
    RETURN_IF_ERROR(assigner_.OfferOrWaitlist(tx, a, AssignmentAction::kDecline,
                                              now, traceparent, &declined));
    // The decliner's freed place may serve someone already waiting.
    RETURN_IF_ERROR(assigner_.DrainWaitlist(tx, now, traceparent));
    ASSIGN_OR_RETURN(AssignmentRecord after,
                     assignments_.Load(tx, assignment_id));
    return View(tx, after, &caller);
  });
}

absl::StatusOr<v1::Assignment> AdvocacyApp::RecordContact(
    const access::Principal& caller, const AssignmentId& assignment_id,
    const AdvocateId& advocate_id, const ContactAttempt& contact,
    absl::Time now, const std::string& traceparent) {
  now = TruncateToMillis(now);
  const absl::Time at = contact.at ? TruncateToMillis(*contact.at) : now;
  return db_.Write([&](Tx& tx) -> absl::StatusOr<v1::Assignment> {
    if (!advocate_id.empty()) {
      RETURN_IF_ERROR(LoadAdvocateFor(tx, caller, advocate_id).status());
    }
    ASSIGN_OR_RETURN(AssignmentRecord a,
                     LoadAssignmentFor(tx, caller, assignment_id));
    if (a.service != v1::SERVICE_KIND_UNSPECIFIED &&
        !safety::WorksWithVictim(a.service)) {
      return errors::RuleViolation(
          kServiceNoContactRule, "assignment_id",
          absl::StrCat(v1::ServiceKind_Name(a.service),
                       " does not contact the victim"));
    }
    // The outcome baseline is asked once: at the first successful contact
    // that records one.
    if (contact.baseline &&
        a.baseline.feels_safe() != v1::OUTCOME_ANSWER_UNSPECIFIED) {
      return errors::RuleViolation(
          kBaselineRule, "baseline",
          "the outcome baseline was recorded already; it is taken once");
    }
    ASSIGN_OR_RETURN(std::vector<v1::AssignmentStep> earlier,
                     assignments_.History(tx, a.assignment_id));
    ASSIGN_OR_RETURN(
        std::string step,
        advocacy::RecordContact(a, advocate_id, contact.outcome, at));
    // The victim's safe-contact rules: a contact they forbid is refused
    // unless the advocate says why it was made anyway.
    ASSIGN_OR_RETURN(std::optional<v1::ContactRules> rules,
                     ContactRulesOf(tx, a));
    std::vector<std::string> breaches;
    if (rules) {
      breaches = safety::Breaches(
          *rules, {contact.channel, at, contact.voicemail_left}, options_.zone);
    }
    if (!breaches.empty() && contact.override_reason.empty()) {
      return errors::RuleViolation(
          safety::kSafeContactRule, "channel",
          absl::StrCat("the victim's safe-contact rules forbid this contact (",
                       absl::StrJoin(breaches, ", "),
                       "); record it only with an override_reason"));
    }
    std::string detail = v1::ContactChannel_Name(contact.channel);
    if (contact.voicemail_left) absl::StrAppend(&detail, " VOICEMAIL");
    if (!breaches.empty()) {
      absl::StrAppend(&detail, " OVERRIDE ", absl::StrJoin(breaches, ","));
    }
    RETURN_IF_ERROR(AddStepWithNote(
        tx, a, By(caller, Step(at, step, advocate_id, detail)),
        breaches.empty() ? std::string() : contact.override_reason));
    if (!breaches.empty()) {
      // For review: who, when, on what channel, which rules. The reason is
      // sealed in the step above.
      v1::EventEnvelope out =
          events::NewEnvelope(kProducer, a.referral_id.value());
      v1::UnsafeContactRecorded* u = out.mutable_unsafe_contact_recorded();
      u->set_assignment_id(a.assignment_id.value());
      u->set_advocate_id(advocate_id.value());
      *u->mutable_attempted_at() = timeutil::ToTimestamp(at);
      u->set_channel(contact.channel);
      u->set_outcome(v1::ContactOutcome_Name(contact.outcome));
      for (const std::string& b : breaches) u->add_breaches(b);
      RETURN_IF_ERROR(Emit(tx, std::move(out), traceparent));
    }
    if (contact.baseline) {
      a.baseline = *contact.baseline;  // a successful contact (validated)
      if (step != kStepFirstContact) {
        RETURN_IF_ERROR(assignments_.Save(tx, a));
      }
    }
    if (step == kStepFirstContact) {
      RETURN_IF_ERROR(StartUpdateClock(a, options_.calendar.get()));
      RETURN_IF_ERROR(assignments_.Save(tx, a));
      v1::EventEnvelope out =
          events::NewEnvelope(kProducer, a.referral_id.value());
      v1::FirstContactRecorded* f = out.mutable_first_contact_recorded();
      f->set_assignment_id(a.assignment_id.value());
      f->set_advocate_id(advocate_id.value());
      *f->mutable_contacted_at() = timeutil::ToTimestamp(at);
      if (a.first_contact_due) {
        *f->mutable_due() = timeutil::ToTimestamp(*a.first_contact_due);
      }
      f->set_within_deadline(!a.first_contact_due ||
                             at <= *a.first_contact_due);
      f->set_failed_attempts(ContactAttempts(earlier));
      RETURN_IF_ERROR(Emit(tx, std::move(out), traceparent));
    } else if (!a.first_contact_at &&
               (step == kStepContactNoAnswer || step == kStepContactUnsafe)) {
      // Attempts failing before first contact: the referrer is told (the
      // closed loop), without why.
      v1::EventEnvelope out =
          events::NewEnvelope(kProducer, a.referral_id.value());
      v1::ContactAttemptFailed* f = out.mutable_contact_attempt_failed();
      f->set_assignment_id(a.assignment_id.value());
      f->set_advocate_id(advocate_id.value());
      *f->mutable_attempted_at() = timeutil::ToTimestamp(at);
      if (a.first_contact_due) {
        *f->mutable_due() = timeutil::ToTimestamp(*a.first_contact_due);
      }
      f->set_failed_attempts(ContactAttempts(earlier) + 1);
      RETURN_IF_ERROR(Emit(tx, std::move(out), traceparent));
    }
    return View(tx, a, &caller);
  });
}

absl::StatusOr<v1::Assignment> AdvocacyApp::RecordUpdate(
    const access::Principal& caller, const AssignmentId& assignment_id,
    const AdvocateId& advocate_id, v1::UpdateKind kind,
    std::optional<absl::Time> at, absl::Time now,
    const std::string& traceparent) {
  now = TruncateToMillis(now);
  const absl::Time given_at = at ? TruncateToMillis(*at) : now;
  return db_.Write([&](Tx& tx) -> absl::StatusOr<v1::Assignment> {
    RETURN_IF_ERROR(LoadAdvocateFor(tx, caller, advocate_id).status());
    ASSIGN_OR_RETURN(AssignmentRecord a,
                     LoadAssignmentFor(tx, caller, assignment_id));
    ASSIGN_OR_RETURN(
        UpdateClockResult given,
        GiveUpdate(a, advocate_id, given_at, options_.calendar.get()));
    RETURN_IF_ERROR(assignments_.Save(tx, a));
    RETURN_IF_ERROR(assignments_.AddUpdate(tx, a.assignment_id, given_at, kind,
                                           given.due, given.within_deadline));
    RETURN_IF_ERROR(assignments_.AddHistory(
        tx, a.assignment_id,
        By(caller, Step(given_at, "UPDATE", advocate_id,
                        absl::StrCat(v1::UpdateKind_Name(kind),
                                     given.within_deadline ? "" : " LATE")))));
    v1::EventEnvelope out =
        events::NewEnvelope(kProducer, a.referral_id.value());
    v1::UpdateRecorded* u = out.mutable_update_recorded();
    u->set_assignment_id(a.assignment_id.value());
    u->set_advocate_id(advocate_id.value());
    u->set_kind(v1::UpdateKind_Name(kind));
    *u->mutable_updated_at() = timeutil::ToTimestamp(given_at);
    if (given.due) *u->mutable_due() = timeutil::ToTimestamp(*given.due);
    u->set_within_deadline(given.within_deadline);
    if (given.next_due) {
      *u->mutable_next_due() = timeutil::ToTimestamp(*given.next_due);
    }
    RETURN_IF_ERROR(Emit(tx, std::move(out), traceparent));
    return View(tx, a, &caller);
  });
}

absl::StatusOr<v1::Assignment> AdvocacyApp::Close(
    const access::Principal& caller, const AssignmentId& assignment_id,
    const AdvocateId& advocate_id, const Closure& closure, absl::Time now,
    const std::string& traceparent) {
  now = TruncateToMillis(now);
  return db_.Write([&](Tx& tx) -> absl::StatusOr<v1::Assignment> {
    if (!advocate_id.empty()) {
      RETURN_IF_ERROR(LoadAdvocateFor(tx, caller, advocate_id).status());
    }
    ASSIGN_OR_RETURN(AssignmentRecord a,
                     LoadAssignmentFor(tx, caller, assignment_id));
    RETURN_IF_ERROR(advocacy::Close(a, advocate_id, closure, now));
    RETURN_IF_ERROR(assignments_.Save(tx, a));
    RETURN_IF_ERROR(directory_.ReleaseCapacity(tx, advocate_id));
    RETURN_IF_ERROR(assignments_.AddHistory(
        tx, a.assignment_id,
        By(caller, Step(now, kStepClosed, advocate_id,
                        v1::ClosureReason_Name(closure.reason)))));
    v1::EventEnvelope out =
        events::NewEnvelope(kProducer, a.referral_id.value());
    v1::CaseClosed* c = out.mutable_case_closed();
    c->set_assignment_id(a.assignment_id.value());
    c->set_advocate_id(advocate_id.value());
    c->set_closure_reason(v1::ClosureReason_Name(closure.reason));
    c->set_feels_safer(v1::OutcomeAnswer_Name(closure.feels_safer));
    c->set_copes_better(v1::OutcomeAnswer_Name(closure.copes_better));
    c->set_better_informed(v1::OutcomeAnswer_Name(closure.better_informed));
    RETURN_IF_ERROR(Emit(tx, std::move(out), traceparent));
    // The freed place may serve someone already waiting.
    RETURN_IF_ERROR(assigner_.DrainWaitlist(tx, now, traceparent));
    return View(tx, a, &caller);
  });
}

// --- Offer expiry ------------------------------------------------------------

absl::Status AdvocacyApp::ExpireOne(Tx& tx, AssignmentRecord& offer,
                                    absl::Time now) {
  if (!OfferDue(offer, now)) {
    return errors::InvariantViolation(
        "an offer not yet due was selected for expiry");
  }
  // Each expiry starts its own trace.
  const std::string traceparent = NewTraceparent();
  const AdvocateId advocate = offer.advocate_id;
  RETURN_IF_ERROR(assignments_.AddHistory(
      tx, offer.assignment_id,
      Step(now, kStepExpired, advocate, StepSubject(offer, "OFFER-EXPIRY"))));
  RETURN_IF_ERROR(directory_.ReleaseCapacity(tx, advocate));
  v1::EventEnvelope out =
      events::NewEnvelope(kProducer, offer.referral_id.value());
  out.mutable_offer_expired()->set_assignment_id(offer.assignment_id.value());
  out.mutable_offer_expired()->set_advocate_id(advocate.value());
  RETURN_IF_ERROR(Emit(tx, out, traceparent));
  return assigner_
      .OfferOrWaitlist(tx, offer, AssignmentAction::kExpire, now, traceparent,
                       &out)
      .status();
}

absl::StatusOr<OfferExpiry> AdvocacyApp::ExpireDueOffers(absl::Time now) {
  now = TruncateToMillis(now);
  return db_.Write([&](Tx& tx) -> absl::StatusOr<OfferExpiry> {
    OfferExpiry result;
    ASSIGN_OR_RETURN(std::vector<AssignmentRecord> due,
                     assignments_.OffersDueBy(tx, now));
    for (AssignmentRecord& offer : due) {
      RETURN_IF_ERROR(ExpireOne(tx, offer, now));
      ++result.expired;
    }
    if (result.expired > 0) {
      RETURN_IF_ERROR(assigner_.DrainWaitlist(tx, now, NewTraceparent()));
    }
    ASSIGN_OR_RETURN(result.next_deadline,
                     assignments_.EarliestOfferDeadline(tx));
    return result;
  });
}

absl::Time AdvocacyApp::ExpireOffers(absl::Time now) {
  absl::StatusOr<OfferExpiry> pass = ExpireDueOffers(now);
  if (!pass.ok()) {
    // Codes and store messages only: no personal data.
    log::Warn("offer expiry pass failed",
              {{"code", absl::StatusCodeToString(pass.status().code())},
               {"error", std::string(pass.status().message())}});
    return now + options_.expiry_retry;
  }
  if (pass->expired > 0) {
    log::Info("offers expired and re-offered", {{"count", pass->expired}});
  }
  return pass->next_deadline.value_or(absl::InfiniteFuture());
}

// --- Queries -----------------------------------------------------------------

absl::StatusOr<v1::GetReferralAssignmentsResponse>
AdvocacyApp::GetReferralAssignments(const access::Principal& caller,
                                    const ReferralId& referral_id) {
  return db_.Read(
      [&](Tx& tx) -> absl::StatusOr<v1::GetReferralAssignmentsResponse> {
        v1::GetReferralAssignmentsResponse response;
        ASSIGN_OR_RETURN(bool routed, assignments_.IsRouted(tx, referral_id));
        // Every referral advocacy has seen has a routed record (even one
        // that needed consent), so this tells a mistyped id from a refusal;
        // referral ids are random, so it tells a caller nothing it could
        // guess.
        if (!routed) {
          return absl::NotFoundError(
              absl::StrCat("referral ", referral_id.value(), " not found"));
        }
        ASSIGN_OR_RETURN(std::vector<AssignmentRecord> rows,
                         assignments_.ForReferral(tx, referral_id));
        const bool everything = access::SeesEverything(caller);
        // Only oversight learns whether advocacy has routed a referral.
        if (everything) response.set_processed(routed);
        for (const AssignmentRecord& row : rows) {
          if (!everything) {
            // A provider sees only its own advocates' assignments and its
            // own service referrals.
            bool own = false;
            if (row.service != v1::SERVICE_KIND_UNSPECIFIED) {
              own = !row.provider_id.empty() && caller.provider().has_value() &&
                    *caller.provider() == row.provider_id;
            } else {
              ASSIGN_OR_RETURN(own, IsOwnAdvocate(tx, caller, row.advocate_id));
            }
            if (!own) continue;
          }
          ASSIGN_OR_RETURN(*response.add_assignments(), View(tx, row, &caller));
        }
        if (!everything && response.assignments_size() == 0) {
          // None of the caller's.
          return errors::Denied(access::kRuleOwnReferral, referral_id.value(),
                                "no assignment of the calling provider");
        }
        return response;
      });
}

absl::StatusOr<v1::Assignment> AdvocacyApp::GetAssignment(
    const AssignmentId& assignment_id) {
  return db_.Read([&](Tx& tx) -> absl::StatusOr<v1::Assignment> {
    ASSIGN_OR_RETURN(AssignmentRecord a, assignments_.Load(tx, assignment_id));
    return View(tx, a);
  });
}

absl::StatusOr<std::vector<StepNote>> AdvocacyApp::GetNotes(
    const AssignmentId& assignment_id) {
  return db_.Read([&](Tx& tx) -> absl::StatusOr<std::vector<StepNote>> {
    ASSIGN_OR_RETURN(AssignmentRecord a, assignments_.Load(tx, assignment_id));
    ASSIGN_OR_RETURN(std::vector<StoredNote> stored,
                     assignments_.Notes(tx, assignment_id));
    std::optional<std::string> key;
    if (!stored.empty()) {
      ASSIGN_OR_RETURN(key, keys_->Find(tx, NoteOwner(a)));
    }
    std::vector<StepNote> out;
    for (StoredNote& n : stored) {
      StepNote& note = out.emplace_back();
      note.seq = n.seq;
      note.step = std::move(n.step);
      note.advocate_id = std::move(n.advocate_id);
      if (n.format.empty()) {
        note.note = std::move(n.note);  // written before notes were sealed
      } else if (n.format != crypto::kSealedFieldFormat) {
        return absl::InternalError(
            absl::StrCat("note in unknown format '", n.format, "'"));
      } else if (key.has_value()) {
        ASSIGN_OR_RETURN(note.note, crypto::OpenField(
                                        *key, NoteRowId(a.assignment_id, n.seq),
                                        kNoteColumn, n.note));
      }  // else the key was destroyed: the person was erased
    }
    return out;
  });
}

absl::StatusOr<std::vector<v1::Assignment>> AdvocacyApp::GetWorklist(
    const access::Principal& caller, const AdvocateId& advocate_id) {
  return db_.Read([&](Tx& tx) -> absl::StatusOr<std::vector<v1::Assignment>> {
    RETURN_IF_ERROR(LoadAdvocateFor(tx, caller, advocate_id).status());
    ASSIGN_OR_RETURN(std::vector<AssignmentRecord> rows,
                     assignments_.Worklist(tx, advocate_id));
    return WorklistViews(tx, caller, rows);
  });
}

absl::StatusOr<std::vector<v1::Assignment>> AdvocacyApp::GetProviderWorklist(
    const access::Principal& caller, const ProviderId& provider_id) {
  return db_.Read([&](Tx& tx) -> absl::StatusOr<std::vector<v1::Assignment>> {
    if (!(caller.Has(v1::ROLE_OPERATOR) && !caller.provider().has_value())) {
      RETURN_IF_ERROR(
          access::RequireProvider(caller, provider_id, provider_id.value()));
    }
    ASSIGN_OR_RETURN(std::vector<AssignmentRecord> rows,
                     assignments_.ProviderWorklist(tx, provider_id));
    return WorklistViews(tx, caller, rows);
  });
}

absl::StatusOr<std::vector<v1::Assignment>> AdvocacyApp::WorklistViews(
    Tx& tx, const access::Principal& caller,
    const std::vector<AssignmentRecord>& rows) {
  std::vector<v1::Assignment> out;
  for (const AssignmentRecord& row : rows) {
    ASSIGN_OR_RETURN(v1::Assignment view, View(tx, row, &caller));
    // The victim's rules travel only to the one who accepted the case, and
    // never to a service that does not work with the victim.
    // An operator looking at a worklist does not see them either.
    const bool victim_facing = row.service == v1::SERVICE_KIND_UNSPECIFIED ||
                               safety::WorksWithVictim(row.service);
    if (victim_facing && caller.provider().has_value() &&
        (row.state == v1::ASSIGNMENT_STATE_ACCEPTED ||
         row.state == v1::ASSIGNMENT_STATE_ACTIVE)) {
      ASSIGN_OR_RETURN(std::optional<v1::ContactRules> rules,
                       ContactRulesOf(tx, row));
      if (rules) *view.mutable_contact_rules() = *std::move(rules);
    }
    out.push_back(std::move(view));
  }
  return out;
}

absl::StatusOr<v1::CheckCapacityResponse> AdvocacyApp::CheckCapacity(
    v1::Pathway pathway, const std::string& locality_code,
    const std::string& language, absl::Time now) {
  std::optional<v1::AdvocateRole> role = RoleForPathway(pathway);
  if (!role) {
    return errors::FieldError("pathway",
                              "has no advocate role (service pathway)");
  }
  now = TruncateToMillis(now);
  return db_.Read([&](Tx& tx) -> absl::StatusOr<v1::CheckCapacityResponse> {
    ASSIGN_OR_RETURN(std::vector<AdvocateView> pool,
                     directory_.AdvocatesWithRole(tx, *role));
    const CapacitySummary open = SummariseCapacity(
        pool, locality_code, language, absl::ToUnixMillis(now));
    ASSIGN_OR_RETURN(WaitlistSummary waiting, assignments_.SummariseWaitlist(
                                                  tx, pathway, locality_code));
    v1::CheckCapacityResponse response;
    response.set_available_advocates(open.available_advocates);
    response.set_free_places(open.free_places);
    response.set_language_match_available(open.language_match_available);
    response.set_has_capacity(open.free_places > 0);
    response.set_waitlist_length(waiting.length);
    if (waiting.oldest_waiting_since) {
      *response.mutable_oldest_waiting_since() =
          timeutil::ToTimestamp(*waiting.oldest_waiting_since);
    }
    return response;
  });
}

}  // namespace signpost::advocacy
