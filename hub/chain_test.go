package hub_test

// Building on anything: deltas against a merge, merges of them, chains of
// any depth, over the harness's real hub and gRPC (harness_test.go).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/hub"
	"github.com/potluck-hub/potluck/internal/testmodel"
	"github.com/potluck-hub/potluck/merge"
	"github.com/potluck-hub/potluck/node"
	"github.com/potluck-hub/potluck/safetensors"
	"github.com/potluck-hub/potluck/signing"
)

// chain is the study group's loop, two rounds deep:
//
//	base ─┬─ dA (lab-a) ─┐
//	      └─ dB (lab-b) ─┴─ M1 ─┬─ dC (lab-a, trained from M1 as pulled, exact) ─┐
//	                            └─ dD (lab-b, trained from M1, its own layout) ─┴─ M2
type chain struct {
	base, dA, dB, m1, dC, dD, m2 *potluck.Release
	pulledM1                     string // M1 as `node pull` wrote it (model.sig, .potluck/)
	ftC, ftD                     string // the labs' fine-tunes of M1
	deltaC, deltaD               string // their delta directories
	trusted                      []*signing.PublicKey
}

// firstRound registers the base, publishes two labs' deltas, merges them
// into M1 and pulls M1.
func firstRound(t *testing.T, hs *harness) *chain {
	t.Helper()
	ctx := context.Background()
	m := writeModels(t, hs.dir)
	c := &chain{}
	var err error
	if c.base, err = hs.registerBase(m.base, hs.keyA); err != nil {
		t.Fatal(err)
	}
	c.dA = publishDelta(t, hs, m.base, m.ftA, "delta-a", hs.keyA, node.DeltaOptions{BaseCID: c.base.CID})
	c.dB = publishDelta(t, hs, m.base, m.ftB, "delta-b", hs.keyB, node.DeltaOptions{BaseCID: c.base.CID})
	if c.m1, err = hs.client.Merge(ctx, recipe(c.base.CID, []string{c.dA.CID, c.dB.CID}, []float64{1, 1})); err != nil {
		t.Fatal(err)
	}
	info, err := hs.client.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c.trusted = info.TrustedKeys()
	c.pulledM1 = filepath.Join(hs.dir, "pulled-m1")
	if _, err := hs.client.Pull(ctx, c.m1.CID, c.pulledM1, c.trusted, nil); err != nil {
		t.Fatal(err)
	}
	return c
}

// secondRound: both labs continue training from M1 as pulled and publish
// against the pulled folder (its CID computed from it); the hub merges
// their deltas into M2 over M1.
func (c *chain) secondRound(t *testing.T, hs *harness) {
	t.Helper()
	c.ftC, c.ftD = filepath.Join(hs.dir, "ft-c"), filepath.Join(hs.dir, "ft-d")
	if err := testmodel.Perturb(c.pulledM1, c.ftC, 30, 0.02); err != nil { // M1's own layout
		t.Fatal(err)
	}
	if err := testmodel.WriteFinetune(c.pulledM1, c.ftD, 31, 0.02); err != nil { // two shards: not M1's layout
		t.Fatal(err)
	}
	c.dC = publishDelta(t, hs, c.pulledM1, c.ftC, "delta-c", hs.keyA, node.DeltaOptions{Exact: true})
	c.dD = publishDelta(t, hs, c.pulledM1, c.ftD, "delta-d", hs.keyB, node.DeltaOptions{})
	c.deltaC, c.deltaD = filepath.Join(hs.dir, "delta-c"), filepath.Join(hs.dir, "delta-d")
	var err error
	if c.m2, err = hs.client.Merge(context.Background(), recipe(c.m1.CID, []string{c.dC.CID, c.dD.CID}, []float64{1, 1})); err != nil {
		t.Fatal(err)
	}
}

// publishDelta makes the delta of ft over baseDir (o's other options
// kept) into hs.dir/name, signs it with s and publishes it against the
// base its manifest names.
func publishDelta(t *testing.T, hs *harness, baseDir, ft, name string, s *signing.Signer, o node.DeltaOptions) *potluck.Release {
	t.Helper()
	o.BaseDir, o.FinetunedDir, o.OutDir = baseDir, ft, filepath.Join(hs.dir, name)
	man, err := node.MakeDelta(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	rel, err := hs.publish(o.OutDir, s, man.Base)
	if err != nil {
		t.Fatalf("publishing %s against %s: %v", name, man.Base, err)
	}
	return rel
}

func TestChain(t *testing.T) {
	hs := newHarness(t)
	ctx := context.Background()
	c := firstRound(t, hs)
	c.secondRound(t, hs)

	t.Run("PulledFolderNamesTheMerge", func(t *testing.T) {
		for _, r := range []*potluck.Release{c.dC, c.dD} {
			if r.Base != c.m1.CID || r.Kind != potluck.KindDelta {
				t.Errorf("%s: a %s of %s; want a delta of M1 %s", r.CID, r.Kind, r.Base, c.m1.CID)
			}
		}
	})

	t.Run("ParentsDescribeTheTree", func(t *testing.T) {
		want := map[string][]string{ // release → parents, base first
			c.base.CID: nil,
			c.dA.CID:   {c.base.CID}, c.dB.CID: {c.base.CID},
			c.m1.CID: {c.base.CID, c.dA.CID, c.dB.CID},
			c.dC.CID: {c.m1.CID}, c.dD.CID: {c.m1.CID},
			c.m2.CID: {c.m1.CID, c.dC.CID, c.dD.CID},
		}
		got := map[string][]string{}
		var walk func(cid string)
		walk = func(cid string) { // from M2, by GetRelease alone
			if _, seen := got[cid]; seen {
				return
			}
			r, err := hs.client.Release(ctx, cid)
			if err != nil {
				t.Fatal(err)
			}
			got[cid] = r.Parents()
			for _, p := range got[cid] {
				walk(p)
			}
		}
		walk(c.m2.CID)
		for cid, w := range want {
			if !slices.Equal(got[cid], w) {
				t.Errorf("release %s: parents %v, want %v", cid, got[cid], w)
			}
		}
		if len(got) != len(want) {
			t.Errorf("walking the parents from M2 reaches %d releases, want %d: %v", len(got), len(want), slices.Collect(maps.Keys(got)))
		}
		for _, m := range []*potluck.Release{c.m1, c.m2} {
			if m.Kind != potluck.KindMerge || m.Publisher != hub.HubOrg {
				t.Errorf("%s: %s by %s", m.CID, m.Kind, m.Publisher)
			}
		}
		listed := func(kind potluck.Kind, base string) []string {
			rs, err := hs.client.List(ctx, kind, base)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, r := range rs {
				out = append(out, r.CID)
			}
			slices.Sort(out)
			return out
		}
		sorted := func(s ...string) []string { return slices.Sorted(slices.Values(s)) }
		for _, l := range []struct {
			kind      potluck.Kind
			base      string
			want      []string
			what, was string
		}{
			{potluck.KindDelta, c.base.CID, sorted(c.dA.CID, c.dB.CID), "deltas of the base", ""},
			{potluck.KindDelta, c.m1.CID, sorted(c.dC.CID, c.dD.CID), "deltas of M1", ""},
			{potluck.KindMerge, c.base.CID, []string{c.m1.CID}, "merges over the base", ""},
			{potluck.KindMerge, c.m1.CID, []string{c.m2.CID}, "merges over M1", ""},
		} {
			if got := listed(l.kind, l.base); !slices.Equal(got, l.want) {
				t.Errorf("List(%s, %s): %v, want the %s %v", l.kind, l.base, got, l.what, l.want)
			}
		}
	})

	t.Run("RecomputeM1", func(t *testing.T) { recompute(t, hs, c.m1.CID, c.trusted) })
	t.Run("RecomputeM2", func(t *testing.T) { recompute(t, hs, c.m2.CID, c.trusted) })

	t.Run("ApplyRebuildsExactFinetune", func(t *testing.T) {
		// From what the hub serves: the delta and M1, pulled.
		out := applyPulled(t, hs, c, c.dC.CID)
		if _, err := testmodel.SameFiles(c.ftC, out); err != nil {
			t.Error(err)
		}
		if _, err := os.Stat(filepath.Join(c.deltaC, merge.LayoutDir)); !os.IsNotExist(err) {
			t.Errorf("the delta of a fine-tune in M1's layout carries %s/ (%v)", merge.LayoutDir, err)
		}
	})

	t.Run("ApplyRebuildsFinetuneLayout", func(t *testing.T) {
		// dD is in the weights' dtypes (not exact) and in its own layout:
		// the files come back as they were, the values within the bound.
		for _, p := range []string{merge.LayoutFile, merge.LayoutDir + "/" + safetensors.IndexName} {
			if _, err := os.Stat(filepath.Join(c.deltaD, filepath.FromSlash(p))); err != nil {
				t.Errorf("the delta of a fine-tune in its own layout lacks %s: %v", p, err)
			}
		}
		out := applyPulled(t, hs, c, c.dD.CID)
		want, got := treeFiles(t, c.ftD), treeFiles(t, out)
		if !slices.Equal(slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want))) {
			t.Fatalf("rebuilt files %v, the fine-tune's %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
		}
		for p, b := range want {
			if !strings.HasSuffix(p, ".safetensors") && !bytes.Equal(got[p], b) {
				t.Errorf("%s: rebuilt with other bytes than the fine-tune's", p)
			}
		}
		checkWithinULP(t, c.ftD, out, c.pulledM1)
	})
}

// recompute re-runs a hub merge from what the hub serves and requires the
// published CID.
func recompute(t *testing.T, hs *harness, cid string, trusted []*signing.PublicKey) {
	t.Helper()
	r, err := hs.client.Recompute(context.Background(), cid, t.TempDir(), trusted)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Match() {
		t.Errorf("recomputing %s gives %s", r.Published, r.Local)
	}
}

// applyPulled pulls a delta and its base and applies one to the other.
func applyPulled(t *testing.T, hs *harness, c *chain, delta string) string {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	p, err := hs.client.Pull(ctx, delta, filepath.Join(dir, "delta"), c.trusted, nil)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, "base")
	if _, err := hs.client.Pull(ctx, p.Release.Base, base, c.trusted, nil); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if _, err := node.Apply(ctx, node.ApplyOptions{DeltaDir: filepath.Join(dir, "delta"), BaseDir: base, OutDir: out}); err != nil {
		t.Fatal(err)
	}
	return out
}

// treeFiles reads every file under dir, by slash path.
func treeFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out, err := testmodel.ReadFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkWithinULP compares every float value of the rebuilt model with the
// fine-tune's: within one ulp (of the tensor's dtype) of the larger of the
// fine-tune's value and its delta over base. It logs how many are exact.
func checkWithinULP(t *testing.T, ftDir, outDir, baseDir string) {
	t.Helper()
	ft, out, base := readModel(t, ftDir), readModel(t, outDir), readModel(t, baseDir)
	var n, exact, bad int
	for name, w := range ft {
		g := out[name]
		if g.dtype != w.dtype || len(g.f) != len(w.f) {
			t.Errorf("%s: %s of %d values, the fine-tune's is %s of %d", name, g.dtype, len(g.f), w.dtype, len(w.f))
			continue
		}
		bits := 8
		if w.dtype == safetensors.F32 {
			bits = 24
		}
		for i, v := range w.f {
			n++
			if g.f[i] == v {
				exact++
				continue
			}
			bound := ulp(math.Max(math.Abs(v), math.Abs(v-base[name].f[i])), bits, -126-bits+1)
			if math.Abs(g.f[i]-v) > bound {
				if bad++; bad <= 5 {
					t.Errorf("%s[%d]: %v, the fine-tune has %v (bound %g)", name, i, g.f[i], v, bound)
				}
			}
		}
	}
	t.Logf("%d of %d float values come back exact from a delta in the weights' dtypes; the others within one ulp", exact, n)
}

// yankRecord marks a release yanked in the hub's release index, as the Yank
// call records it.
// The chain harness has no tokens, which the Yank RPC needs; yank_test.go
// yanks through the RPC and checks the same refusals end to end.
func yankRecord(t *testing.T, hs *harness, cid, org, reason string) {
	t.Helper()
	p := filepath.Join(hs.data, "releases", cid+".json")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var r potluck.Release
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	r.Yank = &potluck.Yank{Time: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), Org: org, Reason: reason, LogIndex: 99}
	if b, err = json.Marshal(&r); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestChainRefusals: what nothing may build on, and recipes that mix
// bases, are refused with messages that name the releases.
func TestChainRefusals(t *testing.T) {
	hs := newHarness(t)
	ctx := context.Background()
	c := firstRound(t, hs)
	ftC := filepath.Join(hs.dir, "ft-c")
	if err := testmodel.Perturb(c.pulledM1, ftC, 30, 0.02); err != nil {
		t.Fatal(err)
	}
	c.dC = publishDelta(t, hs, c.pulledM1, ftC, "delta-c", hs.keyA, node.DeltaOptions{})
	merged := func(base string, models ...string) error {
		_, err := hs.client.Merge(ctx, recipe(base, models, slices.Repeat([]float64{1}, len(models))))
		return err
	}
	// deltaOf makes a delta of ftC over M1 that names base as its base,
	// to be published by lab-a against base.
	n := 0
	deltaOf := func(t *testing.T, base string) func() error {
		n++
		dir := filepath.Join(hs.dir, fmt.Sprintf("delta-%d", n))
		makeDelta(t, c.pulledM1, ftC, dir, base)
		return func() error {
			_, err := hs.publish(dir, hs.keyA, base)
			return err
		}
	}

	t.Run("CrossBaseRecipe", func(t *testing.T) {
		hs.expectRefused(t, codes.InvalidArgument, []string{fmt.Sprintf(
			"merge: models[1] %s is a delta of base %s, models[0] of %s: every delta of a recipe must be against base_model %s",
			c.dA.CID, c.base.CID, c.m1.CID, c.m1.CID)}, func() error { return merged(c.m1.CID, c.dC.CID, c.dA.CID) })
		hs.expectRefused(t, codes.InvalidArgument, []string{fmt.Sprintf(
			"merge: models[1] %s is a delta of base %s, models[0] of %s: every delta of a recipe must be against base_model %s",
			c.dC.CID, c.m1.CID, c.base.CID, c.base.CID)}, func() error { return merged(c.base.CID, c.dA.CID, c.dC.CID) })
		hs.expectRefused(t, codes.InvalidArgument, []string{fmt.Sprintf(
			"merge: models[0] %s is a delta of base %s, not of base_model %s: every delta of a recipe must be against base_model",
			c.dA.CID, c.base.CID, c.m1.CID)}, func() error { return merged(c.m1.CID, c.dA.CID) })
	})

	t.Run("MergeAsAnInput", func(t *testing.T) {
		hs.expectRefused(t, codes.InvalidArgument, []string{fmt.Sprintf(
			"merge: models[0] %s is a merge, not a delta: a recipe's models are deltas of its base_model %s", c.m1.CID, c.base.CID)},
			func() error { return merged(c.base.CID, c.m1.CID) })
	})

	t.Run("DeltaAsBase", func(t *testing.T) {
		hs.expectRefused(t, codes.InvalidArgument, []string{fmt.Sprintf(
			"delta for base %s is a delta; build on a base or a merge (the delta's own base is %s)", c.dA.CID, c.base.CID)},
			deltaOf(t, c.dA.CID))
		hs.expectRefused(t, codes.InvalidArgument, []string{fmt.Sprintf(
			"merge: base_model %s is a delta; build on a base or a merge (the delta's own base is %s)", c.dA.CID, c.base.CID)},
			func() error { return merged(c.dA.CID, c.dC.CID) })
	})

	// A yank is for good: each of these yanks on a hub of its own.
	t.Run("YankedBase", func(t *testing.T) {
		hs := newHarness(t)
		c := firstRound(t, hs)
		yankRecord(t, hs, c.m1.CID, orgB, "trained on a withdrawn data set")
		want := fmt.Sprintf(`was yanked by %s on 2026-12-01T10:00:00Z ("trained on a withdrawn data set"): nothing new may build on it; use a release that is not withdrawn`, orgB)
		ftC := filepath.Join(hs.dir, "ft-c")
		if err := testmodel.Perturb(c.pulledM1, ftC, 30, 0.02); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(hs.dir, "delta-c")
		makeDelta(t, c.pulledM1, ftC, dir, c.m1.CID)
		hs.expectRefused(t, codes.InvalidArgument, []string{"delta for base " + c.m1.CID + " " + want}, func() error {
			_, err := hs.publish(dir, hs.keyA, c.m1.CID)
			return err
		})
		hs.expectRefused(t, codes.InvalidArgument, []string{"merge: base_model " + c.m1.CID + " " + want},
			func() error {
				_, err := hs.client.Merge(ctx, recipe(c.m1.CID, []string{c.dA.CID}, []float64{1}))
				return err
			})
	})

	t.Run("YankedInput", func(t *testing.T) {
		hs := newHarness(t)
		c := firstRound(t, hs)
		yankRecord(t, hs, c.dB.CID, orgB, "leaks its training data")
		hs.expectRefused(t, codes.InvalidArgument, []string{fmt.Sprintf(
			`merge: models[1] %s was yanked by %s on 2026-12-01T10:00:00Z ("leaks its training data"): nothing new may build on it; use a release that is not withdrawn`,
			c.dB.CID, orgB)}, func() error {
			_, err := hs.client.Merge(ctx, recipe(c.base.CID, []string{c.dA.CID, c.dB.CID}, []float64{1, 0.5}))
			return err
		})
		if _, err := hs.client.Merge(ctx, recipe(c.base.CID, []string{c.dA.CID}, []float64{0.5})); err != nil {
			t.Errorf("a merge without the yanked delta: %v", err)
		}
	})
}

// TestCachedRelease: a release named by CID is pulled into the cache once;
// later calls check the cached copy offline and use it; a tampered copy
// is pulled again; concurrent callers share one copy.
func TestCachedRelease(t *testing.T) {
	hs := newHarness(t)
	ctx := context.Background()
	_, base := hs.registeredBase(t)
	info, err := hs.client.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	trusted := info.TrustedKeys()

	t.Run("PulledOnceThenReused", func(t *testing.T) {
		cache := t.TempDir()
		dir, pulled, err := hs.client.Cached(ctx, cache, base.CID, trusted, nil)
		if err != nil || !pulled || dir != filepath.Join(cache, base.CID) {
			t.Fatalf("first call: %s, pulled %v, %v", dir, pulled, err)
		}
		if got := dirCID(t, dir); got != base.CID {
			t.Errorf("the cached copy holds %s", got)
		}
		// The hub can no longer serve the release: a pull would fail.
		f, _ := base.File("config.json")
		p := filepath.Join(hs.data, "store", "files", f.CID)
		orig, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, 0o644)
		t.Cleanup(func() { os.WriteFile(p, orig, 0o444) })
		if err := os.WriteFile(p, bytes.ToUpper(orig), 0o444); err != nil {
			t.Fatal(err)
		}
		if _, pulled, err = hs.client.Cached(ctx, cache, base.CID, trusted, nil); err != nil || pulled {
			t.Errorf("second call: pulled %v, %v; want the cached copy, checked offline", pulled, err)
		}
		if _, err := hs.client.Pull(ctx, base.CID, filepath.Join(t.TempDir(), "pull"), trusted, nil); err == nil {
			t.Error("a pull of the altered release succeeded: the test proves nothing")
		}
	})

	t.Run("TamperedCopyIsPulledAgain", func(t *testing.T) {
		cache := t.TempDir()
		dir, _, err := hs.client.Cached(ctx, cache, base.CID, trusted, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"tampered": true}`), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, pulled, err := hs.client.Cached(ctx, cache, base.CID, trusted, nil); err != nil || !pulled {
			t.Fatalf("after tampering: pulled %v, %v; want a fresh pull", pulled, err)
		}
		if got := dirCID(t, dir); got != base.CID {
			t.Errorf("the cached copy holds %s", got)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		cache := t.TempDir()
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Go(func() { _, _, errs[i] = hs.client.Cached(ctx, cache, base.CID, trusted, nil) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("caller %d: %v", i, err)
			}
		}
		if got := dirCID(t, filepath.Join(cache, base.CID)); got != base.CID {
			t.Errorf("the cached copy holds %s", got)
		}
		ents, _ := os.ReadDir(cache)
		if len(ents) != 1 {
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			t.Errorf("the cache holds %v; want the release alone", names)
		}
	})

	t.Run("NotACID", func(t *testing.T) {
		_, _, err := hs.client.Cached(ctx, t.TempDir(), "../etc", trusted, nil)
		if err == nil || !strings.Contains(err.Error(), `"../etc" is not a release CID`) {
			t.Errorf("Cached(../etc): %v", err)
		}
	})
}
