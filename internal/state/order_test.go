package state_test

import (
	"slices"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/state"
)

// TestAttributesInAnyOrder checks that what is accepted and what changed
// are told apart per attribute whatever order a change lists them in and
// whichever are missing: attributes usually come in the mapping's order,
// but Changed must not depend on it.
func TestAttributesInAnyOrder(t *testing.T) {
	s := state.NewInMemory("order", []string{"a", "b", "c", "d"})
	pos := change.Position{Topic: "t", Offset: 1}
	rec := s.Apply(state.Record{}, []change.Attr{attr("d", "4"), attr("b", "2"), attr("a", "1")}, pos, false, time.Now())
	cases := []struct {
		attrs []change.Attr
		want  []string
	}{
		{[]change.Attr{attr("a", "1"), attr("b", "2"), attr("c", "3"), attr("d", "4")}, []string{"c"}},
		{[]change.Attr{attr("d", "4"), attr("c", "3"), attr("b", "9"), attr("a", "1")}, []string{"c", "b"}},
		{[]change.Attr{attr("b", "2"), attr("d", "5")}, []string{"d"}},
		{[]change.Attr{attr("c", "3"), attr("a", "0")}, []string{"c", "a"}},
		{[]change.Attr{attr("e", "1"), attr("a", "1")}, []string{"e"}},
	}
	for _, c := range cases {
		if got := names(s.Changed(rec, c.attrs)); !slices.Equal(got, c.want) {
			t.Errorf("changed of %v: %v, want %v", names(c.attrs), got, c.want)
		}
	}
}
