// Each person's wrapped data key (envelope encryption, common/crypto): SQL
// and row mapping only. Every service that keeps personal data or free text
// has this one table, created by kDataKeysMigration in its own migration
// list. Deleting a row makes that person's sealed values unreadable
// (crypto-shredding). Every method runs inside the caller's transaction.
// Thread-safe (stateless).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/crypto/keyring.h"
#include "common/store/database.h"

namespace signpost::store {

// `data_keys(person_id, kek_id, wrapped)`: the owner (a person id, or for a
// record with no person, a record id), the id of the KEK that wrapped the
// key, and the wrapped key.
inline constexpr char kDataKeysMigration[] = R"sql(
CREATE TABLE IF NOT EXISTS data_keys (
  person_id TEXT PRIMARY KEY,
  kek_id TEXT NOT NULL,
  wrapped BLOB NOT NULL
);
)sql";

class DataKeyStore {
 public:
  // nullopt when there is none (never made, or destroyed).
  absl::StatusOr<std::optional<crypto::WrappedKey>> Find(
      Tx& tx, absl::string_view owner) const;
  // ALREADY_EXISTS when the owner has one.
  absl::Status Insert(Tx& tx, absl::string_view owner,
                      const crypto::WrappedKey& key) const;
  absl::Status Replace(Tx& tx, absl::string_view owner,
                       const crypto::WrappedKey& key) const;
  // True when a key was deleted.
  absl::StatusOr<bool> Delete(Tx& tx, absl::string_view owner) const;
  // Every owner's wrapped key, by owner.
  absl::StatusOr<std::vector<std::pair<std::string, crypto::WrappedKey>>> List(
      Tx& tx) const;
};

}  // namespace signpost::store
