package hub_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/hub"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
)

// A release's log entry and its record move together: whatever write of
// the commit path fails, and whether the hub then goes on or restarts,
// every logged release is served, every served release is logged, and no
// release is logged twice.

// loggedReleases maps each release the log names to its entries' indexes.
func (hs *harness) loggedReleases() map[string][]int64 {
	hs.t.Helper()
	out := map[string][]int64{}
	for start := int64(0); ; {
		resp, err := hs.raw.GetEntries(context.Background(), &hubv1.GetEntriesRequest{Start: start, Count: 1000})
		if err != nil || len(resp.Entries) == 0 {
			return out // past the end
		}
		for _, b := range resp.Entries {
			if e, err := potluck.ParseEntry(b); err == nil {
				if re, ok := e.(*potluck.ReleaseEntry); ok {
					out[re.Release] = append(out[re.Release], start)
				}
			}
			start++
		}
	}
}

// checkLedger asserts the log and the release index agree, and returns
// the releases listed.
func (hs *harness) checkLedger() map[string]bool {
	t := hs.t
	t.Helper()
	logged := hs.loggedReleases()
	listed := map[string]bool{}
	for _, c := range hs.mustList() {
		listed[c] = true
		if len(logged[c]) == 0 {
			t.Errorf("release %s is listed but not logged", c)
		}
	}
	for c, idx := range logged {
		if len(idx) != 1 {
			t.Errorf("release %s is logged %d times: entries %v", c, len(idx), idx)
		}
		if !listed[c] {
			t.Errorf("release %s is logged (entry %v) but not listed", c, idx)
			continue
		}
		r, err := hs.h.Release(context.Background(), c)
		if err != nil {
			t.Errorf("release %s: %v", c, err)
		} else if r.Receipt == nil || r.Receipt.Index != idx[0] {
			t.Errorf("release %s: receipt %+v, want log entry %d", c, r.Receipt, idx[0])
		}
	}
	return listed
}

var errInjected = errors.New("injected fault")

// Every step of the commit path fails once, on a base's registration; the
// hub then restarts, or goes on, and the same registration is tried again.
func TestRecordFaultAtEveryStep(t *testing.T) {
	for _, step := range []string{"intent", "log", "logged", "record", "recorded"} {
		for _, restart := range []bool{true, false} {
			name := step + "/Retry"
			if restart {
				name = step + "/Restart"
			}
			t.Run(name, func(t *testing.T) {
				hs := newHarness(t)
				m := writeModels(t, hs.dir)
				want := dirCID(t, m.base)
				hub.SetFault(hs.h, func(s string) error {
					if s == step {
						return errInjected
					}
					return nil
				})
				if _, err := hs.registerBase(m.base, hs.keyA); err == nil {
					t.Fatalf("registered with a fault at step %q", step)
				}
				hub.SetFault(hs.h, nil)
				if restart {
					hs.stop()
					hs.start()
					// Once the entry is logged, the restart records the
					// release; before, it forgets it.
					listed := hs.checkLedger()
					if logged := step == "logged" || step == "record" || step == "recorded"; listed[want] != logged {
						t.Errorf("after the restart, release listed %v; want %v (fault at %q)", listed[want], logged, step)
					}
				}
				r, err := hs.registerBase(m.base, hs.keyA)
				if err != nil {
					t.Fatalf("registering again: %v", err)
				}
				if r.CID != want {
					t.Errorf("registered %s, want %s", r.CID, want)
				}
				if listed := hs.checkLedger(); !listed[want] {
					t.Errorf("release %s not listed after registering it again", want)
				}
				if _, err := os.Stat(filepath.Join(hs.data, "intents", want+".json")); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("the intent of %s remains: %v", want, err)
				}
			})
		}
	}
}

// A real file system fault: a directory where the release's record goes,
// so writing the record fails after the entry is logged. A retry fails the
// same way but logs nothing more; once the obstacle is gone, the next try
// records the release with its one entry.
func TestRecordWriteFailsAfterLogging(t *testing.T) {
	hs := newHarness(t)
	m := writeModels(t, hs.dir)
	want := dirCID(t, m.base)
	obstacle := filepath.Join(hs.data, "releases", want+".json", "x")
	if err := os.MkdirAll(obstacle, 0o755); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := hs.registerBase(m.base, hs.keyA); err == nil {
			t.Fatal("registered over a directory in the way")
		}
	}
	if n := len(hs.loggedReleases()[want]); n != 1 {
		t.Errorf("after two failed tries, release %s is logged %d times; want once", want, n)
	}
	if err := os.RemoveAll(filepath.Dir(obstacle)); err != nil {
		t.Fatal(err)
	}
	hs.stop()
	hs.start()
	if listed := hs.checkLedger(); !listed[want] {
		t.Errorf("release %s not recorded after the restart", want)
	}
}
