package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// ErrAuthentication is wrapped by every error that comes from the brokers
// refusing attrsync's SASL credentials. Retrying cannot help, so callers
// stop instead.
var ErrAuthentication = errors.New("kafka: SASL authentication failed")

// explain turns a SASL refusal into an error naming the mechanism and the
// user (never the password) and telling what to check; other errors pass
// unchanged.
func (c *Conn) explain(err error) error {
	if err == nil || !errors.Is(err, kafkago.SASLAuthenticationFailed) {
		return err
	}
	mech := "SASL"
	if c.SASL != nil {
		mech = c.SASL.Name()
	}
	return fmt.Errorf("%w: the brokers refused %s for user %q; check kafka.sasl.username and kafka.sasl.password: %w",
		ErrAuthentication, mech, c.saslUser, err)
}

// Check reaches the brokers once (a metadata request, with TLS and SASL as
// configured) so that a wrong address, certificate or password is reported
// at start, within ctx, instead of inside a consumer group that would
// retry it forever.
func Check(ctx context.Context, conn *Conn) error {
	client := &kafkago.Client{Addr: kafkago.TCP(conn.Brokers...), Transport: conn.transport(), Timeout: 10 * time.Second}
	if _, err := client.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{}}); err != nil {
		return fmt.Errorf("kafka: cannot reach %v: %w", conn.Brokers, conn.explain(err))
	}
	return nil
}
