package demo

import (
	"bytes"
	"context"
	"github.com/attrsync/attrsync/internal/config"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/attrsync/attrsync/internal/sim"
)

func TestDemoSyncsEveryUser(t *testing.T) {
	for _, mode := range []config.Mode{config.ModeUpsert, config.ModeUpdate} {
		t.Run(string(mode), func(t *testing.T) {
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

// TestDemoFormats runs the demo once per format with one seed: each run
// syncs every event without a dead letter, says its format in the summary,
// and leaves Iterable with the same profiles, field for field, with
// signedUpAt read as the same date whether the converter kept Debezium's
// MicroTimestamp name (JSON, Avro) or dropped it (Protobuf).
func TestDemoFormats(t *testing.T) {
	opts := Options{Users: 200, Events: 1000, ChangeRate: 0.5, Mode: "upsert", Partitions: 3, Seed: 5}
	profiles := map[string]map[string]sim.Profile{}
	for _, format := range []string{FormatJSON, FormatAvro, FormatProtobuf} {
		opts.Format = format
		var out bytes.Buffer
		sum, iter, err := run(context.Background(), opts, &out)
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if sum.Events != int64(opts.Events) || sum.DeadLetters != 0 || sum.Profiles != opts.Users {
			t.Errorf("%s: events %d (want %d), dead letters %d, profiles %d (want %d)",
				format, sum.Events, opts.Events, sum.DeadLetters, sum.Profiles, opts.Users)
		}
		sum.Print(&out)
		if want := "format" + strings.Repeat(" ", 41) + format + " ("; !strings.Contains(out.String(), want) {
			t.Errorf("%s: the summary does not give the format (%q):\n%s", format, want, out.String())
		}
		if !strings.Contains(out.String(), "events in "+format) {
			t.Errorf("%s: the first line does not give the format:\n%s", format, out.String())
		}
		profiles[format] = iter.Profiles()
	}
	want := profiles[FormatJSON]
	// A date outside the generated signup window would mean signup_at was
	// read in the wrong unit.
	for email, p := range want {
		if d, _ := p.DataFields["signedUpAt"].(string); !strings.HasPrefix(d, "2024-") && !strings.HasPrefix(d, "2025-01-01") {
			t.Fatalf("json: %s has signedUpAt %v, want a date in the thousand hours before 2025", email, p.DataFields["signedUpAt"])
		}
	}
	for _, format := range []string{FormatAvro, FormatProtobuf} {
		got := profiles[format]
		if !slices.Equal(slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want))) {
			t.Errorf("%s: profiles of other users than with json", format)
			continue
		}
		bad := 0
		for email, p := range want {
			if !reflect.DeepEqual(got[email].DataFields, p.DataFields) {
				if bad++; bad <= 3 {
					t.Errorf("%s: %s has %v, with json %v", format, email, got[email].DataFields, p.DataFields)
				}
			}
		}
	}
}

func TestDemoRefusesAnUnknownFormat(t *testing.T) {
	_, err := Run(context.Background(), Options{Users: 1, Events: 1, Mode: "upsert", Partitions: 1, Format: "xml"}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "json, avro or protobuf") {
		t.Errorf("format xml: got %v, want an error naming the formats", err)
	}
}
