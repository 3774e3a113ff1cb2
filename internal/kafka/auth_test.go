package kafka_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/kafka"
	"github.com/twmb/franz-go/pkg/kfake"
)

// A wrong password must end a consumer group with an error naming SASL
// authentication instead of rejoining forever, and never show the password.
// (Check and EnsureTopic are tested on a real broker in internal/realkafka:
// kfake drops the connection where Kafka answers SaslAuthenticate with
// error 58.)
func TestWrongPasswordIsAClearFatalError(t *testing.T) {
	const wrong = "wrong-password-2b7c"
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "users"),
		kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", "attrsync", "right-password"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	conn, err := kafka.NewConn(kafka.Config{Brokers: c.ListenAddrs(),
		SASL: kafka.SASLConfig{Mechanism: "SCRAM-SHA-512", Username: "attrsync", Password: wrong}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, kafka.ErrAuthentication) {
			t.Errorf("%s: err = %v, want kafka.ErrAuthentication", what, err)
			return
		}
		if msg := err.Error(); !strings.Contains(msg, "SCRAM-SHA-512") || !strings.Contains(msg, `"attrsync"`) || strings.Contains(msg, wrong) {
			t.Errorf("%s: %q should name the mechanism and user, and not the password", what, msg)
		}
	}
	check("RunGroup", kafka.RunGroup(ctx, conn, kafka.GroupConfig{
		Config: kafka.Config{GroupID: "g", Topics: []string{"users"}, SessionTimeout: 6 * time.Second, HeartbeatInterval: time.Second},
	}, func(context.Context, []change.Position, kafka.Finisher) kafka.Handler {
		t.Error("a generation started with a wrong password")
		return nil
	}))
	if ctx.Err() != nil {
		t.Error("gave up only at the test's deadline: a wrong password must end things by itself")
	}
}
