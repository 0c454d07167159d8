#include "services/notification/projection.h"

#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "common/crypto/keyring.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"

namespace signpost::notification {
namespace {

using v1::FieldSet;

struct PartnerType {
  const char* partner_type;
  std::vector<FieldSet> sets;
};

constexpr FieldSet kReferrer = v1::FIELD_SET_REFERRER_OUTCOME;
constexpr FieldSet kMarac = v1::FIELD_SET_MARAC;
constexpr FieldSet kProvider = v1::FIELD_SET_PROVIDER_CASE;
constexpr FieldSet kPolice = v1::FIELD_SET_POLICE_ORDERS;
constexpr FieldSet kCommissioning = v1::FIELD_SET_COMMISSIONING;

const std::map<std::string, PartnerType, std::less<>>& Types() {
  static const auto* types =
      new std::map<std::string, PartnerType, std::less<>>{
          {"signpost.v1.ReferralReceived", {"referral.received", {kReferrer}}},
          {"signpost.v1.ReferralLinked", {"referral.linked", {kReferrer}}},
          {"signpost.v1.ReferralTriaged",
           {"referral.triaged", {kReferrer, kMarac, kProvider}}},
          {"signpost.v1.ReferralReassessed",
           {"referral.reassessed", {kReferrer, kMarac, kProvider}}},
          {"signpost.v1.AdvocateOffered", {"support.offered", {kProvider}}},
          {"signpost.v1.ServiceOffered",
           {"service.offered", {kReferrer, kProvider}}},
          {"signpost.v1.PathwayUnserved",
           {"pathway.unserved", {kCommissioning}}},
          {"signpost.v1.DeadlineApproaching",
           {"deadline.approaching", {kProvider}}},
          {"signpost.v1.DeadlineMissed",
           {"deadline.missed", {kProvider, kCommissioning}}},
          {"signpost.v1.ReferralWaitlisted",
           {"support.waitlisted", {kReferrer, kProvider}}},
          {"signpost.v1.WaitlistAssigned",
           {"support.offered_from_waitlist", {kProvider}}},
          {"signpost.v1.AssignmentAccepted",
           {"support.assigned", {kReferrer, kProvider}}},
          {"signpost.v1.AssignmentDeclined", {"support.declined", {kProvider}}},
          {"signpost.v1.OfferExpired", {"support.offer_expired", {kProvider}}},
          {"signpost.v1.FirstContactRecorded",
           {"support.first_contact", {kReferrer, kProvider}}},
          {"signpost.v1.ContactAttemptFailed",
           {"support.contact_attempt_failed", {kReferrer, kProvider}}},
          {"signpost.v1.CaseClosed", {"case.closed", {kReferrer, kProvider}}},
          {"signpost.v1.AssignmentReleased",
           {"support.released", {kReferrer, kProvider}}},
          {"signpost.v1.ReferralWithdrawn",
           {"referral.withdrawn", {kReferrer, kMarac, kProvider, kPolice}}},
          {"signpost.v1.OrderConsiderationOpened",
           {"order.consideration_opened", {kPolice}}},
          {"signpost.v1.OrderRecorded", {"order.recorded", {kPolice}}},
          {"signpost.v1.ConsiderationDecided",
           {"order.consideration_decided", {kPolice}}},
          {"signpost.v1.OrderBreached", {"order.breached", {kPolice}}},
          {"signpost.v1.HearingDue", {"order.hearing_due", {kPolice}}},
          {"signpost.v1.OrderExpiring", {"order.expiring", {kPolice}}},
          {"signpost.v1.OrderExpired", {"order.expired", {kPolice}}},
          {"signpost.v1.NotificationDutyOverdue",
           {"order.notification_duty_overdue", {kPolice}}},
          {"signpost.v1.ElectronicMonitoringEnded",
           {"order.monitoring_ended", {kPolice}}},
          // To the agency the action is allocated to (routing.h).
          {"signpost.v1.MaracActionAllocated",
           {"marac.action.allocated", {kMarac}}},
      };
  return *types;
}

void FromDecision(const v1::ReferralTriaged& d, v1::PartnerEvent* p) {
  p->set_status(d.status());
  for (int pathway : d.pathways()) {
    p->add_pathways(static_cast<v1::Pathway>(pathway));
  }
  p->set_priority(d.priority());
  p->set_area_code(d.area_code());
  p->set_locality_code(d.locality_code());
  p->set_language(d.language());
  p->set_interpreter_needed(d.language_match_required());
  p->set_risk(d.risk());
  p->set_dash_score(d.dash_score());
  p->set_repeat_marac(d.repeat_marac());
  for (const v1::RuleReason& r : d.reasons()) p->add_rule_ids(r.rule_id());
  p->set_enhanced_rights(d.enhanced_rights());
  // The earliest first contact (each pathway has its own).
  for (const v1::Deadline& deadline : d.deadlines()) {
    if (deadline.kind() == "FIRST_CONTACT" && deadline.has_due() &&
        (!p->has_first_contact_due() ||
         deadline.due().seconds() < p->first_contact_due().seconds())) {
      *p->mutable_first_contact_due() = deadline.due();
    }
  }
}

}  // namespace

std::string PartnerTypeOf(absl::string_view internal_type) {
  auto it = Types().find(internal_type);
  return it == Types().end() ? std::string() : it->second.partner_type;
}

bool CanCarry(v1::FieldSet set, absl::string_view internal_type) {
  auto it = Types().find(internal_type);
  if (it == Types().end()) return false;
  for (FieldSet s : it->second.sets) {
    if (s == set) return true;
  }
  return false;
}

const std::set<std::string>& HeaderFields() {
  static const auto* fields =
      new std::set<std::string>{"id",        "agency_id", "referral_id",
                                "type",      "time",      "legal_basis",
                                "field_set", "sequence",  "linked_referral_id"};
  return *fields;
}

const std::set<std::string>& FieldsOf(v1::FieldSet set) {
  static const auto* sets = new std::map<FieldSet, std::set<std::string>>{
      {kReferrer,
       {"status", "pathways", "priority", "provider_id", "service",
        "contacted_at", "within_deadline", "failed_attempts",
        "withdrawal_reason", "closure_reason", "feels_safer", "copes_better",
        "better_informed"}},
      {kMarac,
       {"status", "area_code", "risk", "dash_score", "repeat_marac", "rule_ids",
        "withdrawal_reason", "marac_meeting_id", "marac_action_id",
        "marac_action_kind", "due"}},
      {kProvider,
       {"status",
        "pathways",
        "priority",
        "area_code",
        "locality_code",
        "language",
        "interpreter_needed",
        "enhanced_rights",
        "first_contact_due",
        "provider_id",
        "assignment_id",
        "advocate_id",
        "offer_expires_at",
        "contacted_at",
        "within_deadline",
        "failed_attempts",
        "withdrawal_reason",
        "closure_reason",
        "feels_safer",
        "copes_better",
        "better_informed",
        "pathway",
        "service",
        "also_pathway",
        "due",
        "deadline_kind",
        "deadline_rule"}},
      {kCommissioning,
       {"area_code", "locality_code", "pathway", "service", "role",
        "reason_code", "due", "deadline_kind", "deadline_rule"}},
      {kPolice,
       {"area_code", "order_id", "order_type", "order_state",
        "previous_order_state", "consideration", "consideration_id", "applied",
        "expires_at", "due", "breach_id", "withdrawal_reason"}},
  };
  static const std::set<std::string>* none = new std::set<std::string>();
  auto it = sets->find(set);
  return it == sets->end() ? *none : it->second;
}

const v1::PartnerEvent& ProjectionCache::In(v1::FieldSet set) {
  auto it = by_set_.find(set);
  if (it == by_set_.end()) {
    it = by_set_.emplace(set, Project(envelope_, input_, set)).first;
  }
  return it->second;
}

v1::PartnerEvent Project(const v1::EventEnvelope& e,
                         const ProjectionInput& input, v1::FieldSet set) {
  v1::PartnerEvent p;
  p.set_type(PartnerTypeOf(e.type()));
  *p.mutable_time() = e.occurred_at();
  p.set_field_set(set);
  if (input.decision != nullptr) p.set_area_code(input.decision->area_code());
  p.set_provider_id(input.provider_id);
  switch (e.payload_case()) {
    case v1::EventEnvelope::kReferralTriaged:
      FromDecision(e.referral_triaged(), &p);
      break;
    case v1::EventEnvelope::kReferralReassessed:
      FromDecision(e.referral_reassessed().decision(), &p);
      break;
    case v1::EventEnvelope::kReferralLinked:
      break;  // the header says it all (linked_referral_id)
    case v1::EventEnvelope::kAdvocateOffered: {
      const v1::AdvocateOffered& o = e.advocate_offered();
      p.set_assignment_id(o.assignment_id());
      p.set_advocate_id(o.advocate_id());
      p.set_provider_id(o.provider_id());
      p.set_pathway(o.pathway());
      p.set_interpreter_needed(o.interpreter_flag());
      *p.mutable_offer_expires_at() = o.offer_expires_at();
      p.set_also_pathway(o.also_pathway());
      break;
    }
    case v1::EventEnvelope::kServiceOffered: {
      const v1::ServiceOffered& o = e.service_offered();
      p.set_assignment_id(o.assignment_id());
      p.set_provider_id(o.provider_id());
      p.set_pathway(o.pathway());
      p.set_service(o.service());
      *p.mutable_first_contact_due() = o.first_contact_due();
      break;
    }
    case v1::EventEnvelope::kDeadlineApproaching:
    case v1::EventEnvelope::kDeadlineMissed: {
      const bool missed = e.has_deadline_missed();
      const v1::Deadline& d = missed ? e.deadline_missed().deadline()
                                     : e.deadline_approaching().deadline();
      p.set_assignment_id(missed ? e.deadline_missed().assignment_id()
                                 : e.deadline_approaching().assignment_id());
      p.set_advocate_id(missed ? e.deadline_missed().advocate_id()
                               : e.deadline_approaching().advocate_id());
      p.set_service(missed ? e.deadline_missed().service()
                           : e.deadline_approaching().service());
      p.set_pathway(d.pathway());
      *p.mutable_due() = d.due();
      p.set_deadline_kind(d.kind());
      p.set_deadline_rule(d.rule_id());
      break;
    }
    case v1::EventEnvelope::kPathwayUnserved: {
      const v1::PathwayUnserved& u = e.pathway_unserved();
      p.set_area_code(u.area_code());
      p.set_locality_code(u.locality_code());
      p.set_pathway(u.pathway());
      p.set_service(u.service());
      p.set_role(u.role());
      p.set_reason_code(u.reason());
      break;
    }
    case v1::EventEnvelope::kReferralWaitlisted: {
      const v1::ReferralWaitlisted& w = e.referral_waitlisted();
      p.set_assignment_id(w.assignment_id());
      p.set_pathway(w.pathway());
      p.add_pathways(w.pathway());
      p.set_priority(w.priority());
      break;
    }
    case v1::EventEnvelope::kWaitlistAssigned: {
      const v1::WaitlistAssigned& w = e.waitlist_assigned();
      p.set_assignment_id(w.assignment_id());
      p.set_advocate_id(w.advocate_id());
      p.set_provider_id(w.provider_id());
      p.set_pathway(w.pathway());
      p.set_interpreter_needed(w.interpreter_flag());
      *p.mutable_offer_expires_at() = w.offer_expires_at();
      break;
    }
    case v1::EventEnvelope::kAssignmentAccepted:
      p.set_assignment_id(e.assignment_accepted().assignment_id());
      p.set_advocate_id(e.assignment_accepted().advocate_id());
      break;
    case v1::EventEnvelope::kAssignmentDeclined:
      p.set_assignment_id(e.assignment_declined().assignment_id());
      p.set_advocate_id(e.assignment_declined().advocate_id());
      break;
    case v1::EventEnvelope::kOfferExpired:
      p.set_assignment_id(e.offer_expired().assignment_id());
      p.set_advocate_id(e.offer_expired().advocate_id());
      break;
    case v1::EventEnvelope::kFirstContactRecorded: {
      const v1::FirstContactRecorded& f = e.first_contact_recorded();
      p.set_assignment_id(f.assignment_id());
      p.set_advocate_id(f.advocate_id());
      *p.mutable_contacted_at() = f.contacted_at();
      *p.mutable_first_contact_due() = f.due();
      p.set_within_deadline(f.within_deadline());
      p.set_failed_attempts(f.failed_attempts());
      break;
    }
    case v1::EventEnvelope::kContactAttemptFailed: {
      const v1::ContactAttemptFailed& f = e.contact_attempt_failed();
      p.set_assignment_id(f.assignment_id());
      p.set_advocate_id(f.advocate_id());
      *p.mutable_first_contact_due() = f.due();
      p.set_failed_attempts(f.failed_attempts());
      break;
    }
    case v1::EventEnvelope::kCaseClosed: {
      const v1::CaseClosed& c = e.case_closed();
      p.set_assignment_id(c.assignment_id());
      p.set_advocate_id(c.advocate_id());
      p.set_closure_reason(c.closure_reason());
      p.set_feels_safer(c.feels_safer());
      p.set_copes_better(c.copes_better());
      p.set_better_informed(c.better_informed());
      break;
    }
    case v1::EventEnvelope::kAssignmentReleased: {
      const v1::AssignmentReleased& r = e.assignment_released();
      p.set_assignment_id(r.assignment_id());
      p.set_advocate_id(r.advocate_id());
      p.set_pathway(r.pathway());
      p.add_pathways(r.pathway());
      p.set_closure_reason(r.reason_code());
      break;
    }
    case v1::EventEnvelope::kReferralWithdrawn:
      p.set_withdrawal_reason(e.referral_withdrawn().reason());
      break;
    case v1::EventEnvelope::kOrderConsiderationOpened: {
      const v1::OrderConsiderationOpened& o = e.order_consideration_opened();
      p.set_consideration_id(o.consideration_id());
      p.set_consideration(o.consideration());
      if (!o.area_code().empty()) p.set_area_code(o.area_code());
      break;
    }
    case v1::EventEnvelope::kOrderRecorded: {
      const v1::OrderRecorded& o = e.order_recorded();
      p.set_order_id(o.order_id());
      p.set_order_type(o.order_type());
      p.set_order_state(o.state());
      p.set_previous_order_state(o.previous_state());
      *p.mutable_expires_at() = o.expires_at();
      break;
    }
    case v1::EventEnvelope::kConsiderationDecided: {
      const v1::ConsiderationDecided& c = e.consideration_decided();
      p.set_consideration_id(c.consideration_id());
      p.set_consideration(c.consideration());
      p.set_applied(c.applied());
      p.set_order_id(c.order_id());
      break;
    }
    case v1::EventEnvelope::kOrderBreached:
      p.set_order_id(e.order_breached().order_id());
      p.set_order_type(e.order_breached().order_type());
      p.set_breach_id(e.order_breached().breach_id());
      break;
    case v1::EventEnvelope::kHearingDue:
      p.set_order_id(e.hearing_due().order_id());
      p.set_order_type(e.hearing_due().order_type());
      *p.mutable_due() = e.hearing_due().due();
      break;
    case v1::EventEnvelope::kOrderExpiring:
      p.set_order_id(e.order_expiring().order_id());
      p.set_order_type(e.order_expiring().order_type());
      *p.mutable_expires_at() = e.order_expiring().expires_at();
      break;
    case v1::EventEnvelope::kOrderExpired:
      p.set_order_id(e.order_expired().order_id());
      p.set_order_type(e.order_expired().order_type());
      break;
    case v1::EventEnvelope::kNotificationDutyOverdue:
      p.set_order_id(e.notification_duty_overdue().order_id());
      p.set_order_type(e.notification_duty_overdue().order_type());
      *p.mutable_due() = e.notification_duty_overdue().due();
      break;
    case v1::EventEnvelope::kElectronicMonitoringEnded:
      p.set_order_id(e.electronic_monitoring_ended().order_id());
      break;
    case v1::EventEnvelope::kMaracActionAllocated: {
      // Ids and codes only: the meeting, the action, its kind and due date.
      const v1::MaracActionAllocated& a = e.marac_action_allocated();
      p.set_area_code(a.area_code());
      p.set_marac_meeting_id(a.meeting_id());
      p.set_marac_action_id(a.action_id());
      p.set_marac_action_kind(a.kind());
      *p.mutable_due() = a.due();
      break;
    }
    default:
      break;
  }
  KeepOnly(set, &p);
  return p;
}

void KeepOnly(v1::FieldSet set, v1::PartnerEvent* event) {
  const std::set<std::string>& allowed = FieldsOf(set);
  const google::protobuf::Reflection* reflection = event->GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> present;
  reflection->ListFields(*event, &present);
  for (const google::protobuf::FieldDescriptor* field : present) {
    if (HeaderFields().count(field->name()) == 0 &&
        allowed.count(field->name()) == 0) {
      reflection->ClearField(event, field);
    }
  }
}

std::string PartnerEventId(absl::string_view agency_id,
                           absl::string_view internal_event_id,
                           v1::FieldSet set) {
  std::string digest =
      crypto::HmacSha256("signpost.partner-event-id.v1",
                         absl::StrCat(agency_id, "/", internal_event_id, "/",
                                      static_cast<int>(set)));
  unsigned char b[16];
  for (int i = 0; i < 16; ++i) b[i] = static_cast<unsigned char>(digest[i]);
  b[6] = (b[6] & 0x0f) | 0x80;  // version 8: custom (name-based, SHA-256)
  b[8] = (b[8] & 0x3f) | 0x80;  // RFC 4122 variant
  return absl::StrFormat(
      "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
      b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
      b[12], b[13], b[14], b[15]);
}

std::string PartnerTopic(absl::string_view agency_id) {
  return absl::StrCat("signpost.partner.", agency_id, ".v1");
}

std::string BasisName(v1::LegalBasis basis) {
  return std::string(
      absl::StripPrefix(v1::LegalBasis_Name(basis), "LEGAL_BASIS_"));
}

}  // namespace signpost::notification
