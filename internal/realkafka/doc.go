// Package realkafka is attrsync's integration tier: the attrsync binary
// against a real Apache Kafka broker (scale-out, rebalances, a broker
// restart, replay, SASL/TLS). It holds only tests.
//
// The broker is named by the environment: ATTRSYNC_KAFKA_BROKERS (a
// PLAINTEXT listener) and, for the security tests, ATTRSYNC_KAFKA_SASL_*
// and ATTRSYNC_KAFKA_CA_FILE; `make test` starts one with
// deploy/local/kafka/kafka.sh and sets them. Without them the tests skip,
// except under CI=true, where they fail: a CI run that skipped the tier
// would prove nothing.
package realkafka
