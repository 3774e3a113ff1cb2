package cdc

import (
	"testing"
	"time"
)

// TestSourceBlockAfterTsMs checks that what follows ts_ms in the source
// block is stepped over whatever it holds, so the envelope's members after
// it are read, and that a source block broken after ts_ms is still refused.
func TestSourceBlockAfterTsMs(t *testing.T) {
	const after = `"after":{"id":1,"email":"a@example.com"}`
	good := []string{
		`{"ts_ms":1700000000123,"db":"app"}`,
		`{"ts_ms":1700000000123}`,
		`{"name":"app","ts_ms":1700000000123,"sequence":"[\"1\",\"2\"]","x":{"y":[1,{"z":"}]"}]},"lsn":5,"xmin":null}`,
		`{"ts_ms":1700000000123,"q":"a \"quoted}\" brace","e":{},"a":[]}`,
	}
	d := mustNew(t, FormatDebezium)
	for _, src := range good {
		row, err := d.Decode(nil, []byte(`{`+after+`,"source":`+src+`,"op":"c","ts_ms":1}`))
		if err != nil {
			t.Errorf("source %s: %v", src, err)
			continue
		}
		if want := time.UnixMilli(1700000000123); !row.SourceTime.Equal(want) {
			t.Errorf("source %s: source time %v, want %v", src, row.SourceTime, want)
		}
	}
	bad := []string{
		`{"ts_ms":1700000000123,"db":"app}`,
		`{"ts_ms":1700000000123,"x":[1,2}`,
		`{"ts_ms":1700000000123,"x":{"y":1]}`,
		`{"ts_ms":1700000000123,"db":"app"`,
	}
	for _, src := range bad {
		if _, err := d.Decode(nil, []byte(`{`+after+`,"source":`+src+`,"op":"c","ts_ms":1}`)); err == nil {
			t.Errorf("source %s: decoded, want an error", src)
		}
	}
}
