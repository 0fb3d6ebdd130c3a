package hub_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/hub"
)

// TestReloadMembers: the operator has the hub re-read its members file; a
// rotated token works at once, the old one stops, a new key is logged, and
// a broken file is refused with the members in force kept.
func TestReloadMembers(t *testing.T) {
	ctx := context.Background()
	t.Run("RotatesTokensAndLogsKeys", func(t *testing.T) {
		hs, tokA, tokB, tokOp := tokenHarness(t, hub.Access{RequireToken: true})
		newB, err := hub.NewToken()
		if err != nil {
			t.Fatal(err)
		}
		members := fmt.Sprintf("orgs:\n  - name: %s\n    keys:\n      - file: a.pub\n    tokens: [%s]\n"+
			"  - name: %s\n    keys:\n      - file: b.pub\n      - file: x.pub\n    tokens: [%s]\n  - name: ops\n    role: operator\n    tokens: [%s]\n",
			orgA, hub.HashToken(tokA), orgB, hub.HashToken(newB), hub.HashToken(tokOp))
		if err := os.WriteFile(hs.members, []byte(members), 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := hs.as(tokOp).ReloadMembers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if r.Orgs != 3 || r.Keys != 3 || r.Tokens != 3 || len(r.KeyChanges) != 1 {
			t.Fatalf("reload: %+v, want 3 orgs, 3 keys, 3 tokens and one key change", r)
		}
		if c := r.KeyChanges[0]; c.Action != string(potluck.KeyAdd) || c.Key != hs.pubX.Hint() || c.Org != orgB {
			t.Fatalf("key change %+v, want x's key added to %s", c, orgB)
		}
		entries := hs.logEntries()
		if e, ok := entries[r.KeyChanges[0].LogIndex].(*potluck.KeyEntry); !ok || e.Key != hs.pubX.Hint() || e.Action != potluck.KeyAdd {
			t.Fatalf("log entry %d: %+v, want x's key added", r.KeyChanges[0].LogIndex, entries[r.KeyChanges[0].LogIndex])
		}
		hs.expectRefused(t, codes.Unauthenticated, []string{"the token is no member's"}, func() error {
			_, err := hs.as(tokB).MergeJobs(ctx)
			return err
		})
		if _, err := hs.as(newB).MergeJobs(ctx); err != nil {
			t.Fatalf("lab-b's new token: %v", err)
		}
	})
	t.Run("BrokenFileKeepsMembers", func(t *testing.T) {
		hs, tokA, _, tokOp := tokenHarness(t, hub.Access{RequireToken: true})
		if err := os.WriteFile(hs.members, []byte("orgs:\n  - name: lab-a\n    token: []\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		hs.expectRefused(t, codes.FailedPrecondition, []string{`line 3: org "lab-a": unknown field "token" (want name, role, keys or tokens)`}, func() error {
			_, err := hs.as(tokOp).ReloadMembers(ctx)
			return err
		})
		if _, err := hs.as(tokA).MergeJobs(ctx); err != nil {
			t.Fatalf("lab-a's token after a refused reload: %v", err)
		}
	})
	t.Run("OperatorsOnly", func(t *testing.T) {
		hs, tokA, _, _ := tokenHarness(t, hub.Access{RequireToken: true})
		hs.expectRefused(t, codes.PermissionDenied, []string{`org "lab-a" is a publisher; this call needs the operator role`}, func() error {
			_, err := hs.as(tokA).ReloadMembers(ctx)
			return err
		})
	})
}

// TestListMergeJobs: the operator sees every org's jobs, a member its own,
// each with the org that started it.
func TestListMergeJobs(t *testing.T) {
	ctx := context.Background()
	s := newYankSetup(t)
	j, err := s.b.StartMerge(ctx, recipe(s.base.CID, []string{s.delta.CID}, []float64{1}))
	if err != nil {
		t.Fatal(err)
	}
	all, err := s.op.MergeJobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].ID != j.ID || all[0].Org != orgB || all[0].Created.IsZero() {
		t.Fatalf("the operator's list: %+v, want job %s by %s", all, j.ID, orgB)
	}
	if mine, err := s.a.MergeJobs(ctx); err != nil || len(mine) != 0 {
		t.Fatalf("lab-a's list: %v, %v; want none (lab-b started the only job)", mine, err)
	}
	if mine, err := s.b.MergeJobs(ctx); err != nil || len(mine) != 1 {
		t.Fatalf("lab-b's list: %v, %v; want its job", mine, err)
	}
}

// TestDataFolderHeld: a second hub on a running hub's data folder is told
// which process holds it.
func TestDataFolderHeld(t *testing.T) {
	hs := newHarness(t)
	_, err := hub.Open(hub.Options{DataDir: hs.data, MembersFile: hs.members})
	abs, _ := filepath.Abs(hs.data)
	want := "hub: data folder in use: the hub at PID " + strconv.Itoa(os.Getpid()) + " holds " + abs + "; stop it first"
	if err == nil || err.Error() != want {
		t.Fatalf("second hub: %v\nwant %s", err, want)
	}
	hs.stop()
	h, err := hub.Open(hub.Options{DataDir: hs.data, Maintenance: true, Holder: "potluck store gc"})
	if err != nil {
		t.Fatalf("after the hub stopped: %v", err)
	}
	_, err = hub.Open(hub.Options{DataDir: hs.data, MembersFile: hs.members})
	want = "hub: data folder in use: potluck store gc at PID " + strconv.Itoa(os.Getpid()) + " holds " + abs + "; let it finish or stop it first"
	if err == nil || err.Error() != want {
		t.Fatalf("hub during gc: %v\nwant %s", err, want)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestMaintenanceRunsNoMergeJob: a hub opened for offline work (store gc)
// leaves a queued merge job queued, for the serving hub to run.
func TestMaintenanceRunsNoMergeJob(t *testing.T) {
	js := newJobSetup(t, 1)
	hs, ctx := js.hs, context.Background()
	started, fn := blockFirst(make(chan struct{})) // released when the hub closes
	js.hook.set(fn)
	job, err := hs.client.StartMerge(ctx, js.recipe(1))
	if err != nil {
		t.Fatal(err)
	}
	within(t, started, "the job to start")
	hs.stop() // the job is left queued on disk
	var ran atomic.Bool
	h, err := hub.Open(hub.Options{DataDir: hs.data, Maintenance: true, Holder: "potluck store gc",
		MergeProgress: func(context.Context, string, int, int) { ran.Store(true) }})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // what a worker would need to start it
	j, err := h.MergeJob(ctx, job.ID)
	if err != nil || j.State != potluck.JobQueued || ran.Load() {
		t.Errorf("job under maintenance: %+v, %v, ran %v; want it queued, not run", j, err, ran.Load())
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
}
