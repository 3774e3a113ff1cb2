package e2e

import (
	"debug/buildinfo"
	"path/filepath"
	"testing"
)

// TestBinaryOptimizedWithProfile checks that building cmd/attrsync applies
// the CPU profile committed beside it (README, "Performance"): the go
// command uses a main package's default.pgo only when it is there and
// readable, and without it the diff path costs about 15 % more CPU an event.
func TestBinaryOptimizedWithProfile(t *testing.T) {
	info, err := buildinfo.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range info.Settings {
		if s.Key != "-pgo" {
			continue
		}
		if filepath.Base(s.Value) != "default.pgo" || filepath.Base(filepath.Dir(s.Value)) != "attrsync" {
			t.Fatalf("built with profile %q, want cmd/attrsync/default.pgo", s.Value)
		}
		return
	}
	t.Fatalf("attrsync was built without a profile (no -pgo in its build settings); is cmd/attrsync/default.pgo missing?")
}
