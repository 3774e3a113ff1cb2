package kafka

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

var drainCfg = GroupConfig{Config: Config{SessionTimeout: 10 * time.Second, HeartbeatInterval: 3 * time.Second}, ShutdownGrace: 30 * time.Second}

// elapsedUntilDone is how long ctx takes to end, in the bubble's time.
func elapsedUntilDone(ctx context.Context) time.Duration {
	start := time.Now()
	<-ctx.Done()
	return time.Since(start)
}

func TestDrainAfterRebalanceIsSessionTimeoutLessTwoHeartbeats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gen, endGen := context.WithCancel(t.Context())
		endGen()
		ctx, cancel := drainContext(t.Context(), gen, drainCfg)
		defer cancel()
		if d := elapsedUntilDone(ctx); d != 4*time.Second {
			t.Fatalf("revoked work drained for %s, want 4s (10s session timeout − 2 × 3s)", d)
		}
	})
}

func TestDrainOnShutdownIsTheGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		shutdown, stop := context.WithCancel(t.Context())
		stop()
		gen, endGen := context.WithCancel(t.Context())
		defer endGen()
		ctx, cancel := drainContext(shutdown, gen, drainCfg)
		defer cancel()
		if d := elapsedUntilDone(ctx); d != 30*time.Second {
			t.Fatalf("shutdown drained for %s, want the 30s grace", d)
		}
	})
}

// A rebalance during a shutdown drain stops heartbeats: from then on the
// drain may last revokeDrain at most.
func TestRebalanceDuringShutdownDrainShortensIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		shutdown, stop := context.WithCancel(t.Context())
		stop()
		gen, endGen := context.WithCancel(t.Context())
		ctx, cancel := drainContext(shutdown, gen, drainCfg)
		defer cancel()
		time.AfterFunc(5*time.Second, endGen)
		if d := elapsedUntilDone(ctx); d != 9*time.Second {
			t.Fatalf("drain lasted %s, want 9s (rebalance at 5s + 4s)", d)
		}
	})
}

func TestRevokeDrainBounds(t *testing.T) {
	for _, c := range []struct {
		cfg  GroupConfig
		want time.Duration
	}{
		{GroupConfig{Config: Config{SessionTimeout: 10 * time.Second, HeartbeatInterval: 3 * time.Second}, ShutdownGrace: 2 * time.Second}, 2 * time.Second},
		{GroupConfig{Config: Config{SessionTimeout: 6 * time.Second, HeartbeatInterval: 3 * time.Second}, ShutdownGrace: 30 * time.Second}, time.Second},
		{GroupConfig{Config: Config{SessionTimeout: 45 * time.Second, HeartbeatInterval: 3 * time.Second}, ShutdownGrace: 30 * time.Second}, 30 * time.Second},
	} {
		if got := c.cfg.revokeDrain(); got != c.want {
			t.Errorf("revokeDrain(%+v) = %s, want %s", c.cfg, got, c.want)
		}
	}
}
