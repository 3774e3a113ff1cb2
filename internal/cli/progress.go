package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// progress reports how far a bounded pass got: a bar redrawn in place when
// w is a terminal, a plain line now and then otherwise (a log file, CI).
type progress struct {
	w     io.Writer
	tty   bool
	every time.Duration
	total int64
	done  func() (messages, requests int64)
	start time.Time

	mu      sync.Mutex
	drawn   bool // a bar is on the current terminal line
	stop    chan struct{}
	stopped chan struct{}
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// newProgress returns a reporter writing to w. Until begin it only passes
// log lines through.
func newProgress(w io.Writer) *progress {
	p := &progress{w: w, tty: isTerminal(w), stop: make(chan struct{}), stopped: make(chan struct{})}
	p.every = 5 * time.Second
	if p.tty {
		p.every = 200 * time.Millisecond
	}
	return p
}

// begin sets what is measured; call it before run.
func (p *progress) begin(total int64, done func() (messages, requests int64)) {
	p.total, p.done, p.start = total, done, time.Now()
}

// run reports until finish is called.
func (p *progress) run() {
	defer close(p.stopped)
	t := time.NewTicker(p.every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			p.report()
		case <-p.stop:
			return
		}
	}
}

// finish reports the final state and ends the bar's line.
func (p *progress) finish() {
	close(p.stop)
	<-p.stopped
	p.report()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}

func (p *progress) report() {
	msgs, reqs := p.done()
	elapsed := time.Since(p.start).Round(100 * time.Millisecond)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		fmt.Fprintf(p.w, "\r\x1b[K%s", bar(msgs, p.total, 30, reqs, elapsed))
		p.drawn = true
		return
	}
	fmt.Fprintf(p.w, "replay: %d/%d messages (%d%%), %d requests, %s\n", msgs, p.total, percent(msgs, p.total), reqs, elapsed)
}

// Write lets log lines pass the bar: the bar's line is cleared, the log
// line written, and the bar drawn again by the next report.
func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
	return p.w.Write(b)
}

// percent is done of total in whole percent, 100 for an empty total and
// never above 100 (offsets may count transaction markers that are no
// messages).
func percent(done, total int64) int64 {
	if total <= 0 {
		return 100
	}
	return min(done*100/total, 100)
}

// bar renders one progress line of a terminal.
func bar(done, total int64, width int, requests int64, elapsed time.Duration) string {
	pct := percent(done, total)
	full := int(pct) * width / 100
	return fmt.Sprintf("[%s%s] %3d%% %d/%d messages, %d requests, %s",
		strings.Repeat("#", full), strings.Repeat(" ", width-full), pct, min(done, total), total, requests, elapsed)
}
