#include "services/notification/subscriptions.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/config/textproto.h"
#include "common/errors/errors.h"
#include "common/http/webhook_signature.h"
#include "google/protobuf/text_format.h"
#include "services/notification/projection.h"

namespace signpost::notification {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::TextFormat;

constexpr absl::Duration kMaxRetryLimit = absl::Hours(24 * 7);

const FieldDescriptor* FieldOf(const google::protobuf::Descriptor* d,
                               const char* name) {
  return d->FindFieldByName(name);
}

// The role a field set needs, and the bases and scopes it allows.
struct SetRule {
  v1::Role role;
  std::vector<v1::LegalBasis> bases;
  std::vector<v1::ShareScope> scopes;
};

const SetRule* RuleFor(v1::FieldSet set) {
  static const auto* rules = new std::map<v1::FieldSet, SetRule>{
      {v1::FIELD_SET_MARAC,
       {v1::ROLE_MARAC_COORDINATOR,
        {v1::LEGAL_BASIS_CONSENT, v1::LEGAL_BASIS_MARAC_SAFEGUARDING},
        {v1::SHARE_SCOPE_MARAC}}},
      {v1::FIELD_SET_PROVIDER_CASE,
       {v1::ROLE_PROVIDER,
        {v1::LEGAL_BASIS_CONSENT, v1::LEGAL_BASIS_SAFEGUARDING},
        {v1::SHARE_SCOPE_OWN_ASSIGNMENTS}}},
      {v1::FIELD_SET_COMMISSIONING,
       {v1::ROLE_COMMISSIONER,
        {v1::LEGAL_BASIS_PUBLIC_TASK},
        {v1::SHARE_SCOPE_AREA}}},
      {v1::FIELD_SET_POLICE_ORDERS,
       {v1::ROLE_POLICE_ORDERS,
        {v1::LEGAL_BASIS_LAW_ENFORCEMENT, v1::LEGAL_BASIS_CONSENT},
        {v1::SHARE_SCOPE_AREA}}},
  };
  auto it = rules->find(set);
  return it == rules->end() ? nullptr : &it->second;
}

template <typename E>
bool In(const std::vector<E>& list, E value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// Checks one parsed file against its text locations; collects every
// problem with its line. Not thread-safe (one use, one thread).
class Checker {
 public:
  Checker(const TextFormat::ParseInfoTree& locations,
          const access::Registry& registry)
      : locations_(locations), registry_(registry) {}

  void Check(const v1::SubscriptionList& list, std::vector<AgencyPolicy>* out) {
    const FieldDescriptor* subs =
        FieldOf(v1::SubscriptionList::descriptor(), "subscriptions");
    for (int i = 0; i < list.subscriptions_size(); ++i) {
      tree_ = locations_.GetTreeForNested(subs, i);
      line_ = locations_.GetLocation(subs, i).line + 1;
      path_ = absl::StrCat("subscriptions[", i, "]");
      const v1::Subscription& s = list.subscriptions(i);
      subject_ = s.agency_id().empty()
                     ? absl::StrCat("subscription #", i + 1, ": ")
                     : absl::StrCat("subscription '", s.agency_id(), "': ");
      AgencyPolicy policy;
      if (CheckSubscription(s, &policy)) out->push_back(std::move(policy));
    }
  }

  const errors::FieldErrors& errors() const { return errors_; }

 private:
  int LineOf(const TextFormat::ParseInfoTree* tree,
             const google::protobuf::Descriptor* d, const char* field,
             int index, int fallback) const {
    if (tree == nullptr) return fallback;
    int line = tree->GetLocation(FieldOf(d, field), index).line;
    return line >= 0 ? line + 1 : fallback;
  }

  void Add(const std::string& field, int line, const std::string& problem) {
    errors_.Add(absl::StrCat(path_, field),
                absl::StrCat("line ", line, ": ", subject_, problem));
  }

  bool CheckSubscription(const v1::Subscription& s, AgencyPolicy* policy) {
    const auto* d = v1::Subscription::descriptor();
    const size_t before = errors_.size();
    policy->agency_id = s.agency_id();
    const v1::Agency* agency = nullptr;
    if (s.agency_id().empty()) {
      Add(".agency_id", line_, "agency_id is required");
    } else if ((agency = registry_.Find(AgencyId(s.agency_id()))) == nullptr) {
      Add(".agency_id", LineOf(tree_, d, "agency_id", -1, line_),
          "agency_id is not in the agency registry");
    } else if (auto [it, added] = seen_.emplace(s.agency_id(), line_); !added) {
      Add(".agency_id", LineOf(tree_, d, "agency_id", -1, line_),
          absl::StrCat("the agency already has a subscription, on line ",
                       it->second));
    }
    for (int a = 0; a < s.areas_size(); ++a) {
      if (agency != nullptr &&
          !registry_.ServesArea(AgencyId(s.agency_id()), s.areas(a))) {
        Add(absl::StrCat(".areas[", a, "]"),
            LineOf(tree_, d, "areas", 0, line_),
            absl::StrCat("area '", s.areas(a),
                         "' is not one of the agency's registry areas"));
      }
      policy->areas.push_back(s.areas(a));
    }
    if (s.areas_size() == 0 && agency != nullptr) {
      policy->areas.assign(agency->area_codes().begin(),
                           agency->area_codes().end());
      if (policy->areas.empty() && s.shares_size() > 0) {
        Add(".areas", line_,
            "the agency has no registry areas: its shares would cover "
            "nothing (give the agency area_codes in the registry)");
      }
    }
    for (int j = 0; j < s.shares_size(); ++j) {
      CheckShare(s.shares(j), j, agency);
      policy->shares.push_back(s.shares(j));
    }
    CheckTransports(s, policy);
    return errors_.size() == before;
  }

  void CheckShare(const v1::Share& share, int j, const v1::Agency* agency) {
    const FieldDescriptor* shares_fd =
        FieldOf(v1::Subscription::descriptor(), "shares");
    const int share_line =
        LineOf(tree_, v1::Subscription::descriptor(), "shares", j, line_);
    const TextFormat::ParseInfoTree* tree =
        tree_ == nullptr ? nullptr : tree_->GetTreeForNested(shares_fd, j);
    const auto* d = v1::Share::descriptor();
    const std::string at = absl::StrCat(".shares[", j, "]");
    auto line = [&](const char* field) {
      return LineOf(tree, d, field,
                    field == std::string("event_types") ? 0 : -1, share_line);
    };
    const v1::FieldSet set = share.field_set();
    const SetRule* rule = RuleFor(set);
    if (set == v1::FIELD_SET_REFERRER_OUTCOME) {
      Add(at + ".field_set", line("field_set"),
          "REFERRER_OUTCOME is the closed loop: every registered referrer "
          "is told about its own referrals without a share");
    } else if (rule == nullptr) {
      Add(at + ".field_set", line("field_set"),
          "field_set is required (MARAC, PROVIDER_CASE or POLICE_ORDERS)");
    } else if (agency != nullptr &&
               !registry_.HasRole(AgencyId(agency->agency_id()), rule->role)) {
      Add(at + ".field_set", line("field_set"),
          absl::StrCat(v1::FieldSet_Name(set), " needs the role ",
                       v1::Role_Name(rule->role)));
    }
    if (share.legal_basis() == v1::LEGAL_BASIS_UNSPECIFIED ||
        !v1::LegalBasis_IsValid(share.legal_basis())) {
      Add(at + ".legal_basis", line("legal_basis"),
          "legal_basis is required: a share needs consent or a named "
          "condition");
    } else if (share.legal_basis() == v1::LEGAL_BASIS_OWN_REFERRAL) {
      Add(at + ".legal_basis", line("legal_basis"),
          "OWN_REFERRAL is the closed loop's basis, not a share's");
    } else if (rule != nullptr && !In(rule->bases, share.legal_basis())) {
      Add(at + ".legal_basis", line("legal_basis"),
          absl::StrCat(v1::LegalBasis_Name(share.legal_basis()),
                       " is not a basis for ", v1::FieldSet_Name(set)));
    }
    if (share.scope() == v1::SHARE_SCOPE_UNSPECIFIED ||
        !v1::ShareScope_IsValid(share.scope())) {
      Add(at + ".scope", line("scope"), "scope is required");
    } else if (rule != nullptr && !In(rule->scopes, share.scope())) {
      Add(at + ".scope", line("scope"),
          absl::StrCat(v1::ShareScope_Name(share.scope()),
                       " is not a scope for ", v1::FieldSet_Name(set)));
    }
    if (share.event_types_size() == 0) {
      Add(at + ".event_types", share_line, "event_types needs at least one");
    }
    std::set<std::string> types;
    for (int t = 0; t < share.event_types_size(); ++t) {
      const std::string& type = share.event_types(t);
      const std::string field = absl::StrCat(at, ".event_types[", t, "]");
      if (PartnerTypeOf(type).empty()) {
        Add(field, line("event_types"),
            absl::StrCat("'", type, "' is not an event type partners receive"));
      } else if (!types.insert(type).second) {
        Add(field, line("event_types"),
            absl::StrCat("'", type, "' is listed twice"));
      } else if (rule != nullptr && !CanCarry(set, type)) {
        Add(field, line("event_types"),
            absl::StrCat(v1::FieldSet_Name(set), " cannot carry '", type, "'"));
      }
    }
  }

  void CheckTransports(const v1::Subscription& s, AgencyPolicy* policy) {
    const auto* d = v1::Subscription::descriptor();
    std::set<int> seen;
    for (int t = 0; t < s.transports_size(); ++t) {
      const auto transport = static_cast<v1::Transport>(s.transports(t));
      const std::string field = absl::StrCat(".transports[", t, "]");
      if (transport == v1::TRANSPORT_UNSPECIFIED ||
          !v1::Transport_IsValid(transport)) {
        Add(field, LineOf(tree_, d, "transports", 0, line_),
            "transport must be KAFKA, GRPC_STREAM or WEBHOOK");
        continue;
      }
      if (!seen.insert(transport).second) {
        Add(field, LineOf(tree_, d, "transports", 0, line_),
            absl::StrCat(v1::Transport_Name(transport), " is listed twice"));
        continue;
      }
      policy->transports.push_back(transport);
    }
    if (policy->transports.empty() && s.transports_size() == 0) {
      policy->transports.push_back(v1::TRANSPORT_GRPC_STREAM);
    }
    const bool wants_webhook = seen.count(v1::TRANSPORT_WEBHOOK) > 0;
    const int hook_line = LineOf(tree_, d, "webhook", -1, line_);
    if (!wants_webhook) {
      if (s.has_webhook()) {
        Add(".webhook", hook_line,
            "webhook is set but transports does not list WEBHOOK");
      }
      return;
    }
    const v1::WebhookEndpoint& hook = s.webhook();
    WebhookTarget target;
    target.url = hook.url();
    if (!absl::StartsWith(hook.url(), "https://") || hook.url().size() < 12) {
      Add(".webhook.url", hook_line, "webhook.url must be an https:// URL");
    }
    if (hook.max_retry_seconds() < 0 ||
        absl::Seconds(hook.max_retry_seconds()) > kMaxRetryLimit) {
      Add(".webhook.max_retry_seconds", hook_line,
          "webhook.max_retry_seconds must be 0 (24 hours) to 604800 (7 days)");
    } else if (hook.max_retry_seconds() > 0) {
      target.max_retry = absl::Seconds(hook.max_retry_seconds());
    }
    if (hook.secret_file().empty()) {
      Add(".webhook.secret_file", hook_line, "webhook.secret_file is required");
    } else {
      absl::StatusOr<std::string> secret =
          http::LoadWebhookSecretFile(hook.secret_file());
      if (!secret.ok()) {
        Add(".webhook.secret_file", hook_line,
            absl::StrCat("webhook.secret_file: ", secret.status().message()));
      } else {
        target.secret = *std::move(secret);
      }
    }
    policy->webhook = std::move(target);
  }

  const TextFormat::ParseInfoTree& locations_;
  const access::Registry& registry_;
  errors::FieldErrors errors_;
  std::map<std::string, int> seen_;
  const TextFormat::ParseInfoTree* tree_ = nullptr;
  int line_ = 0;
  std::string path_;
  std::string subject_;
};

}  // namespace

const AgencyPolicy* PartnerPolicy::Find(const std::string& agency_id) const {
  auto it = by_agency_.find(agency_id);
  return it == by_agency_.end() ? nullptr : &agencies_[it->second];
}

std::vector<v1::Transport> PartnerPolicy::TransportsOf(
    const std::string& agency_id) const {
  if (const AgencyPolicy* p = Find(agency_id)) return p->transports;
  if (IsRegistered(agency_id)) return {v1::TRANSPORT_GRPC_STREAM};
  return {};
}

bool PartnerPolicy::IsRegistered(const std::string& agency_id) const {
  return !agency_id.empty() &&
         std::binary_search(registered_.begin(), registered_.end(), agency_id);
}

std::string PartnerPolicy::AgencyOfProvider(
    const std::string& provider_id) const {
  auto it = provider_agency_.find(provider_id);
  return it == provider_agency_.end() ? std::string() : it->second;
}

absl::StatusOr<PartnerPolicy> ParsePolicy(const std::string& text,
                                          const std::string& name,
                                          const access::Registry& registry) {
  v1::SubscriptionList list;
  TextFormat::ParseInfoTree locations;
  config::internal::CollectErrors syntax;
  TextFormat::Parser parser;
  parser.RecordErrorsTo(&syntax);
  parser.WriteLocationsTo(&locations);
  if (!parser.ParseFromString(text, &list)) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": ", absl::StrJoin(syntax.errors, "; ")));
  }
  PartnerPolicy policy;
  Checker checker(locations, registry);
  checker.Check(list, &policy.agencies_);
  if (!checker.errors().empty()) {
    absl::Status status = checker.errors().ToStatus();
    absl::Status named =
        absl::InvalidArgumentError(absl::StrCat(name, ": ", status.message()));
    status.ForEachPayload(
        [&named](absl::string_view url, const absl::Cord& payload) {
          named.SetPayload(url, payload);
        });
    return named;
  }
  for (int i = 0; i < static_cast<int>(policy.agencies_.size()); ++i) {
    policy.by_agency_[policy.agencies_[i].agency_id] = i;
  }
  for (const v1::Agency& a : registry.agencies().agencies()) {
    policy.registered_.push_back(a.agency_id());
    if (!a.provider_id().empty()) {
      policy.provider_agency_[a.provider_id()] = a.agency_id();
    }
  }
  std::sort(policy.registered_.begin(), policy.registered_.end());
  return policy;
}

absl::StatusOr<PartnerPolicy> LoadPolicy(const std::string& path,
                                         const access::Registry& registry) {
  std::ifstream in(path);
  if (!in)
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return ParsePolicy(buffer.str(), path, registry);
}

}  // namespace signpost::notification
