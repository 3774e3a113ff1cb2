package bench

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// startProfile starts a CPU profile into prefix.name.pprof and returns the
// function that ends it; with no prefix it does nothing.
func startProfile(prefix, name string) (stop func(), err error) {
	if prefix == "" {
		return func() {}, nil
	}
	f, err := os.Create(fmt.Sprintf("%s.%s.pprof", prefix, name))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
