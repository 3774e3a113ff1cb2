package ratelimit

import (
	"testing"

	"github.com/attrsync/attrsync/internal/config"
	"github.com/attrsync/attrsync/internal/testenv"
)

func TestNew(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	rdb := newRedisClient(t, r.Addr)
	ok := config.RateLimit{BulkUpdatePerSecond: 5, LookupPerSecond: 100, Share: 0.8, Scope: "global"}

	bulk, lookup, err := New(ok, rdb, "users", "attrsync")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := bulk.(*Global).String(), "global 4/s (key attrsync:users:ratelimit:bulkUpdate)"; got != want {
		t.Errorf("bulk = %s, want %s", got, want)
	}
	if got, want := lookup.(*Global).String(), "global 80/s (key attrsync:users:ratelimit:lookup)"; got != want {
		t.Errorf("lookup = %s, want %s", got, want)
	}

	local := ok
	local.Scope = "local"
	bulk, _, err = New(local, nil, "users", "attrsync")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := bulk.(*Local).String(), "local 4/s"; got != want {
		t.Errorf("bulk = %s, want %s", got, want)
	}

	for name, cfg := range map[string]config.RateLimit{
		"zero share":    {BulkUpdatePerSecond: 5, LookupPerSecond: 100, Share: 0, Scope: "local"},
		"share above 1": {BulkUpdatePerSecond: 5, LookupPerSecond: 100, Share: 1.5, Scope: "local"},
		"zero rate":     {BulkUpdatePerSecond: 0, LookupPerSecond: 100, Share: 1, Scope: "local"},
		"bad scope":     {BulkUpdatePerSecond: 5, LookupPerSecond: 100, Share: 1, Scope: "cluster"},
	} {
		if _, _, err := New(cfg, rdb, "users", "attrsync"); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	if _, _, err := New(ok, nil, "users", "attrsync"); err == nil {
		t.Error("global without Redis: New succeeded")
	}
}
