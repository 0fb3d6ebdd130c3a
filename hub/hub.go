package hub

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/signing"
	"github.com/potluck-hub/potluck/store"
	"github.com/potluck-hub/potluck/translog"
)

// Options configure a hub. Libraries take options, never flags.
type Options struct {
	// DataDir holds the store, the release index, the hub's key and
	// scratch space for merges.
	DataDir string
	// MembersFile lists the member orgs and their keys.
	MembersFile string
	// Now returns the time recorded on releases (time.Now if nil).
	Now func() time.Time
	// Backend holds the store's files (MinIO/S3, say); nil keeps them on
	// local disk in DataDir. The store's index and staging stay in DataDir.
	Backend store.Backend
	// Access adds bearer tokens to the signature checks (see Access).
	Access Access
	// Plaintext serves gRPC without TLS (loopback tests, or behind a
	// TLS-terminating proxy); otherwise TLS configures the listener.
	Plaintext bool
	TLS       TLSOptions
	// Screen bounds what an upload may hold (see Screening).
	Screen Screening
	// Limits bound what members can make the hub hold or do (see Limits).
	Limits Limits
	// Logger gets the hub's structured logs (slog.Default() if nil).
	Logger *slog.Logger
	// UploadTTL is how long an idle resumable upload session is kept
	// (DefaultUploadTTL if zero); expired sessions are reclaimed at start
	// and every UploadReapEvery (UploadTTL/24, at least a second, if zero).
	UploadTTL       time.Duration
	UploadReapEvery time.Duration
	// MergeWorkers is how many merge jobs run at once
	// (DefaultMergeWorkers if zero); the others wait, queued.
	MergeWorkers int
	// Maintenance opens the data folder for an operator's offline work
	// (potluck store gc, unpin): no members file is read, no key logged,
	// no merge job run (the queued ones wait for the hub), no TLS loaded.
	Maintenance bool
	// Holder is what this process is, as told to another that finds the
	// data folder held (HolderHub if empty).
	Holder string
	// MergeProgress, when set, is called on a merge job's worker with each
	// progress report (tensors done of total, (0, total) first); ctx is the
	// job's, done when the job is cancelled or the hub closes. For tests
	// and instrumentation: it must return promptly.
	MergeProgress func(ctx context.Context, job string, done, total int)
}

// Hub is the consortium's hub, transport aside.
type Hub struct {
	opts     Options
	store    *store.Store
	releases *releases
	members  atomic.Pointer[Members] // replaced whole by ReloadMembers
	reloadMu sync.Mutex              // one reload at a time
	key      *signing.Signer
	log      *translog.Log
	recordMu sync.Mutex // one release logged and recorded at a time
	tls      *TLS       // nil when plaintext
	metrics  *metrics
	logger   *slog.Logger
	norms    sync.Map // "baseCID tensor" → float64: base norms, computed once
	uploads  *sessions
	stopReap context.CancelFunc
	jobs     *jobs
	jobsCtx  context.Context // parent of every job's context
	stopJobs context.CancelCauseFunc
	verdicts verdictQuota            // verdicts logged per org this hour (limits.go)
	fault    func(step string) error // tests: an error injected at a step of the commit path (intent.go)
	lock     *DataLock               // DATA/lock, held while open
}

// Open opens (creating on first start) the hub's data folder: the store,
// the release index and the hub's signing key, which signs merges. The
// folder is held until Close: another process that opens it is told which
// PID holds it (ErrDataHeld).
func Open(opts Options) (*Hub, error) {
	lock, err := LockData(opts.DataDir, cmp.Or(opts.Holder, HolderHub))
	if err != nil {
		return nil, err
	}
	h, err := open(opts)
	if err != nil {
		lock.Release()
		return nil, err
	}
	h.lock = lock
	return h, nil
}

func open(opts Options) (*Hub, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	members := &Members{}
	if !opts.Maintenance {
		var err error
		if members, err = LoadMembers(opts.MembersFile); err != nil {
			return nil, err
		}
		orgs, keys, tokens := members.Counts()
		opts.Logger.Info("members loaded", "file", opts.MembersFile, "orgs", orgs, "keys", keys, "tokens", tokens)
	}
	if err := os.MkdirAll(opts.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	key, err := loadOrCreateKey(opts.DataDir)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(filepath.Join(opts.DataDir, "store"), store.Options{Backend: opts.Backend})
	if err != nil {
		return nil, err
	}
	rs, err := openReleases(filepath.Join(opts.DataDir, "releases"))
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("hub: %w", err)
	}
	if err := os.RemoveAll(filepath.Join(opts.DataDir, "work")); err != nil {
		st.Close()
		return nil, fmt.Errorf("hub: clearing scratch space: %w", err)
	}
	lg, err := openLog(opts.DataDir)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("hub: transparency log: %w", err)
	}
	h := &Hub{opts: opts, store: st, releases: rs, key: key, log: lg, logger: opts.Logger}
	h.members.Store(members)
	if err := h.recoverIntents(); err != nil {
		st.Close()
		lg.Close()
		return nil, fmt.Errorf("hub: completing the releases a failure left half recorded: %w", err)
	}
	if err := h.repairRecords(context.Background()); err != nil {
		st.Close()
		lg.Close()
		return nil, fmt.Errorf("hub: rebuilding damaged release records: %w", err)
	}
	if err := h.reconcileYanks(); err != nil {
		st.Close()
		lg.Close()
		return nil, fmt.Errorf("hub: recording the logged yanks: %w", err)
	}
	h.metrics = newMetrics(h)
	if h.uploads, err = openSessions(filepath.Join(opts.DataDir, "uploads"), opts.UploadTTL, opts.Now); err != nil {
		st.Close()
		lg.Close()
		return nil, fmt.Errorf("hub: upload sessions: %w", err)
	}
	every := opts.UploadReapEvery
	if every <= 0 {
		every = max(h.uploads.ttl/24, time.Second)
	}
	var reapCtx context.Context
	reapCtx, h.stopReap = context.WithCancel(context.Background())
	go h.reap(reapCtx, every)
	if !opts.Plaintext && !opts.Maintenance {
		if h.tls, err = LoadTLS(opts.DataDir, opts.TLS); err != nil {
			h.Close()
			return nil, err
		}
	}
	if !opts.Maintenance {
		if _, err := h.syncKeys(members); err != nil {
			h.Close()
			return nil, fmt.Errorf("hub: logging member keys: %w", err)
		}
	}
	h.jobsCtx, h.stopJobs = context.WithCancelCause(context.Background())
	js, resume, err := openJobs(filepath.Join(opts.DataDir, "jobs"), opts.MergeWorkers, h.logger)
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("hub: merge jobs: %w", err)
	}
	h.jobs = js
	if opts.Maintenance {
		return h, nil
	}
	js.mu.Lock()
	for _, j := range resume {
		h.logger.Info("merge job resumed", "job", j.rec.ID)
		h.launch(j)
	}
	js.mu.Unlock()
	return h, nil
}

// loadOrCreateKey loads DATA/hub.key, generating it on first start.
func loadOrCreateKey(dir string) (*signing.Signer, error) {
	priv, pub := filepath.Join(dir, "hub.key"), filepath.Join(dir, "hub.pub")
	if _, err := os.Stat(priv); errors.Is(err, os.ErrNotExist) {
		if err := signing.GenerateKey(priv, pub); err != nil {
			return nil, fmt.Errorf("hub: generating the hub key: %w", err)
		}
	}
	s, err := signing.LoadSigner(priv)
	if err != nil {
		return nil, fmt.Errorf("hub: loading the hub key: %w", err)
	}
	return s, nil
}

// Close stops the merge jobs (the unfinished ones run again on the next
// Open), checkpoints the upload sessions and closes the store and the log.
func (h *Hub) Close() error {
	h.closeJobs()
	var err error
	if h.uploads != nil {
		h.stopReap()
		err = h.uploads.close()
	}
	err = errors.Join(err, h.store.Close(), h.log.Close())
	return errors.Join(err, h.lock.Release())
}

// Info is the hub's identity.
type Info struct {
	Version   string
	PublicKey *signing.PublicKey
	Members   []Member
	LogOrigin string // origin line of the log's checkpoints
	LogKey    string // signed-note verifier key of the log
	// TLSFingerprint is the hex SHA-256 of the gRPC listener's certificate,
	// empty when it is plaintext.
	TLSFingerprint string
}

// Info returns the hub's version, its merge-signing key and its members.
func (h *Hub) Info() Info {
	return Info{Version: potluck.Version, PublicKey: h.key.Public(), Members: h.members.Load().Orgs(),
		LogOrigin: h.log.Origin(), LogKey: h.log.VerifierKey(), TLSFingerprint: h.TLS().fingerprint()}
}

// TLS returns the gRPC listener's TLS configuration, nil when plaintext.
func (h *Hub) TLS() *TLS { return h.tls }

func (t *TLS) fingerprint() string {
	if t == nil {
		return ""
	}
	return t.Fingerprint
}

// Release returns one release.
func (h *Hub) Release(_ context.Context, c string) (*potluck.Release, error) {
	return h.releases.get(c)
}

// List returns releases of a kind and base ("" for any), oldest first.
func (h *Hub) List(_ context.Context, kind potluck.Kind, base string) ([]*potluck.Release, error) {
	return h.releases.list(kind, base)
}
