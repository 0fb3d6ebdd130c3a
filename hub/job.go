package hub

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/merge"
)

// Merge jobs: a merge is queued, run by a bounded pool of workers
// (Options.MergeWorkers), and recorded in DATA/jobs/<id>.json, replaced
// atomically at each change of state. A job queued or running when the hub
// stopped is queued again on Open; its scratch output was never published,
// since merge.Run writes atomically and the output is ingested only once it
// is whole. Jobs are keyed by their recipe with every model named by its
// CID: a job whose key matches a finished one returns that one's release.

// ErrCancelled is the error of a cancelled merge job.
var ErrCancelled = errors.New("hub: merge job cancelled")

// errClosing stops the jobs when the hub closes; they stay queued on disk.
var errClosing = errors.New("hub: closing")

// jobRecord is a job as DATA/jobs/<id>.json holds it.
type jobRecord struct {
	ID      string           `json:"id"`
	Key     string           `json:"key"` // sha256 of the canonical recipe with CIDs
	Recipe  string           `json:"recipe"`
	Org     string           `json:"org,omitempty"` // who started it
	State   potluck.JobState `json:"state"`
	Release string           `json:"release,omitempty"`
	Tensors int              `json:"tensors,omitempty"` // in the output, once done
	Error   string           `json:"error,omitempty"`
	Created time.Time        `json:"created"`
	Updated time.Time        `json:"updated"`
}

type job struct {
	rec         jobRecord // guarded by jobs.mu
	err         error     // guarded by jobs.mu
	done, total atomic.Int64
	ctx         context.Context
	cancel      context.CancelCauseFunc
	finished    chan struct{} // closed when the job stops, for any reason
}

type jobs struct {
	dir   string
	mu    sync.Mutex
	byID  map[string]*job
	byKey map[string]*job // the latest live or done job of a recipe
	sem   chan struct{}   // one token per worker
	wg    sync.WaitGroup
}

// DefaultMergeWorkers is how many merges run at once unless
// Options.MergeWorkers says otherwise.
const DefaultMergeWorkers = 1

// openJobs loads the job records; the unfinished ones are returned, to be
// started once the hub is open. An unreadable record is logged and left.
func openJobs(dir string, workers int, logger *slog.Logger) (*jobs, []*job, error) {
	if workers <= 0 {
		workers = DefaultMergeWorkers
	}
	js := &jobs{dir: dir, byID: map[string]*job{}, byKey: map[string]*job{}, sem: make(chan struct{}, workers)}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, nil, err
	}
	var resume []*job
	for _, p := range names {
		var rec jobRecord
		if err := readFileJSON(p, &rec); err != nil || rec.ID+".json" != filepath.Base(p) {
			logger.Error("merge job: unreadable record, skipped", "file", p, "error", err)
			continue
		}
		j := &job{rec: rec, finished: make(chan struct{})}
		switch {
		case rec.State == potluck.JobQueued || rec.State == potluck.JobRunning:
			j.rec.State = potluck.JobQueued
			resume = append(resume, j)
			js.byKey[rec.Key] = j
		case rec.State == potluck.JobDone:
			js.byKey[rec.Key] = j
			close(j.finished)
		default:
			j.err = errors.New(rec.Error)
			if rec.State == potluck.JobCancelled {
				j.err = ErrCancelled
			}
			close(j.finished)
		}
		js.byID[rec.ID] = j
	}
	return js, resume, nil
}

func (js *jobs) save(j *job) error {
	return writeFileJSON(filepath.Join(js.dir, j.rec.ID+".json"), &j.rec)
}

// StartMerge queues a recipe as a merge job and returns at once. A job for
// the same recipe over the same inputs that is queued, running or done (its
// release still held) is returned instead of a new one.
func (h *Hub) StartMerge(ctx context.Context, recipe []byte) (*potluck.MergeJob, error) {
	if err := h.opts.Limits.checkRecipe(recipe); err != nil {
		return nil, err
	}
	r, err := merge.ParseRecipe(recipe)
	if err != nil {
		return nil, err
	}
	if err := h.opts.Limits.checkRecipeModels(len(r.Models)); err != nil {
		return nil, err
	}
	key, err := h.mergeKey(r)
	if err != nil {
		return nil, err
	}
	js := h.jobs
	js.mu.Lock()
	defer js.mu.Unlock()
	if old := js.byKey[key]; old != nil {
		if old.rec.State != potluck.JobDone {
			return h.snapshot(old), nil
		}
		if _, err := h.releases.get(old.rec.Release); err == nil {
			return h.snapshot(old), nil
		}
	}
	org := ""
	if c := CallerFrom(ctx); c != nil {
		org = c.Org
	}
	if err := h.opts.Limits.checkJobs(org, h.openJobsOf(org)); err != nil {
		return nil, err
	}
	id, err := newJobID()
	if err != nil {
		return nil, err
	}
	now := h.opts.Now().UTC()
	j := &job{rec: jobRecord{ID: id, Key: key, Recipe: string(recipe), State: potluck.JobQueued, Created: now, Updated: now},
		finished: make(chan struct{})}
	if c := CallerFrom(ctx); c != nil {
		j.rec.Org = c.Org
	}
	if err := js.save(j); err != nil {
		return nil, fmt.Errorf("merge job: %w", err)
	}
	js.byID[id], js.byKey[key] = j, j
	h.launch(j)
	return h.snapshot(j), nil
}

// MergeJob reports a job.
func (h *Hub) MergeJob(_ context.Context, id string) (*potluck.MergeJob, error) {
	h.jobs.mu.Lock()
	defer h.jobs.mu.Unlock()
	j := h.jobs.byID[id]
	if j == nil {
		return nil, fmt.Errorf("%w: merge job %q", ErrNotFound, id)
	}
	return h.snapshot(j), nil
}

// CancelMergeJob stops a queued or running job, waiting until it has
// stopped; a finished job is returned as it is. Only the org that started
// a job, or an operator, may cancel it.
func (h *Hub) CancelMergeJob(ctx context.Context, id string) (*potluck.MergeJob, error) {
	h.jobs.mu.Lock()
	j := h.jobs.byID[id]
	h.jobs.mu.Unlock()
	if j == nil {
		return nil, fmt.Errorf("%w: merge job %q", ErrNotFound, id)
	}
	if c := CallerFrom(ctx); c != nil && c.Role != RoleOperator && j.rec.Org != "" && c.Org != j.rec.Org {
		return nil, fmt.Errorf("%w: merge job %s was started by %q", ErrForbidden, id, j.rec.Org)
	}
	if j.cancel != nil {
		j.cancel(ErrCancelled)
	}
	select {
	case <-j.finished:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return h.MergeJob(ctx, id)
}

// WaitMergeJob waits until a job stops and returns it.
func (h *Hub) WaitMergeJob(ctx context.Context, id string) (*potluck.MergeJob, error) {
	h.jobs.mu.Lock()
	j := h.jobs.byID[id]
	h.jobs.mu.Unlock()
	if j == nil {
		return nil, fmt.Errorf("%w: merge job %q", ErrNotFound, id)
	}
	select {
	case <-j.finished:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return h.MergeJob(ctx, id)
}

// snapshot copies a job; the caller holds jobs.mu.
func (h *Hub) snapshot(j *job) *potluck.MergeJob {
	m := &potluck.MergeJob{ID: j.rec.ID, State: j.rec.State, Done: int(j.done.Load()), Total: int(j.total.Load()), Err: j.err,
		Org: j.rec.Org, Created: j.rec.Created}
	if j.rec.State == potluck.JobDone {
		m.Release, _ = h.releases.get(j.rec.Release)
		m.Done, m.Total = j.rec.Tensors, j.rec.Tensors
	}
	return m
}

// launch starts a queued job's goroutine; it waits for a worker slot.
// The caller holds jobs.mu.
func (h *Hub) launch(j *job) {
	j.ctx, j.cancel = context.WithCancelCause(h.jobsCtx)
	h.jobs.wg.Add(1)
	go h.runJob(j)
}

func (h *Hub) runJob(j *job) {
	js := h.jobs
	defer js.wg.Done()
	select {
	case js.sem <- struct{}{}:
	case <-j.ctx.Done():
		h.finishJob(j, nil, context.Cause(j.ctx))
		return
	}
	defer func() { <-js.sem }()
	if j.ctx.Err() != nil {
		h.finishJob(j, nil, context.Cause(j.ctx))
		return
	}
	js.mu.Lock()
	j.rec.State, j.rec.Updated = potluck.JobRunning, h.opts.Now().UTC()
	err := js.save(j)
	js.mu.Unlock()
	if err != nil {
		h.finishJob(j, nil, fmt.Errorf("merge job: %w", err))
		return
	}
	h.logger.Info("merge job running", "job", j.rec.ID, "org", j.rec.Org)
	progress := func(done, total int) {
		j.total.Store(int64(total))
		for { // keep the largest: workers may report out of order
			old := j.done.Load()
			if int64(done) <= old || j.done.CompareAndSwap(old, int64(done)) {
				break
			}
		}
		if h.opts.MergeProgress != nil {
			h.opts.MergeProgress(j.ctx, j.rec.ID, done, total)
		}
	}
	rel, err := h.merge(j.ctx, []byte(j.rec.Recipe), progress)
	if err != nil && j.ctx.Err() != nil {
		err = context.Cause(j.ctx)
	}
	h.finishJob(j, rel, err)
}

// finishJob records how a job ended. A job stopped by the hub closing is
// left queued on disk, to run again on the next Open.
func (h *Hub) finishJob(j *job, rel *potluck.Release, err error) {
	js := h.jobs
	js.mu.Lock()
	defer js.mu.Unlock()
	defer close(j.finished)
	j.err = err
	switch {
	case err == nil:
		j.rec.State, j.rec.Release, j.rec.Tensors = potluck.JobDone, rel.CID, int(j.total.Load())
	case errors.Is(err, errClosing):
		return
	case errors.Is(err, ErrCancelled):
		j.rec.State = potluck.JobCancelled
	default:
		j.rec.State = potluck.JobFailed
	}
	if err != nil {
		j.rec.Error = err.Error()
		if js.byKey[j.rec.Key] == j {
			delete(js.byKey, j.rec.Key)
		}
	}
	j.rec.Updated = h.opts.Now().UTC()
	h.logJob(j, rel, err)
	if serr := js.save(j); serr != nil {
		h.logger.Error("merge job: saving its state", "job", j.rec.ID, "state", j.rec.State, "error", serr)
	}
}

// jobCounts counts the jobs by state, for the metrics.
func (h *Hub) jobCounts() map[potluck.JobState]int {
	n := map[potluck.JobState]int{potluck.JobQueued: 0, potluck.JobRunning: 0, potluck.JobDone: 0, potluck.JobFailed: 0, potluck.JobCancelled: 0}
	if h.jobs == nil {
		return n
	}
	h.jobs.mu.Lock()
	defer h.jobs.mu.Unlock()
	for _, j := range h.jobs.byID {
		n[j.rec.State]++
	}
	return n
}

// closeJobs stops every job, leaving the unfinished ones queued on disk.
func (h *Hub) closeJobs() {
	if h.jobs == nil {
		return
	}
	h.stopJobs(errClosing)
	h.jobs.wg.Wait()
}

// mergeKey names a merge by its recipe with every model given by the CID
// of the release it names: the merge's output depends on nothing else.
func (h *Hub) mergeKey(r *merge.Recipe) (string, error) {
	c := *r
	base, err := h.releases.get(r.BaseModel)
	if err != nil {
		return "", fmt.Errorf("merge: base_model: %w", err)
	}
	c.BaseModel = base.CID
	c.Models = append([]merge.ModelRef(nil), r.Models...)
	for i, m := range c.Models {
		rel, err := h.releases.get(m.Model)
		if err != nil {
			return "", fmt.Errorf("merge: models[%d]: %w", i, err)
		}
		c.Models[i].Model = rel.CID
	}
	canon, err := c.Canonical()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(canon)
	return hex.EncodeToString(sum[:]), nil
}

func newJobID() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return "job-" + strings.ToLower(hex.EncodeToString(b[:])), nil
}

// logJob logs how a job ended: its id, the org that started it, its state
// (done, failed or cancelled), the merge's CID and how long it took.
func (h *Hub) logJob(j *job, rel *potluck.Release, err error) {
	attrs := []any{"job", j.rec.ID, "org", j.rec.Org, "state", j.rec.State, "duration", h.opts.Now().Sub(j.rec.Created)}
	switch {
	case rel != nil:
		h.logger.Info("merge job", append(attrs, "cid", rel.CID, "tensors", j.rec.Tensors)...)
	case j.rec.State == potluck.JobCancelled:
		h.logger.Info("merge job", attrs...)
	default:
		h.logger.Warn("merge job", append(attrs, "error", err)...)
	}
}
