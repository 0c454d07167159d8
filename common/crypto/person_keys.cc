#include "common/crypto/person_keys.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/macros.h"

namespace signpost::crypto {
namespace {

absl::Status Unopenable(const absl::Status& detail) {
  // The detail (key ids, the key file) is for the operator's log, not for
  // the calling agency.
  log::Error("data key not opened", {{"error", detail.ToString()}});
  return absl::InternalError("stored personal data could not be opened");
}

}  // namespace

std::string FieldAad(absl::string_view row_id, absl::string_view column) {
  return absl::StrCat(row_id, "/", column);
}

absl::StatusOr<std::string> SealField(absl::string_view key,
                                      absl::string_view row_id,
                                      absl::string_view column,
                                      absl::string_view plaintext) {
  return Seal(key, plaintext, FieldAad(row_id, column));
}

absl::StatusOr<std::string> OpenField(absl::string_view key,
                                      absl::string_view row_id,
                                      absl::string_view column,
                                      absl::string_view sealed) {
  return Open(key, sealed, FieldAad(row_id, column));
}

absl::StatusOr<std::string> PersonKeys::GetOrCreate(
    store::Tx& tx, absl::string_view owner) const {
  ASSIGN_OR_RETURN(std::optional<std::string> found, Find(tx, owner));
  if (found.has_value()) return *std::move(found);
  ASSIGN_OR_RETURN(auto made, keyring_->NewDataKey(owner));
  RETURN_IF_ERROR(store_.Insert(tx, owner, made.second));
  return std::move(made.first);
}

absl::StatusOr<std::optional<std::string>> PersonKeys::Find(
    store::Tx& tx, absl::string_view owner) const {
  ASSIGN_OR_RETURN(std::optional<WrappedKey> wrapped, store_.Find(tx, owner));
  if (!wrapped.has_value()) return std::nullopt;
  absl::StatusOr<std::string> key = keyring_->Unwrap(*wrapped, owner);
  if (!key.ok()) return Unopenable(key.status());
  return *std::move(key);
}

absl::StatusOr<std::string> PersonKeys::Get(store::Tx& tx,
                                            absl::string_view owner) const {
  ASSIGN_OR_RETURN(std::optional<std::string> key, Find(tx, owner));
  if (!key.has_value()) {
    return Unopenable(
        absl::DataLossError(absl::StrCat("no data key for owner ", owner)));
  }
  return *std::move(key);
}

absl::StatusOr<bool> PersonKeys::Destroy(store::Tx& tx,
                                         absl::string_view owner) const {
  return store_.Delete(tx, owner);
}

absl::Status PersonKeys::CheckAll(store::Tx& tx) const {
  ASSIGN_OR_RETURN(auto keys, store_.List(tx));
  // Every data key, not one per key id: a key id reused for another key
  // would otherwise pass (milliseconds even for many thousands).
  for (const auto& [owner, wrapped] : keys) {
    RETURN_IF_ERROR(keyring_->Unwrap(wrapped, owner).status());
  }
  return absl::OkStatus();
}

absl::StatusOr<int> PersonKeys::RotateAll(store::Tx& tx) const {
  ASSIGN_OR_RETURN(auto keys, store_.List(tx));
  int rewrapped = 0;
  for (const auto& [owner, wrapped] : keys) {
    if (wrapped.kek_id == keyring_->active_id()) continue;
    ASSIGN_OR_RETURN(WrappedKey fresh, keyring_->Rewrap(wrapped, owner));
    RETURN_IF_ERROR(store_.Replace(tx, owner, fresh));
    ++rewrapped;
  }
  return rewrapped;
}

absl::StatusOr<std::shared_ptr<const PersonKeys>> LoadPersonKeys(
    const std::string& flag, const std::string& path) {
  absl::StatusOr<Keyring> keys = Keyring::Load(path);
  if (!keys.ok()) {
    return absl::Status(keys.status().code(),
                        absl::StrCat(flag, ": ", keys.status().message()));
  }
  return std::make_shared<const PersonKeys>(
      std::make_shared<const Keyring>(*std::move(keys)));
}

}  // namespace signpost::crypto
