#!/bin/sh
# One-shot topic creator for a real Kafka cluster, fed by the same topic list
# as the devbroker. Replication is capped at KAFKA_BROKERS (default 1).
set -eu
BOOTSTRAP=${KAFKA_BOOTSTRAP:-kafka:9092}
BROKERS=${KAFKA_BROKERS:-1}
TOPICS_FILE=${TOPICS_FILE:-/etc/signpost/topics.txt}
KAFKA_TOPICS=${KAFKA_TOPICS:-/opt/kafka/bin/kafka-topics.sh}
grep -v '^[[:space:]]*#' "$TOPICS_FILE" | while read -r name partitions replication; do
  [ -z "$name" ] && continue
  [ "$replication" -gt "$BROKERS" ] && replication=$BROKERS
  "$KAFKA_TOPICS" --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
    --topic "$name" --partitions "$partitions" --replication-factor "$replication"
done
echo "topics created"
