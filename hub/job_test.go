package hub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/hub"
)

// hook is the hub's MergeProgress, switchable while the hub runs.
type hook struct {
	mu sync.Mutex
	fn func(ctx context.Context, id string, done, total int)
}

func (h *hook) set(fn func(ctx context.Context, id string, done, total int)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fn = fn
}

func (h *hook) call(ctx context.Context, id string, done, total int) {
	h.mu.Lock()
	fn := h.fn
	h.mu.Unlock()
	if fn != nil {
		fn(ctx, id, done, total)
	}
}

// jobSetup is a hub with MergeWorkers workers and the hook installed, a
// base, and two deltas of it.
type jobSetup struct {
	hs     *harness
	hook   *hook
	base   string
	deltas []string
}

func newJobSetup(t *testing.T, workers int) *jobSetup {
	js := &jobSetup{hook: &hook{}}
	js.hs = newHarnessWith(t, func(o *hub.Options) {
		o.MergeWorkers = workers
		o.MergeProgress = js.hook.call
	})
	_, base, da, db := js.hs.baseAndTwoDeltas(t)
	js.base, js.deltas = base.CID, []string{da.CID, db.CID}
	return js
}

func (js *jobSetup) recipe(w2 float64) []byte { return recipe(js.base, js.deltas, []float64{1, w2}) }

// blockFirst makes the first job to reach its first tensor wait there, and
// at every tensor after it, until release is closed or the job's context
// ends; started is closed when it first waits. Every report waits, not only
// the first: a job merges tensors on several workers, and one not held
// could otherwise finish the whole merge while another is held.
func blockFirst(release <-chan struct{}) (started chan struct{}, fn func(ctx context.Context, id string, done, total int)) {
	started = make(chan struct{})
	var once sync.Once
	var mu sync.Mutex
	first := ""
	fn = func(ctx context.Context, id string, done, total int) {
		mu.Lock()
		if first == "" {
			first = id
		}
		mine := first == id
		mu.Unlock()
		if !mine || done < 1 {
			return
		}
		once.Do(func() { close(started) })
		select {
		case <-release:
		case <-ctx.Done():
		}
	}
	return started, fn
}

// within fails the test if ch is not closed soon: a bound on a failure, not
// a synchronization.
func within(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(time.Minute):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func (hs *harness) merges() []*potluck.Release {
	hs.t.Helper()
	rs, err := hs.client.List(context.Background(), potluck.KindMerge, "")
	if err != nil {
		hs.t.Fatal(err)
	}
	return rs
}

// A job reports its progress and ends with the release the synchronous
// Merge gives; the same recipe again (written differently) returns the
// same job, done, at once.
func TestMergeJobProgressAndReuse(t *testing.T) {
	js := newJobSetup(t, 1)
	hs, ctx := js.hs, context.Background()
	var mu sync.Mutex
	reports := map[string][]int{} // id → done values, in order of arrival
	js.hook.set(func(_ context.Context, id string, done, total int) {
		mu.Lock()
		defer mu.Unlock()
		reports[id] = append(reports[id], done, total)
	})
	rec := js.recipe(1)
	job, err := hs.client.StartMerge(ctx, rec)
	if err != nil {
		t.Fatal(err)
	}
	if job.ID == "" {
		t.Fatal("StartMerge returned no job id")
	}
	merged, err := hs.client.Merge(ctx, rec) // joins the same job and waits
	if err != nil {
		t.Fatal(err)
	}
	got, err := hs.client.MergeJob(ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != potluck.JobDone || got.Release.CID != merged.CID {
		t.Fatalf("job %s: state %v release %s, want DONE with %s", got.ID, got.State, got.Release.CID, merged.CID)
	}
	if got.Total == 0 || got.Done != got.Total {
		t.Errorf("job progress %d/%d, want all of a nonzero total", got.Done, got.Total)
	}
	mu.Lock()
	r := reports[job.ID]
	mu.Unlock()
	if len(r) != 2*(int(got.Total)+1) {
		t.Errorf("%d progress reports, want %d (one before the first tensor, one per tensor)", len(r)/2, got.Total+1)
	}
	if len(reports) != 1 {
		t.Errorf("%d jobs reported progress, want 1: Merge of the same recipe joins the job", len(reports))
	}

	again, err := hs.client.StartMerge(ctx, append([]byte("# the same merge, written differently\n"), rec...))
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != job.ID || again.State != potluck.JobDone || again.Release.CID != merged.CID {
		t.Errorf("the same recipe again: job %s %v release %s; want job %s DONE with %s", again.ID, again.State, again.Release.CID, job.ID, merged.CID)
	}
	if n := len(hs.merges()); n != 1 {
		t.Errorf("%d merge releases, want 1", n)
	}
	if _, err := hs.client.MergeJob(ctx, "job-unknown"); grpcStatus(t, err).Code().String() != "NotFound" {
		t.Errorf("an unknown job: %v, want NotFound", err)
	}
}

// A cancelled job stops, publishes nothing and leaves no scratch files; the
// same recipe then runs anew.
func TestMergeJobCancel(t *testing.T) {
	js := newJobSetup(t, 1)
	hs, ctx := js.hs, context.Background()
	started, fn := blockFirst(make(chan struct{})) // released only by the cancel
	js.hook.set(fn)
	rec := js.recipe(1)
	job, err := hs.client.StartMerge(ctx, rec)
	if err != nil {
		t.Fatal(err)
	}
	within(t, started, "the job to start")
	running, err := hs.client.MergeJob(ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The hook holds the worker that finished the first tensor; the job's
	// other workers (one per core) may finish the rest meanwhile, but the
	// job cannot end while one is held.
	if done := running.Done; running.State != potluck.JobRunning || done < 1 {
		t.Errorf("blocked job: %v at %d/%d, want RUNNING with at least one done", running.State, done, running.Total)
	}
	cancelled, err := hs.client.CancelMergeJob(ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if cancelled.State != potluck.JobCancelled || cancelled.Err == nil || cancelled.Release != nil {
		t.Errorf("cancelled job: %v error %q release %v, want CANCELLED with an error and no release", cancelled.State, cancelled.Err, cancelled.Release)
	}
	if n := len(hs.merges()); n != 0 {
		t.Errorf("%d merge releases after the cancel, want none", n)
	}
	if ents, _ := os.ReadDir(filepath.Join(hs.data, "work")); len(ents) != 0 {
		t.Errorf("scratch space left after the cancel: %v", ents)
	}

	js.hook.set(nil)
	again, err := hs.client.StartMerge(ctx, rec)
	if err != nil {
		t.Fatal(err)
	}
	if again.ID == job.ID {
		t.Error("the recipe of a cancelled job returned the cancelled job")
	}
	if _, err := hs.client.Merge(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if n := len(hs.merges()); n != 1 {
		t.Errorf("%d merge releases, want 1", n)
	}
}

// A hub closed with one job running and one queued finishes both after it
// is reopened on the same data, publishing each merge once.
func TestMergeJobSurvivesRestart(t *testing.T) {
	js := newJobSetup(t, 1)
	hs, ctx := js.hs, context.Background()
	started, fn := blockFirst(make(chan struct{})) // released by the close
	js.hook.set(fn)
	recs := [][]byte{js.recipe(1), js.recipe(0.5)}
	var ids []string
	for i, rec := range recs {
		job, err := hs.client.StartMerge(ctx, rec)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, job.ID)
		if i == 0 {
			within(t, started, "the first job to start")
		}
	}
	hs.stop()
	for i, want := range []potluck.JobState{potluck.JobRunning, potluck.JobQueued} {
		b, err := os.ReadFile(filepath.Join(hs.data, "jobs", ids[i]+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var rec struct{ State potluck.JobState }
		if err := json.Unmarshal(b, &rec); err != nil {
			t.Fatal(err)
		}
		if rec.State != want {
			t.Errorf("job %d on disk after the close: %s, want %s", i, rec.State, want)
		}
	}

	js.hook.set(nil)
	hs.start()
	for i, rec := range recs {
		job, err := hs.client.StartMerge(ctx, rec)
		if err != nil {
			t.Fatal(err)
		}
		if job.ID != ids[i] {
			t.Errorf("job %d after the restart: StartMerge gave %s, want the resumed %s", i, job.ID, ids[i])
		}
		rel, err := hs.client.Merge(ctx, rec)
		if err != nil {
			t.Fatal(err)
		}
		got, err := hs.client.MergeJob(ctx, ids[i])
		if err != nil {
			t.Fatal(err)
		}
		if got.State != potluck.JobDone || got.Release.CID != rel.CID {
			t.Errorf("job %d: %v release %s, want DONE with %s", i, got.State, got.Release.CID, rel.CID)
		}
	}
	if n := len(hs.merges()); n != 2 {
		t.Errorf("%d merge releases, want 2", n)
	}

	// A done job stays done, with its release, across another restart.
	hs.stop()
	hs.start()
	got, err := hs.client.StartMerge(ctx, recs[0])
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != ids[0] || got.State != potluck.JobDone || got.Release == nil {
		t.Errorf("after a second restart: job %s %v, want %s DONE with its release", got.ID, got.State, ids[0])
	}
}

// With one worker a second job waits, queued, while the first runs; with
// two they run at once.
func TestMergeWorkersBound(t *testing.T) {
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprint(workers), func(t *testing.T) {
			js := newJobSetup(t, workers)
			hs, ctx := js.hs, context.Background()
			release := make(chan struct{})
			started, block := blockFirst(release)
			var mu sync.Mutex
			active, most := 0, 0
			second := make(chan struct{})
			var once sync.Once
			js.hook.set(func(ctx context.Context, id string, done, total int) {
				mu.Lock()
				switch done {
				case 0:
					active++
					most = max(most, active)
					if active == 2 {
						once.Do(func() { close(second) })
					}
				case total:
					active--
				}
				mu.Unlock()
				block(ctx, id, done, total)
			})
			recs := [][]byte{js.recipe(1), js.recipe(0.5)}
			first, err := hs.client.StartMerge(ctx, recs[0])
			if err != nil {
				t.Fatal(err)
			}
			within(t, started, "the first job to start")
			other, err := hs.client.StartMerge(ctx, recs[1])
			if err != nil {
				t.Fatal(err)
			}
			if workers == 1 {
				got, err := hs.client.MergeJob(ctx, other.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.State != potluck.JobQueued {
					t.Errorf("second job with the one worker busy: %v, want QUEUED", got.State)
				}
			} else {
				within(t, second, "the second job to start beside the first")
			}
			close(release)
			for _, rec := range recs {
				if _, err := hs.client.Merge(ctx, rec); err != nil {
					t.Fatal(err)
				}
			}
			for _, id := range []string{first.ID, other.ID} {
				if got, _ := hs.client.MergeJob(ctx, id); got.State != potluck.JobDone {
					t.Errorf("job %s: %v, want DONE", id, got.State)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if most != workers {
				t.Errorf("at most %d jobs ran at once, want %d", most, workers)
			}
		})
	}
}
