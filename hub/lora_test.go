package hub_test

// A PEFT LoRA adapter published as a delta: stored as its factors, checked
// against the base's shapes by admission, merged on the hub as the local
// merge engine merges it, bit for bit.

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/internal/testmodel"
	"github.com/potluck-hub/potluck/internal/wire"
	"github.com/potluck-hub/potluck/merge"
	"github.com/potluck-hub/potluck/node"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
	"github.com/potluck-hub/potluck/safetensors"
)

// tiny is a model small enough for a hub per subtest.
var tiny = testmodel.Spec{Layers: 1, Hidden: 32, Vocab: 64, Shards: 1}

// tinyModels writes a tiny base and two fine-tunes of it.
func tinyModels(t *testing.T, dir string) models {
	t.Helper()
	m := models{base: filepath.Join(dir, "base"), ftA: filepath.Join(dir, "ft-a"), ftB: filepath.Join(dir, "ft-b")}
	if err := testmodel.WriteBase(m.base, 1, tiny); err != nil {
		t.Fatal(err)
	}
	for i, ft := range []string{m.ftA, m.ftB} {
		if err := testmodel.WriteFinetune(m.base, ft, uint64(10+i), 0.02); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// adapterDelta writes a LoRA adapter of m.base and makes it a delta
// directory as node publish does.
func adapterDelta(t *testing.T, m models, dir, baseCID string, a testmodel.Adapter) (adapter, delta string, man *potluck.Manifest) {
	t.Helper()
	adapter, delta = filepath.Join(dir, "adapter"), filepath.Join(dir, "lora-delta")
	if err := testmodel.WriteAdapter(m.base, adapter, 7, a); err != nil {
		t.Fatal(err)
	}
	man, err := node.MakeDelta(context.Background(), node.DeltaOptions{BaseDir: m.base, FinetunedDir: adapter, OutDir: delta, BaseCID: baseCID})
	if err != nil {
		t.Fatal(err)
	}
	return adapter, delta, man
}

// localMerge runs a recipe over local directories.
func localMerge(t *testing.T, yaml []byte, out string) {
	t.Helper()
	r, err := merge.ParseRecipe(yaml)
	if err != nil {
		t.Fatal(err)
	}
	job, err := merge.OpenLocal(r)
	if err != nil {
		t.Fatal(err)
	}
	defer job.Close()
	if _, err := merge.Run(context.Background(), job, out); err != nil {
		t.Fatal(err)
	}
}

func TestLoRAAdapterDelta(t *testing.T) {
	ctx := context.Background()
	hs := newHarness(t)
	m := tinyModels(t, hs.dir)
	base, err := hs.registerBase(m.base, hs.keyA)
	if err != nil {
		t.Fatal(err)
	}
	adapter, loraDir, man := adapterDelta(t, m, hs.dir, base.CID, testmodel.Adapter{Rank: 4, Alpha: 8})
	for _, tn := range man.Tensors {
		if tn.Encoding != "lora" || tn.File != "adapter_model.safetensors" {
			t.Errorf("manifest tensor %s: encoding %q in %s", tn.Name, tn.Encoding, tn.File)
		}
	}
	lora, err := hs.publish(loraDir, hs.keyA, base.CID)
	if err != nil {
		t.Fatal(err)
	}
	// Stored as the adapter's own files: the factors' size, not the model's.
	var paths []string
	for _, f := range lora.Files {
		paths = append(paths, f.Path)
	}
	if strings.Join(paths, ",") != "adapter_config.json,adapter_model.safetensors,potluck.json" {
		t.Errorf("the LoRA release holds %v", paths)
	}
	checkReleaseFiles(t, lora, loraDir)
	if f, _ := lora.File("adapter_model.safetensors"); f.SHA256 != fileSHA256(t, filepath.Join(adapter, "adapter_model.safetensors")) {
		t.Error("the stored factors are not the adapter's bytes")
	}
	if got := checkNames(t, lora.Checks); got != "header,signature,access,base,bytes,format,manifest,fit,sparse,values,norm,cosine" {
		t.Errorf("checks passed: %s", got)
	}

	dense := filepath.Join(hs.dir, "delta-b")
	makeDelta(t, m.base, m.ftB, dense, base.CID)
	db, err := hs.publish(dense, hs.keyB, base.CID)
	if err != nil {
		t.Fatal(err)
	}
	merged, err := hs.client.Merge(ctx, recipe(base.CID, []string{lora.CID, db.CID}, []float64{1, 0.5}))
	if err != nil {
		t.Fatal(err)
	}
	// The local merge of the same directories gives the hub's bytes.
	local := filepath.Join(hs.dir, "local")
	localMerge(t, recipe(m.base, []string{loraDir, dense}, []float64{1, 0.5}), local)
	if got := dirCID(t, local); got != merged.CID {
		t.Fatalf("the local merge is %s, the hub's %s", got, merged.CID)
	}
	// And so does merging the adapter directory as PEFT saved it: the same
	// tensors (only the manifest's input CIDs differ).
	raw := filepath.Join(hs.dir, "local-raw")
	localMerge(t, recipe(m.base, []string{adapter, dense}, []float64{1, 0.5}), raw)
	shards, _ := filepath.Glob(filepath.Join(local, "*.safetensors"))
	if len(shards) == 0 {
		t.Fatal("the merge wrote no shard")
	}
	for _, s := range shards {
		want, _ := os.ReadFile(s)
		got, err := os.ReadFile(filepath.Join(raw, filepath.Base(s)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: merging the raw adapter gives other bytes (%v)", filepath.Base(s), err)
		}
	}
	// The adapter did change the adapted tensors (against the dense delta
	// alone).
	alone := filepath.Join(hs.dir, "local-dense")
	localMerge(t, recipe(m.base, []string{dense}, []float64{0.5}), alone)
	if a, b := readModel(t, local), readModel(t, alone); slices.Equal(a["model.layers.0.self_attn.q_proj.weight"].f, b["model.layers.0.self_attn.q_proj.weight"].f) {
		t.Error("the adapter left q_proj unchanged")
	}
}

// loraManifest rewrites dir/potluck.json for the adapter files as they are
// now, every tensor encoded "lora": a client that skips the node's checks.
func loraManifest(t *testing.T, dir string) {
	t.Helper()
	remanifest(t, dir)
	man, err := potluck.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range man.Tensors {
		man.Tensors[i].Encoding = "lora"
	}
	if err := man.Write(dir); err != nil {
		t.Fatal(err)
	}
}

// Admission checks an adapter against its base: rank, scale, finite
// factors, the norm of its update. Each refusal names the tensor.
func TestLoRAAdapterRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		adapter testmodel.Adapter
		edit    func(t *testing.T, dir string)
		want    string
	}{
		{"RankAboveMinInOut", testmodel.Adapter{Rank: 40, Alpha: 40}, nil,
			`fit: hub: rejected: merge: incompatible inputs: adapter upload: model.layers.0.self_attn.k_proj.weight: rank 40 is more than min(in 32, out 32): a full-rank update, not a low-rank one`},
		{"Scale", testmodel.Adapter{Rank: 2, Alpha: 4096}, nil,
			`fit: hub: rejected: merge: incompatible inputs: adapter upload: model.layers.0.self_attn.k_proj.weight: scale lora_alpha/r = 2048 (want 0 < |scale| ≤ 1024)`},
		{"NotFinite", testmodel.Adapter{Rank: 4, Alpha: 8}, func(t *testing.T, dir string) {
			rewriteShard(t, filepath.Join(dir, "adapter_model.safetensors"), func(specs []safetensors.TensorSpec, data [][]byte) {
				for i, s := range specs {
					if s.Name == "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight" {
						copy(data[i][12:], f32le(float32(math.NaN())))
					}
				}
			})
		}, `values: hub: rejected: merge: incompatible inputs: model upload: tensor "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight": element 3 is NaN`},
		{"Norm", testmodel.Adapter{Rank: 4, Alpha: 400, Spread: 1}, nil,
			`norm: hub: rejected: adapter for tensor "model.layers.0.self_attn.k_proj.weight": delta norm `},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHarness(t)
			m := tinyModels(t, hs.dir)
			base, err := hs.registerBase(m.base, hs.keyA)
			if err != nil {
				t.Fatal(err)
			}
			adapter := filepath.Join(hs.dir, "adapter")
			if err := testmodel.WriteAdapter(m.base, adapter, 7, tc.adapter); err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(hs.dir, "lora-delta")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{"adapter_config.json", "adapter_model.safetensors"} {
				b, _ := os.ReadFile(filepath.Join(adapter, f))
				os.WriteFile(filepath.Join(dir, f), b, 0o644)
			}
			if tc.edit != nil {
				tc.edit(t, dir)
			}
			(&potluck.Manifest{Schema: potluck.ManifestSchema, Kind: potluck.KindDelta, Base: base.CID}).Write(dir)
			loraManifest(t, dir)
			hs.expectRefused(t, codes.InvalidArgument, nil, func() error {
				_, err := hs.publish(dir, hs.keyA, base.CID)
				if err != nil {
					v := verdictOf(t, err)
					if got := v.Checks[len(v.Checks)-1].Name + ": " + v.Reason; !strings.HasPrefix(got, tc.want) {
						t.Errorf("refusal:\n got %s\nwant %s", got, tc.want)
					}
				}
				return err
			})
		})
	}
}

func f32le(v float32) []byte {
	b := make([]byte, 4)
	u := math.Float32bits(v)
	b[0], b[1], b[2], b[3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
	return b
}

// verdictOf is the verdict a refused upload's status carries.
func verdictOf(t *testing.T, err error) potluck.Verdict {
	t.Helper()
	for _, d := range grpcStatus(t, err).Details() {
		if v, ok := d.(*hubv1.Verdict); ok {
			return wire.VerdictOf(v)
		}
	}
	t.Fatalf("the refusal carries no verdict: %v", err)
	return potluck.Verdict{}
}
