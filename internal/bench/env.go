package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/attrsync/attrsync/internal/redisserver"
	"github.com/redis/go-redis/v9"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
)

// env is what every scenario runs against: a Kafka broker and a real
// redis-server child process. Each scenario brings its own topic and its
// own Iterable simulator. The broker is franz-go's in-process kfake, or a
// real one in its own process (Options.Brokers); either is driven through
// the Kafka protocol alone, so both modes run the same code.
type env struct {
	kafka   *kfake.Cluster // nil on a real broker
	brokers []string
	// brokerPID is the real broker's process, when known (Options.BrokerPID).
	brokerPID int
	admin     *kafkago.Client
	redis     *redisserver.Server
	rdb       *redis.Client // the bench's own connection, for INFO and cleanup
	dir       string
}

func startEnv(brokers []string) (_ *env, err error) {
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
	e.brokers = brokers
	if len(brokers) == 0 {
		e.kafka, err = kfake.NewCluster(
			kfake.NumBrokers(1),
			kfake.AllowAutoTopicCreation(),
			kfake.DefaultNumPartitions(1),
			// Lets a member of a one-process consumer group be declared
			// dead quickly when a scenario's pipelines stop.
			kfake.GroupMinSessionTimeout(100*time.Millisecond),
		)
		if err != nil {
			return nil, fmt.Errorf("start kfake: %w", err)
		}
		e.brokers = e.kafka.ListenAddrs()
	}
	e.admin = &kafkago.Client{Addr: kafkago.TCP(e.brokers...), Timeout: 30 * time.Second, Transport: &kafkago.Transport{}}
	return e, nil
}

func (e *env) close() {
	if e.admin != nil {
		e.admin.Transport.(*kafkago.Transport).CloseIdleConnections()
	}
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

// brokerName says which broker the run measures, for the table's title.
func (e *env) brokerName() string {
	if e.kafka != nil {
		return "in-process kfake broker"
	}
	return "real Kafka broker at " + strings.Join(e.brokers, ",")
}

// cpu measures CPU use of this process, of the env's redis-server and, when
// its process is known, of the real broker.
func (e *env) cpu() cpuMeter { return cpuMeter{rdb: e.rdb, brokerPID: e.brokerPID} }

// createTopic makes a topic for one scenario; every scenario has its own so
// that a fresh consumer group reads exactly the events of that scenario. It
// returns once every partition has a leader, so producing can start.
func (e *env) createTopic(topic string, partitions int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := e.admin.CreateTopics(ctx, &kafkago.CreateTopicsRequest{Topics: []kafkago.TopicConfig{{
		Topic: topic, NumPartitions: partitions, ReplicationFactor: 1,
	}}})
	if err == nil {
		err = res.Errors[topic]
	}
	if err != nil {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	_, err = waitUntil(ctx, 30*time.Second, 50*time.Millisecond, func() bool {
		meta, err := e.admin.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{topic}})
		if err != nil || len(meta.Topics) != 1 || len(meta.Topics[0].Partitions) != partitions {
			return false
		}
		for _, p := range meta.Topics[0].Partitions {
			if p.Error != nil || p.Leader.Host == "" {
				return false
			}
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("topic %s: partitions without a leader: %w", topic, err)
	}
	return nil
}

// deleteTopic frees a finished scenario's messages, which kfake holds in
// this process's memory (a real broker, on its disk).
func (e *env) deleteTopic(topic string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _ = e.admin.DeleteTopics(ctx, &kafkago.DeleteTopicsRequest{Topics: []string{topic}})
}

// endOffsets returns the end offset (high watermark) of each partition of
// topic.
func (e *env) endOffsets(topic string, partitions int) (map[int]int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req := &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{topic: {}}}
	for p := range partitions {
		req.Topics[topic] = append(req.Topics[topic], kafkago.LastOffsetOf(p))
	}
	res, err := e.admin.ListOffsets(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	out := map[int]int64{}
	for _, po := range res.Topics[topic] {
		if po.Error != nil {
			return nil, fmt.Errorf("end offset of %s/%d: %w", topic, po.Partition, po.Error)
		}
		out[po.Partition] = po.LastOffset
	}
	return out, nil
}

// committed returns group's committed offset of each partition of topic
// (-1 where none is).
func (e *env) committed(group, topic string, partitions int) (map[int]int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	parts := make([]int, partitions)
	for i := range parts {
		parts[i] = i
	}
	res, err := e.admin.OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
	if err == nil {
		err = res.Error
	}
	if err != nil {
		return nil, fmt.Errorf("committed offsets of %s: %w", group, err)
	}
	out := map[int]int64{}
	for _, p := range res.Topics[topic] {
		out[p.Partition] = p.CommittedOffset
	}
	return out, nil
}

// waitGroupStable waits until group is stable (no rebalance under way)
// with members members.
func (e *env) waitGroupStable(ctx context.Context, group string, members int) error {
	_, err := waitUntil(ctx, time.Minute, 20*time.Millisecond, func() bool {
		res, err := e.admin.DescribeGroups(ctx, &kafkago.DescribeGroupsRequest{GroupIDs: []string{group}})
		if err != nil {
			return false
		}
		for _, g := range res.Groups {
			if g.GroupID == group && g.Error == nil && g.GroupState == "Stable" && len(g.Members) == members {
				return true
			}
		}
		return false
	})
	if err != nil {
		return fmt.Errorf("consumer group %s not stable with %d members: %w", group, members, err)
	}
	return nil
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

// produceSnapshot writes the snapshot event (op "r") of every user of g to
// topic, generating each chunk just before it is written, and returns the
// bytes of the values written.
func (e *env) produceSnapshot(ctx context.Context, g *generator, topic string) (int64, error) {
	const chunk = 5000
	p := e.producer(topic, chunk)
	evs := make([]event, 0, chunk)
	var total int64
	now := time.Now()
	for lo := 0; lo < g.users(); lo += chunk {
		evs = evs[:0]
		for i := lo; i < min(lo+chunk, g.users()); i++ {
			evs = append(evs, g.create(i, now))
			total += int64(len(evs[len(evs)-1].value))
		}
		if err := p.write(ctx, evs); err != nil {
			p.close()
			return total, err
		}
	}
	return total, p.close()
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
