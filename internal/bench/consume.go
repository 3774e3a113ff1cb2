package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// span is a count of events over the time they took.
type span struct {
	events  int64
	elapsed time.Duration
	// busy is the cores this process, redis-server and the broker kept
	// busy on average meanwhile.
	busy usage
}

// perSecond is the event rate of the span.
func (s span) perSecond() float64 {
	if s.elapsed <= 0 {
		return 0
	}
	return float64(s.events) / s.elapsed.Seconds()
}

// microsPerEvent is the CPU time an event took, in microseconds, in this
// process, in redis-server and in the broker: on two cores shared by all
// three, the rate follows the CPU each event costs, and CPU time moves less
// between runs than rates do.
func (s span) microsPerEvent() usage {
	if s.events <= 0 {
		return usage{}
	}
	return s.busy.scaled(s.elapsed.Seconds() * 1e6 / float64(s.events))
}

// newReader is a partition reader configured as internal/kafka.Fetch
// configures the pipeline's, so the baseline differs from the pipeline only
// in what happens to a message after it is fetched.
func newReader(brokers []string, topic string, partition int) *kafkago.Reader {
	return kafkago.NewReader(kafkago.ReaderConfig{
		Brokers: brokers, Topic: topic, Partition: partition,
		MinBytes: 1, MaxBytes: 16 << 20, MaxWait: 250 * time.Millisecond,
	})
}

// bareConsume reads topic up to ends with one kafka-go Reader per
// partition, in parallel, doing nothing with the messages: the rate a
// consumer of this broker cannot beat. Like the pipeline's figure, it is
// timed from the first message fetched to the last.
func bareConsume(ctx context.Context, cpu cpuMeter, brokers []string, topic string, ends map[int]int64) (span, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var (
		mu          sync.Mutex
		first, last time.Time
		total       int64
		wg          sync.WaitGroup
	)
	errs := make(chan error, len(ends))
	cpu0 := cpu.sample(ctx)
	for p, end := range ends {
		if end <= 0 {
			continue
		}
		wg.Go(func() {
			r := newReader(brokers, topic, p)
			defer r.Close()
			var n int64
			for {
				m, err := r.FetchMessage(ctx)
				if err != nil {
					errs <- fmt.Errorf("bare consume %s/%d: %w", topic, p, err)
					return
				}
				if n == 0 {
					mu.Lock()
					if first.IsZero() {
						first = time.Now()
					}
					mu.Unlock()
				}
				n++
				if m.Offset+1 >= end {
					break
				}
			}
			mu.Lock()
			if now := time.Now(); now.After(last) {
				last = now
			}
			total += n
			mu.Unlock()
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return span{}, err
	}
	res := span{events: total, elapsed: last.Sub(first)}
	res.busy = cores(cpu0, cpu.sample(ctx))
	return res, nil
}
