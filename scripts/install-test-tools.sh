#!/usr/bin/env bash
# Installs the system packages the test suite runs for real: Pebble (Let's
# Encrypt's test CA), OpenSSH server/client, systemd-analyze, dbus-daemon,
# PostgreSQL 15 with HypoPG, and the shells the completion tests run.
# Does nothing when they are all present; only acts as root on Debian-family
# systems. Elsewhere it says what is missing, and suites that need a missing
# tool skip locally with that reason (never under CI=true).
set -euo pipefail

packages=(pebble certbot bind9 bind9-dnsutils openssh-server openssh-client systemd dbus postgresql-15 postgresql-15-hypopg zsh fish iproute2 chromium debootstrap qemu-system-x86 qemu-utils)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "test tools: all present"
  exit 0
fi

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "test tools missing: ${missing[*]} (not root on a Debian-family system: install them yourself; suites that need them will skip locally)" >&2
  if [ "${CI:-}" = "true" ]; then exit 1; fi
  exit 0
fi

echo "test tools: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# policy-rc.d keeps the packages' own services (sshd, postgresql) from starting:
# the tests start their own instances on free ports.
had_policy=0
if [ -e /usr/sbin/policy-rc.d ]; then had_policy=1; fi
if [ $had_policy = 0 ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
if [ $had_policy = 0 ]; then rm -f /usr/sbin/policy-rc.d; fi
echo "test tools: installed"
