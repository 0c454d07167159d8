#include "common/audit/timeline.h"

#include <algorithm>
#include <map>
#include <optional>
#include <queue>
#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/audit/chain.h"
#include "common/events/envelope.h"
#include "common/ids/ids.h"
#include "common/store/outbox.h"
#include "common/time/timestamps.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "signpost/v1/events.pb.h"

namespace signpost::audit {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

constexpr size_t kMaxSummary = 400;

// One verified, decoded record.
struct Event {
  const kafka::ConsumedMessage* record = nullptr;
  std::string producer;
  v1::EventEnvelope envelope;
  uint64_t chain_seq = 0;
};

struct Decoded {
  std::vector<Event> events;  // in the order read
  int64_t read = 0;
  int64_t unverified = 0;
};

Decoded Decode(const std::vector<kafka::ConsumedMessage>& records,
               const events::EventVerifier& keys) {
  Decoded out;
  for (const kafka::ConsumedMessage& r : records) {
    if (r.topic == events::kDeadLetterTopic ||
        absl::StartsWith(r.topic, store::kPartnerTopicPrefix)) {
      continue;
    }
    ++out.read;
    absl::StatusOr<std::string> producer = keys.VerifyAnyProducer(r);
    const std::string owner = OwnerOfTopic(r.topic);
    // A service's own topic carries only its own records.
    if (!producer.ok() || (!owner.empty() && owner != *producer)) {
      ++out.unverified;
      continue;
    }
    Event e;
    e.record = &r;
    e.producer = *std::move(producer);
    if (!e.envelope.ParseFromString(r.payload)) {
      ++out.unverified;  // signed, yet no event: not for a timeline
      continue;
    }
    if (std::optional<std::string> seq = r.Header(kChainSeqHeader)) {
      if (!absl::SimpleAtoi(*seq, &e.chain_seq)) e.chain_seq = 0;
    }
    out.events.push_back(std::move(e));
  }
  return out;
}

// The payload message that is set, or null.
const Message* Payload(const v1::EventEnvelope& envelope) {
  const google::protobuf::OneofDescriptor* oneof =
      envelope.GetDescriptor()->FindOneofByName("payload");
  const Reflection* reflection = envelope.GetReflection();
  const FieldDescriptor* set =
      reflection->GetOneofFieldDescriptor(envelope, oneof);
  if (set == nullptr) return nullptr;
  return &reflection->GetMessage(envelope, set);
}

// Every string field named one of `names`, anywhere in `message`, in field
// order (depth first).
void CollectStrings(const Message& message, const std::set<std::string>& names,
                    std::vector<std::string>* out) {
  const Reflection* reflection = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const FieldDescriptor* f : fields) {
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (f->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(message, f); ++i) {
          CollectStrings(reflection->GetRepeatedMessage(message, f, i), names,
                         out);
        }
      } else {
        CollectStrings(reflection->GetMessage(message, f), names, out);
      }
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_STRING &&
               names.count(f->name())) {
      if (f->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(message, f); ++i) {
          out->push_back(reflection->GetRepeatedString(message, f, i));
        }
      } else {
        out->push_back(reflection->GetString(message, f));
      }
    }
  }
}

std::vector<std::string> StringsNamed(const v1::EventEnvelope& envelope,
                                      const std::set<std::string>& names) {
  std::vector<std::string> out;
  if (const Message* payload = Payload(envelope)) {
    CollectStrings(*payload, names, &out);
  }
  out.erase(std::remove(out.begin(), out.end(), std::string()), out.end());
  return out;
}

bool IsIdOrCode(absl::string_view name) {
  return absl::EndsWith(name, "_id") || absl::EndsWith(name, "_code") ||
         name == "stage" || name == "kind" || name == "match" ||
         name == "legal_basis" || name == "refusal_rule";
}

std::string ScalarText(const Message& m, const FieldDescriptor* f, int i) {
  const Reflection* r = m.GetReflection();
  const bool rep = f->is_repeated();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_ENUM:
      return rep ? r->GetRepeatedEnum(m, f, i)->name()
                 : r->GetEnum(m, f)->name();
    case FieldDescriptor::CPPTYPE_BOOL:
      return (rep ? r->GetRepeatedBool(m, f, i) : r->GetBool(m, f)) ? "true"
                                                                    : "false";
    case FieldDescriptor::CPPTYPE_INT32:
      return absl::StrCat(rep ? r->GetRepeatedInt32(m, f, i)
                              : r->GetInt32(m, f));
    case FieldDescriptor::CPPTYPE_INT64:
      return absl::StrCat(rep ? r->GetRepeatedInt64(m, f, i)
                              : r->GetInt64(m, f));
    case FieldDescriptor::CPPTYPE_UINT32:
      return absl::StrCat(rep ? r->GetRepeatedUInt32(m, f, i)
                              : r->GetUInt32(m, f));
    case FieldDescriptor::CPPTYPE_UINT64:
      return absl::StrCat(rep ? r->GetRepeatedUInt64(m, f, i)
                              : r->GetUInt64(m, f));
    case FieldDescriptor::CPPTYPE_STRING:
      if (!IsIdOrCode(f->name())) return "";
      return rep ? r->GetRepeatedString(m, f, i) : r->GetString(m, f);
    default:
      return "";  // doubles and nested messages: not in a one-line summary
  }
}

// "name=value" for the payload's own coded fields (see the header).
std::string Summary(const v1::EventEnvelope& envelope) {
  const Message* payload = Payload(envelope);
  if (payload == nullptr) return "";
  const Reflection* reflection = payload->GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(*payload, &fields);
  std::vector<std::string> parts;
  for (const FieldDescriptor* f : fields) {
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (f->name() == "person_id") continue;  // said once, by ListAccess
    std::vector<std::string> values;
    const int n = f->is_repeated() ? reflection->FieldSize(*payload, f) : 1;
    for (int i = 0; i < n; ++i) {
      std::string v = ScalarText(*payload, f, i);
      if (!v.empty()) values.push_back(std::move(v));
    }
    if (values.empty()) continue;
    parts.push_back(absl::StrCat(f->name(), "=", absl::StrJoin(values, ",")));
  }
  std::string out = absl::StrJoin(parts, " ");
  if (out.size() > kMaxSummary)
    out = absl::StrCat(out.substr(0, kMaxSummary), "...");
  return out;
}

v1::LogPosition PositionOf(const Event& e) {
  v1::LogPosition p;
  p.set_topic(e.record->topic);
  p.set_partition(e.record->partition);
  p.set_offset(e.record->offset);
  p.set_chain_seq(e.chain_seq);
  return p;
}

// What a share's field set released (unknown for a record from before
// DeliveryRecorded carried its field set: never understated).
v1::FieldClass ClassOfShare(v1::FieldSet set) {
  switch (set) {
    case v1::FIELD_SET_UNSPECIFIED:
      return v1::FIELD_CLASS_UNSPECIFIED;
    case v1::FIELD_SET_MARAC:
      return v1::FIELD_CLASS_MARAC_SET;
    default:
      return v1::FIELD_CLASS_IDS_AND_CODES;
  }
}

v1::TimelineEntry EntryOf(const Event& e) {
  const v1::EventEnvelope& env = e.envelope;
  v1::TimelineEntry t;
  t.set_event_id(env.event_id());
  t.set_type(env.type());
  t.set_producer(e.producer);
  *t.mutable_occurred_at() = env.occurred_at();
  t.set_causation_id(env.causation_id());
  t.set_correlation_id(env.correlation_id());
  *t.mutable_position() = PositionOf(e);
  std::set<std::string> seen;
  for (std::string& rule : StringsNamed(env, {"rule_id", "refusal_rule"})) {
    if (seen.insert(rule).second) t.add_rule_ids(std::move(rule));
  }
  std::vector<std::string> version = StringsNamed(env, {"policy_version"});
  if (!version.empty()) t.set_policy_version(version.front());
  t.set_summary(Summary(env));
  if (env.has_delivery_recorded()) {
    const v1::DeliveryRecorded& d = env.delivery_recorded();
    t.set_agency_id(d.agency_id());
    t.set_transport(d.transport());
    t.set_legal_basis(d.legal_basis());
    t.set_field_set(d.field_set());
    t.set_delivery_status(d.status());
  }
  if (env.has_access_audited()) {
    const v1::AccessAudited& a = env.access_audited();
    t.set_agency_id(a.agency_id());
    t.set_rpc(a.rpc());
    t.set_field_class(a.field_class());
    t.set_decision(a.decision());
    t.set_status_code(a.status_code());
  }
  return t;
}

// Ids other records may name an object of `referral` by.
std::set<std::string> ObjectsOf(const std::vector<const Event*>& keyed,
                                absl::string_view referral) {
  std::set<std::string> objects = {std::string(referral)};
  for (const Event* e : keyed) {
    for (std::string& id : StringsNamed(
             e->envelope, {"assignment_id", "order_id", "consideration_id",
                           "linked_referral_id"})) {
      objects.insert(std::move(id));
    }
  }
  return objects;
}

// The first copy of each event id, by log position.
std::vector<const Event*> FirstCopies(std::vector<const Event*> chosen,
                                      std::map<std::string, int>* resends) {
  std::stable_sort(
      chosen.begin(), chosen.end(), [](const Event* a, const Event* b) {
        return std::tie(a->record->topic, a->record->partition,
                        a->record->offset) < std::tie(b->record->topic,
                                                      b->record->partition,
                                                      b->record->offset);
      });
  std::vector<const Event*> out;
  for (const Event* e : chosen) {
    int& n = (*resends)[e->envelope.event_id()];
    if (n++ == 0) out.push_back(e);
  }
  for (auto& [id, n] : *resends) --n;  // copies beyond the first
  return out;
}

bool IsCheckpoint(const Event& e) { return e.envelope.has_chain_checkpoint(); }

}  // namespace

errors::FieldErrors CheckTimelineRequest(
    const v1::GetTimelineRequest& request) {
  errors::FieldErrors errors;
  if (request.referral_id().empty()) {
    errors.Add("referral_id", "is required");
  } else if (!IsUuid(request.referral_id())) {
    errors.Add("referral_id", "must be a referral id (a UUID)");
  }
  return errors;
}

errors::FieldErrors CheckListAccessRequest(
    const v1::ListAccessRequest& request) {
  errors::FieldErrors errors;
  if (request.person_id().empty()) {
    errors.Add("person_id", "is required");
  } else if (!IsUuid(request.person_id())) {
    errors.Add("person_id", "must be Signpost's person id (a UUID)");
  }
  if (!request.has_from()) errors.Add("from", "is required");
  if (!request.has_to()) errors.Add("to", "is required");
  if (request.has_from() && request.has_to() &&
      timeutil::FromTimestamp(request.to()) <=
          timeutil::FromTimestamp(request.from())) {
    errors.Add("to", "must be after from");
  }
  return errors;
}

v1::GetTimelineResponse BuildTimeline(
    const std::vector<kafka::ConsumedMessage>& records,
    const events::EventVerifier& keys, absl::string_view referral_id) {
  const Decoded decoded = Decode(records, keys);
  v1::GetTimelineResponse out;
  out.set_referral_id(std::string(referral_id));
  out.set_records_read(decoded.read);
  out.set_unverified(decoded.unverified);

  std::vector<const Event*> keyed;
  for (const Event& e : decoded.events) {
    if (e.envelope.referral_id() == referral_id && !IsCheckpoint(e) &&
        !e.envelope.has_access_audited()) {
      keyed.push_back(&e);
    }
  }
  const std::set<std::string> objects = ObjectsOf(keyed, referral_id);
  std::vector<const Event*> chosen = keyed;
  for (const Event& e : decoded.events) {
    if (e.envelope.has_access_audited() &&
        objects.count(e.envelope.access_audited().object_id())) {
      chosen.push_back(&e);
    }
  }
  std::map<std::string, int> resends;
  const std::vector<const Event*> unique = FirstCopies(chosen, &resends);

  // Causal order (Kahn's algorithm): an event is ready once its cause is
  // placed; of the ready ones the earliest goes first.
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < unique.size(); ++i) {
    index.emplace(unique[i]->envelope.event_id(), i);
  }
  std::vector<std::vector<size_t>> children(unique.size());
  std::vector<int> depth(unique.size(), 0);
  auto later = [&](size_t a, size_t b) {
    const Event& x = *unique[a];
    const Event& y = *unique[b];
    const absl::Time tx = timeutil::FromTimestamp(x.envelope.occurred_at());
    const absl::Time ty = timeutil::FromTimestamp(y.envelope.occurred_at());
    // Chain positions are per topic: compared within one only.
    return std::tie(tx, x.producer, x.record->topic, x.chain_seq,
                    x.record->partition, x.record->offset) >
           std::tie(ty, y.producer, y.record->topic, y.chain_seq,
                    y.record->partition, y.record->offset);
  };
  std::priority_queue<size_t, std::vector<size_t>, decltype(later)> ready(
      later);
  for (size_t i = 0; i < unique.size(); ++i) {
    const std::string& cause = unique[i]->envelope.causation_id();
    auto parent = index.find(cause);
    if (cause.empty() || parent == index.end() || parent->second == i) {
      ready.push(i);
    } else {
      children[parent->second].push_back(i);
    }
  }
  std::vector<bool> placed(unique.size(), false);
  auto place = [&](size_t i) {
    placed[i] = true;
    v1::TimelineEntry entry = EntryOf(*unique[i]);
    entry.set_depth(depth[i]);
    entry.set_resends(resends[unique[i]->envelope.event_id()]);
    *out.add_entries() = std::move(entry);
  };
  while (!ready.empty()) {
    const size_t i = ready.top();
    ready.pop();
    place(i);
    for (size_t c : children[i]) {
      depth[c] = depth[i] + 1;
      ready.push(c);
    }
  }
  // A cycle of causes (only a forged log has one): the rest, by time.
  std::vector<size_t> rest;
  for (size_t i = 0; i < unique.size(); ++i) {
    if (!placed[i]) rest.push_back(i);
  }
  std::sort(rest.begin(), rest.end(),
            [&](size_t a, size_t b) { return later(b, a); });
  for (size_t i : rest) place(i);
  return out;
}

v1::ListAccessResponse BuildAccessList(
    const std::vector<kafka::ConsumedMessage>& records,
    const events::EventVerifier& keys, absl::string_view person_id,
    absl::Time from, absl::Time to) {
  const Decoded decoded = Decode(records, keys);
  v1::ListAccessResponse out;
  out.set_person_id(std::string(person_id));
  out.set_records_read(decoded.read);
  out.set_unverified(decoded.unverified);

  std::set<std::string> referrals;
  for (const Event& e : decoded.events) {
    if (e.envelope.has_access_audited()) continue;
    for (const std::string& id : StringsNamed(e.envelope, {"person_id"})) {
      if (id == person_id) referrals.insert(e.envelope.referral_id());
    }
  }
  for (const std::string& r : referrals) out.add_referral_ids(r);
  // Each object id, with the referral it belongs to: each referral its own
  // first, then the objects its events name.
  std::map<std::string, std::string> referral_of;
  for (const std::string& r : referrals) referral_of.emplace(r, r);
  std::map<std::string, std::vector<const Event*>> keyed;
  for (const Event& e : decoded.events) {
    if (referrals.count(e.envelope.referral_id()) &&
        !e.envelope.has_access_audited()) {
      keyed[e.envelope.referral_id()].push_back(&e);
    }
  }
  for (const auto& [referral, events] : keyed) {
    for (const std::string& object : ObjectsOf(events, referral)) {
      referral_of.emplace(object, referral);
    }
  }

  std::vector<const Event*> chosen;
  for (const Event& e : decoded.events) {
    const absl::Time at = timeutil::FromTimestamp(e.envelope.occurred_at());
    if (at < from || at >= to) continue;
    if (e.envelope.has_delivery_recorded() &&
        referrals.count(e.envelope.referral_id()) &&
        e.envelope.delivery_recorded().status() ==
            v1::DELIVERY_STATUS_DELIVERED) {
      chosen.push_back(&e);
    } else if (e.envelope.has_access_audited()) {
      const v1::AccessAudited& a = e.envelope.access_audited();
      const bool released = a.field_class() != v1::FIELD_CLASS_NONE &&
                            a.field_class() != v1::FIELD_CLASS_UNSPECIFIED;
      const bool allowed = a.decision() == v1::ACCESS_DECISION_ALLOWED ||
                           a.decision() == v1::ACCESS_DECISION_BREAK_GLASS;
      // The audit's own reads (timelines, subject access) are ids and
      // codes about the record, not reads of the person's data.
      const bool audit_read =
          absl::StartsWith(a.rpc(), "/signpost.v1.AuditService/");
      if (released && allowed && !audit_read &&
          referral_of.count(a.object_id())) {
        chosen.push_back(&e);
      }
    }
  }
  std::map<std::string, int> resends;
  std::vector<const Event*> copies = FirstCopies(chosen, &resends);
  // A share delivered again (ReplayDeliveries) is one receipt: its first.
  std::vector<const Event*> unique;
  std::set<std::string> deliveries;
  for (const Event* e : copies) {
    if (e->envelope.has_delivery_recorded() &&
        !deliveries.insert(e->envelope.delivery_recorded().delivery_id())
             .second) {
      continue;
    }
    unique.push_back(e);
  }
  std::stable_sort(unique.begin(), unique.end(),
                   [](const Event* a, const Event* b) {
                     return timeutil::FromTimestamp(a->envelope.occurred_at()) <
                            timeutil::FromTimestamp(b->envelope.occurred_at());
                   });
  for (const Event* e : unique) {
    v1::AccessEntry* entry = out.add_entries();
    *entry->mutable_at() = e->envelope.occurred_at();
    entry->set_event_id(e->envelope.event_id());
    *entry->mutable_position() = PositionOf(*e);
    if (e->envelope.has_delivery_recorded()) {
      const v1::DeliveryRecorded& d = e->envelope.delivery_recorded();
      entry->set_agency_id(d.agency_id());
      entry->set_kind(v1::ACCESS_KIND_RECEIVED);
      entry->set_referral_id(e->envelope.referral_id());
      entry->set_object_id(e->envelope.referral_id());
      entry->set_field_set(d.field_set());
      entry->set_field_class(ClassOfShare(d.field_set()));
      entry->set_basis(d.legal_basis());
      entry->set_transport(d.transport());
    } else {
      const v1::AccessAudited& a = e->envelope.access_audited();
      entry->set_agency_id(a.agency_id());
      entry->set_kind(a.decision() == v1::ACCESS_DECISION_BREAK_GLASS
                          ? v1::ACCESS_KIND_BREAK_GLASS
                          : v1::ACCESS_KIND_READ);
      entry->set_referral_id(referral_of[a.object_id()]);
      entry->set_object_id(a.object_id());
      entry->set_field_class(a.field_class());
      entry->set_basis(a.rule_id());
      entry->set_rpc(a.rpc());
    }
  }
  return out;
}

}  // namespace signpost::audit
