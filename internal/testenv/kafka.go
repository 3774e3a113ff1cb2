package testenv

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// MaxMessageBytes is the largest message the test broker and Produce take.
const MaxMessageBytes = 16 << 20

// Kafka is an in-process Kafka-protocol broker (franz-go's kfake) owned by
// one test.
type Kafka struct {
	Brokers []string
	t       testing.TB
	cluster *kfake.Cluster
}

// StartKafka starts a one-broker cluster on loopback with topics of the
// given partition counts, and stops it when the test ends.
func StartKafka(t testing.TB, partitions int, topics ...string) *Kafka {
	t.Helper()
	c, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.SeedTopics(int32(partitions), topics...),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(1),
		kfake.GroupMinSessionTimeout(100*time.Millisecond),
		// Room for the oversized messages of the bad-input tests.
		kfake.BrokerConfigs(map[string]string{"message.max.bytes": strconv.Itoa(MaxMessageBytes)}),
	)
	if err != nil {
		t.Fatalf("start kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return &Kafka{Brokers: c.ListenAddrs(), t: t, cluster: c}
}

// Produce writes messages to topic, keyed so that one key always lands on
// one partition, and waits until they are acknowledged.
func (k *Kafka) Produce(topic string, msgs ...change.Message) {
	k.t.Helper()
	w := &kafkago.Writer{
		Addr: kafkago.TCP(k.Brokers...), Topic: topic, Balancer: &kafkago.Hash{},
		RequiredAcks: kafkago.RequireAll, BatchSize: 1000, BatchTimeout: time.Millisecond,
		BatchBytes: MaxMessageBytes,
	}
	defer w.Close()
	km := make([]kafkago.Message, len(msgs))
	for i, m := range msgs {
		km[i] = kafkago.Message{Key: m.Key, Value: m.Value}
		for _, h := range m.Headers {
			km[i].Headers = append(km[i].Headers, kafkago.Header{Key: h.Key, Value: h.Value})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := w.WriteMessages(ctx, km...); err != nil {
		k.t.Fatalf("produce to %s: %v", topic, err)
	}
}

// ReadAll returns every message in the first partitions of topic, up to
// the end offsets at the time of the call.
func (k *Kafka) ReadAll(topic string, partitions int) []change.Message {
	k.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := &kafkago.Client{Addr: kafkago.TCP(k.Brokers...)}
	var out []change.Message
	for p := range partitions {
		end := k.endOffset(ctx, client, topic, p)
		if end <= 0 {
			continue
		}
		r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: k.Brokers, Topic: topic, Partition: p, MaxWait: 100 * time.Millisecond, MaxBytes: MaxMessageBytes})
		for {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				r.Close()
				k.t.Fatalf("read %s/%d: %v", topic, p, err)
			}
			msg := change.Message{Pos: change.Position{Topic: topic, Partition: m.Partition, Offset: m.Offset}, Key: m.Key, Value: m.Value, Time: m.Time}
			for _, h := range m.Headers {
				msg.Headers = append(msg.Headers, change.Header{Key: h.Key, Value: h.Value})
			}
			out = append(out, msg)
			if m.Offset+1 >= end {
				break
			}
		}
		r.Close()
	}
	return out
}

func (k *Kafka) endOffset(ctx context.Context, client *kafkago.Client, topic string, part int) int64 {
	var res *kafkago.ListOffsetsResponse
	k.retry(ctx, fmt.Sprintf("list offsets %s/%d", topic, part), func() (err error) {
		res, err = client.ListOffsets(ctx, &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{topic: {kafkago.LastOffsetOf(part)}}})
		return err
	})
	if len(res.Topics[topic]) == 0 {
		return 0
	}
	for _, po := range res.Topics[topic] {
		if po.Partition == part {
			return po.LastOffset
		}
	}
	return 0
}

// EndOffsets returns the end offset of each partition of topic.
func (k *Kafka) EndOffsets(topic string, partitions int) map[int]int64 {
	k.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := &kafkago.Client{Addr: kafkago.TCP(k.Brokers...)}
	out := map[int]int64{}
	for p := range partitions {
		out[p] = k.endOffset(ctx, client, topic, p)
	}
	return out
}

// Committed returns the group's committed offset per partition of topic
// (-1 where none is committed).
func (k *Kafka) Committed(group, topic string, partitions int) map[int]int64 {
	k.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := &kafkago.Client{Addr: kafkago.TCP(k.Brokers...)}
	parts := make([]int, partitions)
	for i := range parts {
		parts[i] = i
	}
	var res *kafkago.OffsetFetchResponse
	k.retry(ctx, "offset fetch "+group, func() (err error) {
		res, err = client.OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
		return err
	})
	out := map[int]int64{}
	for _, p := range res.Topics[topic] {
		out[p.Partition] = p.CommittedOffset
	}
	return out
}

// ExternalKafka is a cluster the test did not start (a real broker named
// by the environment); the test owns only the topics it creates on it.
func ExternalKafka(t testing.TB, brokers []string) *Kafka {
	return &Kafka{Brokers: brokers, t: t}
}

// CreateTopic creates topic with the given partitions (one replica each,
// as a single-broker test cluster allows) and deletes it when the test
// ends, so tests against a shared cluster leave nothing behind.
func (k *Kafka) CreateTopic(topic string, partitions int) {
	k.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := &kafkago.Client{Addr: kafkago.TCP(k.Brokers...)}
	// Retried: a connection pooled before a broker restart (an earlier
	// test's) fails its first request. A retry after a request that did
	// create the topic finds it there.
	tried := false
	k.retry(ctx, "create topic "+topic, func() error {
		res, err := client.CreateTopics(ctx, &kafkago.CreateTopicsRequest{Topics: []kafkago.TopicConfig{{
			Topic: topic, NumPartitions: partitions, ReplicationFactor: 1,
		}}})
		if err == nil {
			err = res.Errors[topic]
		}
		if tried && errors.Is(err, kafkago.TopicAlreadyExists) {
			err = nil
		}
		tried = true
		return err
	})
	k.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = client.DeleteTopics(ctx, &kafkago.DeleteTopicsRequest{Topics: []string{topic}})
	})
	k.WaitForLeaders(topic, partitions)
}

// WaitForLeaders returns once every partition of topic has a leader, as a
// new topic's get them asynchronously and a restarted broker elects them
// again after it accepts connections; produce only then.
func (k *Kafka) WaitForLeaders(topic string, partitions int) {
	k.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := &kafkago.Client{Addr: kafkago.TCP(k.Brokers...)}
	k.retry(ctx, "topic "+topic+": every partition has a leader", func() error {
		meta, err := client.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{topic}})
		switch {
		case err != nil:
			return err
		case len(meta.Topics) != 1 || len(meta.Topics[0].Partitions) != partitions:
			return fmt.Errorf("metadata lists %d topics, want 1 with %d partitions", len(meta.Topics), partitions)
		case !leadersKnown(meta.Topics[0]):
			return errors.New("a partition has no leader")
		}
		return nil
	})
}

func leadersKnown(t kafkago.Topic) bool {
	for _, p := range t.Partitions {
		if p.Error != nil || p.Leader.Host == "" {
			return false
		}
	}
	return true
}

// retry runs an admin query until it succeeds or ctx ends, then fails the
// test: tests poll these while brokers restart, when a connection error
// says nothing about what is being checked.
func (k *Kafka) retry(ctx context.Context, what string, query func() error) {
	k.t.Helper()
	for {
		err := query()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			k.t.Fatalf("%s: %v", what, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// GroupMembers returns how many members the consumer group has now.
func (k *Kafka) GroupMembers(group string) int {
	k.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := &kafkago.Client{Addr: kafkago.TCP(k.Brokers...)}
	var res *kafkago.DescribeGroupsResponse
	k.retry(ctx, "describe group "+group, func() (err error) {
		res, err = client.DescribeGroups(ctx, &kafkago.DescribeGroupsRequest{GroupIDs: []string{group}})
		return err
	})
	for _, g := range res.Groups {
		if g.GroupID == group {
			return len(g.Members)
		}
	}
	return 0
}

// CountFetches counts the fetch requests the broker receives from now on,
// without changing how it answers them; it returns the count so far. On an
// external broker it fails the test.
func (k *Kafka) CountFetches() func() int {
	k.t.Helper()
	if k.cluster == nil {
		k.t.Fatal("testenv: CountFetches needs the in-process broker")
	}
	var n atomic.Int64
	k.cluster.ControlKey(kmsg.Fetch.Int16(), func(kmsg.Request) (kmsg.Response, error, bool) {
		n.Add(1)
		return nil, nil, false // observed only: the broker answers as usual
	})
	return func() int { return int(n.Load()) }
}
