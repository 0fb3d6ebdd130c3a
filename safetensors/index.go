package safetensors

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
)

// IndexName is the file that maps each tensor of a sharded model to its shard.
const IndexName = "model.safetensors.index.json"

// Index is the content of a model.safetensors.index.json file.
type Index struct {
	Metadata  map[string]any    `json:"metadata,omitempty"`
	WeightMap map[string]string `json:"weight_map"` // tensor name → shard file name
}

// ReadIndex reads and checks the index at path: it must map at least one tensor,
// and every shard must be a plain relative path inside the index's directory.
func ReadIndex(path string) (*Index, error) {
	idx, err := readIndex(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	return idx, nil
}

// readIndex is ReadIndex without the package prefix on its errors.
func readIndex(path string) (*Index, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err // an *fs.PathError, which names the path
	}
	idx, err := parseIndex(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return idx, nil
}

// ParseIndex decodes and checks an index file's bytes as ReadIndex does.
func ParseIndex(b []byte) (*Index, error) {
	idx, err := parseIndex(b)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	return idx, nil
}

func parseIndex(b []byte) (*Index, error) {
	var idx Index
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, invalidf("index JSON: %v", err)
	}
	if err := idx.check(); err != nil {
		return nil, err
	}
	return &idx, nil
}

// WriteIndex writes idx to path as indented JSON with sorted keys, as the
// Hugging Face tools do, after the same checks ReadIndex makes.
func WriteIndex(path string, idx *Index) error {
	if err := idx.check(); err != nil {
		return fmt.Errorf("safetensors: %s: %w", path, err)
	}
	b, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return fmt.Errorf("safetensors: %s: %w", path, err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}

// Shards returns the distinct shard file names the index refers to, sorted.
func (idx *Index) Shards() []string {
	return slices.Compact(slices.Sorted(maps.Values(idx.WeightMap)))
}

// check rejects an empty weight map, empty tensor names, and shard names that
// could reach outside the model directory ("../x", "/etc/x").
func (idx *Index) check() error {
	if len(idx.WeightMap) == 0 {
		return invalidf("index: weight_map is missing or empty")
	}
	for _, name := range slices.Sorted(maps.Keys(idx.WeightMap)) {
		shard := idx.WeightMap[name]
		if name == "" {
			return invalidf("index: weight_map has an empty tensor name")
		}
		if !filepath.IsLocal(shard) {
			return invalidf("index: tensor %q: shard %q is not a file inside the model directory",
				short(name), short(shard))
		}
	}
	return nil
}
