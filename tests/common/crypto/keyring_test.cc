// Envelope encryption: sealing, associated data, key files, wrapping and
// rotation.
#include "common/crypto/keyring.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace signpost::crypto {
namespace {

using ::testing::HasSubstr;

std::string KeyLine(const std::string& id) {
  return absl::StrCat(id, " ", absl::Base64Escape(*RandomBytes(kKeyBytes)),
                      "\n");
}

TEST(SealTest, OpensOnlyWithTheSameKeyAndAssociatedData) {
  const std::string key = *RandomBytes(kKeyBytes);
  const std::string other = *RandomBytes(kKeyBytes);
  absl::StatusOr<std::string> sealed =
      Seal(key, "Example Person", "referral-1/full_name");
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  EXPECT_EQ(sealed->find("Example Person"), std::string::npos);
  EXPECT_EQ(*Open(key, *sealed, "referral-1/full_name"), "Example Person");
  // Moved to another row or column, or opened with another key: refused.
  EXPECT_EQ(Open(key, *sealed, "referral-2/full_name").status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(Open(key, *sealed, "referral-1/address").status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(Open(other, *sealed, "referral-1/full_name").status().code(),
            absl::StatusCode::kDataLoss);
  // A flipped bit anywhere is refused.
  for (size_t i = 0; i < sealed->size(); ++i) {
    std::string bad = *sealed;
    bad[i] ^= 0x01;
    EXPECT_FALSE(Open(key, bad, "referral-1/full_name").ok()) << i;
  }
  // Two seals of one value differ (fresh nonce).
  EXPECT_NE(*Seal(key, "x", "a"), *Seal(key, "x", "a"));
}

TEST(KeyringTest, KeyFilesAreCheckedLineByLine) {
  EXPECT_THAT(Keyring::Parse("", "f").status().message(),
              HasSubstr("f: holds no key"));
  EXPECT_THAT(Keyring::Parse("k1 not-base64!\n", "f").status().message(),
              HasSubstr("f: line 1: key 'k1' is not base64 of 32 bytes"));
  EXPECT_THAT(
      Keyring::Parse(absl::StrCat("# c\n", KeyLine("k1"), "k1 ",
                                  absl::Base64Escape(std::string(32, 'a'))),
                     "f")
          .status()
          .message(),
      HasSubstr("f: line 3: key id 'k1' appears twice"));
  EXPECT_THAT(Keyring::Parse("bad/id AAAA\n", "f").status().message(),
              HasSubstr("line 1: key id must be"));
  EXPECT_EQ(Keyring::Load("/nonexistent/kek.keys").status().code(),
            absl::StatusCode::kNotFound);
  absl::StatusOr<Keyring> ring =
      Keyring::Parse(absl::StrCat(KeyLine("new"), KeyLine("old")), "f");
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ(ring->active_id(), "new");
  EXPECT_TRUE(ring->Has("old"));
}

TEST(KeyringTest, RotationRewrapsWithoutTouchingTheData) {
  const std::string old_line = KeyLine("old");
  Keyring before = *Keyring::Parse(old_line, "f");
  auto [data_key, wrapped] = *before.NewDataKey("person-1");
  EXPECT_EQ(wrapped.kek_id, "old");
  const std::string sealed = *Seal(data_key, "narrative", "r/narrative");
  // The new key goes first; the old one stays until every data key moved.
  Keyring after = *Keyring::Parse(absl::StrCat(KeyLine("new"), old_line), "f");
  absl::StatusOr<WrappedKey> rewrapped = after.Rewrap(wrapped, "person-1");
  ASSERT_TRUE(rewrapped.ok()) << rewrapped.status();
  EXPECT_EQ(rewrapped->kek_id, "new");
  // The same data key: the sealed data still opens, unchanged.
  EXPECT_EQ(*after.Unwrap(*rewrapped, "person-1"), data_key);
  EXPECT_EQ(*Open(*after.Unwrap(*rewrapped, "person-1"), sealed, "r/narrative"),
            "narrative");
  // A data key belongs to its person.
  EXPECT_EQ(after.Unwrap(*rewrapped, "person-2").status().code(),
            absl::StatusCode::kDataLoss);
  // A key file without the wrapping key names it; a wrong key with the
  // same id says so.
  Keyring without = *Keyring::Parse(KeyLine("other"), "f");
  EXPECT_THAT(without.Unwrap(wrapped, "person-1").status().message(),
              HasSubstr("does not hold key 'old'"));
  Keyring wrong = *Keyring::Parse(KeyLine("old"), "f");
  EXPECT_EQ(wrong.Unwrap(wrapped, "person-1").status().code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace signpost::crypto
