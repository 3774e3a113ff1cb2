// Package deploycheck tests the files under deploy/ against the code they
// run: the configs they ship load, ports and probe paths match, grace
// periods outlast the drain. It holds only tests.
package deploycheck
