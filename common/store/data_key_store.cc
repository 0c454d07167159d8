#include "common/store/data_key_store.h"

#include "common/status/macros.h"

namespace signpost::store {

absl::StatusOr<std::optional<crypto::WrappedKey>> DataKeyStore::Find(
    Tx& tx, absl::string_view owner) const {
  ASSIGN_OR_RETURN(Statement stmt,
                   tx.Prepare("SELECT kek_id, wrapped FROM data_keys WHERE "
                              "person_id = ?"));
  stmt.Bind(1, owner);
  ASSIGN_OR_RETURN(bool found, stmt.Step());
  if (!found) return std::nullopt;
  return crypto::WrappedKey{stmt.ColumnText(0), stmt.ColumnBlob(1)};
}

absl::Status DataKeyStore::Insert(Tx& tx, absl::string_view owner,
                                  const crypto::WrappedKey& key) const {
  ASSIGN_OR_RETURN(Statement stmt,
                   tx.Prepare("INSERT INTO data_keys (person_id, kek_id, "
                              "wrapped) VALUES (?,?,?)"));
  stmt.Bind(1, owner).Bind(2, key.kek_id).BindBlob(3, key.wrapped);
  return stmt.Run();
}

absl::Status DataKeyStore::Replace(Tx& tx, absl::string_view owner,
                                   const crypto::WrappedKey& key) const {
  ASSIGN_OR_RETURN(Statement stmt,
                   tx.Prepare("UPDATE data_keys SET kek_id = ?, wrapped = ? "
                              "WHERE person_id = ?"));
  stmt.Bind(1, key.kek_id).BindBlob(2, key.wrapped).Bind(3, owner);
  return stmt.Run();
}

absl::StatusOr<bool> DataKeyStore::Delete(Tx& tx,
                                          absl::string_view owner) const {
  ASSIGN_OR_RETURN(Statement stmt,
                   tx.Prepare("DELETE FROM data_keys WHERE person_id = ?"));
  stmt.Bind(1, owner);
  RETURN_IF_ERROR(stmt.Run());
  return tx.Changes() > 0;
}

absl::StatusOr<std::vector<std::pair<std::string, crypto::WrappedKey>>>
DataKeyStore::List(Tx& tx) const {
  ASSIGN_OR_RETURN(Statement stmt,
                   tx.Prepare("SELECT person_id, kek_id, wrapped FROM "
                              "data_keys ORDER BY person_id"));
  std::vector<std::pair<std::string, crypto::WrappedKey>> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return out;
    out.emplace_back(
        stmt.ColumnText(0),
        crypto::WrappedKey{stmt.ColumnText(1), stmt.ColumnBlob(2)});
  }
}

}  // namespace signpost::store
