package bench

import (
	"os"
	"runtime/debug"

	"github.com/attrsync/attrsync/internal/testenv"
)

// rssTracker measures the peak resident set size of phases of the run and
// of the whole process. Linux keeps the peak in VmHWM; writing 5 to
// /proc/self/clear_refs resets it to the current RSS, which lets one process
// measure its phases one after another.
type rssTracker struct {
	overall int64 // KiB, the largest peak seen in any phase
}

// phase runs f and returns the peak RSS in KiB while it ran (0 when the
// peak cannot be reset: then only the overall figure is meaningful).
func (t *rssTracker) phase(f func() error) (int64, error) {
	t.observe()
	// Hand memory freed by earlier phases back to the OS first, so this
	// phase's peak is its own working set plus what is still live.
	debug.FreeOSMemory()
	resettable := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	err := f()
	peak := t.observe()
	if !resettable {
		return 0, err
	}
	return peak, err
}

// observe folds the current VmHWM into the overall peak and returns it.
func (t *rssTracker) observe() int64 {
	hwm := vmHWM()
	t.overall = max(t.overall, hwm)
	return hwm
}

// vmHWM is this process's VmHWM in KiB, 0 if unavailable.
func vmHWM() int64 {
	n, _ := testenv.VmHWM(os.Getpid())
	return n
}
