package hub_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/internal/testmodel"
	"github.com/potluck-hub/potluck/node"
	"github.com/potluck-hub/potluck/safetensors"
)

const zeroMessage = "delta is all zeros: the fine-tune equals its base; nothing to publish"

// A delta that changes nothing is refused: by the node before anything is
// written or sent, and by the hub's values stage from a client that skips
// the node's check.
func TestZeroDeltaRefused(t *testing.T) {
	ctx := context.Background()

	t.Run("AtTheNode", func(t *testing.T) {
		dir := t.TempDir()
		m := tinyModels(t, dir)
		same := filepath.Join(dir, "same")
		copyDir(t, m.base, same)
		out := filepath.Join(dir, "delta")
		_, err := node.MakeDelta(ctx, node.DeltaOptions{BaseDir: m.base, FinetunedDir: same, OutDir: out, BaseCID: dirCID(t, m.base)})
		if want := "node: delta of " + same + ": " + zeroMessage; err == nil || err.Error() != want {
			t.Errorf("MakeDelta of the base itself: %v\nwant %s", err, want)
		}
		if names := dirNames(t, dir); len(names) != 4 {
			t.Errorf("MakeDelta left %v", names)
		}
	})

	t.Run("UntrainedAdapterAtTheNode", func(t *testing.T) {
		dir := t.TempDir()
		m := tinyModels(t, dir)
		adapter := filepath.Join(dir, "adapter")
		if err := testmodel.WriteAdapter(m.base, adapter, 3, testmodel.Adapter{Rank: 4, Alpha: 8, ZeroB: true}); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "delta")
		_, err := node.MakeDelta(ctx, node.DeltaOptions{BaseDir: m.base, FinetunedDir: adapter, OutDir: out, BaseCID: dirCID(t, m.base)})
		if want := "node: adapter " + adapter + ": " + zeroMessage; err == nil || err.Error() != want {
			t.Errorf("MakeDelta of an untrained adapter: %v\nwant %s", err, want)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("--out exists: %v", err)
		}
	})

	t.Run("AtTheHub", func(t *testing.T) {
		hs := newHarness(t)
		m := tinyModels(t, hs.dir)
		base, err := hs.registerBase(m.base, hs.keyA)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(hs.dir, "delta")
		man := makeDelta(t, m.base, m.ftA, dir, base.CID)
		rewriteShard(t, filepath.Join(dir, man.Tensors[0].File), func(_ []safetensors.TensorSpec, data [][]byte) {
			for _, d := range data {
				clear(d)
			}
		})
		remanifest(t, dir)
		var err2 error
		hs.expectRefused(t, codes.InvalidArgument, []string{"hub: rejected: " + zeroMessage}, func() error {
			_, err2 = hs.publish(dir, hs.keyA, base.CID)
			return err2
		})
		v := verdictOf(t, err2)
		if last := v.Checks[len(v.Checks)-1]; last.Name != "values" || last.Reason != "hub: rejected: "+zeroMessage {
			t.Errorf("failed check %+v", last)
		}
		es := hs.logEntries()
		if ve, ok := es[len(es)-1].(*potluck.VerdictEntry); !ok || ve.Reason != "hub: rejected: "+zeroMessage {
			t.Errorf("last log entry %+v, want the refusal's verdict", es[len(es)-1])
		}
	})
}
