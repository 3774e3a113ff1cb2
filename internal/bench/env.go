package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/attrsync/attrsync/internal/redisserver"
	"github.com/redis/go-redis/v9"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
)

// env is what every scenario runs against: an in-process Kafka-protocol
// broker and a real redis-server child process. Each scenario brings its
// own topic and its own Iterable simulator.
type env struct {
	kafka   *kfake.Cluster
	brokers []string
	redis   *redisserver.Server
	rdb     *redis.Client // the bench's own connection, for INFO and cleanup
	dir     string
}

func startEnv() (_ *env, err error) {
	e := &env{}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	if e.dir, err = os.MkdirTemp("", "attrsync-bench-"); err != nil {
		return nil, err
	}
	if e.redis, err = redisserver.New(e.dir); err != nil {
		return nil, err
	}
	if err = e.redis.Start(); err != nil {
		return nil, err
	}
	e.rdb = redis.NewClient(&redis.Options{Addr: e.redis.Addr})
	e.kafka, err = kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(1),
		// Lets a member of a one-process consumer group be declared dead
		// quickly when a scenario's pipelines stop.
		kfake.GroupMinSessionTimeout(100*time.Millisecond),
	)
	if err != nil {
		return nil, fmt.Errorf("start kfake: %w", err)
	}
	e.brokers = e.kafka.ListenAddrs()
	return e, nil
}

func (e *env) close() {
	if e.kafka != nil {
		e.kafka.Close()
	}
	if e.rdb != nil {
		e.rdb.Close()
	}
	if e.redis != nil {
		e.redis.Stop()
	}
	if e.dir != "" {
		os.RemoveAll(e.dir)
	}
}

// cpu measures CPU use of this process and of the env's redis-server.
func (e *env) cpu() cpuMeter { return cpuMeter{rdb: e.rdb} }

// createTopic makes a topic for one scenario; every scenario has its own so
// that a fresh consumer group reads exactly the events of that scenario.
func (e *env) createTopic(topic string, partitions int) error {
	if err := e.kafka.CreateTopic(topic, int32(partitions), nil); err != nil {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	return nil
}

// deleteTopic frees a finished scenario's messages, which kfake holds in
// this process's memory.
func (e *env) deleteTopic(topic string) {
	_ = e.kafka.DeleteTopic(topic)
}

// endOffsets returns the high watermark of each partition of topic.
func (e *env) endOffsets(topic string) map[int]int64 {
	out := map[int]int64{}
	for _, p := range e.kafka.PartitionInfos(topic) {
		out[int(p.Partition)] = p.HighWatermark
	}
	return out
}

// producer writes events to one topic, keyed so that a user's events stay
// in one partition and in order, as Debezium's are.
type producer struct {
	w *kafkago.Writer
}

func (e *env) producer(topic string, batch int) *producer {
	return &producer{w: &kafkago.Writer{
		Addr: kafkago.TCP(e.brokers...), Topic: topic, Balancer: &kafkago.Hash{},
		BatchSize: batch, BatchTimeout: time.Millisecond, RequiredAcks: kafkago.RequireOne,
		// Its own transport: the shared default caches metadata from
		// before this scenario's topic existed and refuses to write to it.
		Transport: &kafkago.Transport{},
	}}
}

func (p *producer) write(ctx context.Context, evs []event) error {
	msgs := make([]kafkago.Message, len(evs))
	for i, ev := range evs {
		msgs[i] = kafkago.Message{Key: ev.key, Value: ev.value}
	}
	if err := p.w.WriteMessages(ctx, msgs...); err != nil {
		return fmt.Errorf("produce to %s: %w", p.w.Topic, err)
	}
	return nil
}

func (p *producer) close() error {
	err := p.w.Close()
	p.w.Transport.(*kafkago.Transport).CloseIdleConnections()
	return err
}

// produceUpdates writes n update events at changeRate to topic in chunks,
// generating each chunk just before it is written to bound memory.
func (e *env) produceUpdates(ctx context.Context, g *generator, topic string, n int, changeRate float64) error {
	const chunk = 5000
	p := e.producer(topic, chunk)
	evs := make([]event, 0, chunk)
	for done := 0; done < n; done += len(evs) {
		evs = evs[:0]
		now := time.Now()
		for range min(chunk, n-done) {
			evs = append(evs, g.update(changeRate, now))
		}
		if err := p.write(ctx, evs); err != nil {
			p.close()
			return err
		}
	}
	return p.close()
}

// serve runs h on a loopback HTTP server and returns its base URL.
func serve(h http.Handler) (*http.Server, string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l) //nolint:errcheck // returns http.ErrServerClosed once closed
	return srv, "http://" + l.Addr().String(), nil
}
