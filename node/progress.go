package node

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// NewProgress reports transfer progress to w: a bar with bytes, rate and
// ETA when w is a terminal, otherwise a plain line at most every 10% (for
// logs and pipes); nil, which reports nothing, when quiet. verb names the
// transfer ("sent", "received").
func NewProgress(w io.Writer, verb string, quiet bool) Progress {
	if quiet {
		return nil
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return barProgress(w, verb)
	}
	return lineProgress(w, verb, time.Now)
}

// barProgress draws a progress bar, made on the first report, when the
// total is known.
func barProgress(w io.Writer, verb string) Progress {
	var mu sync.Mutex
	var bar *progressbar.ProgressBar
	return func(done, total int64) {
		mu.Lock()
		defer mu.Unlock()
		if bar == nil {
			bar = progressbar.NewOptions64(total,
				progressbar.OptionSetWriter(w),
				progressbar.OptionSetDescription(verb),
				progressbar.OptionShowBytes(true),
				progressbar.OptionShowCount(),
				progressbar.OptionSetPredictTime(true),
				progressbar.OptionSetWidth(30),
				progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
			)
		}
		bar.Set64(done)
	}
}

// lineProgress prints "verb done/total bytes (pct%), rate, ETA" lines, one
// per 10% crossed and one at the end.
func lineProgress(w io.Writer, verb string, now func() time.Time) Progress {
	var mu sync.Mutex
	last := int64(-1)
	var start time.Time
	var from int64 // bytes already there at the first report (a resumed upload)
	started := false
	return func(done, total int64) {
		mu.Lock()
		defer mu.Unlock()
		if total == 0 {
			return
		}
		if !started {
			started, start, from = true, now(), done
		}
		pct := done * 100 / total
		if pct/10 == last/10 && !(done == total && last != 100) {
			return
		}
		last = pct
		line := fmt.Sprintf("  %s %d/%d bytes (%d%%)", verb, done, total, pct)
		if secs := now().Sub(start).Seconds(); secs > 0 && done > from {
			rate := float64(done-from) / secs
			line += fmt.Sprintf(", %.1f MB/s", rate/1e6)
			if done < total {
				line += fmt.Sprintf(", ETA %s", time.Duration(float64(total-done)/rate*float64(time.Second)).Round(time.Second))
			}
		}
		fmt.Fprintln(w, line)
	}
}
