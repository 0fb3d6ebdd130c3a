package hub_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/potluck-hub/potluck/internal/testmodel"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
	"github.com/potluck-hub/potluck/safetensors"
	"github.com/potluck-hub/potluck/signing"
)

// signedHeader declares files (path → content) in the given order, signed
// by s: a header a client could send whatever its local file system allows.
func signedHeader(t *testing.T, s *signing.Signer, paths []string, files map[string][]byte) *hubv1.UploadHeader {
	t.Helper()
	h := &hubv1.UploadHeader{}
	var res []signing.Resource
	for _, p := range paths {
		sum := sha256.Sum256(files[p])
		h.Files = append(h.Files, &hubv1.FileEntry{Path: p, Size: uint64(len(files[p])), Sha256: sum[:]})
		res = append(res, signing.Resource{Name: p, Digest: sum})
	}
	slices.SortFunc(res, func(a, b signing.Resource) int { return signing.ComparePaths(a.Name, b.Name) })
	bundle, err := signing.Sign(s, "upload", res, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.Bundle = bundle
	return h
}

// openSessions lists the upload sessions the hub keeps on disk.
func (hs *harness) openSessions() []string {
	return dirNames(hs.t, filepath.Join(hs.data, "uploads"))
}

// A declaration no directory could hold, or with names a terminal would
// show as others, is refused when the session opens, by the header stage:
// with a verdict, and no session left open.
func TestUploadPathsRefusedAtDeclaration(t *testing.T) {
	for _, c := range []struct {
		name  string
		paths []string
		want  string
	}{
		{"FileAndDirectory", []string{"a", "a/b", "model.safetensors"}, `file "a" is also the directory of file "a/b": rename one of them`},
		{"DirectoryAndFile", []string{"model.safetensors", "x/y/z", "x/y"}, `file "x/y" is also the directory of file "x/y/z"`},
		{"Newline", []string{"model\n.safetensors"}, `path "model\n.safetensors" contains the control character U+000A at byte 5: rename the file`},
		{"ANSIEscape", []string{"\x1b[2Jconfig.json", "model.safetensors"}, `contains the control character U+001B at byte 0`},
		{"BidiOverride", []string{"evil\u202egnp.safetensors"}, `contains the control character U+202E at byte 4`},
	} {
		t.Run(c.name, func(t *testing.T) {
			hs := newHarness(t)
			files := map[string][]byte{}
			for _, p := range c.paths {
				files[p] = []byte("content of " + p)
			}
			h := signedHeader(t, hs.keyA, c.paths, files)
			hs.expectRefused(t, codes.InvalidArgument, []string{c.want}, func() error {
				_, err := hs.raw.StartUpload(context.Background(), &hubv1.StartUploadRequest{Kind: hubv1.ReleaseKind_RELEASE_KIND_BASE, Header: h})
				if err != nil {
					v := verdictOf(t, err)
					if last := v.Checks[len(v.Checks)-1]; last.Name != "header" || last.Passed {
						t.Errorf("the verdict's last check is %+v, want the header stage failed", last)
					}
				}
				return err
			})
			if s := hs.openSessions(); len(s) != 0 {
				t.Errorf("a session was left open: %v", s)
			}
		})
	}
}

// A sharded model's index is followed by every loader: each path it names
// must be a shard of the upload, beside the index, holding that tensor. The
// format stage refuses the upload otherwise, naming the tensor and path.
func TestIndexShardPathsChecked(t *testing.T) {
	for _, c := range []struct {
		name  string
		shard string
		want  string
	}{
		{"Escape", "../../../etc/passwd", `model.safetensors.index.json: safetensors: index: tensor "lm_head.weight": shard "../../../etc/passwd" is not a file inside the model directory`},
		{"Absolute", "/etc/passwd", `shard "/etc/passwd" is not a file inside the model directory`},
		{"NotUploaded", "model-00009-of-00009.safetensors", `tensor "lm_head.weight": shard "model-00009-of-00009.safetensors" is not a .safetensors file of the upload`},
		{"NotAShard", "config.json", `shard "config.json" is not a .safetensors file of the upload`},
		{"WrongShard", "model-00001-of-00002.safetensors", `tensor "lm_head.weight": the index says shard "model-00001-of-00002.safetensors", but it is in "model-00002-of-00002.safetensors"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			hs := newHarness(t)
			base := filepath.Join(hs.dir, "base")
			if err := testmodel.WriteBase(base, 1, testmodel.Small); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(base, safetensors.IndexName)
			idx, err := safetensors.ReadIndex(p)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := idx.WeightMap["lm_head.weight"]; !ok {
				t.Fatalf("the test model's index has no lm_head.weight: %v", idx.WeightMap)
			}
			idx.WeightMap["lm_head.weight"] = c.shard
			b, _ := json.Marshal(idx)
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			hs.expectRefused(t, codes.InvalidArgument, []string{c.want}, func() error {
				_, err := hs.registerBase(base, hs.keyA)
				if err != nil {
					v := verdictOf(t, err)
					if last := v.Checks[len(v.Checks)-1]; last.Name != "format" || last.Passed {
						t.Errorf("the verdict's last check is %+v, want the format stage failed", last)
					}
				}
				return err
			})
		})
	}
	t.Run("Accepted", func(t *testing.T) {
		hs := newHarness(t)
		base := filepath.Join(hs.dir, "base")
		if err := testmodel.WriteBase(base, 1, testmodel.Small); err != nil {
			t.Fatal(err)
		}
		if _, err := hs.registerBase(base, hs.keyA); err != nil {
			t.Fatal(err)
		}
	})
}
