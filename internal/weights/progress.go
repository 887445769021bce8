package weights

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// progressMin is the total below which no bar is drawn: small files hash
// in well under a second.
const progressMin = 256 << 20

// redraw is the bar's refresh period: at most 10 redraws a second.
const redraw = 100 * time.Millisecond

// progress draws bytes hashed / total on a terminal. A nil *progress does
// nothing, so callers need not check.
type progress struct {
	w     io.Writer
	total int64
	done  atomic.Int64
	stop  chan struct{}
	wg    sync.WaitGroup
}

func newProgress(w io.Writer, models []Model) *progress {
	if !isTerminal(w) {
		return nil
	}
	var total int64
	for _, m := range models {
		if st, err := os.Stat(m.Path); err == nil {
			total += st.Size()
		}
	}
	if total < progressMin {
		return nil
	}
	p := &progress{w: w, total: total, stop: make(chan struct{})}
	p.wg.Go(p.loop)
	return p
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || f == nil {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

func (p *progress) add(n int64) {
	if p != nil {
		p.done.Add(n)
	}
}

func (p *progress) loop() {
	t := time.NewTicker(redraw)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			p.draw()
		case <-p.stop:
			p.draw()
			fmt.Fprintln(p.w)
			return
		}
	}
}

func (p *progress) draw() {
	const width = 30
	done := min(p.done.Load(), p.total)
	fill := int(done * width / p.total)
	fmt.Fprintf(p.w, "\rverifying model weights [%s%s] %.1f/%.1f GiB",
		strings.Repeat("#", fill), strings.Repeat(" ", width-fill),
		float64(done)/(1<<30), float64(p.total)/(1<<30))
}

func (p *progress) finish() {
	if p != nil {
		close(p.stop)
		p.wg.Wait()
	}
}
