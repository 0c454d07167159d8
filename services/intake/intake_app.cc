#include "services/intake/intake_app.h"

#include <optional>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/crypto/keyring.h"
#include "common/errors/errors.h"
#include "common/events/envelope.h"
#include "common/http/retry.h"
#include "common/log/log.h"
#include "common/safety/contact_rules.h"
#include "common/status/macros.h"
#include "common/store/access_audit.h"
#include "common/store/outbox.h"
#include "common/time/timestamps.h"
#include "services/intake/idempotency.h"
#include "services/intake/retention.h"
#include "services/intake/validation.h"

namespace signpost::intake {
namespace {

// A new intake event about `referral_id` that happened at `at` (caused by
// `cause`, when given).
v1::EventEnvelope NewEvent(absl::string_view referral_id, absl::Time at,
                           const v1::EventEnvelope* cause = nullptr) {
  v1::EventEnvelope event = events::NewEnvelope("intake", referral_id, cause);
  *event.mutable_occurred_at() = timeutil::ToTimestamp(at);
  return event;
}

// ReferralWithdrawn: the reason code and who recorded it, nothing more.
v1::EventEnvelope WithdrawnEvent(absl::string_view referral_id,
                                 v1::WithdrawalReason reason,
                                 absl::string_view recorded_by, absl::Time at,
                                 const v1::EventEnvelope* cause = nullptr) {
  v1::EventEnvelope event = NewEvent(referral_id, at, cause);
  event.mutable_referral_withdrawn()->set_reason(reason);
  event.mutable_referral_withdrawn()->set_recorded_by(std::string(recorded_by));
  return event;
}

// Stamps `event`'s type and appends it to intake's topic in `tx`.
absl::Status Emit(store::Tx& tx, v1::EventEnvelope& event,
                  absl::string_view traceparent) {
  events::StampType(&event);
  return store::AppendToOutbox(tx, event, events::kIntakeTopic, traceparent);
}

}  // namespace

absl::StatusOr<SubmitOutcome> IntakeApp::SubmitReferral(
    const access::Principal& caller, const std::string& idempotency_key,
    v1::Referral referral, absl::Time now, absl::string_view traceparent) {
  const std::string agency = caller.agency_id().value();
  if (!referral.referrer_org().empty() &&
      absl::AsciiStrToLower(referral.referrer_org()) != agency) {
    return errors::Denied(access::kRuleOwnAgency, referral.referrer_org(),
                          "names another agency: a referral is recorded as "
                          "the calling agency's own");
  }
  referral.set_referrer_org(agency);
  const absl::Time received_at = timeutil::TruncateToMillis(now);
  // Scoped to the caller: one agency's key never finds another's referral.
  const std::string scoped_key = absl::StrCat(agency, "/", idempotency_key);
  // Computed outside the transaction: HMACs only, no store.
  const std::vector<BlindIndex> indexes =
      BlindIndexes(referral, caller.agency_id(), options_.matching_key);
  const std::string incident_digest =
      IncidentDigest(referral, options_.matching_key);
  return db_.Write([&](store::Tx& tx) -> absl::StatusOr<SubmitOutcome> {
    ASSIGN_OR_RETURN(std::optional<KeyedReferral> first,
                     store_.FindByIdempotencyKey(tx, scoped_key));
    if (first.has_value()) {
      std::string key;  // rows from before encryption: a plain digest
      bool checkable = true;
      if (!first->person_id.empty()) {
        ASSIGN_OR_RETURN(std::optional<std::string> found,
                         keys_->Find(tx, first->person_id));
        // Erased since: the retry cannot be compared, and gets the first
        // (erased) referral back.
        checkable = found.has_value();
        if (found.has_value()) key = *std::move(found);
      }
      if (checkable) {
        RETURN_IF_ERROR(
            CheckRetry(first->request_digest, DigestOf(referral, key)));
      }
      return SubmitOutcome{first->referral_id, /*duplicate=*/true,
                           first->received_at, EventId(), ReferralId()};
    }
    NewReferral row;
    row.referral_id = ReferralId(NewUuid());
    row.idempotency_key = scoped_key;
    row.facts = ExtractFacts(referral);
    row.received_at = received_at;
    row.submitted_by = caller.agency_id();
    row.incident_digest = incident_digest;
    row.incident_time = IncidentTime(referral);
    // The person: found again through a blind index, or new.
    ASSIGN_OR_RETURN(std::optional<PersonMatch> match,
                     store_.FindPerson(tx, indexes));
    if (match.has_value() && match->matched_by != IndexKind::kNameDob) {
      ASSIGN_OR_RETURN(
          bool person_has_dob,
          store_.HasIndexOfKind(tx, match->person_id, IndexKind::kNameDob));
      if (!AcceptMatch(match->matched_by,
                       HasIndex(indexes, IndexKind::kNameDob),
                       person_has_dob)) {
        match.reset();  // someone else: a new person
      }
    }
    std::optional<std::string> person;
    if (match.has_value()) person = match->person_id;
    std::optional<Link> link;
    if (person.has_value()) {
      ASSIGN_OR_RETURN(std::vector<IncidentCandidate> earlier,
                       store_.LinkCandidates(tx, *person, caller.agency_id(),
                                             incident_digest, row.incident_time,
                                             options_.link_window));
      link = FindLink(caller.agency_id(), incident_digest, row.incident_time,
                      earlier, options_.link_window);
    }
    row.person_id = person.has_value() ? *person : NewUuid();
    if (link.has_value()) row.linked_to = link->primary;
    row.facts.set_person_id(row.person_id);
    ASSIGN_OR_RETURN(std::string data_key,
                     keys_->GetOrCreate(tx, row.person_id));
    row.request_digest = DigestOf(referral, data_key);
    ASSIGN_OR_RETURN(
        row.sealed_referral,
        crypto::SealField(data_key, row.referral_id.value(),
                          "protected_referral", referral.SerializeAsString()));
    row.referral = std::move(referral);
    RETURN_IF_ERROR(store_.Insert(tx, row));
    RETURN_IF_ERROR(store_.PutIndexes(tx, row.person_id, indexes));
    // A new referral stops the person's retention clock.
    RETURN_IF_ERROR(store_.DeleteRetentionTimer(tx, row.person_id));

    // A linked referral is told on the referral it joined: one triage, one
    // advocate.
    v1::EventEnvelope event = NewEvent(
        link.has_value() ? link->primary.value() : row.referral_id.value(),
        received_at);
    if (link.has_value()) {
      v1::ReferralLinked* linked = event.mutable_referral_linked();
      linked->set_linked_referral_id(row.referral_id.value());
      linked->set_referrer_agency(agency);
      linked->set_match(link->match);
    } else {
      *event.mutable_referral_received()->mutable_facts() =
          std::move(row.facts);
    }
    RETURN_IF_ERROR(Emit(tx, event, traceparent));
    return SubmitOutcome{row.referral_id, /*duplicate=*/false, received_at,
                         EventId(event.event_id()), row.linked_to};
  });
}

absl::StatusOr<ReferralView> IntakeApp::GetReferral(
    const access::Principal& caller, const ReferralId& referral_id,
    absl::string_view break_glass_reason, absl::Time now,
    absl::string_view traceparent) {
  return db_.Write([&](store::Tx& tx) -> absl::StatusOr<ReferralView> {
    ASSIGN_OR_RETURN(std::optional<ReferralAccessFacts> facts,
                     store_.FindAccessFacts(tx, referral_id));
    ASSIGN_OR_RETURN(
        Disclosure disclosure,
        DecideDisclosure(caller, referral_id, facts, break_glass_reason));
    ASSIGN_OR_RETURN(std::optional<StoredReferral> stored,
                     store_.Find(tx, referral_id));
    if (!stored.has_value()) {
      return errors::InvariantViolation(absl::StrCat(
          "referral ", referral_id.value(), " has access facts but no row"));
    }
    const std::string person_id = stored->person_id;
    ReferralView view;
    if (disclosure.field_class == v1::FIELD_CLASS_PERSONAL ||
        caller.Has(v1::ROLE_OPERATOR)) {
      ASSIGN_OR_RETURN(std::vector<NoticeRow> rows,
                       notices_.OfReferral(tx, referral_id));
      for (const NoticeRow& row : rows) {
        v1::VictimNotice& n = view.victim_notices.emplace_back();
        n.set_kind(row.kind);
        n.set_status(row.status);
        n.set_channel(row.channel);
        *n.mutable_due_at() = timeutil::ToTimestamp(row.due_at);
        if (row.sent_at)
          *n.mutable_sent_at() = timeutil::ToTimestamp(*row.sent_at);
        n.set_reason(row.reason);
        n.set_attempts(row.attempts);
      }
    }
    view.lifecycle = stored->lifecycle;
    view.linked_to = stored->linked_to;
    if (stored->erased_at.has_value()) {
      // Nothing remains to disclose, and nothing is read.
      view.erased_at = stored->erased_at;
      view.field_class = v1::FIELD_CLASS_IDS_AND_CODES;
      view.referral = ReceivedReferral{referral_id, {}, stored->received_at};
      return view;
    }
    ASSIGN_OR_RETURN(std::optional<ReceivedReferral> found,
                     OpenReferral(tx, *std::move(stored)));
    view.field_class = disclosure.field_class;
    if (disclosure.field_class == v1::FIELD_CLASS_PERSONAL ||
        disclosure.field_class == v1::FIELD_CLASS_MARAC_SET) {
      v1::AccessAudited record = store::AccessAllowed(
          caller.agency_id().value(), "/signpost.v1.IntakeService/GetReferral",
          referral_id.value(), disclosure.field_class, disclosure.decision,
          disclosure.rule_id);
      if (disclosure.decision == v1::ACCESS_DECISION_BREAK_GLASS) {
        BreakGlassRead read{NewUuid(), caller.agency_id(), referral_id, "",
                            now};
        // A referral stored before people existed has no person: its own
        // key seals the reason.
        ASSIGN_OR_RETURN(std::string key,
                         person_id.empty()
                             ? keys_->GetOrCreate(tx, referral_id.value())
                             : keys_->Get(tx, person_id));
        ASSIGN_OR_RETURN(
            read.sealed_reason,
            crypto::SealField(key, read.access_id, "break_glass_reason",
                              absl::StripAsciiWhitespace(break_glass_reason)));
        RETURN_IF_ERROR(store_.InsertBreakGlass(tx, read));
        record.set_break_glass_id(read.access_id);
      }
      RETURN_IF_ERROR(
          store::AppendAccessAudit(tx, "intake", record, traceparent));
      view.audited = true;
    }
    found->referral = Project(found->referral, disclosure.field_class);
    view.referral = std::move(*found);
    return view;
  });
}

absl::Status IntakeApp::ApplyRoutingEvent(store::Tx& tx,
                                          const v1::EventEnvelope& event) {
  const ReferralId referral_id(event.referral_id());
  RETURN_IF_ERROR(TrackProgress(tx, event));
  switch (event.payload_case()) {
    case v1::EventEnvelope::kReferralTriaged:
    case v1::EventEnvelope::kReferralReassessed: {
      const v1::ReferralTriaged& decision =
          event.has_referral_triaged() ? event.referral_triaged()
                                       : event.referral_reassessed().decision();
      RETURN_IF_ERROR(store_.SetMarac(tx, referral_id, decision.marac()));
      if (decision.status() == v1::REFERRAL_STATUS_ROUTED) {
        RETURN_IF_ERROR(QueueNotice(
            tx, referral_id, NoticeKind::kReferralReceived, EventTime(event)));
      }
      // A decision that leaves nobody holding the referral (consent
      // required, service pathways only) starts its retention clock; an
      // offer or a waitlisting after it stops the clock again (Reopen). Not
      // while MARAC or RJ consent is still to come.
      if (decision.marac() || decision.rj_awaiting_consent()) {
        return Reopen(tx, referral_id);
      }
      return CloseIfUnheld(tx, referral_id, EventTime(event));
    }
    case v1::EventEnvelope::kServiceOffered: {
      // A service that works with the victim holds the referral like an
      // advocate's provider (it reads it once it acknowledges), and the
      // victim is told it will be in touch. A perpetrator programme and
      // MARAC hold nothing: they never read the victim's personal data
      // here (MARAC has its own field set).
      const v1::ServiceOffered& o = event.service_offered();
      if (!safety::WorksWithVictim(o.service())) return absl::OkStatus();
      RETURN_IF_ERROR(Reopen(tx, referral_id));
      RETURN_IF_ERROR(store_.PutHold(tx, AssignmentId(o.assignment_id()),
                                     referral_id, ProviderId(o.provider_id())));
      if (o.service() == v1::SERVICE_KIND_CHILDREN_SAFEGUARDING) {
        return absl::OkStatus();  // the child's safeguarding, not support
      }
      return QueueNotice(tx, referral_id, NoticeKind::kServiceToContact,
                         EventTime(event));
    }
    case v1::EventEnvelope::kAdvocateOffered:
      RETURN_IF_ERROR(QueueNotice(
          tx, referral_id, NoticeKind::kServiceToContact, EventTime(event)));
      RETURN_IF_ERROR(Reopen(tx, referral_id));
      return store_.PutHold(
          tx, AssignmentId(event.advocate_offered().assignment_id()),
          referral_id, ProviderId(event.advocate_offered().provider_id()));
    case v1::EventEnvelope::kWaitlistAssigned:
      RETURN_IF_ERROR(QueueNotice(
          tx, referral_id, NoticeKind::kServiceToContact, EventTime(event)));
      RETURN_IF_ERROR(Reopen(tx, referral_id));
      return store_.PutHold(
          tx, AssignmentId(event.waitlist_assigned().assignment_id()),
          referral_id, ProviderId(event.waitlist_assigned().provider_id()));
    case v1::EventEnvelope::kReferralWaitlisted:
      // Someone is still to be assigned: the referral stays open (a hold
      // with no provider, which discloses nothing).
      RETURN_IF_ERROR(Reopen(tx, referral_id));
      return store_.PutHold(
          tx, AssignmentId(event.referral_waitlisted().assignment_id()),
          referral_id, ProviderId(""));
    case v1::EventEnvelope::kAssignmentAccepted:
      // A named advocate (a service's acknowledgement names none).
      if (!event.assignment_accepted().advocate_id().empty()) {
        RETURN_IF_ERROR(QueueNotice(
            tx, referral_id, NoticeKind::kAdvocateAssigned, EventTime(event)));
      }
      return store_.AcceptHold(
          tx, AssignmentId(event.assignment_accepted().assignment_id()));
    case v1::EventEnvelope::kAssignmentDeclined:
      return store_.EndHold(
          tx, AssignmentId(event.assignment_declined().assignment_id()));
    case v1::EventEnvelope::kOfferExpired:
      return store_.EndHold(
          tx, AssignmentId(event.offer_expired().assignment_id()));
    case v1::EventEnvelope::kCaseClosed:
    case v1::EventEnvelope::kAssignmentReleased: {
      const std::string& assignment_id =
          event.has_case_closed() ? event.case_closed().assignment_id()
                                  : event.assignment_released().assignment_id();
      RETURN_IF_ERROR(store_.EndHold(tx, AssignmentId(assignment_id)));
      // The last assignment closed: the referral's retention clock starts.
      return CloseIfUnheld(tx, referral_id, EventTime(event));
    }
    default:
      return absl::OkStatus();
  }
}

absl::Status IntakeApp::QueueNotice(store::Tx& tx,
                                    const ReferralId& referral_id,
                                    NoticeKind kind, absl::Time at) {
  // Only for a referral intake holds (not one another intake took).
  ASSIGN_OR_RETURN(std::optional<ReferralState> state,
                   store_.FindState(tx, referral_id));
  if (!state) return absl::OkStatus();
  NoticeRow row;
  row.referral_id = referral_id;
  row.kind = NoticeKindName(kind);
  row.status = kNoticePending;
  row.due_at = timeutil::TruncateToMillis(at);
  row.created_at = row.due_at;
  return notices_.Add(tx, row).status();
}

absl::StatusOr<std::vector<OutgoingNotice>> IntakeApp::NextNotices(
    absl::Time now, int limit) {
  now = timeutil::TruncateToMillis(now);
  return db_.Write(
      [&](store::Tx& tx) -> absl::StatusOr<std::vector<OutgoingNotice>> {
        ASSIGN_OR_RETURN(std::vector<NoticeRow> due,
                         notices_.Due(tx, now, limit));
        std::vector<OutgoingNotice> out;
        for (NoticeRow& row : due) {
          const std::optional<NoticeKind> kind = ParseNoticeKind(row.kind);
          if (!kind) {
            return errors::InvariantViolation(
                absl::StrCat("victim notice of unknown kind '", row.kind, "'"));
          }
          ASSIGN_OR_RETURN(std::optional<StoredReferral> stored,
                           store_.Find(tx, row.referral_id));
          std::string stop;
          if (!stored || stored->erased_at.has_value()) {
            stop = "REFERRAL-ERASED";
          } else if (stored->lifecycle == v1::REFERRAL_LIFECYCLE_WITHDRAWN ||
                     stored->lifecycle == v1::REFERRAL_LIFECYCLE_CANCELLED) {
            stop = "REFERRAL-WITHDRAWN";
          }
          if (!stop.empty()) {
            row.status = kNoticeSuppressed;
            row.reason = stop;
            RETURN_IF_ERROR(notices_.Update(tx, row));
            continue;
          }
          absl::StatusOr<ReceivedReferral> referral =
              OpenReferral(tx, *std::move(stored));
          if (!referral.ok()) {
            // One unreadable referral does not hold back everyone else's
            // notices. Ids only.
            log::Error("victim notice: referral unreadable",
                       {{"referral_id", row.referral_id.value()},
                        {"error", std::string(referral.status().message())}});
            row.status = kNoticeFailed;
            row.reason = "REFERRAL-UNREADABLE";
            RETURN_IF_ERROR(notices_.Update(tx, row));
            continue;
          }
          const v1::Referral& r = referral->referral;
          NoticeReach reach;
          reach.phone = !r.personal().phone().empty();
          reach.email = !r.personal().email().empty();
          reach.safe_address = !r.safe_contact().safe_address().empty();
          reach.gateways = options_.notice_gateways;
          const NoticePlan plan = PlanNotice(ContactRulesOf(r.safe_contact()),
                                             reach, now, options_.zone);
          if (!plan.channel) {
            row.status = kNoticeSuppressed;
            row.reason = plan.suppressed;
            RETURN_IF_ERROR(notices_.Update(tx, row));
            continue;
          }
          row.channel = *plan.channel;
          if (plan.send_at > now) {
            row.status = kNoticeHeld;
            row.reason = "HELD-UNTIL-SAFE-TIME";
            row.due_at = plan.send_at;
            RETURN_IF_ERROR(notices_.Update(tx, row));
            continue;
          }
          OutgoingNotice& n = out.emplace_back();
          n.referral_id = row.referral_id;
          n.kind = *kind;
          n.channel = *plan.channel;
          n.to = n.channel == v1::CONTACT_CHANNEL_SMS ? r.personal().phone()
                 : n.channel == v1::CONTACT_CHANNEL_EMAIL
                     ? r.personal().email()
                     : r.safe_contact().safe_address();
          n.text = NoticeText(*kind);
          n.rules = ContactRulesOf(r.safe_contact());
          n.message_id = absl::StrCat(row.referral_id.value(), ".", row.kind);
        }
        return out;
      });
}

absl::Status IntakeApp::NoticeSent(const OutgoingNotice& notice,
                                   absl::Time now) {
  return db_.Write([&](store::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(
        std::optional<NoticeRow> row,
        notices_.Find(tx, notice.referral_id, NoticeKindName(notice.kind)));
    if (!row) return absl::OkStatus();  // erased meanwhile
    row->status = kNoticeSent;
    row->channel = notice.channel;
    row->reason.clear();
    row->attempts += 1;
    row->sent_at = timeutil::TruncateToMillis(now);
    return notices_.Update(tx, *row);
  });
}

absl::Status IntakeApp::NoticeFailed(const OutgoingNotice& notice,
                                     const std::string& error, absl::Time now) {
  return db_.Write([&](store::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(
        std::optional<NoticeRow> row,
        notices_.Find(tx, notice.referral_id, NoticeKindName(notice.kind)));
    if (!row) return absl::OkStatus();
    row->attempts += 1;
    row->reason = error;
    if (row->attempts >= options_.notice_max_attempts) {
      row->status = kNoticeFailed;
    } else {
      // Planned again when due: the safe time may have passed by then.
      row->status = kNoticePending;
      absl::BitGen gen;
      row->due_at = timeutil::TruncateToMillis(
          now + http::BackoffDelay(row->attempts, options_.notice_backoff_base,
                                   options_.notice_backoff_cap, gen));
    }
    return notices_.Update(tx, *row);
  });
}

absl::StatusOr<absl::Time> IntakeApp::NextNoticeDue() {
  return db_.Read([&](store::Tx& tx) -> absl::StatusOr<absl::Time> {
    ASSIGN_OR_RETURN(std::optional<absl::Time> next, notices_.NextDue(tx));
    return next.value_or(absl::InfiniteFuture());
  });
}

absl::StatusOr<std::vector<NoticeRow>> IntakeApp::NoticesOf(
    const ReferralId& referral_id) {
  return db_.Read(
      [&](store::Tx& tx) { return notices_.OfReferral(tx, referral_id); });
}

absl::StatusOr<ReceivedReferral> IntakeApp::OpenReferral(
    store::Tx& tx, StoredReferral stored) {
  ReceivedReferral out{stored.referral_id, {}, stored.received_at};
  std::string bytes = std::move(stored.protected_referral);
  if (stored.format == kSealedFormat) {
    ASSIGN_OR_RETURN(std::string key, keys_->Get(tx, stored.person_id));
    ASSIGN_OR_RETURN(bytes, crypto::OpenField(key, stored.referral_id.value(),
                                              "protected_referral", bytes));
  } else if (stored.format != kPlainFormat) {
    return absl::DataLossError(
        absl::StrCat("unknown protected_format '", stored.format, "'"));
  }
  if (!out.referral.ParseFromString(bytes)) {
    return absl::DataLossError("stored referral does not parse");
  }
  return out;
}

absl::StatusOr<ConsentOutcome> IntakeApp::ChangeConsent(
    const access::Principal& caller, const ReferralId& referral_id,
    const ConsentChange& change, bool rj, absl::Time now,
    absl::string_view traceparent) {
  RETURN_IF_ERROR(ValidateConsentChange(change, rj));
  now = timeutil::TruncateToMillis(now);
  return db_.Write([&](store::Tx& tx) -> absl::StatusOr<ConsentOutcome> {
    ASSIGN_OR_RETURN(std::optional<ReferralAccessFacts> access,
                     store_.FindAccessFacts(tx, referral_id));
    RETURN_IF_ERROR(DecideChange(caller, referral_id, access,
                                 /*accepted_provider=*/true));
    ASSIGN_OR_RETURN(std::optional<ReferralState> state,
                     store_.FindState(tx, referral_id));
    if (!state.has_value()) {
      return errors::InvariantViolation("referral has access facts but no row");
    }
    const ReferralAction action = ActionFor(change);
    ASSIGN_OR_RETURN(
        state->lifecycle,
        NextLifecycle(state->lifecycle, action, referral_id, state->linked_to));
    ApplyConsent(change, state->facts.mutable_consent());
    if (action == ReferralAction::kWithdrawConsent) {
      state->facts.set_withdrawn(v1::WITHDRAWAL_REASON_CONSENT_WITHDRAWN);
    }
    RETURN_IF_ERROR(store_.UpdateState(tx, *state));
    RETURN_IF_ERROR(store_.InsertConsentChange(tx, referral_id, change.pathway,
                                               change.party, change.status,
                                               caller.agency_id(), now));

    v1::EventEnvelope event = NewEvent(referral_id.value(), now);
    v1::ConsentUpdated* updated = event.mutable_consent_updated();
    *updated->mutable_consent() = state->facts.consent();
    updated->set_pathway(change.pathway);
    updated->set_rj_party(change.party);
    updated->set_status(change.status);
    updated->set_recorded_by(caller.agency_id().value());
    *updated->mutable_recorded_at() = timeutil::ToTimestamp(now);
    RETURN_IF_ERROR(Emit(tx, event, traceparent));
    if (action == ReferralAction::kWithdrawConsent) {
      v1::EventEnvelope withdrawn = WithdrawnEvent(
          referral_id.value(), v1::WITHDRAWAL_REASON_CONSENT_WITHDRAWN,
          caller.agency_id().value(), now, &event);
      RETURN_IF_ERROR(Emit(tx, withdrawn, traceparent));
      RETURN_IF_ERROR(Close(tx, referral_id, state->person_id, now));
    }
    return ConsentOutcome{state->facts.consent(), state->lifecycle};
  });
}

absl::StatusOr<v1::ReferralLifecycle> IntakeApp::CancelReferral(
    const access::Principal& caller, const ReferralId& referral_id,
    v1::WithdrawalReason reason, absl::Time now,
    absl::string_view traceparent) {
  RETURN_IF_ERROR(ValidateCancelReason(reason));
  now = timeutil::TruncateToMillis(now);
  return db_.Write([&](store::Tx& tx) -> absl::StatusOr<v1::ReferralLifecycle> {
    ASSIGN_OR_RETURN(std::optional<ReferralAccessFacts> access,
                     store_.FindAccessFacts(tx, referral_id));
    RETURN_IF_ERROR(DecideChange(caller, referral_id, access,
                                 /*accepted_provider=*/false));
    ASSIGN_OR_RETURN(std::optional<ReferralState> state,
                     store_.FindState(tx, referral_id));
    if (!state.has_value()) {
      return errors::InvariantViolation("referral has access facts but no row");
    }
    ASSIGN_OR_RETURN(state->lifecycle,
                     NextLifecycle(state->lifecycle, ReferralAction::kCancel,
                                   referral_id, state->linked_to));
    state->facts.set_withdrawn(reason);
    RETURN_IF_ERROR(store_.UpdateState(tx, *state));
    v1::EventEnvelope event = WithdrawnEvent(referral_id.value(), reason,
                                             caller.agency_id().value(), now);
    RETURN_IF_ERROR(Emit(tx, event, traceparent));
    RETURN_IF_ERROR(Close(tx, referral_id, state->person_id, now));
    return state->lifecycle;
  });
}

absl::StatusOr<ErasureOutcome> IntakeApp::EraseVictim(
    const access::Principal& caller, const ReferralId& referral_id,
    v1::ErasureGround ground, absl::string_view reason, absl::Time now,
    absl::string_view traceparent) {
  now = timeutil::TruncateToMillis(now);
  absl::StatusOr<ErasureOutcome> outcome =
      db_.Write([&](store::Tx& tx) -> absl::StatusOr<ErasureOutcome> {
        ASSIGN_OR_RETURN(std::optional<ReferralState> state,
                         store_.FindState(tx, referral_id));
        if (!state.has_value()) {
          return absl::NotFoundError(
              absl::StrCat("referral ", referral_id.value(), " not found"));
        }
        RETURN_IF_ERROR(CheckReasonNamesNobody(tx, *state, reason));
        return ErasePerson(tx, *state, ground, caller.agency_id().value(),
                           absl::StripAsciiWhitespace(reason), now,
                           traceparent);
      });
  if (outcome.ok()) CheckpointAfterErasure();
  return outcome;
}

absl::Status IntakeApp::CheckReasonNamesNobody(store::Tx& tx,
                                               const ReferralState& state,
                                               absl::string_view reason) {
  // Every referral of the person, or (stored before people existed) this
  // one alone.
  std::vector<ReferralId> ids = {state.referral_id};
  if (!state.person_id.empty()) {
    ASSIGN_OR_RETURN(std::vector<PersonReferral> all,
                     store_.ReferralsOfPerson(tx, state.person_id));
    ids.clear();
    for (const PersonReferral& r : all) ids.push_back(r.referral_id);
  }
  for (const ReferralId& id : ids) {
    ASSIGN_OR_RETURN(std::optional<StoredReferral> stored, store_.Find(tx, id));
    if (!stored.has_value() || stored->erased_at.has_value()) continue;
    ASSIGN_OR_RETURN(ReceivedReferral opened,
                     OpenReferral(tx, *std::move(stored)));
    // The safe postal address is theirs too.
    v1::VictimPersonalData safe_address;
    safe_address.set_address(opened.referral.safe_contact().safe_address());
    if (MentionsPerson(reason, opened.referral.personal()) ||
        MentionsPerson(reason, safe_address)) {
      return errors::FieldError(
          "reason",
          "must not name the person or give their date of birth or contact "
          "details: the reason outlives their data");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int> IntakeApp::EraseDue(absl::Time now, int limit) {
  now = timeutil::TruncateToMillis(now);
  absl::StatusOr<int> erased =
      db_.Write([&](store::Tx& tx) -> absl::StatusOr<int> {
        ASSIGN_OR_RETURN(std::vector<std::string> due,
                         store_.RetentionDue(tx, now, limit));
        int count = 0;
        for (const std::string& person_id : due) {
          ASSIGN_OR_RETURN(std::vector<PersonReferral> referrals,
                           store_.ReferralsOfPerson(tx, person_id));
          if (referrals.empty()) {
            RETURN_IF_ERROR(store_.DeleteRetentionTimer(tx, person_id));
            continue;
          }
          ASSIGN_OR_RETURN(std::optional<ReferralState> state,
                           store_.FindState(tx, referrals.front().referral_id));
          if (!state.has_value()) continue;
          // Each erasure starts its own trace.
          RETURN_IF_ERROR(ErasePerson(tx, *state,
                                      v1::ERASURE_GROUND_RETENTION_EXPIRED,
                                      "retention", "", now, NewTraceparent())
                              .status());
          ++count;
        }
        return count;
      });
  if (erased.ok() && *erased > 0) CheckpointAfterErasure();
  return erased;
}

absl::StatusOr<ErasureOutcome> IntakeApp::ErasePerson(
    store::Tx& tx, const ReferralState& state, v1::ErasureGround ground,
    const std::string& erased_by, absl::string_view reason, absl::Time now,
    absl::string_view traceparent) {
  const std::string& person_id = state.person_id;
  std::vector<PersonReferral> referrals;
  if (person_id.empty()) {
    // A referral stored before people existed: it alone.
    referrals.push_back(PersonReferral{state.referral_id, state.lifecycle,
                                       state.area_code, std::nullopt});
  } else {
    ASSIGN_OR_RETURN(referrals, store_.ReferralsOfPerson(tx, person_id));
  }
  ErasureRecord record{NewUuid(), person_id, ground, erased_by, "", 0, now};
  for (const PersonReferral& r : referrals) {
    if (r.lifecycle == v1::REFERRAL_LIFECYCLE_ERASED) continue;
    ASSIGN_OR_RETURN(std::optional<ReferralState> one,
                     store_.FindState(tx, r.referral_id));
    if (!one.has_value()) continue;
    if (r.lifecycle == v1::REFERRAL_LIFECYCLE_ACTIVE) {
      // Partner referrals stop first (assignments released, partners
      // told), as for a withdrawal; the same key keeps the order.
      v1::EventEnvelope withdrawn = WithdrawnEvent(
          r.referral_id.value(), v1::WITHDRAWAL_REASON_ERASED, erased_by, now);
      RETURN_IF_ERROR(Emit(tx, withdrawn, traceparent));
    }
    // The coded facts stay, for figures, but not the victim's safe-contact
    // rules (they describe the victim's situation): neither in the
    // referral's row nor in intake's own copy of its ReferralReceived.
    v1::ReferralFacts kept = one->facts;
    kept.clear_contact_rules();
    RETURN_IF_ERROR(store_.EraseReferral(tx, r.referral_id, kept, now));
    RETURN_IF_ERROR(store::RewriteReferralEvents(
        tx, r.referral_id.value(), [](v1::EventEnvelope& e) {
          if (!e.has_referral_received() ||
              !e.referral_received().facts().has_contact_rules()) {
            return false;
          }
          e.mutable_referral_received()->mutable_facts()->clear_contact_rules();
          return true;
        }));
    v1::EventEnvelope event = NewEvent(r.referral_id.value(), now);
    v1::VictimErased* erased = event.mutable_victim_erased();
    erased->set_person_id(person_id);
    erased->set_ground(ground);
    erased->set_erased_by(erased_by);
    RETURN_IF_ERROR(Emit(tx, event, traceparent));
    ++record.referrals;
  }
  if (record.referrals == 0) {
    // Already erased: the first erasure's answer, nothing written.
    ASSIGN_OR_RETURN(std::optional<ErasureRecord> first,
                     store_.FindErasure(tx, person_id));
    if (first.has_value()) {
      return ErasureOutcome{person_id, first->referrals, first->erased_at};
    }
  }
  if (!person_id.empty()) {
    RETURN_IF_ERROR(store_.DeleteIndexes(tx, person_id).status());
    RETURN_IF_ERROR(keys_->Destroy(tx, person_id).status());
    RETURN_IF_ERROR(store_.DeleteRetentionTimer(tx, person_id));
  }
  if (!reason.empty()) {
    // The operator's reason is free text: sealed under a key of the
    // erasure's own, which outlives the person's.
    const std::string owner = absl::StrCat("erasure/", record.erasure_id);
    ASSIGN_OR_RETURN(std::string key, keys_->GetOrCreate(tx, owner));
    ASSIGN_OR_RETURN(
        record.sealed_reason,
        crypto::SealField(key, record.erasure_id, "reason", reason));
  }
  RETURN_IF_ERROR(store_.InsertErasure(tx, record));
  log::Info("person erased", {{"person_id", person_id},
                              {"referrals", record.referrals},
                              {"ground", v1::ErasureGround_Name(ground)}});
  return ErasureOutcome{person_id, record.referrals, now};
}

absl::Status IntakeApp::Close(store::Tx& tx, const ReferralId& referral_id,
                              absl::string_view person_id, absl::Time at) {
  RETURN_IF_ERROR(store_.MarkClosed(tx, referral_id, at));
  if (person_id.empty()) return absl::OkStatus();
  return ScheduleRetention(tx, person_id);
}

absl::Status IntakeApp::TrackProgress(store::Tx& tx,
                                      const v1::EventEnvelope& event) {
  const bool decision =
      event.has_referral_triaged() || event.has_referral_reassessed();
  const bool routed =
      event.has_advocate_offered() || event.has_referral_waitlisted() ||
      event.has_service_offered() || event.has_pathway_unserved() ||
      event.has_waitlist_assigned();
  if (!decision && !routed) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::optional<Progress> p,
                   stalls_.FindActive(tx, ReferralId(event.referral_id())));
  if (!p) return absl::OkStatus();
  const absl::Time at = EventTime(event);
  if (decision) {
    ApplyDecision(*p,
                  event.has_referral_triaged()
                      ? event.referral_triaged()
                      : event.referral_reassessed().decision(),
                  at);
  } else if (!p->routed_at) {
    p->routed_at = at;
  }
  return stalls_.Save(tx, *p);
}

absl::StatusOr<int> IntakeApp::WatchStalls(absl::Time now) {
  now = timeutil::TruncateToMillis(now);
  return db_.Write([&](store::Tx& tx) -> absl::StatusOr<int> {
    ASSIGN_OR_RETURN(
        std::vector<Progress> due,
        stalls_.ReportsDue(tx, now, options_.stall_after,
                           options_.stall_interval, /*limit=*/500));
    int reported = 0;
    for (Progress& p : due) {
      std::optional<Stall> stall = StuckAt(p, now, options_.stall_after);
      if (!stall || !ReportDue(p, *stall, now, options_.stall_interval)) {
        continue;
      }
      v1::EventEnvelope event = NewEvent(p.referral_id.value(), now);
      *event.mutable_referral_stalled() = Report(p, *stall, now);
      const std::string traceparent = NewTraceparent();
      RETURN_IF_ERROR(stalls_.Save(tx, p));
      RETURN_IF_ERROR(Emit(tx, event, traceparent));
      // Ids and codes only.
      log::Warn("referral stalled", {{"referral_id", p.referral_id.value()},
                                     {"stage", stall->stage},
                                     {"report", p.reports},
                                     {"area_code", p.area_code}});
      ++reported;
    }
    return reported;
  });
}

absl::StatusOr<paging::Page<v1::StalledReferral>> IntakeApp::ListStalled(
    const access::Principal& caller, const std::string& area_code,
    absl::Time now, const paging::PageRequest& page) {
  if (!access::SeesEverything(caller)) {
    if (area_code.empty()) {
      return errors::FieldError("area_code", "is required for a commissioner");
    }
    RETURN_IF_ERROR(access::RequireArea(caller, area_code, area_code));
  }
  return db_.Read(
      [&](store::Tx& tx) -> absl::StatusOr<paging::Page<v1::StalledReferral>> {
        ASSIGN_OR_RETURN(
            paging::Page<Progress> rows,
            stalls_.ListStuck(tx, area_code, now, options_.stall_after, page));
        paging::Page<v1::StalledReferral> out;
        out.next = std::move(rows.next);
        for (const Progress& p : rows.items) {
          std::optional<Stall> stall = StuckAt(p, now, options_.stall_after);
          if (!stall)
            continue;  // the store and the domain agree; belt and braces
          v1::StalledReferral s;
          s.set_referral_id(p.referral_id.value());
          s.set_stage(stall->stage);
          s.set_area_code(p.area_code);
          *s.mutable_received_at() = timeutil::ToTimestamp(p.received_at);
          *s.mutable_stage_since() = timeutil::ToTimestamp(stall->since);
          if (p.stall_stage == stall->stage) {
            if (p.first_reported_at) {
              *s.mutable_first_reported_at() =
                  timeutil::ToTimestamp(*p.first_reported_at);
            }
            if (p.last_reported_at) {
              *s.mutable_last_reported_at() =
                  timeutil::ToTimestamp(*p.last_reported_at);
            }
            s.set_reports(p.reports);
          }
          out.items.push_back(std::move(s));
        }
        return out;
      });
}

absl::Time IntakeApp::EventTime(const v1::EventEnvelope& event) {
  // An event without a time never starts a clock in the past.
  return event.has_occurred_at() ? timeutil::FromTimestamp(event.occurred_at())
                                 : timeutil::NowMillis();
}

absl::Status IntakeApp::CloseIfUnheld(store::Tx& tx,
                                      const ReferralId& referral_id,
                                      absl::Time at) {
  ASSIGN_OR_RETURN(int64_t holds, store_.CountHolds(tx, referral_id));
  if (holds > 0) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::optional<ReferralState> state,
                   store_.FindState(tx, referral_id));
  if (!state.has_value() || state->lifecycle != v1::REFERRAL_LIFECYCLE_ACTIVE) {
    return absl::OkStatus();
  }
  return Close(tx, referral_id, state->person_id, at);
}

absl::Status IntakeApp::Reopen(store::Tx& tx, const ReferralId& referral_id) {
  ASSIGN_OR_RETURN(bool reopened, store_.ClearClosed(tx, referral_id));
  if (!reopened) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::optional<ReferralState> state,
                   store_.FindState(tx, referral_id));
  if (!state.has_value() || state->person_id.empty()) return absl::OkStatus();
  return ScheduleRetention(tx, state->person_id);
}

absl::Status IntakeApp::ScheduleRetention(store::Tx& tx,
                                          absl::string_view person_id) {
  ASSIGN_OR_RETURN(std::vector<PersonReferral> referrals,
                   store_.ReferralsOfPerson(tx, person_id));
  std::optional<absl::Time> due = RetentionDue(options_.retention, referrals);
  if (!due.has_value()) return store_.DeleteRetentionTimer(tx, person_id);
  return store_.PutRetentionTimer(tx, person_id, *due);
}

void IntakeApp::CheckpointAfterErasure() {
  if (absl::Status s = db_.Checkpoint(); !s.ok()) {
    log::Warn("WAL checkpoint after an erasure failed; the next one copies it",
              {{"error", s.ToString()}});
  }
}

absl::Status IntakeApp::CheckMatchingKey() {
  const std::string check =
      crypto::HmacSha256(options_.matching_key, "signpost-matching-key-check");
  return db_.Write([&](store::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<std::string> recorded,
                     store_.FindMatchingKeyCheck(tx));
    if (!recorded.has_value()) return store_.InsertMatchingKeyCheck(tx, check);
    if (*recorded != check) {
      return absl::FailedPreconditionError(
          "is not the key this database's blind indexes were made with: "
          "with it nobody would be found again");
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<int64_t> IntakeApp::CountReferrals() {
  return db_.Read([&](store::Tx& tx) { return store_.Count(tx); });
}

}  // namespace signpost::intake
