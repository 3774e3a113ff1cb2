// The quick bench runs outside the race detector: it is a check that the
// harness works end to end, run by make test on its own (see Makefile),
// not a test of attrsync's behaviour, and under -race next to every other
// package it takes minutes.

//go:build !race

package bench

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestQuickRun runs the whole bench at its smallest and checks the table is
// complete and free of errors. It asserts no speed: figures from a loaded CI
// machine mean nothing, and the targets are read from `make bench`.
func TestQuickRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server and runs every scenario")
	}
	// Four minutes: the run builds the attrsync binary for its child
	// process rows, and the 2-core CI machine is shared.
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var log bytes.Buffer
	table, err := Run(ctx, QuickOptions(), &log)
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, log.String())
	}
	var text, md bytes.Buffer
	if err := table.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := table.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", text.String())
	for _, m := range Metrics() {
		row, ok := table.Row(m)
		if !ok {
			t.Errorf("no row %q", m)
			continue
		}
		if row.Value == "" || row.Value == "ERROR" || row.Baseline == "" {
			t.Errorf("row %q has no figure or baseline: %+v", m, row)
		}
		if !strings.Contains(text.String(), m) || !strings.Contains(md.String(), "| "+m+" |") {
			t.Errorf("row %q missing from the printed tables", m)
		}
	}
}
