#include "services/intake/matching.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/crypto/keyring.h"
#include "common/time/timestamps.h"

namespace signpost::intake {
namespace {

BlindIndex Index(IndexKind kind, absl::string_view key,
                 absl::string_view value) {
  // The kind is part of the input: one value never matches across kinds.
  return {kind, crypto::HmacSha256(
                    key, absl::StrCat(IndexKindName(kind), "\n", value))};
}

}  // namespace

const char* IndexKindName(IndexKind kind) {
  switch (kind) {
    case IndexKind::kNameDob:
      return "NAME_DOB";
    case IndexKind::kReferrerRef:
      return "REFERRER_REF";
    case IndexKind::kNamePhone:
      return "NAME_PHONE";
  }
  return "UNKNOWN";
}

std::string NormaliseName(absl::string_view name) {
  std::string out;
  bool gap = false;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80 || absl::ascii_isalnum(u)) {
      if (gap && !out.empty()) out.push_back(' ');
      gap = false;
      out.push_back(static_cast<char>(absl::ascii_tolower(u)));
    } else {
      gap = true;
    }
  }
  return out;
}

std::string NormalisePhone(absl::string_view phone) {
  std::string digits;
  for (char c : phone) {
    if (absl::ascii_isdigit(static_cast<unsigned char>(c))) digits.push_back(c);
  }
  std::string national;
  if (absl::StrContains(phone, '+') && digits.rfind("44", 0) == 0) {
    national = digits.substr(2);
  } else if (digits.rfind("0044", 0) == 0) {
    national = digits.substr(4);
  } else {
    return digits;
  }
  // "+44 (0)7700 ...": the trunk zero written after the country code.
  if (!national.empty() && national[0] == '0') national.erase(0, 1);
  return "0" + national;
}

std::vector<BlindIndex> BlindIndexes(const v1::Referral& referral,
                                     const AgencyId& referrer,
                                     absl::string_view matching_key) {
  std::vector<BlindIndex> out;
  const std::string name = NormaliseName(referral.personal().full_name());
  const std::string dob(
      absl::StripAsciiWhitespace(referral.personal().date_of_birth()));
  if (!name.empty() && !dob.empty()) {
    out.push_back(
        Index(IndexKind::kNameDob, matching_key, absl::StrCat(name, "|", dob)));
  }
  const std::string ref(
      absl::StripAsciiWhitespace(referral.victim().victim_ref()));
  if (!ref.empty()) {
    out.push_back(Index(IndexKind::kReferrerRef, matching_key,
                        absl::StrCat(referrer.value(), "|", ref)));
  }
  const std::string phone = NormalisePhone(referral.personal().phone());
  if (!name.empty() && phone.size() >= 7) {
    out.push_back(Index(IndexKind::kNamePhone, matching_key,
                        absl::StrCat(name, "|", phone)));
  }
  return out;
}

bool AcceptMatch(IndexKind matched_by, bool referral_has_name_dob,
                 bool person_has_name_dob) {
  if (matched_by == IndexKind::kNameDob) return true;
  return !(referral_has_name_dob && person_has_name_dob);
}

bool HasIndex(const std::vector<BlindIndex>& indexes, IndexKind kind) {
  for (const BlindIndex& index : indexes) {
    if (index.kind == kind) return true;
  }
  return false;
}

bool MentionsPerson(absl::string_view text,
                    const v1::VictimPersonalData& personal) {
  const std::string words = absl::StrCat(" ", NormaliseName(text), " ");
  const std::string name = NormaliseName(personal.full_name());
  if (!name.empty() && absl::StrContains(words, absl::StrCat(" ", name, " "))) {
    return true;
  }
  for (absl::string_view part : absl::StrSplit(name, ' ')) {
    if (part.size() >= 4 &&
        absl::StrContains(words, absl::StrCat(" ", part, " "))) {
      return true;
    }
  }
  const std::string digits = NormalisePhone(text);
  const std::string phone = NormalisePhone(personal.phone());
  if (phone.size() >= 7 &&
      absl::StrContains(digits, phone.substr(phone.size() - 7))) {
    return true;
  }
  const std::string lower = absl::AsciiStrToLower(text);
  for (const std::string& value :
       {personal.date_of_birth(), personal.email(), personal.address()}) {
    const std::string v(
        absl::StripAsciiWhitespace(absl::AsciiStrToLower(value)));
    if (!v.empty() && absl::StrContains(lower, v)) return true;
  }
  const std::string address = NormaliseName(personal.address());
  return !address.empty() &&
         absl::StrContains(words, absl::StrCat(" ", address, " "));
}

std::string IncidentDigest(const v1::Referral& referral,
                           absl::string_view matching_key) {
  std::string ref(
      absl::StripAsciiWhitespace(referral.reporting().crime_reference()));
  if (ref.empty()) return "";
  absl::AsciiStrToUpper(&ref);
  return crypto::HmacSha256(matching_key,
                            absl::StrCat("CRIME_REFERENCE\n", ref));
}

std::optional<absl::Time> IncidentTime(const v1::Referral& referral) {
  if (referral.reporting().has_offence_time()) {
    return timeutil::FromTimestamp(referral.reporting().offence_time());
  }
  if (referral.reporting().has_report_time()) {
    return timeutil::FromTimestamp(referral.reporting().report_time());
  }
  return std::nullopt;
}

std::optional<Link> FindLink(const AgencyId& referrer,
                             absl::string_view incident_digest,
                             std::optional<absl::Time> incident_time,
                             const std::vector<IncidentCandidate>& earlier,
                             absl::Duration window) {
  for (const IncidentCandidate& c : earlier) {
    // The same agency twice is not a second source: a retry is the
    // idempotency key's business, and a new incident is a new referral.
    if (c.submitted_by == referrer) continue;
    if (!incident_digest.empty() && !c.incident_digest.empty()) {
      if (incident_digest == c.incident_digest) {
        return Link{c.referral_id, "CRIME_REFERENCE"};
      }
      continue;  // two different crimes
    }
    if (incident_time.has_value() && c.incident_time.has_value() &&
        absl::AbsDuration(*incident_time - *c.incident_time) <= window) {
      return Link{c.referral_id, "INCIDENT_WINDOW"};
    }
  }
  return std::nullopt;
}

}  // namespace signpost::intake
