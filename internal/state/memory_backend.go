package state

import (
	"bytes"
	"context"
	"sync"
)

// memoryBackend keeps records in a map. It is what the pipeline's unit
// tests run against: the same record logic and compare-and-set semantics as
// Redis, with no network, so they can run in a synctest bubble.
type memoryBackend struct {
	mu      sync.Mutex
	records map[userKey][]byte
	layouts map[uint32][]byte
}

func (m *memoryBackend) get(_ context.Context, keys []userKey) ([][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([][]byte, len(keys))
	for i, k := range keys {
		out[i] = m.records[k]
	}
	return out, nil
}

func (m *memoryBackend) swap(_ context.Context, keys []userKey, olds, news [][]byte) ([]swapped, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]swapped, len(keys))
	for i, k := range keys {
		cur := m.records[k]
		if !bytes.Equal(cur, olds[i]) {
			out[i] = swapped{current: cur}
			continue
		}
		if news[i] == nil {
			delete(m.records, k)
		} else {
			m.records[k] = news[i]
		}
		out[i] = swapped{done: true}
	}
	return out, nil
}

func (m *memoryBackend) put(_ context.Context, keys []userKey, vals [][]byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, k := range keys {
		if vals[i] == nil {
			delete(m.records, k)
		} else {
			m.records[k] = vals[i]
		}
	}
	return nil
}

func (m *memoryBackend) layout(_ context.Context, id uint32) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.layouts[id], nil
}
