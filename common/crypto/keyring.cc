#include "common/crypto/keyring.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace signpost::crypto {
namespace {

constexpr unsigned char kVersion = 1;
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

const unsigned char* Bytes(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

absl::Status NotOpened() {
  return absl::DataLossError(
      "sealed value does not open with this key and associated data");
}

bool IsKeyId(absl::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' ||
          c == '_' || c == '.')) {
      return false;
    }
  }
  return true;
}

std::string WrapAad(absl::string_view owner) {
  return absl::StrCat("signpost-data-key/", owner);
}

}  // namespace

std::string HmacSha256(absl::string_view key, absl::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md,
       &len);
  return std::string(reinterpret_cast<const char*>(md), len);
}

absl::StatusOr<std::string> RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()),
                 static_cast<int>(n)) != 1) {
    return absl::InternalError("the random generator failed");
  }
  return out;
}

absl::StatusOr<std::string> Seal(absl::string_view key,
                                 absl::string_view plaintext,
                                 absl::string_view associated_data) {
  if (key.size() != kKeyBytes) {
    return absl::InternalError("seal: the key is not 32 bytes");
  }
  absl::StatusOr<std::string> nonce = RandomBytes(kNonceBytes);
  if (!nonce.ok()) return nonce.status();
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  std::string out(1 + kNonceBytes + plaintext.size() + kTagBytes, '\0');
  out[0] = static_cast<char>(kVersion);
  out.replace(1, kNonceBytes, *nonce);
  auto* cipher = reinterpret_cast<unsigned char*>(out.data()) + 1 + kNonceBytes;
  int len = 0;
  if (ctx == nullptr ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr,
                         nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes,
                          nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, Bytes(key),
                         Bytes(*nonce)) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, Bytes(associated_data),
                        static_cast<int>(associated_data.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), cipher, &len, Bytes(plaintext),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), cipher + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                          cipher + plaintext.size()) != 1) {
    return absl::InternalError("seal: AES-256-GCM failed");
  }
  return out;
}

absl::StatusOr<std::string> Open(absl::string_view key,
                                 absl::string_view sealed,
                                 absl::string_view associated_data) {
  if (key.size() != kKeyBytes) {
    return absl::InternalError("open: the key is not 32 bytes");
  }
  if (sealed.size() < 1 + kNonceBytes + kTagBytes ||
      static_cast<unsigned char>(sealed[0]) != kVersion) {
    return NotOpened();
  }
  const absl::string_view nonce = sealed.substr(1, kNonceBytes);
  const absl::string_view cipher = sealed.substr(
      1 + kNonceBytes, sealed.size() - 1 - kNonceBytes - kTagBytes);
  std::string tag(sealed.substr(sealed.size() - kTagBytes));
  std::string out(cipher.size(), '\0');
  auto* plain = reinterpret_cast<unsigned char*>(out.data());
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (ctx == nullptr ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr,
                         nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes,
                          nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, Bytes(key),
                         Bytes(nonce)) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, Bytes(associated_data),
                        static_cast<int>(associated_data.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), plain, &len, Bytes(cipher),
                        static_cast<int>(cipher.size())) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes,
                          tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), plain + len, &len) != 1) {
    return NotOpened();
  }
  return out;
}

absl::StatusOr<Keyring> Keyring::Parse(absl::string_view text,
                                       absl::string_view name) {
  Keyring ring;
  int line_number = 0;
  std::vector<std::string> problems;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || absl::StartsWith(line, "#")) continue;
    std::vector<absl::string_view> parts =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    const std::string where = absl::StrCat(name, ": line ", line_number, ": ");
    if (parts.size() != 2) {
      problems.push_back(
          absl::StrCat(where, "expected '<key-id> <base64 key>'"));
      continue;
    }
    std::string key;
    if (!IsKeyId(parts[0])) {
      problems.push_back(absl::StrCat(
          where, "key id must be 1-64 of a-z, A-Z, 0-9, '-', '_' and '.'"));
    } else if (ring.keys_.count(parts[0]) > 0) {
      problems.push_back(
          absl::StrCat(where, "key id '", parts[0], "' appears twice"));
    } else if (!absl::Base64Unescape(parts[1], &key) ||
               key.size() != kKeyBytes) {
      problems.push_back(absl::StrCat(where, "key '", parts[0],
                                      "' is not base64 of 32 bytes"));
    } else {
      if (ring.active_id_.empty()) ring.active_id_ = std::string(parts[0]);
      ring.keys_.emplace(std::string(parts[0]), std::move(key));
    }
  }
  if (problems.empty() && ring.keys_.empty()) {
    problems.push_back(absl::StrCat(name, ": holds no key"));
  }
  if (!problems.empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(problems, "; "));
  }
  return ring;
}

absl::StatusOr<Keyring> Keyring::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot be read"));
  }
  std::stringstream text;
  text << in.rdbuf();
  return Parse(text.str(), path);
}

bool Keyring::Has(absl::string_view kek_id) const {
  return keys_.find(kek_id) != keys_.end();
}

absl::StatusOr<std::pair<std::string, WrappedKey>> Keyring::NewDataKey(
    absl::string_view owner) const {
  absl::StatusOr<std::string> key = RandomBytes(kKeyBytes);
  if (!key.ok()) return key.status();
  absl::StatusOr<std::string> wrapped =
      Seal(keys_.find(active_id_)->second, *key, WrapAad(owner));
  if (!wrapped.ok()) return wrapped.status();
  return std::make_pair(*std::move(key),
                        WrappedKey{active_id_, *std::move(wrapped)});
}

absl::StatusOr<std::string> Keyring::Unwrap(const WrappedKey& wrapped,
                                            absl::string_view owner) const {
  auto it = keys_.find(wrapped.kek_id);
  if (it == keys_.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the key file does not hold key '", wrapped.kek_id,
                     "', which wrapped stored data keys"));
  }
  absl::StatusOr<std::string> key =
      Open(it->second, wrapped.wrapped, WrapAad(owner));
  if (!key.ok()) {
    return absl::DataLossError(absl::StrCat(
        "key '", wrapped.kek_id,
        "' in the key file does not open the data keys it wrapped (a wrong "
        "key file?)"));
  }
  return key;
}

absl::StatusOr<WrappedKey> Keyring::Rewrap(const WrappedKey& wrapped,
                                           absl::string_view owner) const {
  absl::StatusOr<std::string> key = Unwrap(wrapped, owner);
  if (!key.ok()) return key.status();
  absl::StatusOr<std::string> rewrapped =
      Seal(keys_.find(active_id_)->second, *key, WrapAad(owner));
  if (!rewrapped.ok()) return rewrapped.status();
  return WrappedKey{active_id_, *std::move(rewrapped)};
}

}  // namespace signpost::crypto
