#!/usr/bin/env bash
# Provision the tools that check Lexbase's deployment files (tests/deploy) on a Debian 12
# (bookworm) host:
#   docker-compose      renders deploy/compose.yaml (`config` needs no Docker engine)
#   prometheus          for promtool: checks deploy/prometheus/*.yml
#   kubernetes-client   kubectl, for `kubectl kustomize` of deploy/k8s
# Each only when its command is not on PATH already: a kubectl installed by other means (a
# newer release) is kept. hadolint and the Kubernetes schemas come with the Python dev
# dependencies instead.
#
# Idempotent: when every command is there it only looks them up and exits.
# The prometheus package ships a server; it is kept from starting during the install.
#
# Usage (as root): bash scripts/provision-deploy-tools.sh
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
POLICY=/usr/sbin/policy-rc.d

log() { printf 'provision-deploy-tools: %s\n' "$*" >&2; }
die() { printf 'provision-deploy-tools: ERROR: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root (it installs Debian packages)"
command -v apt-get >/dev/null || die "apt-get not found: this script supports Debian only"

# command -> the Debian package that provides it; a command already on PATH (from a package
# or installed by other means, such as a newer kubectl) is kept as it is.
declare -A PROVIDER=([docker-compose]=docker-compose [promtool]=prometheus [kubectl]=kubernetes-client)

missing=()
for command in docker-compose promtool kubectl; do
  command -v "$command" >/dev/null || missing+=("${PROVIDER[$command]}")
done

if ((${#missing[@]} == 0)); then
  log "all present: $(command -v docker-compose promtool kubectl | tr '\n' ' ')"
  exit 0
fi

# A policy that refuses every service start (exit 101), unless the host has its own policy.
own_policy=""
if [[ ! -e $POLICY ]]; then
  own_policy=$POLICY
  printf '#!/bin/sh\nexit 101\n' >"$POLICY"
  chmod 0755 "$POLICY"
fi
cleanup() { if [[ -n $own_policy ]]; then rm -f -- "$own_policy"; fi; }
trap cleanup EXIT

log "missing ${missing[*]}; running apt-get update"
apt-get update -qq || die "apt-get update failed"
log "installing ${missing[*]}"
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
  || die "apt-get install ${missing[*]} failed"

for tool in docker-compose promtool kubectl; do
  command -v "$tool" >/dev/null || die "$tool not on PATH after install"
done
log "installed: $(docker-compose version --short), $(promtool --version 2>&1 | head -n1)"
