package hub

import (
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/potluck-hub/potluck/merge"
	"github.com/potluck-hub/potluck/safetensors"
	"github.com/potluck-hub/potluck/store"
)

// maxIndex bounds a safetensors index file: a line per tensor.
const maxIndex = 64 << 20

// checkIndexes: every safetensors index file of an upload
// (model.safetensors.index.json, or any *.safetensors.index.json) names,
// for each tensor, a shard that the upload holds beside the index and that
// holds the tensor. A loader follows these names: one pointing at
// "../../../etc/passwd" would read outside the release.
func checkIndexes(m *merge.Model) error {
	for _, p := range m.Other {
		if strings.HasSuffix(p, ".safetensors.index.json") {
			if err := checkIndex(m, p); err != nil {
				return fmt.Errorf("%w: %s: %w", ErrRejected, p, err)
			}
		}
	}
	return nil
}

func checkIndex(m *merge.Model, p string) error {
	f, err := m.OpenFile(p)
	if err != nil {
		return err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxIndex+1))
	if err != nil {
		return err
	}
	if len(b) > maxIndex {
		return fmt.Errorf("larger than %d bytes", maxIndex)
	}
	idx, err := safetensors.ParseIndex(b)
	if err != nil {
		return err
	}
	dir := path.Dir(p)
	// An index beside no shard of the upload (a fine-tune's, carried along
	// with its config) describes no file here: only its paths are checked.
	described := slices.ContainsFunc(m.Shards, func(s merge.Shard) bool { return path.Dir(s.Path) == dir })
	for _, name := range slices.Sorted(maps.Keys(idx.WeightMap)) {
		shard := idx.WeightMap[name]
		if err := store.CheckPath(shard); err != nil {
			return fmt.Errorf("tensor %q: shard %q: %w", name, shard, err)
		}
		if !described {
			continue
		}
		full := path.Join(dir, shard)
		t, ok := m.Tensor(name)
		if !ok { // a sparse delta holds T#indices and T#values where its base's index names T
			t, ok = m.Tensor(name + merge.SparseValues)
		}
		switch {
		case !strings.HasSuffix(full, ".safetensors") || !slices.ContainsFunc(m.Shards, func(s merge.Shard) bool { return s.Path == full }):
			return fmt.Errorf("tensor %q: shard %q is not a .safetensors file of the upload", name, shard)
		case !ok || t.File != full:
			return fmt.Errorf("tensor %q: the index says shard %q, but %s", name, shard, where(t, ok))
		}
	}
	return nil
}

func where(t merge.Tensor, ok bool) string {
	if !ok {
		return "no shard holds it"
	}
	return fmt.Sprintf("it is in %q", t.File)
}
