// Package e2e tests the attrsync binary as users run it: built from
// cmd/attrsync, started with a config file, stopped with signals (SIGKILL
// included), against a broker, a redis-server and the Iterable simulator.
// It holds only tests.
package e2e
