package bench

import (
	"fmt"
	"os"
	"runtime/pprof"
	"runtime/trace"
)

// startProfile starts a CPU profile into prefix.name.pprof and returns the
// function that ends it; with no prefix it does nothing. It also writes the
// allocation profile at the start and at the end, prefix.name.allocs0.pprof
// and prefix.name.allocs.pprof: allocations are counted from the process's
// start, so the phase's own are the second less the first
// (go tool pprof -sample_index=alloc_space -diff_base <allocs0> <allocs>).
// An execution trace goes to prefix.name.trace: where the CPU profile says
// what the busy cores do, the trace says why the others are idle
// (go tool trace -pprof=sync, or =net, for the time goroutines wait).
func startProfile(prefix, name string) (stop func(), err error) {
	if prefix == "" {
		return func() {}, nil
	}
	if err := writeAllocs(fmt.Sprintf("%s.%s.allocs0.pprof", prefix, name)); err != nil {
		return nil, err
	}
	f, err := os.Create(fmt.Sprintf("%s.%s.pprof", prefix, name))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	stopCPU := func() {
		pprof.StopCPUProfile()
		f.Close()
	}
	tf, err := os.Create(fmt.Sprintf("%s.%s.trace", prefix, name))
	if err != nil {
		stopCPU()
		return nil, err
	}
	if err := trace.Start(tf); err != nil {
		stopCPU()
		tf.Close()
		return nil, fmt.Errorf("execution trace: %w", err)
	}
	return func() {
		trace.Stop()
		tf.Close()
		stopCPU()
		if err := writeAllocs(fmt.Sprintf("%s.%s.allocs.pprof", prefix, name)); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
		}
	}, nil
}

// writeAllocs writes the allocation profile to path.
func writeAllocs(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = pprof.Lookup("allocs").WriteTo(f, 0)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("allocation profile %s: %w", path, err)
	}
	return nil
}
