#include "services/advocacy/directory_store.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status/macros.h"
#include "google/protobuf/util/time_util.h"

namespace signpost::advocacy {
namespace {

using google::protobuf::util::TimeUtil;
using store::Statement;
using store::Tx;

std::vector<std::string> SplitList(const std::string& s) {
  if (s.empty()) return {};
  return absl::StrSplit(s, ',');
}

// 0 stands for "no bound" in the availability columns.
int64_t BoundMs(bool has, const google::protobuf::Timestamp& ts) {
  return has ? TimeUtil::TimestampToMilliseconds(ts) : int64_t{0};
}

constexpr char kAdvocateColumns[] =
    "advocate_id, provider_id, display_name, role, languages, localities, "
    "capacity, caseload, specialisms, on_leave, available_from_ms, "
    "available_to_ms";

v1::Advocate ReadAdvocate(const Statement& q) {
  v1::Advocate a;
  a.set_advocate_id(q.ColumnText(0));
  a.set_provider_id(q.ColumnText(1));
  a.set_display_name(q.ColumnText(2));
  a.set_role(static_cast<v1::AdvocateRole>(q.ColumnInt(3)));
  for (const std::string& l : SplitList(q.ColumnText(4))) a.add_languages(l);
  for (const std::string& l : SplitList(q.ColumnText(5))) a.add_localities(l);
  a.set_capacity(static_cast<int32_t>(q.ColumnInt(6)));
  a.set_caseload(static_cast<int32_t>(q.ColumnInt(7)));
  for (const std::string& s : SplitList(q.ColumnText(8))) a.add_specialisms(s);
  v1::Availability* av = a.mutable_availability();
  av->set_on_leave(q.ColumnInt(9) != 0);
  if (q.ColumnInt(10)) {
    *av->mutable_available_from() =
        TimeUtil::MillisecondsToTimestamp(q.ColumnInt(10));
  }
  if (q.ColumnInt(11)) {
    *av->mutable_available_to() =
        TimeUtil::MillisecondsToTimestamp(q.ColumnInt(11));
  }
  return a;
}

constexpr char kViewColumns[] =
    "a.advocate_id, a.provider_id, a.role, a.languages, a.localities, "
    "a.capacity, a.caseload, a.last_assigned_ms, a.on_leave, "
    "a.available_from_ms, a.available_to_ms, a.specialisms";

AdvocateView ReadView(const Statement& q) {
  AdvocateView a;
  a.advocate_id = q.ColumnText(0);
  a.provider_id = q.ColumnText(1);
  a.role = static_cast<v1::AdvocateRole>(q.ColumnInt(2));
  a.languages = SplitList(q.ColumnText(3));
  a.localities = SplitList(q.ColumnText(4));
  a.capacity = static_cast<int>(q.ColumnInt(5));
  a.caseload = static_cast<int>(q.ColumnInt(6));
  a.last_assigned_ms = q.ColumnInt(7);
  a.on_leave = q.ColumnInt(8) != 0;
  a.available_from_ms = q.ColumnInt(9);
  a.available_to_ms = q.ColumnInt(10);
  a.specialisms = SplitList(q.ColumnText(11));
  return a;
}

absl::StatusOr<std::vector<AdvocateView>> ReadViews(Statement& q) {
  std::vector<AdvocateView> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return out;
    out.push_back(ReadView(q));
  }
}

absl::StatusOr<bool> Exists(Tx& tx, const char* sql, const std::string& id) {
  ASSIGN_OR_RETURN(Statement q, tx.Prepare(sql));
  q.Bind(1, id);
  return q.Step();
}

}  // namespace

absl::Status DirectoryStore::UpsertProvider(Tx& tx, const v1::Provider& p) {
  ASSIGN_OR_RETURN(
      Statement q,
      tx.Prepare("INSERT INTO providers (provider_id, name, address, "
                 "address_confidential) VALUES (?,?,?,?) "
                 "ON CONFLICT(provider_id) DO UPDATE SET name=excluded.name, "
                 "address=excluded.address, "
                 "address_confidential=excluded.address_confidential"));
  q.Bind(1, p.provider_id())
      .Bind(2, p.name())
      .Bind(3, p.address())
      .Bind(4, static_cast<int64_t>(p.address_confidential()));
  RETURN_IF_ERROR(q.Run());
  // The services are replaced as a whole.
  ASSIGN_OR_RETURN(
      Statement clear,
      tx.Prepare("DELETE FROM provider_services WHERE provider_id = ?"));
  clear.Bind(1, p.provider_id());
  RETURN_IF_ERROR(clear.Run());
  for (const v1::ServiceOffer& s : p.services()) {
    for (const std::string& area : s.areas()) {
      ASSIGN_OR_RETURN(Statement add,
                       tx.Prepare("INSERT OR IGNORE INTO provider_services "
                                  "(kind, area, provider_id) VALUES (?,?,?)"));
      add.Bind(1, static_cast<int64_t>(s.kind()))
          .Bind(2, area)
          .Bind(3, p.provider_id());
      RETURN_IF_ERROR(add.Run());
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ServiceProviderView>>
DirectoryStore::ProvidersOffering(Tx& tx, v1::ServiceKind kind,
                                  const std::string& area) {
  // Open: offered (2) or acknowledged (3, 4).
  ASSIGN_OR_RETURN(Statement q, tx.Prepare(kProvidersOfferingSql));
  q.Bind(1, static_cast<int64_t>(kind)).Bind(2, area);
  std::vector<ServiceProviderView> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return out;
    out.push_back({q.ColumnText(0), static_cast<int>(q.ColumnInt(1))});
  }
}

absl::StatusOr<std::optional<v1::Provider>> DirectoryStore::FindProvider(
    Tx& tx, const ProviderId& provider_id) {
  ASSIGN_OR_RETURN(Statement q,
                   tx.Prepare("SELECT name, address, address_confidential "
                              "FROM providers WHERE provider_id = ?"));
  q.Bind(1, provider_id.value());
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::nullopt;
  v1::Provider p;
  p.set_provider_id(provider_id.value());
  p.set_name(q.ColumnText(0));
  p.set_address(q.ColumnText(1));
  p.set_address_confidential(q.ColumnInt(2) != 0);
  ASSIGN_OR_RETURN(Statement s,
                   tx.Prepare("SELECT kind, area FROM provider_services WHERE "
                              "provider_id = ? ORDER BY kind, area"));
  s.Bind(1, provider_id.value());
  while (true) {
    ASSIGN_OR_RETURN(bool more, s.Step());
    if (!more) break;
    const auto kind = static_cast<v1::ServiceKind>(s.ColumnInt(0));
    if (p.services_size() == 0 || p.services().rbegin()->kind() != kind) {
      p.add_services()->set_kind(kind);
    }
    p.mutable_services()->rbegin()->add_areas(s.ColumnText(1));
  }
  return p;
}

absl::StatusOr<bool> DirectoryStore::ProviderExists(
    Tx& tx, const ProviderId& provider_id) {
  return Exists(tx, "SELECT 1 FROM providers WHERE provider_id = ?",
                provider_id.value());
}

absl::Status DirectoryStore::UpsertAdvocate(Tx& tx, const v1::Advocate& a) {
  ASSIGN_OR_RETURN(
      Statement q,
      tx.Prepare(
          "INSERT INTO advocates (advocate_id, provider_id, display_name, "
          "role, languages, localities, capacity, specialisms, on_leave, "
          "available_from_ms, available_to_ms) "
          "VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(advocate_id) DO UPDATE "
          "SET provider_id=excluded.provider_id, "
          "display_name=excluded.display_name, role=excluded.role, "
          "languages=excluded.languages, localities=excluded.localities, "
          "capacity=excluded.capacity, specialisms=excluded.specialisms, "
          "on_leave=excluded.on_leave, "
          "available_from_ms=excluded.available_from_ms, "
          "available_to_ms=excluded.available_to_ms"));
  const v1::Availability& av = a.availability();
  q.Bind(1, a.advocate_id())
      .Bind(2, a.provider_id())
      .Bind(3, a.display_name())
      .Bind(4, static_cast<int64_t>(a.role()))
      .Bind(5, absl::StrJoin(a.languages(), ","))
      .Bind(6, absl::StrJoin(a.localities(), ","))
      .Bind(7, static_cast<int64_t>(a.capacity()))
      .Bind(8, absl::StrJoin(a.specialisms(), ","))
      .Bind(9, static_cast<int64_t>(av.on_leave()))
      .Bind(10, BoundMs(av.has_available_from(), av.available_from()))
      .Bind(11, BoundMs(av.has_available_to(), av.available_to()));
  RETURN_IF_ERROR(q.Run());
  // The locality index that makes matching independent of directory size.
  ASSIGN_OR_RETURN(
      Statement clear,
      tx.Prepare("DELETE FROM advocate_localities WHERE advocate_id = ?"));
  clear.Bind(1, a.advocate_id());
  RETURN_IF_ERROR(clear.Run());
  for (const std::string& locality : a.localities()) {
    ASSIGN_OR_RETURN(
        Statement add,
        tx.Prepare("INSERT OR IGNORE INTO advocate_localities (locality, "
                   "advocate_id) VALUES (?,?)"));
    add.Bind(1, locality).Bind(2, a.advocate_id());
    RETURN_IF_ERROR(add.Run());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<v1::Advocate>> DirectoryStore::FindAdvocate(
    Tx& tx, const AdvocateId& advocate_id) {
  ASSIGN_OR_RETURN(Statement q,
                   tx.Prepare(absl::StrCat("SELECT ", kAdvocateColumns,
                                           " FROM advocates "
                                           "WHERE advocate_id = ?")));
  q.Bind(1, advocate_id.value());
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::nullopt;
  return ReadAdvocate(q);
}

absl::StatusOr<bool> DirectoryStore::AdvocateExists(
    Tx& tx, const AdvocateId& advocate_id) {
  return Exists(tx, "SELECT 1 FROM advocates WHERE advocate_id = ?",
                advocate_id.value());
}

absl::StatusOr<paging::Page<v1::Advocate>> DirectoryStore::ListAdvocates(
    Tx& tx, v1::AdvocateRole role, const std::optional<ProviderId>& provider_id,
    const paging::PageRequest& page) {
  std::vector<std::string> where;
  if (role != v1::ADVOCATE_ROLE_UNSPECIFIED) where.push_back("role = ?");
  if (provider_id) where.push_back("provider_id = ?");
  if (page.after) where.push_back("advocate_id > ?");
  ASSIGN_OR_RETURN(
      Statement q,
      tx.Prepare(absl::StrCat(
          "SELECT ", kAdvocateColumns, " FROM advocates ",
          where.empty() ? ""
                        : absl::StrCat("WHERE ", absl::StrJoin(where, " AND ")),
          " ORDER BY advocate_id LIMIT ?")));
  int index = 1;
  if (role != v1::ADVOCATE_ROLE_UNSPECIFIED) {
    q.Bind(index++, static_cast<int64_t>(role));
  }
  if (provider_id) q.Bind(index++, provider_id->value());
  if (page.after) q.Bind(index++, page.after->Text(0));
  q.Bind(index, page.limit());
  return paging::ReadPage(page, q, [](const Statement& row) {
    v1::Advocate a = ReadAdvocate(row);
    paging::Cursor key({a.advocate_id()});
    return paging::Keyed<v1::Advocate>{std::move(a), std::move(key)};
  });
}

absl::StatusOr<bool> DirectoryStore::SetAvailability(
    Tx& tx, const AdvocateId& advocate_id, const v1::Availability& av) {
  ASSIGN_OR_RETURN(
      Statement q,
      tx.Prepare("UPDATE advocates SET on_leave = ?, available_from_ms = ?, "
                 "available_to_ms = ? WHERE advocate_id = ?"));
  q.Bind(1, static_cast<int64_t>(av.on_leave()))
      .Bind(2, BoundMs(av.has_available_from(), av.available_from()))
      .Bind(3, BoundMs(av.has_available_to(), av.available_to()))
      .Bind(4, advocate_id.value());
  RETURN_IF_ERROR(q.Run());
  return tx.Changes() == 1;
}

absl::StatusOr<std::vector<AdvocateView>> DirectoryStore::AdvocatesWithRole(
    Tx& tx, v1::AdvocateRole role) {
  ASSIGN_OR_RETURN(Statement q, tx.Prepare(absl::StrCat("SELECT ", kViewColumns,
                                                        " FROM advocates a "
                                                        "WHERE a.role = ?")));
  q.Bind(1, static_cast<int64_t>(role));
  return ReadViews(q);
}

absl::StatusOr<std::vector<AdvocateView>> DirectoryStore::OpenAdvocates(
    Tx& tx, v1::AdvocateRole role, const std::string& locality) {
  // Starts from the locality index (CROSS JOIN fixes the join order), so the
  // cost follows the advocates serving the locality, not the directory size.
  ASSIGN_OR_RETURN(
      Statement q,
      tx.Prepare(absl::StrCat(
          "SELECT DISTINCT ", kViewColumns,
          " FROM advocate_localities l CROSS JOIN advocates a ON "
          "a.advocate_id = l.advocate_id WHERE l.locality IN (?, '*') AND "
          "a.role = ? AND a.on_leave = 0 AND a.caseload < a.capacity")));
  q.Bind(1, locality).Bind(2, static_cast<int64_t>(role));
  return ReadViews(q);
}

absl::StatusOr<bool> DirectoryStore::ReserveCapacity(
    Tx& tx, const AdvocateId& advocate_id, absl::Time now) {
  ASSIGN_OR_RETURN(Statement q,
                   tx.Prepare("UPDATE advocates SET caseload = caseload + 1, "
                              "last_assigned_ms = ? "
                              "WHERE advocate_id = ? AND caseload < capacity"));
  q.Bind(1, absl::ToUnixMillis(now)).Bind(2, advocate_id.value());
  RETURN_IF_ERROR(q.Run());
  return tx.Changes() == 1;
}

absl::Status DirectoryStore::ReleaseCapacity(Tx& tx,
                                             const AdvocateId& advocate_id) {
  ASSIGN_OR_RETURN(Statement q,
                   tx.Prepare("UPDATE advocates SET caseload = "
                              "MAX(caseload - 1, 0) WHERE advocate_id = ?"));
  q.Bind(1, advocate_id.value());
  return q.Run();
}

}  // namespace signpost::advocacy
