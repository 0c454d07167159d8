#!/usr/bin/env bash
# Builds the Debian package from the current build tree (cpack -G DEB, as
# `make deb` does) into a temporary directory and checks it: every binary,
# unit, environment file and policy file is in it; the control fields
# (Package, Version as the binaries report it, Depends found by
# dpkg-shlibdeps); every file under /etc is a conffile; the maintainer
# scripts parse; each unit runs its binary as the signpost user with its
# EnvironmentFile and the hardening options; each environment file names
# every SIGNPOST_* setting its service's --help lists and is accepted by
# the binary (--print-config); `systemd-analyze verify` passes on the
# units when systemd-analyze exists.
#   tests/scripts/deb_package_test.sh BUILD_DIR
set -euo pipefail

BUILD=$(cd "${1:?usage: deb_package_test.sh BUILD_DIR}" && pwd)
SERVICES=(intake triage advocacy orders notification)
BINARIES=("${SERVICES[@]/#/signpost-}" signpost-devbroker signpost-cli
  signpost-dev-pki)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
FAILURES=0
fail() {
  echo "FAIL: $*" >&2
  FAILURES=$((FAILURES + 1))
}

# 1. The package, from this build.
for tool in cpack dpkg-deb dpkg-shlibdeps; do
  command -v "$tool" >/dev/null || {
    echo "FAIL: $tool is missing (scripts/install-deps installs it)" >&2
    exit 1
  }
done
if ! cpack -G DEB --config "$BUILD/CPackConfig.cmake" -B "$TMP/out" \
  >"$TMP/cpack.log" 2>&1; then
  cat "$TMP/cpack.log" >&2
  echo "FAIL: cpack -G DEB failed" >&2
  exit 1
fi
mapfile -t DEBS < <(find "$TMP/out" -maxdepth 1 -name '*.deb')
if [[ ${#DEBS[@]} -ne 1 ]]; then
  echo "FAIL: expected one .deb, found ${#DEBS[@]} in $TMP/out" >&2
  exit 1
fi
DEB=${DEBS[0]}
echo "package: $(basename "$DEB") ($(du -h "$DEB" | cut -f1))"

# 2. The file list.
dpkg-deb -c "$DEB" >"$TMP/list"
# "mode owner/group size date time ./path" -> "mode path"
awk '{ print $1, substr($6, 2) }' "$TMP/list" >"$TMP/files"
has() {  # PATH [MODE]
  local line
  line=$(grep -E "^[^ ]+ $1\$" "$TMP/files" || true)
  if [[ -z "$line" ]]; then
    fail "not in the package: $1"
  elif [[ -n "${2:-}" && "${line%% *}" != "$2" ]]; then
    fail "$1 has mode ${line%% *}, expected $2"
  fi
}
for bin in "${BINARIES[@]}"; do has "/usr/bin/$bin" -rwxr-xr-x; done
for svc in "${SERVICES[@]}"; do
  has "/usr/lib/systemd/system/signpost-$svc.service" -rw-r--r--
  has "/etc/signpost/$svc.env" -rw-------
done
has /usr/lib/systemd/system/signpost.target
has /etc/signpost/access/agencies.textproto -rw-r--r--
for f in policy/default.textproto policy/retention.textproto \
  policy/cambridgeshire-marac17.textproto calendar/england-and-wales.txt \
  kafka/topics.txt examples/subscriptions.textproto \
  examples/directory.textproto prometheus/alerts.yml; do
  has "/usr/share/signpost/$f"
done
for f in README.md architecture.md operations.md api-and-events.md policy.md; do
  has "/usr/share/doc/signpost/$f"
done
# Nothing from a development tree.
if grep -E '\.db$|/\.run/|/pki/|\.key$' "$TMP/files"; then
  fail "the package holds a database, a run directory or a key (above)"
fi

# 3. Control fields. The version is the one the binaries print.
field() { dpkg-deb -f "$DEB" "$1"; }
[[ $(field Package) == signpost ]] || fail "Package is '$(field Package)'"
version=$("$BUILD/services/signpost-intake" --version | awk '{ print $2 }')
[[ -n "$version" && $(field Version) == "$version" ]] ||
  fail "Version is '$(field Version)', the binaries say '$version'"
depends=$(field Depends)
for dep in 'libgrpc\+\+' librdkafka libsqlite3 libssl adduser; do
  [[ "$depends" =~ $dep ]] || fail "Depends lacks $dep: $depends"
done
for f in Maintainer Description Section Architecture; do
  [[ -n $(field "$f") ]] || fail "control field $f is empty"
done

# 4. Conffiles and maintainer scripts.
dpkg-deb -e "$DEB" "$TMP/control"
sort "$TMP/control/conffiles" >"$TMP/conffiles"
awk '$2 ~ /^\/etc\// && $1 !~ /^d/ { print $2 }' "$TMP/files" | sort >"$TMP/etc"
if ! diff -u "$TMP/etc" "$TMP/conffiles" >"$TMP/conffiles.diff"; then
  fail "conffiles differ from the files under /etc: $(cat "$TMP/conffiles.diff")"
fi
for script in postinst prerm postrm; do
  if [[ ! -x "$TMP/control/$script" ]]; then
    fail "maintainer script $script is missing or not executable"
  elif ! sh -n "$TMP/control/$script"; then
    fail "maintainer script $script does not parse"
  fi
done
grep -q 'adduser --system --group' "$TMP/control/postinst" ||
  fail "postinst does not create the signpost system user"
grep -q 'daemon-reload' "$TMP/control/postinst" ||
  fail "postinst does not reload systemd"
grep -q 'systemctl stop' "$TMP/control/prerm" || fail "prerm stops no unit"
# The state (the databases) goes on purge only.
sed -n '/^  purge)/,/;;/p' "$TMP/control/postrm" >"$TMP/purge"
grep -q 'rm -rf /var/lib/signpost$' "$TMP/purge" ||
  fail "postrm purge does not remove the services' state"
[[ $(grep -c 'rm -rf /var/lib/signpost' "$TMP/control/postrm") -eq 1 ]] ||
  fail "postrm removes the services' state outside purge"

# 5. The units.
ROOT=$TMP/root
dpkg-deb -x "$DEB" "$ROOT"
shutdown_default=$("$BUILD/services/signpost-intake" --help |
  sed -nE 's/.*--shutdown_timeout .*\[default: ([0-9]+)\].*/\1/p')
[[ -n "$shutdown_default" ]] || fail "no shutdown_timeout default in --help"
HARDENING=(NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes
  PrivateTmp=yes PrivateDevices=yes ProtectKernelTunables=yes
  ProtectKernelModules=yes ProtectKernelLogs=yes ProtectControlGroups=yes
  "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX" RestrictNamespaces=yes
  LockPersonality=yes MemoryDenyWriteExecute=yes SystemCallArchitectures=native
  SystemCallFilter=@system-service CapabilityBoundingSet= UMask=0077
  Restart=on-failure User=signpost Group=signpost)
for svc in "${SERVICES[@]}"; do
  unit=$ROOT/usr/lib/systemd/system/signpost-$svc.service
  [[ -f "$unit" ]] || continue
  for want in "${HARDENING[@]}" "EnvironmentFile=/etc/signpost/$svc.env" \
    "ExecStart=/usr/bin/signpost-$svc" "StateDirectory=signpost/$svc"; do
    grep -qxF "$want" "$unit" || fail "signpost-$svc.service lacks '$want'"
  done
  stop=$(sed -nE 's/^TimeoutStopSec=([0-9]+)s?$/\1/p' "$unit")
  if [[ -z "$stop" || -z "$shutdown_default" ]] ||
    ((stop <= shutdown_default)); then
    fail "signpost-$svc.service: TimeoutStopSec='$stop' is not above the" \
      "shutdown deadline ($shutdown_default s)"
  fi
done
if command -v systemd-analyze >/dev/null; then
  # Offline, against the unpacked package (its binaries are there), with
  # the host's own units beside them for the default dependencies
  # (sysinit.target ...). Any complaint fails, warnings too: systemd
  # ignores a setting it cannot parse and says so only as a warning.
  cp -rn /usr/lib/systemd/system/. "$ROOT/usr/lib/systemd/system/" 2>/dev/null || true
  if ! systemd-analyze verify --root="$ROOT" --man=no \
    "$ROOT"/usr/lib/systemd/system/signpost-*.service \
    "$ROOT"/usr/lib/systemd/system/signpost.target >"$TMP/verify.log" 2>&1 ||
    [[ -s "$TMP/verify.log" ]]; then
    fail "systemd-analyze verify: $(cat "$TMP/verify.log")"
  fi
  # And a unit that systemd rejects must fail this check (so it can).
  sed 's/^ProtectSystem=strict$/ProtectSystem=bogus/' \
    "$ROOT/usr/lib/systemd/system/signpost-intake.service" \
    >"$ROOT/usr/lib/systemd/system/signpost-selfcheck.service"
  systemd-analyze verify --root="$ROOT" --man=no \
    "$ROOT/usr/lib/systemd/system/signpost-selfcheck.service" \
    >"$TMP/selfcheck.log" 2>&1 || true
  [[ -s "$TMP/selfcheck.log" ]] ||
    fail "systemd-analyze verify said nothing about a bad unit"
  rm "$ROOT/usr/lib/systemd/system/signpost-selfcheck.service"
else
  echo "systemd-analyze not found: the units were not verified by systemd" \
    "(the other checks ran)"
fi

# 6. The environment files: every setting --help lists, each set one
# accepted by the binary, each shipped path in the package.
for svc in "${SERVICES[@]}"; do
  env_file=$ROOT/etc/signpost/$svc.env
  [[ -f "$env_file" ]] || continue
  "$BUILD/services/signpost-$svc" --help |
    grep -oE '\(SIGNPOST_[A-Z0-9_]+\)' | tr -d '()' | sort -u >"$TMP/$svc.help"
  grep -oE '^#?SIGNPOST_[A-Z0-9_]+=' "$env_file" | tr -d '#=' | sort -u \
    >"$TMP/$svc.env.names"
  missing=$(comm -23 "$TMP/$svc.help" "$TMP/$svc.env.names" | xargs)
  extra=$(comm -13 "$TMP/$svc.help" "$TMP/$svc.env.names" | xargs)
  [[ -z "$missing" ]] || fail "$svc.env lacks $missing"
  [[ -z "$extra" ]] || fail "$svc.env names settings $svc does not have: $extra"
  # Every line is a comment, blank, or NAME=VALUE (what systemd reads).
  if grep -vE '^(#.*|[A-Z0-9_]+=[^ ]*|)$' "$env_file"; then
    fail "$svc.env has lines systemd would not read as intended (above)"
  fi
  mapfile -t settings < <(grep -E '^SIGNPOST_' "$env_file")
  if ! env -i PATH="$PATH" "${settings[@]}" \
    "$BUILD/services/signpost-$svc" --print-config >"$TMP/$svc.config" \
    2>"$TMP/$svc.stderr"; then
    fail "signpost-$svc refuses $svc.env: $(cat "$TMP/$svc.stderr")"
  elif grep -q 'configuration warning' "$TMP/$svc.stderr"; then
    fail "signpost-$svc warns about $svc.env: $(cat "$TMP/$svc.stderr")"
  fi
  for setting in "${settings[@]}"; do
    value=${setting#*=}
    if [[ "$value" == /usr/* && ! -e "$ROOT$value" ]]; then
      fail "$svc.env: ${setting%%=*} names $value, which the package lacks"
    fi
  done
done

if [[ $FAILURES -gt 0 ]]; then
  echo "deb package: $FAILURES check(s) failed" >&2
  exit 1
fi
echo "deb package: all checks passed"
