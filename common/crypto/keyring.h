// Envelope encryption of personal data at rest (AES-256-GCM through
// OpenSSL 3's EVP interface).
//
//   key-encryption keys (KEKs)  loaded from a key file; never stored in a
//                               database. The file's first key is the active
//                               one: it wraps new data keys.
//   data keys                   one per person, random, kept in the service's
//                               own store only wrapped by a KEK, next to the
//                               id of the KEK that wrapped it.
//   sealed values               a field encrypted with its person's data key,
//                               with the row's id and the column's name as
//                               associated data, so a ciphertext moved to
//                               another row or column does not open.
//
// Sealed format: 1 version byte (1), a 12-byte random nonce, the ciphertext,
// the 16-byte tag. Destroying a person's wrapped data key makes every value
// sealed with it unreadable (crypto-shredding).
//
// Key file format (text, one key per line, `#` comments):
//   <key-id> <base64 of 32 random bytes>
// Key ids are 1-64 of a-z, A-Z, 0-9, '-', '_' and '.', unique in the file.
// scripts/dev-pki makes one (keys/kek.keys); docs/operations.md says how to
// rotate. Thread-safe (immutable after loading).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace signpost::crypto {

inline constexpr size_t kKeyBytes = 32;

// `n` cryptographically random bytes; INTERNAL if the system's generator
// fails.
absl::StatusOr<std::string> RandomBytes(size_t n);

// Seals `plaintext` under `key` (32 bytes) binding `associated_data`.
absl::StatusOr<std::string> Seal(absl::string_view key,
                                 absl::string_view plaintext,
                                 absl::string_view associated_data);
// Opens a Seal() result. DATA_LOSS when the key, the associated data or the
// bytes do not match (nothing about which).
absl::StatusOr<std::string> Open(absl::string_view key,
                                 absl::string_view sealed,
                                 absl::string_view associated_data);

// HMAC-SHA256 of `data` under `key`: 32 raw bytes.
std::string HmacSha256(absl::string_view key, absl::string_view data);

// A data key wrapped by a KEK.
struct WrappedKey {
  std::string kek_id;
  std::string wrapped;
};

class Keyring {
 public:
  // Reads and checks a key file. Errors name the file and the line.
  static absl::StatusOr<Keyring> Load(const std::string& path);
  // From text (tests, and Load).
  static absl::StatusOr<Keyring> Parse(absl::string_view text,
                                       absl::string_view name);

  const std::string& active_id() const { return active_id_; }
  // The active key's bytes, for a key file that holds a key used directly
  // (intake's matching key), not to wrap others.
  const std::string& ActiveKey() const {
    return keys_.find(active_id_)->second;
  }
  bool Has(absl::string_view kek_id) const;

  // A new random data key, and that key wrapped by the active KEK for
  // `owner` (the person id: the wrap's associated data).
  absl::StatusOr<std::pair<std::string, WrappedKey>> NewDataKey(
      absl::string_view owner) const;
  // The data key inside `wrapped`. FAILED_PRECONDITION naming the key id
  // when this keyring does not hold that KEK; DATA_LOSS when it does not
  // open (a wrong key file).
  absl::StatusOr<std::string> Unwrap(const WrappedKey& wrapped,
                                     absl::string_view owner) const;
  // `wrapped` re-wrapped by the active KEK (the data is not touched).
  absl::StatusOr<WrappedKey> Rewrap(const WrappedKey& wrapped,
                                    absl::string_view owner) const;

 private:
  std::string active_id_;
  std::map<std::string, std::string, std::less<>> keys_;
};

}  // namespace signpost::crypto
