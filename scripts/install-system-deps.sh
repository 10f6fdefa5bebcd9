#!/bin/sh
# Installs the system binaries GhostDNS tests and tools use (Debian/Ubuntu, as root),
# then makes sure the local PostgreSQL cluster and Redis are running.
# --no-install-recommends keeps it lean (wireguard would otherwise pull a kernel image).
set -eu

if [ "$(id -u)" -ne 0 ]; then
  echo "install-system-deps.sh: must run as root (sudo $0)" >&2
  exit 1
fi

apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
  kcat dnsutils knot-dnsutils dnsmasq unbound bind9 dnsperf \
  wireguard-go wireguard-tools iproute2 redis-server postgresql \
  knot-resolver python3-psycopg2

# PostgreSQL: start the packaged cluster if nothing answers on 5432.
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  version="$(ls /etc/postgresql | sort -V | tail -n 1)"
  if [ -n "$version" ]; then
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  fi
fi

# Redis: start a throwaway instance if nothing answers PING on 6379.
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
fi
