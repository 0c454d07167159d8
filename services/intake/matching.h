// Finding the person a referral is about, and the earlier referral of the
// same incident, without keeping anything that identifies them. Pure domain
// code: no gRPC, no SQLite.
//
// A person is found through blind indexes: HMAC-SHA256, under a matching key
// kept apart from the encryption keys, of
//   NAME_DOB      the normalised full name and the date of birth;
//   REFERRER_REF  the referring agency and its own victim reference;
//   NAME_PHONE    the normalised full name and phone number.
// A phone number alone never matches: a shared phone, or the abuser's,
// must not merge two people's histories.
// The strongest index that finds someone wins (in that order). A digest
// cannot be reversed without the matching key, and says nothing once the
// person's entries are deleted on erasure.
//
// A later referral of the same person is *linked* to an earlier active one
// from another agency when it is about the same incident: the same crime
// reference (compared as a digest too), or, when either has none, incidents
// within the configured window. Different crime references never link.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/ids/ids.h"
#include "signpost/v1/referral.pb.h"

namespace signpost::intake {

enum class IndexKind { kNameDob, kReferrerRef, kNamePhone };
// "NAME_DOB", "REFERRER_REF", "NAME_PHONE" (the stored kind).
const char* IndexKindName(IndexKind kind);

struct BlindIndex {
  IndexKind kind;
  std::string digest;  // 32 raw bytes
};

// Lower-case ASCII letters and digits, other characters as word breaks,
// single spaces, trimmed. Non-ASCII letters are kept as they are.
std::string NormaliseName(absl::string_view name);
// Digits only; an international UK prefix (+44, 0044) becomes 0.
std::string NormalisePhone(absl::string_view phone);

// The referral's blind indexes under `matching_key`, strongest first. A
// missing part gives no index: a name without a date of birth or a phone,
// a phone shorter than 7 digits, an empty victim reference.
std::vector<BlindIndex> BlindIndexes(const v1::Referral& referral,
                                     const AgencyId& referrer,
                                     absl::string_view matching_key);
// Whether a person found through a weaker index than NAME_DOB is the same
// person. When the referral has a name and date of birth that found nobody,
// and the person found already has a name and date of birth on record,
// those differ: a father and son of one name on one phone, or a reused
// reference. A match is never taken then (a new person is made), because a
// wrong merge is permanent and shares one person's history with another.
bool AcceptMatch(IndexKind matched_by, bool referral_has_name_dob,
                 bool person_has_name_dob);
// True when `indexes` holds one of `kind`.
bool HasIndex(const std::vector<BlindIndex>& indexes, IndexKind kind);

// True when `text` names the person of `personal`: their whole name, a part
// of it of 4 or more letters as a word, their date of birth, phone number
// (its last 7 digits), email or address. Free text that outlives the
// person's data (an erasure's reason) must not.
bool MentionsPerson(absl::string_view text,
                    const v1::VictimPersonalData& personal);

// The digest of the crime reference (trimmed, upper-cased); empty when none.
std::string IncidentDigest(const v1::Referral& referral,
                           absl::string_view matching_key);
// The offence time, else the report time.
std::optional<absl::Time> IncidentTime(const v1::Referral& referral);

// An earlier active referral of the same person.
struct IncidentCandidate {
  ReferralId referral_id;
  AgencyId submitted_by;
  std::string incident_digest;  // "" when it had no crime reference
  std::optional<absl::Time> incident_time;
};

struct Link {
  ReferralId primary;
  // "CRIME_REFERENCE" or "INCIDENT_WINDOW" (ReferralLinked.match).
  std::string match;
};

// The first of `earlier` (oldest first) that a referral from `referrer`
// with this incident joins, or nullopt for a new referral.
std::optional<Link> FindLink(const AgencyId& referrer,
                             absl::string_view incident_digest,
                             std::optional<absl::Time> incident_time,
                             const std::vector<IncidentCandidate>& earlier,
                             absl::Duration window);

}  // namespace signpost::intake
