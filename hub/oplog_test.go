package hub_test

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/potluck-hub/potluck/hub"
)

// logBuffer collects the hub's log lines, safe for its goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// line returns the first line holding every part, or "".
func (l *logBuffer) line(parts ...string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ln := range strings.Split(l.b.String(), "\n") {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(ln, p)
		}
		if ok {
			return ln
		}
	}
	return ""
}

// logTo has hs's hub log to a buffer from its next start, keeping what
// the harness configured.
func (hs *harness) logTo() *logBuffer {
	lb := &logBuffer{}
	prev := hs.configure
	hs.configure = func(o *hub.Options) {
		if prev != nil {
			prev(o)
		}
		o.Logger = slog.New(slog.NewTextHandler(lb, nil))
	}
	hs.stop()
	hs.start()
	return lb
}

// TestOperatorLogs: the hub's log names the org of a denied call, and the
// job, org, state and CID of a merge; a cancelled job is "cancelled".
func TestOperatorLogs(t *testing.T) {
	ctx := context.Background()
	t.Run("DeniedCallNamesOrg", func(t *testing.T) {
		hs, tokA, _, _ := tokenHarness(t, hub.Access{RequireToken: true})
		lb := hs.logTo()
		if _, err := hs.as(tokA).ReloadMembers(ctx); err == nil {
			t.Fatal("lab-a's reload accepted")
		}
		if ln := lb.line("method=/potluck.hub.v1.HubService/ReloadMembers", "code=PermissionDenied"); !strings.Contains(ln, "org=lab-a") {
			t.Fatalf("denied call logged %q, want org=lab-a", ln)
		}
	})
	t.Run("MergeJobDone", func(t *testing.T) {
		hs, tokA, tokB, _ := tokenHarness(t, hub.Access{RequireToken: true})
		lb := hs.logTo()
		a, b := hs.as(tokA), hs.as(tokB)
		m := writeModels(t, hs.dir)
		d, bundle := signDir(t, m.base, hs.keyA)
		base, err := a.RegisterBase(ctx, d, bundle, nil)
		if err != nil {
			t.Fatal(err)
		}
		deltaDir := filepath.Join(hs.dir, "delta-b")
		makeDelta(t, m.base, m.ftB, deltaDir, base.CID)
		scan, dbundle := signDir(t, deltaDir, hs.keyB)
		delta, err := b.Publish(ctx, scan, dbundle, base.CID, nil)
		if err != nil {
			t.Fatal(err)
		}
		j, err := b.StartMerge(ctx, recipe(base.CID, []string{delta.CID}, []float64{1}))
		if err != nil {
			t.Fatal(err)
		}
		done, err := b.WaitMergeJob(ctx, j.ID, 50e6, nil)
		if err != nil || done.Release == nil {
			t.Fatalf("job: %+v, %v", done, err)
		}
		want := []string{`msg="merge job"`, "job=" + j.ID, "org=lab-b", "state=done", "cid=" + done.Release.CID}
		if ln := lb.line(want[:2]...); lb.line(want...) == "" {
			t.Fatalf("merge logged %q, want %q", ln, want)
		}
	})
	t.Run("MergeJobCancelled", func(t *testing.T) {
		js := newJobSetup(t, 1)
		lb := js.hs.logTo()
		started, fn := blockFirst(make(chan struct{}))
		js.hook.set(fn)
		j, err := js.hs.client.StartMerge(ctx, js.recipe(1))
		if err != nil {
			t.Fatal(err)
		}
		within(t, started, "the job to start")
		if _, err := js.hs.client.CancelMergeJob(ctx, j.ID); err != nil {
			t.Fatal(err)
		}
		ln := lb.line(`msg="merge job"`, "job="+j.ID)
		if !strings.Contains(ln, "state=cancelled") || strings.Contains(ln, "level=WARN") || strings.Contains(ln, "error") {
			t.Fatalf("cancelled job logged %q, want state=cancelled at INFO, no error", ln)
		}
	})
}
