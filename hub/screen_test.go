package hub_test

import (
	"context"
	"encoding/binary"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/hub"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
	"github.com/potluck-hub/potluck/safetensors"
)

// logEntries reads the whole transparency log over gRPC.
func (hs *harness) logEntries() []potluck.Entry {
	t := hs.t
	t.Helper()
	ctx := context.Background()
	cp, err := hs.raw.GetCheckpoint(ctx, &hubv1.GetCheckpointRequest{})
	if err != nil {
		t.Fatal(err)
	}
	size, err := strconv.ParseInt(strings.Split(string(cp.GetCheckpoint()), "\n")[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hs.raw.GetEntries(ctx, &hubv1.GetEntriesRequest{Start: 0, Count: size})
	if err != nil {
		t.Fatal(err)
	}
	var out []potluck.Entry
	for _, b := range resp.GetEntries() {
		e, err := potluck.ParseEntry(b)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// setTensor rewrites one tensor of a delta shard as F64 values from fill
// and refreshes the manifest, as a careless or hostile lab could.
func setTensor(t *testing.T, dir, shard, name string, fill func(i int) float64) {
	t.Helper()
	rewriteShard(t, filepath.Join(dir, shard), func(specs []safetensors.TensorSpec, data [][]byte) {
		for i := range specs {
			if specs[i].Name != name {
				continue
			}
			specs[i].DType = safetensors.F64
			n := int(specs[i].Shape[0])
			vals := make([]byte, 8*n)
			for j := range n {
				binary.LittleEndian.PutUint64(vals[8*j:], math.Float64bits(fill(j)))
			}
			data[i] = vals
		}
	})
	remanifest(t, dir)
}

// TestScreeningRulesGiveVerdicts: each admission rule refuses its case with
// its reason, returned as the status's verdict and written to the log as a
// "verdict" entry, leaving nothing stored; an accepted delta carries the
// checks it passed, in its release and its log entry.
func TestScreeningRulesGiveVerdicts(t *testing.T) {
	hs := newHarness(t)
	m, base := hs.registeredBase(t)
	if got := checkNames(t, base.Checks); got != "header,signature,access,base,bytes,format" {
		t.Errorf("checks run on a base: %s", got)
	}
	const shard, name = "model-00002-of-00002.safetensors", "model.norm.weight"
	for _, tc := range []struct {
		rule string
		edit func(dir string)
		want []string
	}{
		{"norm", func(dir string) { setTensor(t, dir, shard, name, func(int) float64 { return 1e4 }) }, []string{name, "norm", "bound 10×"}},
		{"values", func(dir string) {
			setTensor(t, dir, shard, name, func(i int) float64 { return map[bool]float64{true: math.Inf(1)}[i == 3] })
		}, []string{name, "Inf"}},
		{"fit", func(dir string) {
			rewriteShard(t, filepath.Join(dir, shard), func(specs []safetensors.TensorSpec, data [][]byte) {
				for i := range specs {
					if specs[i].Name == name {
						specs[i].Shape[0] /= 2
						data[i] = data[i][:len(data[i])/2]
					}
				}
			})
			remanifest(t, dir)
		}, []string{name, "shape"}},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			dir := filepath.Join(hs.dir, "delta-"+tc.rule)
			makeDelta(t, m.base, m.ftA, dir, base.CID)
			tc.edit(dir)
			before := len(hs.logEntries())
			var err error
			hs.expectRefused(t, codes.InvalidArgument, tc.want, func() error {
				_, err = hs.publish(dir, hs.keyA, base.CID)
				return err
			})
			var v *hubv1.Verdict
			for _, d := range grpcStatus(t, err).Details() {
				if dv, ok := d.(*hubv1.Verdict); ok {
					v = dv
				}
			}
			if v == nil || v.GetAccepted() || len(v.GetChecks()) == 0 {
				t.Fatalf("the refusal carries no rejecting verdict: %v", v)
			}
			last := v.GetChecks()[len(v.GetChecks())-1]
			if last.GetName() != tc.rule || last.GetPassed() || !strings.Contains(last.GetReason(), name) {
				t.Errorf("last check %+v, want %q failed naming %s", last, tc.rule, name)
			}
			for _, c := range v.GetChecks()[:len(v.GetChecks())-1] {
				if !c.Passed {
					t.Errorf("check %q failed before %q", c.Name, tc.rule)
				}
			}
			es := hs.logEntries()
			if len(es) != before+1 {
				t.Fatalf("log grew by %d entries, want 1 verdict", len(es)-before)
			}
			e, ok := es[len(es)-1].(*potluck.VerdictEntry)
			if !ok || e.Verdict != "rejected" || e.Publisher != orgA || e.Base != base.CID || !strings.Contains(e.Reason, name) {
				t.Errorf("log entry %+v, want lab-a's rejected verdict naming %s", e, name)
			}
		})
	}

	t.Run("accepted", func(t *testing.T) {
		dir := filepath.Join(hs.dir, "delta-ok")
		makeDelta(t, m.base, m.ftA, dir, base.CID)
		rel, err := hs.publish(dir, hs.keyA, base.CID)
		if err != nil {
			t.Fatal(err)
		}
		names := checkNames(t, rel.Checks)
		if names != "header,signature,access,base,bytes,format,manifest,fit,sparse,values,norm,cosine" {
			t.Errorf("checks run: %s", names)
		}
		pe, err := potluck.ParseEntry(rel.Receipt.Entry)
		e, ok := pe.(*potluck.ReleaseEntry)
		if err != nil || !ok || e.Verdict != "accepted" || len(e.Checks) != len(rel.Checks) {
			t.Errorf("release log entry %+v (%v), want the accepted verdict with its checks", e, err)
		}
	})

	// The norm bound is the operator's: off (0), the large delta is admitted.
	// On a hub of its own: the other subtests need the bound on.
	t.Run("normOff", func(t *testing.T) {
		hs := newHarnessWith(t, func(o *hub.Options) { o.Screen.MaxNormRatio = 0 })
		m, base := hs.registeredBase(t)
		dir := filepath.Join(hs.dir, "delta-large")
		makeDelta(t, m.base, m.ftA, dir, base.CID)
		setTensor(t, dir, shard, name, func(int) float64 { return 1e4 })
		if _, err := hs.publish(dir, hs.keyA, base.CID); err != nil {
			t.Errorf("with the norm check off: %v", err)
		}
	})
}

// checkNames lists an accepted release's checks by name, in the order they
// ran, failing the test for any that did not pass.
func checkNames(t *testing.T, checks []potluck.Check) string {
	t.Helper()
	var names []string
	for _, c := range checks {
		if !c.Passed {
			t.Errorf("accepted with check %+v failed", c)
		}
		names = append(names, c.Name)
	}
	return strings.Join(names, ",")
}
