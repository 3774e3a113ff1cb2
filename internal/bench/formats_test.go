package bench

import (
	"context"
	"testing"
)

// TestDecodeFormats runs the decode-and-map scenario small: every format's
// events decode and map without an error (the Protobuf converter's
// timestamps included) and each gets a figure.
func TestDecodeFormats(t *testing.T) {
	res, err := decodeFormats(context.Background(), 1, 500)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"debezium", "avro", "protobuf"} {
		r := res[f]
		if r.perSecond <= 0 || len(r.rounds) != formatRounds || r.bytes == 0 {
			t.Errorf("%s: %+v", f, r)
		}
	}
	if res["avro"].bytes >= res["debezium"].bytes {
		t.Errorf("Avro events (%d B) are not smaller than JSON with schemas (%d B): not the same events?", res["avro"].bytes, res["debezium"].bytes)
	}
}
