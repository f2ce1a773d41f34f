#!/usr/bin/env bash
# Provision the services Lexbase's tests need on a Debian 12 (bookworm) host:
#   PostgreSQL 15 (+ server headers), pgvector >= 0.8, Redis, a C toolchain,
#   Tesseract OCR (the ingest pipeline reads scanned PDF pages with it) and nginx (the
#   reverse proxy of the distributed tier, tests/distributed).
#
# Idempotent: when everything is already in place it only runs a few
# dpkg-query/grep checks and exits. It never starts a server; the tests start
# their own throwaway instances (see tests/support/services.py).
#
# pgvector 0.8 is not in bookworm's archive, so it is built from Debian's own
# `pgvector` source package in suite trixie, fetched with a private apt
# configuration (own sources list and lists dir in a temp dir) so the system's
# apt state never sees trixie.
#
# Usage (as root): bash scripts/provision-services.sh
set -euo pipefail

PG_MAJOR=15
PG_CONFIG="/usr/lib/postgresql/${PG_MAJOR}/bin/pg_config"
VECTOR_CONTROL="/usr/share/postgresql/${PG_MAJOR}/extension/vector.control"
PGVECTOR_MIN=0.8
PGVECTOR_SUITE=trixie
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
PACKAGES=(
  "postgresql-${PG_MAJOR}"
  "postgresql-server-dev-${PG_MAJOR}"
  redis-server
  build-essential
  dpkg-dev
  # Depends on tesseract-ocr-eng and tesseract-ocr-osd, the language data OCR uses.
  tesseract-ocr
  # The reverse proxy in front of the API replicas of the distributed tier.
  nginx-light
)

export DEBIAN_FRONTEND=noninteractive

log() { printf 'provision: %s\n' "$*" >&2; }
die() { printf 'provision: ERROR: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root (it installs Debian packages)"
command -v apt-get >/dev/null || die "apt-get not found: this script supports Debian only"

TMP=""
POLICY=/usr/sbin/policy-rc.d
OWN_POLICY=""
cleanup() {
  if [[ -n $TMP ]]; then rm -rf -- "$TMP"; fi
  if [[ -n $OWN_POLICY ]]; then rm -f -- "$POLICY"; fi
}
trap cleanup EXIT
trap 'die "failed at line $LINENO (exit $?): $BASH_COMMAND"' ERR

# --- 1. Debian packages ------------------------------------------------------
is_installed() {
  [[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null || true) == ii* ]]
}

missing=()
for pkg in "${PACKAGES[@]}"; do
  is_installed "$pkg" || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  log "packages: all present (${PACKAGES[*]})"
else
  log "packages: missing ${missing[*]}; running apt-get update"
  apt-get update -qq || die "apt-get update failed"
  log "packages: installing ${missing[*]}"
  # Their install scripts must not start the servers (the tests start their own instances).
  if [[ ! -e $POLICY ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$POLICY"
    chmod 0755 "$POLICY"
    OWN_POLICY=1
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install ${PACKAGES[*]} failed"
fi

[[ -x $PG_CONFIG ]] || die "$PG_CONFIG not found after install"

# --- 2. pgvector >= 0.8 ------------------------------------------------------
vector_version() {
  # Prints default_version from vector.control, or nothing.
  [[ -r $VECTOR_CONTROL ]] || return 0
  sed -n "s/^[[:space:]]*default_version[[:space:]]*=[[:space:]]*'\{0,1\}\([^']*\)'\{0,1\}.*/\1/p" \
    "$VECTOR_CONTROL" | head -n1
}

have=$(vector_version)
if [[ -n $have ]] && dpkg --compare-versions "$have" ge "$PGVECTOR_MIN"; then
  log "pgvector: $have already installed for PostgreSQL $PG_MAJOR"
  exit 0
fi
log "pgvector: ${have:-not installed}; building >= $PGVECTOR_MIN from Debian $PGVECTOR_SUITE source"

# Find the Debian (non-security) mirror the machine already uses.
find_mirror() {
  local f uri
  # deb822 .sources files: "URIs: a b c"
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -r $f ]] || continue
    sed -n 's/^URIs:[[:space:]]*//Ip' "$f" | tr ' \t' '\n\n'
  done
  # one-line format: deb [opts] URI suite comps
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -r $f ]] || continue
    sed -n 's/^[[:space:]]*deb\(-src\)\{0,1\}[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]*\)\{0,1\}\([^[:space:]]*\).*/\3/p' "$f"
  done
}
mirror=""
while IFS= read -r uri; do
  [[ -n $uri ]] || continue
  uri=${uri%/}
  case $uri in
    *security*) continue ;;
    */debian) mirror=$uri; break ;;
  esac
done < <(find_mirror)
[[ -n $mirror ]] || die "could not find a Debian mirror URI (…/debian) in /etc/apt/sources.list{,.d}"
log "pgvector: using mirror $mirror"

[[ -r $KEYRING ]] || die "$KEYRING missing (install debian-archive-keyring)"

TMP=$(mktemp -d /tmp/provision-pgvector.XXXXXX)
chmod 0755 "$TMP"
mkdir -p "$TMP/lists/partial" "$TMP/cache/archives/partial" "$TMP/src"
# apt downloads as the unprivileged _apt user when it can.
if id _apt >/dev/null 2>&1; then
  chown -R _apt:root "$TMP/lists" "$TMP/cache" "$TMP/src"
fi
printf 'deb-src [signed-by=%s] %s %s main\n' "$KEYRING" "$mirror" "$PGVECTOR_SUITE" \
  >"$TMP/sources.list"

APT_PRIVATE=(
  -o "Dir::Etc::sourcelist=$TMP/sources.list"
  -o "Dir::Etc::sourceparts=-"
  -o "Dir::State::Lists=$TMP/lists"
  -o "Dir::Cache=$TMP/cache"
  -o "Dir::Cache::pkgcache="
  -o "Dir::Cache::srcpkgcache="
  -o "APT::Get::List-Cleanup=0"
)

log "pgvector: apt-get update (private $PGVECTOR_SUITE deb-src list in $TMP)"
apt-get "${APT_PRIVATE[@]}" -qq update || die "private apt-get update for $PGVECTOR_SUITE failed"

log "pgvector: apt-get source pgvector"
(cd "$TMP/src" && apt-get "${APT_PRIVATE[@]}" -qq --download-only source pgvector >/dev/null) \
  || die "apt-get source pgvector ($PGVECTOR_SUITE) failed"

dsc=$(find "$TMP/src" -maxdepth 1 -name 'pgvector_*.dsc' | head -n1)
[[ -n $dsc ]] || die "no pgvector .dsc downloaded"
log "pgvector: unpacking $(basename "$dsc")"
# apt already verified the files' hashes against the signed Release file.
dpkg-source --no-check -x "$dsc" "$TMP/build" >/dev/null 2>&1 || die "dpkg-source -x $dsc failed"

src_version=$(sed -n 's/^default_version[[:space:]]*=[[:space:]]*'"'"'\([^'"'"']*\)'"'"'.*/\1/p' \
  "$TMP/build/vector.control" | head -n1)
[[ -n $src_version ]] && dpkg --compare-versions "$src_version" ge "$PGVECTOR_MIN" \
  || die "Debian $PGVECTOR_SUITE ships pgvector ${src_version:-?}, need >= $PGVECTOR_MIN"

log "pgvector: building $src_version"
# OPTFLAGS= drops pgvector's default -march=native so the build is portable.
make -C "$TMP/build" -s -j"$(nproc)" PG_CONFIG="$PG_CONFIG" OPTFLAGS= >"$TMP/build.log" 2>&1 \
  || { tail -n 30 "$TMP/build.log" >&2; die "pgvector build failed"; }
make -C "$TMP/build" -s PG_CONFIG="$PG_CONFIG" OPTFLAGS= install >>"$TMP/build.log" 2>&1 \
  || { tail -n 30 "$TMP/build.log" >&2; die "pgvector install failed"; }

have=$(vector_version)
[[ -n $have ]] && dpkg --compare-versions "$have" ge "$PGVECTOR_MIN" \
  || die "after install, $VECTOR_CONTROL reports '${have:-nothing}'"
log "pgvector: $have installed for PostgreSQL $PG_MAJOR"
