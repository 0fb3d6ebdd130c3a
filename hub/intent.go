package hub

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/potluck-hub/potluck"
)

// Recording a release takes two writes, its log entry and its record in
// the index; a failure or a crash between them must not leave a logged
// release that is never served, nor a retry that logs it twice. So the
// hub first writes an intent (DATA/intents/CID.json): the release as it
// will be recorded and the log's size before its entry. Whoever finds an
// intent (a retry of the same release, or Open after a crash) looks for
// its entry in the log from that size on: if it is there, the record is
// written with that entry's receipt; if not, nothing was logged and the
// intent is dropped.

// intent is the write-ahead record of a release being recorded.
type intent struct {
	Release *potluck.Release `json:"release"` // as it is logged and recorded, less its receipt
	Inputs  []string         `json:"inputs,omitempty"`
	LogFrom int64            `json:"log_from"` // the log's size before the entry
}

// Steps of the commit path at which a test can inject a fault
// (Hub.fault): before each write, and after the log's append.
const (
	stepIntent   = "intent"   // writing the intent
	stepLog      = "log"      // appending the entry
	stepLogged   = "logged"   // the entry appended, nothing more
	stepRecord   = "record"   // writing the release record
	stepRecorded = "recorded" // the record written, the intent not yet removed
)

// faultAt returns the error a test injected at step, or nil.
func (h *Hub) faultAt(step string) error {
	if h.fault == nil {
		return nil
	}
	return h.fault(step)
}

func (h *Hub) intentPath(c string) string {
	return filepath.Join(h.opts.DataDir, "intents", c+".json")
}

// record logs a new release and records it with its receipt; a release
// already held is returned as it is, with no second entry. See intent.
func (h *Hub) record(r *potluck.Release, inputs []string) (*potluck.Release, error) {
	h.recordMu.Lock()
	defer h.recordMu.Unlock()
	if old, err := h.releases.get(r.CID); err == nil {
		h.dropIntent(r.CID) // if the last try stopped short of it
		return h.restoreBundle(old, r.Bundle), nil
	}
	if old, err := h.readIntent(r.CID); err == nil {
		if done, err := h.complete(old); err != nil || done != nil {
			return done, err // the earlier try's entry, recorded now
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	in := &intent{Release: r, Inputs: inputs, LogFrom: h.log.Size()}
	if err := h.writeIntent(in); err != nil {
		return nil, fmt.Errorf("hub: release %s: writing its intent: %w", r.CID, err)
	}
	if err := h.faultAt(stepLog); err != nil {
		return nil, err
	}
	rec, err := h.logRelease(r, inputs)
	if err == nil {
		err = h.faultAt(stepLogged)
	}
	if err != nil {
		return nil, fmt.Errorf("hub: release %s: logging it: %w (a retry completes or redoes it)", r.CID, err)
	}
	r.Receipt = rec
	return h.finish(in)
}

// complete finishes the intent of a release whose entry is in the log,
// returning the recorded release; nil when the log has no entry for it.
func (h *Hub) complete(in *intent) (*potluck.Release, error) {
	c := in.Release.CID
	for i := max(in.LogFrom, 0); i < h.log.Size(); i++ {
		b, err := h.log.Entry(i)
		if err != nil {
			return nil, fmt.Errorf("hub: release %s: reading log entry %d: %w", c, i, err)
		}
		if e, err := potluck.ParseEntry(b); err != nil || !isReleaseEntry(e, c) {
			continue
		}
		inc, err := h.log.Prove(i)
		if err != nil {
			return nil, fmt.Errorf("hub: release %s: proving log entry %d: %w", c, i, err)
		}
		in.Release.Receipt = receiptOf(inc, b)
		return h.finish(in)
	}
	return nil, nil
}

func isReleaseEntry(e potluck.Entry, c string) bool {
	re, ok := e.(*potluck.ReleaseEntry)
	return ok && re.Release == c
}

// finish records a logged release and drops its intent.
func (h *Hub) finish(in *intent) (*potluck.Release, error) {
	c := in.Release.CID
	if err := h.faultAt(stepRecord); err != nil {
		return nil, err
	}
	r, err := h.releases.put(in.Release)
	if err == nil {
		err = h.faultAt(stepRecorded)
	}
	if err != nil {
		return nil, fmt.Errorf("hub: release %s: logged, but recording it failed (a retry or the next start records it): %w", c, err)
	}
	h.dropIntent(c)
	return r, nil
}

// dropIntent removes a recorded release's intent, if any.
func (h *Hub) dropIntent(c string) {
	if err := os.Remove(h.intentPath(c)); err != nil && !errors.Is(err, os.ErrNotExist) {
		h.logger.Warn("release recorded, its intent not removed", "release", c, "err", err)
	}
}

func (h *Hub) writeIntent(in *intent) error {
	if err := h.faultAt(stepIntent); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(h.intentPath(in.Release.CID)), 0o755); err != nil {
		return err
	}
	return writeFileJSON(h.intentPath(in.Release.CID), in)
}

func (h *Hub) readIntent(c string) (*intent, error) {
	var in intent
	if err := readFileJSON(h.intentPath(c), &in); err != nil {
		return nil, err
	}
	if in.Release == nil || in.Release.CID != c {
		return nil, fmt.Errorf("hub: intent %s: damaged", c)
	}
	return &in, nil
}

// recoverIntents completes or drops, on Open, every intent a failure or a
// crash left: logged releases are recorded, the others forgotten (their
// publishers were told the commit failed).
func (h *Hub) recoverIntents() error {
	dir := filepath.Join(h.opts.DataDir, "intents")
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		c, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			os.Remove(filepath.Join(dir, e.Name())) // a temporary file of a write cut short
			continue
		}
		if err := h.recoverIntent(c); err != nil {
			return err
		}
	}
	return nil
}

func (h *Hub) recoverIntent(c string) error {
	in, err := h.readIntent(c)
	if err == nil {
		if _, gerr := h.releases.get(c); gerr != nil {
			done, err := h.complete(in)
			if err != nil {
				return err
			}
			if done != nil {
				h.logger.Info("logged release recorded", "release", c, "log_index", done.Receipt.Index)
				return nil
			}
			h.logger.Info("unlogged release dropped", "release", c)
		}
	} else {
		h.logger.Warn("damaged intent dropped (its release was never logged whole)", "release", c, "err", err)
	}
	return os.Remove(h.intentPath(c))
}
