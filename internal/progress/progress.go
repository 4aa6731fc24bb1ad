// Package progress draws fetcher progress as terminal bars
// (github.com/vbauerster/mpb/v8). The CLI uses it only when stderr is a TTY;
// machine output on stdout is never touched.
package progress

import (
	"io"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/boltfetch/boltfetch/fetcher"
)

// Bars implements fetcher.Progress with one bar per download or log fetch.
type Bars struct {
	p     *mpb.Progress
	mu    sync.Mutex
	bars  []*mpb.Bar
	close sync.Once
}

// New draws bars on w (a terminal).
func New(w io.Writer) *Bars {
	return &Bars{p: mpb.New(mpb.WithOutput(w), mpb.WithWidth(32), mpb.WithRefreshRate(150*time.Millisecond), mpb.WithAutoRefresh())}
}

// Writer prints lines above the bars, for log output while they run.
func (b *Bars) Writer() io.Writer { return b.p }

// Task implements fetcher.Progress.
func (b *Bars) Task(name string) fetcher.ProgressTask {
	bar := b.p.AddBar(0,
		mpb.PrependDecorators(decor.Name(name, decor.WC{C: decor.DindentRight | decor.DextraSpace})),
		mpb.AppendDecorators(
			decor.Counters(decor.SizeB1024(0), "% .1f / % .1f", decor.WC{W: 22}),
			decor.OnComplete(decor.Percentage(decor.WC{W: 5}), "done"),
		),
		mpb.BarFillerOnAbort("failed"),
	)
	b.mu.Lock()
	b.bars = append(b.bars, bar)
	b.mu.Unlock()
	return task{bar}
}

// Close ends every bar still running (as failed) and waits for the last
// redraw. Calls after the first do nothing.
func (b *Bars) Close() {
	b.close.Do(func() {
		b.mu.Lock()
		for _, bar := range b.bars {
			if !bar.Completed() {
				bar.Abort(false)
			}
		}
		b.mu.Unlock()
		b.p.Wait()
	})
}

type task struct{ bar *mpb.Bar }

func (t task) SetTotal(n int64) { t.bar.SetTotal(n, false) }
func (t task) Add(n int64)      { t.bar.IncrInt64(n) }
func (t task) Done(err error) {
	if err != nil {
		t.bar.Abort(false)
		return
	}
	t.bar.SetTotal(-1, true)
}
