package merge

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/potluck-hub/potluck/safetensors"
)

// A delta holds the fine-tune's float tensors as differences; Apply
// rebuilds the whole fine-tuned model from it and its base. What else the
// fine-tune was (its files, the headers of its shards: tensor order,
// dtypes, metadata; its config and tokenizer) is, most of the time, the
// base's: a lab that continues training a model saves it as it loaded it.
// Then the delta carries nothing more, and Apply takes all of it from the
// base. Otherwise the delta carries, under LayoutDir, the layout record
// (LayoutFile) and the fine-tune's other files that are not the base's:
// they are small, and without them the fine-tune could not be rebuilt as
// it was.

// LayoutDir is the folder of a delta that keeps what its fine-tune does
// not share with its base.
const LayoutDir = "finetune"

// LayoutFile is the layout record of a delta's fine-tune.
const LayoutFile = LayoutDir + "/layout.json"

// Layout records a fine-tune's files where they are not its base's.
type Layout struct {
	// Files are every file of the fine-tuned model, sorted: its shards and
	// its other files (see ModelFiles).
	Files []string `json:"files"`
	// Shards are the fine-tune's shards whose header is not the header of
	// the base's shard at the same path.
	Shards []ShardLayout `json:"shards,omitempty"`
}

// ShardLayout is one shard of a fine-tune: its path, its size and its
// safetensors header (the JSON after the 8-byte length, padding included).
type ShardLayout struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	Header string `json:"header"`
}

// notModelFiles are files of a model directory that are not part of the
// model Apply rebuilds: Potluck's manifest, trim statistics and
// signature, and weights in other formats (which a delta does not hold).
var notModelFiles = regexp.MustCompile(`(^|/)(potluck\.json|potluck\.stats|model\.sig|[^/]*\.bin\.index\.json)$|\.(bin|pt|pth|ckpt|gguf|h5|msgpack|onnx)$`)

// ModelFiles are the files of m a delta's fine-tune is made of, sorted:
// its safetensors shards and its other files (config, tokenizer, index,
// licence), leaving out notModelFiles.
func ModelFiles(m *Model) []string {
	var out []string
	for _, sh := range m.Shards {
		out = append(out, sh.Path)
	}
	for _, p := range m.Other {
		if !notModelFiles.MatchString(p) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// WriteLayout writes into the delta directory dir what Apply needs beyond
// base to rebuild ft as it is: nothing when ft has the base's files, shard
// headers and other files; otherwise LayoutFile and, under LayoutDir, each
// of ft's other files that the base lacks or holds with other bytes.
func WriteLayout(base, ft *Model, dir string) error {
	l, carry, err := layoutOf(base, ft)
	if err != nil || l == nil {
		return err
	}
	for _, p := range carry {
		if err := copyModelFile(ft, p, filepath.Join(dir, LayoutDir, filepath.FromSlash(p))); err != nil {
			return fmt.Errorf("merge: %s: %s: %w", ft.Name, p, err)
		}
	}
	b, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, LayoutDir), 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, filepath.FromSlash(LayoutFile)), append(b, '\n'), 0o644)
}

// layoutOf compares ft with base: nil when ft is laid out as base, else
// its layout and the other files to carry.
func layoutOf(base, ft *Model) (*Layout, []string, error) {
	files := ModelFiles(ft)
	l := &Layout{Files: files}
	same := slices.Equal(files, ModelFiles(base))
	var carry []string
	for _, p := range files {
		if strings.HasPrefix(p, LayoutDir+"/") {
			return nil, nil, fmt.Errorf("%w: %s: file %q is under %s/, which a delta keeps for the fine-tune's layout", ErrIncompatible, ft.Name, p, LayoutDir)
		}
		if sh, ok := ft.shard(p); ok {
			hdr, err := rawHeader(ft, sh.Path)
			if err != nil {
				return nil, nil, err
			}
			if bh, err := rawHeader(base, p); err == nil && bytes.Equal(hdr, bh) {
				continue
			}
			same = false
			l.Shards = append(l.Shards, ShardLayout{Path: p, Size: sh.Header.FileSize, Header: string(hdr)})
			continue
		}
		eq, err := sameFile(base, ft, p)
		if err != nil {
			return nil, nil, err
		}
		if !eq {
			same = false
			carry = append(carry, p)
		}
	}
	if same {
		return nil, nil, nil
	}
	return l, carry, nil
}

// shard returns m's shard at path p.
func (m *Model) shard(p string) (Shard, bool) {
	for _, sh := range m.Shards {
		if sh.Path == p {
			return sh, true
		}
	}
	return Shard{}, false
}

// rawHeader returns the header bytes of m's shard at p (padding included,
// the 8-byte length left out).
func rawHeader(m *Model, p string) ([]byte, error) {
	sh, ok := m.shard(p)
	if !ok {
		return nil, fmt.Errorf("merge: model %s has no shard %q", m.Name, p)
	}
	f, size, err := m.src.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if sh.Header.DataStart > size {
		return nil, fmt.Errorf("merge: model %s: %s changed while open", m.Name, p)
	}
	b := make([]byte, sh.Header.DataStart-8)
	if _, err := f.ReadAt(b, 8); err != nil {
		return nil, fmt.Errorf("merge: model %s: %s: %w", m.Name, p, err)
	}
	return b, nil
}

// sameFile reports whether base holds a file at p with ft's bytes.
func sameFile(base, ft *Model, p string) (bool, error) {
	if !slices.Contains(base.Other, p) {
		return false, nil
	}
	a, err := fileSum(base, p)
	if err != nil {
		return false, err
	}
	b, err := fileSum(ft, p)
	return a == b, err
}

func fileSum(m *Model, p string) ([32]byte, error) {
	var sum [32]byte
	f, err := m.OpenFile(p)
	if err != nil {
		return sum, fmt.Errorf("merge: model %s: %w", m.Name, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return sum, fmt.Errorf("merge: model %s: %s: %w", m.Name, p, err)
	}
	copy(sum[:], h.Sum(nil))
	return sum, nil
}

func copyModelFile(m *Model, p, dst string) error {
	src, err := m.OpenFile(p)
	if err != nil {
		return err
	}
	defer src.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, src)
	return errors.Join(err, f.Sync(), f.Close())
}

// readLayout reads a delta's layout record, nil when it has none.
func readLayout(delta *Model) (*Layout, error) {
	if !slices.Contains(delta.Other, LayoutFile) {
		return nil, nil
	}
	f, err := delta.OpenFile(LayoutFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var l Layout
	dec := json.NewDecoder(io.LimitReader(f, 64<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return nil, fmt.Errorf("%w: delta %s: %s: %v", ErrIncompatible, delta.Name, LayoutFile, err)
	}
	return &l, nil
}

// header parses a recorded shard header.
func (s ShardLayout) header() (*safetensors.Header, []byte, error) {
	prefix := make([]byte, 8+len(s.Header))
	binary.LittleEndian.PutUint64(prefix, uint64(len(s.Header)))
	copy(prefix[8:], s.Header)
	h, err := safetensors.ReadHeader(bytes.NewReader(prefix), s.Size)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s: shard %q: %w", ErrIncompatible, LayoutFile, s.Path, err)
	}
	return h, prefix, nil
}
