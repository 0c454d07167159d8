#!/usr/bin/env bash
# Tests scripts/dev-pki: files made once and kept on a rerun, every
# certificate verifies against the CA with its SAN URI identity, keys are
# private, the Ed25519 signing keys sign and verify, and missing openssl or a
# registry without agencies fails clearly.
#   tests/scripts/dev_pki_test.sh [SOURCE_DIR]
set -euo pipefail

SRC=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
DEV_PKI="$SRC/scripts/dev-pki"
REGISTRY="$SRC/deploy/access/agencies.textproto"
SERVICES=(intake triage advocacy orders notification)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
PKI="$TMP/pki"
FAILURES=0

fail() {
  echo "FAIL: $*" >&2
  FAILURES=$((FAILURES + 1))
}
expect_contains() {  # HAYSTACK NEEDLE WHAT
  [[ "$1" == *"$2"* ]] || fail "$3: expected '$2' in: $1"
}
checksums() {
  (cd "$PKI" && find . -type f ! -name .lock -print0 | sort -z |
    xargs -0 sha256sum)
}

# The agency ids as the registry states them (independent of the script's
# own parsing: one `agency_id: "..."` per line in the shipped file).
mapfile -t AGENCIES < <(grep -E '^[[:space:]]*agency_id:' "$REGISTRY" |
  sed -E 's/.*"([^"]*)".*/\1/' | sort)
[[ ${#AGENCIES[@]} -ge 10 ]] || fail "registry parse: only ${#AGENCIES[@]} agencies"

# 1. First run makes everything; the second changes nothing.
out1=$("$DEV_PKI" "$PKI")
[[ $(wc -l <<<"$out1") -eq 1 ]] || fail "first run printed more than one line: $out1"
expect_contains "$out1" "0 already there" "first run"
before=$(checksums)
out2=$("$DEV_PKI" "$PKI" "$REGISTRY")
expect_contains "$out2" "(0 made," "second run"
after=$(checksums)
[[ "$before" == "$after" ]] || fail "second run changed files"
# CA (2), service and agency certificates, signing keys, the KEK file and
# the matching key (2).
expected_files=$((2 + 2 * ${#SERVICES[@]} + 2 * ${#AGENCIES[@]} + 2 * ${#SERVICES[@]} + 2))
[[ $(wc -l <<<"$after") -eq $expected_files ]] ||
  fail "expected $expected_files files, found $(wc -l <<<"$after")"

# 2. The CA: EC P-256, a CA, self-signed.
ca_text=$(openssl x509 -in "$PKI/ca.crt" -noout -text)
expect_contains "$ca_text" "CA:TRUE" "CA basic constraints"
expect_contains "$ca_text" "NIST CURVE: P-256" "CA key"
openssl verify -CAfile "$PKI/ca.crt" "$PKI/ca.crt" >/dev/null || fail "CA does not verify"

# 3. Every certificate verifies against the CA, with the right identity.
for svc in "${SERVICES[@]}"; do
  crt="$PKI/services/$svc.crt"
  [[ $(openssl verify -CAfile "$PKI/ca.crt" "$crt") == "$crt: OK" ]] ||
    fail "services/$svc.crt does not verify"
  san=$(openssl x509 -in "$crt" -noout -ext subjectAltName)
  expect_contains "$san" "URI:spiffe://signpost/service/$svc" "$svc SAN"
  expect_contains "$san" "DNS:localhost" "$svc SAN"
  expect_contains "$san" "IP Address:127.0.0.1" "$svc SAN"
  eku=$(openssl x509 -in "$crt" -noout -ext extendedKeyUsage)
  expect_contains "$eku" "TLS Web Server Authentication" "$svc EKU"
  expect_contains "$eku" "TLS Web Client Authentication" "$svc EKU"
done
for id in "${AGENCIES[@]}"; do
  crt="$PKI/agencies/$id.crt"
  [[ $(openssl verify -CAfile "$PKI/ca.crt" "$crt" 2>&1) == "$crt: OK" ]] ||
    fail "agencies/$id.crt does not verify"
  san=$(openssl x509 -in "$crt" -noout -ext subjectAltName)
  [[ $(tail -n +2 <<<"$san" | tr -d ' ') == "URI:spiffe://signpost/agency/$id" ]] ||
    fail "agencies/$id.crt SAN is not exactly its agency URI: $san"
  eku=$(openssl x509 -in "$crt" -noout -ext extendedKeyUsage)
  expect_contains "$eku" "TLS Web Client Authentication" "$id EKU"
  [[ "$eku" != *"Server Authentication"* ]] || fail "agency $id may act as a server"
done
# A certificate from another CA does not verify (the check can fail).
mkdir -p "$TMP/other"
"$DEV_PKI" "$TMP/other" >/dev/null
if openssl verify -CAfile "$PKI/ca.crt" "$TMP/other/services/intake.crt" >/dev/null 2>&1; then
  fail "a certificate of another CA verified"
fi

# 4. Keys are private; directories are closed.
while IFS= read -r -d '' key; do
  [[ $(stat -c %a "$key") == 600 ]] || fail "$key is $(stat -c %a "$key"), not 600"
done < <(find "$PKI" -name '*.key' -print0)
for dir in "$PKI" "$PKI/services" "$PKI/agencies" "$PKI/signing" "$PKI/keys"; do
  [[ $(stat -c %a "$dir") == 700 ]] || fail "$dir is $(stat -c %a "$dir"), not 700"
done
# The key-encryption key file: private, one key line of 32 base64 bytes.
kek="$PKI/keys/kek.keys"
[[ $(stat -c %a "$kek") == 600 ]] || fail "$kek is $(stat -c %a "$kek"), not 600"
kek_lines=$(grep -v '^#' "$kek")
[[ $(wc -l <<<"$kek_lines") -eq 1 ]] || fail "$kek: expected one key line"
[[ $(awk '{print $2}' <<<"$kek_lines" | base64 -d | wc -c) -eq 32 ]] ||
  fail "$kek: the key is not 32 bytes"
match="$PKI/keys/matching.key"
[[ $(stat -c %a "$match") == 600 ]] || fail "$match is $(stat -c %a "$match"), not 600"
[[ $(grep -v '^#' "$match" | awk '{print $2}' | base64 -d | wc -c) -eq 32 ]] ||
  fail "$match: the key is not 32 bytes"
cmp -s <(grep -v '^#' "$kek" | awk '{print $2}') \
  <(grep -v '^#' "$match" | awk '{print $2}') &&
  fail "the matching key is the encryption key"

# 5. Event-signing keys: Ed25519; a signature verifies with the key's own
# .pub and not with another service's.
echo "signpost envelope bytes" >"$TMP/message"
for svc in "${SERVICES[@]}"; do
  key_text=$(openssl pkey -in "$PKI/signing/$svc.key" -noout -text)
  expect_contains "$key_text" "ED25519" "signing/$svc.key type"
  openssl pkeyutl -sign -inkey "$PKI/signing/$svc.key" -rawin \
    -in "$TMP/message" -out "$TMP/$svc.sig"
  openssl pkeyutl -verify -pubin -inkey "$PKI/signing/$svc.pub" -rawin \
    -in "$TMP/message" -sigfile "$TMP/$svc.sig" >/dev/null ||
    fail "signing/$svc signature does not verify with its .pub"
done
if openssl pkeyutl -verify -pubin -inkey "$PKI/signing/triage.pub" -rawin \
  -in "$TMP/message" -sigfile "$TMP/intake.sig" >/dev/null 2>&1; then
  fail "intake's signature verified with triage's key"
fi

# 6. A deleted certificate is reissued alone, from its kept key; a deleted
# CA makes every certificate reissue.
rm "$PKI/agencies/police-wmp.crt"
out3=$("$DEV_PKI" "$PKI")
expect_contains "$out3" "(1 made," "reissue one certificate"
openssl verify -CAfile "$PKI/ca.crt" "$PKI/agencies/police-wmp.crt" >/dev/null ||
  fail "reissued certificate does not verify"
rm "$PKI/ca.key" "$PKI/ca.crt"
"$DEV_PKI" "$PKI" >/dev/null
for crt in "$PKI"/services/*.crt "$PKI"/agencies/*.crt; do
  openssl verify -CAfile "$PKI/ca.crt" "$crt" >/dev/null 2>&1 ||
    fail "$crt not reissued under the new CA"
done

# 7. Clear failures.
if err=$(OPENSSL=/nonexistent/openssl "$DEV_PKI" "$TMP/none" 2>&1); then
  fail "ran without openssl"
fi
expect_contains "$err" "openssl not found" "missing openssl"
printf 'agencies { kind: AGENCY_KIND_PCC }\n' >"$TMP/empty.textproto"
if err=$("$DEV_PKI" "$TMP/none" "$TMP/empty.textproto" 2>&1); then
  fail "ran with a registry without agency ids"
fi
expect_contains "$err" "names no agency_id" "empty registry"
if "$DEV_PKI" >/dev/null 2>&1; then fail "ran without OUT_DIR"; fi

if [[ $FAILURES -gt 0 ]]; then
  echo "dev_pki_test: $FAILURES failures" >&2
  exit 1
fi
echo "dev_pki_test: all checks passed (${#SERVICES[@]} services, ${#AGENCIES[@]} agencies)"
