#!/usr/bin/env bash
# Creates GhostDNS's topics on a real Kafka cluster (the names come from
# packages/contracts/src/topics.ts). Partitions bound consumer parallelism;
# replication 3 with min.insync.replicas 2 matches the producers' acks=all.
set -euo pipefail
BOOTSTRAP=${KAFKA_BROKERS:?set KAFKA_BROKERS}
create() {
  kafka-topics.sh --bootstrap-server "$BOOTSTRAP" --create --if-not-exists --topic "$1" \
    --partitions "$2" --replication-factor 3 --config min.insync.replicas=2 --config retention.ms="$3"
}
create dns.queries.v1 24 604800000
create dns.queries.dlq.v1 4 2592000000
create presence.events.v1 4 2592000000
create records.changes.v1 4 -1
create security.events.v1 4 2592000000
create policy.changes.v1 4 -1
