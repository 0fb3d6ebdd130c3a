package hub

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/store"
)

// Resumable uploads. A session lives in DATA/uploads/<id>/:
//
//	session.json  the declared upload (kind, files, bundle, base) and the
//	              org of the caller that opened it; written once
//	state.json    bytes held of each file, last activity, and once
//	              committed the release's CID; replaced atomically
//	<i>.part      the bytes of file i received so far
//
// state.json only ever claims bytes already fsynced to the part files (it
// is written after syncing them: every checkpointBytes, in the background
// while later chunks are written, and when a file is complete or a stream
// ends), so after a crash the hub truncates each part to what the state
// claims and the client resends the rest. Each part is hashed as its bytes
// arrive (a store.Hasher per file, in memory: the session takes a file's
// bytes in order only), and at commit the store adopts each complete part
// as it is (store.AddFile: a hard link, no copy), so a commit reads no byte
// to stage them. A hasher lost to a restart is not rebuilt: that part is
// hashed in place at commit, one read.

// ErrOutOfOrder reports a chunk past the bytes a session holds: the client
// should ask where to resume.
var ErrOutOfOrder = errors.New("hub: chunk out of order")

// ErrIncomplete reports a commit of a session still missing bytes.
var ErrIncomplete = errors.New("hub: upload incomplete")

// DefaultUploadTTL is how long an idle upload session is kept.
const DefaultUploadTTL = 24 * time.Hour

// checkpointBytes is how many bytes a session receives between syncs of its
// progress.
const checkpointBytes = 32 << 20

type sessionMeta struct {
	Kind    potluck.Kind `json:"kind"`
	Files   []UploadFile `json:"files"`
	Bundle  []byte       `json:"bundle"`
	Base    string       `json:"base,omitempty"`
	Caller  string       `json:"caller,omitempty"` // org of the token that opened it
	Created time.Time    `json:"created"`
}

type sessionState struct {
	Received []int64   `json:"received"`
	Touched  time.Time `json:"touched"`
	Release  string    `json:"release,omitempty"`
}

// session is an open upload. mu guards everything below it; one chunk or
// one commit holds it at a time.
type session struct {
	id   string
	dir  string
	meta sessionMeta

	mu       sync.Mutex
	state    sessionState
	parts    []*os.File
	hashers  []*partHasher // each part's bytes so far; nil once out of step
	unsynced int64
	// A checkpoint syncing in the background (write starts one): syncing
	// is set while it runs, and its error, read once flight is waited
	// for, fails the next write or checkpoint.
	flight    sync.WaitGroup
	syncing   atomic.Bool
	flightErr error
	gone      bool // expired, rejected or the hub closed
	// committed is set once the session's release is recorded: it no
	// longer counts against Limits.
	committed atomic.Bool
}

// sessions are the hub's open uploads, loaded from disk on first use.
type sessions struct {
	dir string
	ttl time.Duration
	now func() time.Time

	mu   sync.Mutex
	open map[string]*session
}

func openSessions(dir string, ttl time.Duration, now func() time.Time) (*sessions, error) {
	if ttl <= 0 {
		ttl = DefaultUploadTTL
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	ss := &sessions{dir: dir, ttl: ttl, now: now, open: map[string]*session{}}
	_, err := ss.expire(true)
	return ss, err
}

func (ss *sessions) create(up Upload, caller string, lim Limits) (*session, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	id := hex.EncodeToString(b)
	now := ss.now().UTC()
	s := &session{id: id, dir: filepath.Join(ss.dir, id),
		meta:  sessionMeta{Kind: up.Kind, Files: up.Files, Bundle: up.Bundle, Base: up.Base, Caller: caller, Created: now},
		state: sessionState{Received: make([]int64, len(up.Files)), Touched: now}}
	// Built under a temporary name and renamed: a session exists whole or not at all.
	tmp := filepath.Join(ss.dir, ".new-"+id)
	err := os.Mkdir(tmp, 0o755)
	if err == nil {
		err = writeFileJSON(filepath.Join(tmp, "session.json"), s.meta)
	}
	if err == nil {
		err = writeFileJSON(filepath.Join(tmp, "state.json"), s.state)
	}
	ss.mu.Lock() // so get never loads it half-known
	defer ss.mu.Unlock()
	if err == nil {
		if err = ss.checkLimits(caller, lim); err != nil {
			os.RemoveAll(tmp)
			return nil, err
		}
		err = os.Rename(tmp, s.dir)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("hub: opening an upload session: %w", err)
	}
	ss.open[id] = s
	return s, nil
}

// checkLimits counts the sessions open (not committed), all and caller's,
// against lim; the caller holds ss.mu.
func (ss *sessions) checkLimits(caller string, lim Limits) error {
	all, ofOrg := 0, 0
	for _, s := range ss.open {
		if !s.committed.Load() {
			all++
			if s.meta.Caller == caller {
				ofOrg++
			}
		}
	}
	return lim.checkSessions(caller, all, ofOrg)
}

// get returns an open session, loading it from disk after a restart.
func (ss *sessions) get(id string) (*session, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if s, ok := ss.open[id]; ok {
		return s, nil
	}
	if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		return nil, fmt.Errorf("%w: upload session %q", ErrNotFound, id)
	}
	s := &session{id: id, dir: filepath.Join(ss.dir, id)}
	if err := readFileJSON(filepath.Join(s.dir, "session.json"), &s.meta); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: upload session %s (expired, or never opened)", ErrNotFound, id)
		}
		return nil, fmt.Errorf("hub: upload session %s: %w", id, err)
	}
	if err := readFileJSON(filepath.Join(s.dir, "state.json"), &s.state); err != nil || len(s.state.Received) != len(s.meta.Files) {
		return nil, fmt.Errorf("hub: upload session %s: state: %v", id, err)
	}
	// Bytes past the last checkpoint may be torn: drop them, the client resends.
	for i, n := range s.state.Received {
		if err := truncatePart(s.part(i), n); err != nil {
			return nil, fmt.Errorf("hub: upload session %s: %w", id, err)
		}
	}
	s.committed.Store(s.state.Release != "")
	ss.open[id] = s
	return s, nil
}

// expire removes sessions idle longer than the TTL, and at start the
// leftovers of sessions never fully created, returning how many it removed.
func (ss *sessions) expire(atStart bool) (int, error) {
	ents, err := os.ReadDir(ss.dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".new-") {
			if atStart {
				os.RemoveAll(filepath.Join(ss.dir, name))
			}
			continue
		}
		s, err := ss.get(name)
		if err != nil { // unreadable: nothing can resume it
			os.RemoveAll(filepath.Join(ss.dir, name))
			n++
			continue
		}
		s.mu.Lock()
		if ss.now().Sub(s.state.Touched) > ss.ttl {
			ss.drop(s)
			n++
		}
		s.mu.Unlock()
	}
	return n, nil
}

// drop removes a session; the caller holds s.mu.
func (ss *sessions) drop(s *session) {
	ss.mu.Lock()
	delete(ss.open, s.id)
	ss.mu.Unlock()
	s.closeParts()
	s.gone = true
	os.RemoveAll(s.dir)
}

// close checkpoints every open session; later chunks are refused.
func (ss *sessions) close() error {
	ss.mu.Lock()
	open := make([]*session, 0, len(ss.open))
	for _, s := range ss.open {
		open = append(open, s)
	}
	ss.open = map[string]*session{}
	ss.mu.Unlock()
	var errs []error
	for _, s := range open {
		s.mu.Lock()
		if !s.gone {
			errs = append(errs, s.checkpoint(time.Now()))
			s.closeParts()
			s.gone = true
		}
		s.mu.Unlock()
	}
	return errors.Join(errs...)
}

func (s *session) part(i int) string { return filepath.Join(s.dir, fmt.Sprintf("%d.part", i)) }

// write stores a chunk: the part of it past what the session holds. A chunk
// wholly held already is ignored (a resent tail); one past it is refused.
func (s *session) write(c Chunk, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone {
		return fmt.Errorf("%w: upload session %s is closed", ErrOutOfOrder, s.id)
	}
	if c.File < 0 || c.File >= len(s.meta.Files) || len(c.Data) > MaxChunk || c.Offset < 0 {
		return fmt.Errorf("%w: chunk for file %d (of %d) with %d bytes (at most %d)", ErrRejected, c.File, len(s.meta.Files), len(c.Data), MaxChunk)
	}
	f, held := s.meta.Files[c.File], s.state.Received[c.File]
	end := c.Offset + int64(len(c.Data))
	if end > f.Size {
		return fmt.Errorf("%w: chunk for file %q ends at %d, past its declared %d bytes", ErrRejected, f.Path, end, f.Size)
	}
	if c.Offset > held {
		return fmt.Errorf("%w: chunk for file %q at %d, the hub holds %d bytes of it", ErrOutOfOrder, f.Path, c.Offset, held)
	}
	if end <= held {
		return nil
	}
	pf, err := s.openPart(c.File)
	if err != nil {
		return err
	}
	if _, err := pf.WriteAt(c.Data[held-c.Offset:], held); err != nil {
		return fmt.Errorf("hub: upload session %s: %w", s.id, err)
	}
	s.hash(c.File, held, c.Data[held-c.Offset:])
	s.state.Received[c.File] = end
	s.unsynced += end - held
	switch {
	case end == f.Size, s.unsynced >= maxUnsynced:
		return s.checkpoint(now)
	case s.unsynced >= checkpointBytes && !s.syncing.Load():
		return s.checkpointBehind(now)
	}
	return nil
}

// maxUnsynced is how far the bytes received may run ahead of the last
// checkpoint while one syncs in the background before a chunk waits for it.
const maxUnsynced = 4 * checkpointBytes

// checkpointBehind starts a checkpoint of what the session holds now that
// syncs in the background while later chunks are written: the disk works
// while the network sends. The caller holds s.mu; no checkpoint is in
// flight.
func (s *session) checkpointBehind(now time.Time) error {
	if err := s.landed(); err != nil {
		return err
	}
	s.unsynced = 0
	s.state.Touched = now.UTC()
	st := s.state
	st.Received = slices.Clone(s.state.Received)
	parts := slices.Clone(s.parts)
	s.syncing.Store(true)
	s.flight.Add(1)
	go func() {
		defer s.flight.Done()
		defer s.syncing.Store(false)
		s.flightErr = s.record(parts, st)
	}()
	return nil
}

// landed waits for a checkpoint in flight and returns its error; the
// caller holds s.mu.
func (s *session) landed() error {
	s.flight.Wait()
	err := s.flightErr
	s.flightErr = nil
	return err
}

// record syncs parts, then writes st as the session's state.
func (s *session) record(parts []*os.File, st sessionState) error {
	for _, f := range parts {
		if f != nil {
			if err := f.Sync(); err != nil {
				return fmt.Errorf("hub: upload session %s: %w", s.id, err)
			}
		}
	}
	return writeFileJSON(filepath.Join(s.dir, "state.json"), st)
}

// hash feeds part i's hasher the bytes just written at held, starting one
// for a part's first bytes; a part whose hasher is missing (a restart) or
// out of step gets none, and is hashed in place at commit. The caller
// holds s.mu, and data is not touched again once written.
func (s *session) hash(i int, held int64, data []byte) {
	if s.hashers == nil {
		s.hashers = make([]*partHasher, len(s.meta.Files))
	}
	h := s.hashers[i]
	if h == nil && held == 0 {
		h = &partHasher{h: store.NewHasher()}
	}
	if h == nil || h.queued != held {
		s.hashers[i] = nil
		return
	}
	h.add(data)
	s.hashers[i] = h
}

// partHasher hashes a part's chunks in order, each on a goroutine of its
// own while the session goes on to receive and write the next: the hub's
// hashing (both digests, about as long as the chunk's receiving and
// writing together) runs beside them instead of after. One chunk at a
// time is in flight, so memory stays at two chunks.
type partHasher struct {
	h       *store.Hasher
	queued  int64         // bytes handed over: hashed, or in flight
	pending chan struct{} // closed once the chunk in flight is hashed; nil when none
}

// add hashes b once the chunk before it is hashed.
func (p *partHasher) add(b []byte) {
	p.wait()
	done := make(chan struct{})
	p.pending = done
	p.queued += int64(len(b))
	go func() {
		p.h.Write(b)
		close(done)
	}()
}

// hasher waits for the chunk in flight and returns the hasher of every
// byte handed over.
func (p *partHasher) hasher() *store.Hasher {
	p.wait()
	return p.h
}

func (p *partHasher) wait() {
	if p.pending != nil {
		<-p.pending
		p.pending = nil
	}
}

// complete returns the path of part i, holding exactly the size bytes
// declared (an empty file's part is made here), and its hasher if it has
// one in step; the caller holds s.mu and has checked that every byte came.
func (s *session) complete(i int, size int64) (string, *store.Hasher, error) {
	p := s.part(i)
	if size == 0 {
		if f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE, 0o644); err == nil {
			f.Close()
		}
	}
	if err := truncatePart(p, size); err != nil {
		return "", nil, fmt.Errorf("hub: upload session %s: %w", s.id, err)
	}
	var h *store.Hasher
	if s.hashers != nil && s.hashers[i] != nil {
		h = s.hashers[i].hasher()
	}
	return p, h, nil
}

// truncatePart cuts the part file p to n bytes if it holds more (a part
// never written is taken as empty). One of the right size is left alone:
// a committed part is shared, read-only, with the store's file.
func truncatePart(p string, n int64) error {
	fi, err := os.Stat(p)
	if errors.Is(err, os.ErrNotExist) && n == 0 {
		return nil
	}
	if err != nil || fi.Size() == n {
		return err
	}
	return os.Truncate(p, n)
}

func (s *session) openPart(i int) (*os.File, error) {
	if s.parts == nil {
		s.parts = make([]*os.File, len(s.meta.Files))
	}
	if s.parts[i] == nil {
		f, err := os.OpenFile(s.part(i), os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("hub: upload session %s: %w", s.id, err)
		}
		s.parts[i] = f
	}
	return s.parts[i], nil
}

// checkpoint syncs the parts, then records what they hold, after any
// checkpoint in flight; the caller holds s.mu.
func (s *session) checkpoint(now time.Time) error {
	if err := s.landed(); err != nil {
		return err
	}
	s.unsynced = 0
	s.state.Touched = now.UTC()
	return s.record(s.parts, s.state)
}

// closeParts closes the part files once no checkpoint syncs them; the
// caller holds s.mu.
func (s *session) closeParts() {
	s.flight.Wait()
	for i, f := range s.parts {
		if f != nil {
			f.Close()
			s.parts[i] = nil
		}
	}
}

// pause checkpoints a session when a stream into it ends.
func (s *session) pause(now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone {
		return nil
	}
	err := s.checkpoint(now)
	s.closeParts()
	return err
}

// reap expires idle sessions every interval until ctx ends.
func (h *Hub) reap(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := h.uploads.expire(false); err != nil {
				h.logger.Warn("expiring upload sessions", "error", err)
			} else if n > 0 {
				h.logger.Info("upload sessions expired", "count", n)
			}
		}
	}
}

// writeFileJSON replaces path with v's JSON, durably: a temporary file, synced,
// then renamed over it.
func writeFileJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if err = errors.Join(err, f.Close()); err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

func readFileJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
