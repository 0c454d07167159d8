// Envelope encryption of personal data and free text, the same in every
// service: each person (or, for a record with no person, the record) has a
// data key of its own in the service's `data_keys` table
// (common/store/data_key_store.h), wrapped by the key file's active KEK.
// A value is sealed under that key with its row id and column name as
// associated data (FieldAad), so it opens only in the row and column it was
// written to. Destroying the key (Destroy) makes every value sealed under it
// unreadable: crypto-shredding. Thread-safe (const; the keyring is
// immutable).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/crypto/keyring.h"
#include "common/store/data_key_store.h"
#include "common/store/database.h"

namespace signpost::crypto {

// The format tag of a value sealed with SealField.
inline constexpr char kSealedFieldFormat[] = "aes256gcm-v1";

// A sealed value's associated data: "<row_id>/<column>".
std::string FieldAad(absl::string_view row_id, absl::string_view column);
absl::StatusOr<std::string> SealField(absl::string_view key,
                                      absl::string_view row_id,
                                      absl::string_view column,
                                      absl::string_view plaintext);
// DATA_LOSS when the key, row or column does not match.
absl::StatusOr<std::string> OpenField(absl::string_view key,
                                      absl::string_view row_id,
                                      absl::string_view column,
                                      absl::string_view sealed);

class PersonKeys {
 public:
  explicit PersonKeys(std::shared_ptr<const Keyring> keyring)
      : keyring_(std::move(keyring)) {}

  const Keyring& keyring() const { return *keyring_; }

  // The owner's data key, made (and stored wrapped) on first use.
  absl::StatusOr<std::string> GetOrCreate(store::Tx& tx,
                                          absl::string_view owner) const;
  // The owner's data key; nullopt when it was never made or was destroyed.
  // A key that does not unwrap is INTERNAL to the caller (the detail, key
  // ids included, goes to the log only).
  absl::StatusOr<std::optional<std::string>> Find(
      store::Tx& tx, absl::string_view owner) const;
  // As Find, but a missing key is INTERNAL too (for values that must open).
  absl::StatusOr<std::string> Get(store::Tx& tx, absl::string_view owner) const;
  // Destroys the owner's data key. True when there was one.
  absl::StatusOr<bool> Destroy(store::Tx& tx, absl::string_view owner) const;

  // Start-up check: every stored data key unwraps with this key file.
  // FAILED_PRECONDITION (a KEK id not in the file) or DATA_LOSS (a wrong
  // key) naming the key id otherwise.
  absl::Status CheckAll(store::Tx& tx) const;
  // Re-wraps every data key not wrapped by the active KEK; the data is not
  // touched. Returns how many were re-wrapped.
  absl::StatusOr<int> RotateAll(store::Tx& tx) const;

 private:
  std::shared_ptr<const Keyring> keyring_;
  store::DataKeyStore store_;
};

// Loads a key file for a service: the error names `flag` and the file.
absl::StatusOr<std::shared_ptr<const PersonKeys>> LoadPersonKeys(
    const std::string& flag, const std::string& path);

}  // namespace signpost::crypto
