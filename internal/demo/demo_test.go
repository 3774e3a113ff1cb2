package demo

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestDemoSyncsEveryUser(t *testing.T) {
	for _, mode := range []string{"upsert", "update"} {
		t.Run(mode, func(t *testing.T) {
			opts := Options{Users: 300, Events: 1500, ChangeRate: 0.5, Mode: mode, Partitions: 3, Seed: 3}
			var out bytes.Buffer
			sum, err := Run(context.Background(), opts, &out)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Events != int64(opts.Events) || sum.DeadLetters != 0 {
				t.Errorf("events %d (want %d), dead letters %d", sum.Events, opts.Events, sum.DeadLetters)
			}
			switch mode {
			case "upsert":
				if sum.Profiles != opts.Users || sum.UsersCreated != int64(opts.Users) {
					t.Errorf("profiles %d, created %d; want %d each", sum.Profiles, sum.UsersCreated, opts.Users)
				}
			case "update":
				if sum.UsersCreated != 0 || sum.Profiles != opts.Users/2 || sum.UsersSkipped == 0 {
					t.Errorf("update mode: created %d, profiles %d (want %d), skipped %d", sum.UsersCreated, sum.Profiles, opts.Users/2, sum.UsersSkipped)
				}
			}
			sum.Print(&out)
			if !strings.Contains(out.String(), "events per second") {
				t.Errorf("no summary table in:\n%s", out.String())
			}
		})
	}
}
