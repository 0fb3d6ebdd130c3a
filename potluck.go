// Package potluck holds the vocabulary every part of Potluck shares: the kinds
// of release and the manifest that describes one. The hub, the node and the
// merge engine convert to and from these types at their edges.
package potluck

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// Version is the engine version recorded in merge provenance.
const Version = "0.3.0"

// ManifestFile is the manifest's name inside a delta or merge release.
const ManifestFile = "potluck.json"

// SignatureFile is where a release directory keeps its Sigstore bundle,
// the name the OpenSSF model-signing tool gives it. It is not part of the
// release: not uploaded, not in its CID, not signed.
const SignatureFile = "model.sig"

// ManifestSchema names the manifest format; it changes when the format does.
const ManifestSchema = "potluck.manifest/v1"

// Kind says what a release is.
type Kind string

const (
	// KindBase is an open model others build on; it carries no manifest, so
	// its CID stays the one `ipfs add -r` gives the upstream directory.
	KindBase Kind = "base"
	// KindDelta is fine-tuned minus base, published by a lab.
	KindDelta Kind = "delta"
	// KindMerge is the output of a merge recipe, signed by the hub.
	KindMerge Kind = "merge"
)

// File is one file of a release other than its manifest.
type File struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	CID    string `json:"cid"`
}

// Tensor is one tensor of a release: where its bytes lie and their digest.
type Tensor struct {
	Name   string  `json:"name"`
	DType  string  `json:"dtype"`
	Shape  []int64 `json:"shape"`
	File   string  `json:"file"`
	Offset int64   `json:"offset"` // absolute offset of the data in File
	Length int64   `json:"length"`
	SHA256 string  `json:"sha256"`
	// Encoding is "dense"; "sparse" for a sparse tensor's #indices and
	// #values entries; for a LoRA adapter, "lora" for its factors and
	// "full" for a module it saves whole.
	Encoding string `json:"encoding"`
}

// Input is one input of a merge, as its provenance records it.
type Input struct {
	CID    string  `json:"cid"`
	Weight float64 `json:"weight"`
}

// MergeInfo is a merge's provenance: everything its output depends on.
type MergeInfo struct {
	Method string          `json:"method"`
	Recipe json.RawMessage `json:"recipe"` // canonical JSON of the recipe
	Inputs []Input         `json:"inputs"`
	Engine string          `json:"engine"`
	// ShardSize is the output's shard size limit in bytes, which decides its
	// file layout.
	ShardSize int64 `json:"shard_size,omitempty"`
	// NoModelCard and NoTokenizer record the output options that left the
	// model card or the base's tokenizer out (merge.OutputOptions), so a
	// recompute writes the same files.
	NoModelCard bool `json:"no_model_card,omitempty"`
	NoTokenizer bool `json:"no_tokenizer,omitempty"`
}

// Manifest describes a delta or merge release: every file and tensor, and
// the base it applies to. Its JSON encoding is canonical (fixed field order,
// sorted lists, no insignificant space), so its digest is stable.
type Manifest struct {
	Schema    string `json:"schema"`
	Kind      Kind   `json:"kind"`
	Base      string `json:"base"`
	Publisher string `json:"publisher,omitempty"`
	// Samples is how many training examples a delta saw, for federated
	// averaging (fedavg weighs each delta by it); 0 when not recorded.
	Samples int64      `json:"samples,omitempty"`
	Files   []File     `json:"files"`
	Tensors []Tensor   `json:"tensors"`
	Merge   *MergeInfo `json:"merge,omitempty"`
}

// ErrManifest reports a manifest that is malformed or disagrees with the
// release it describes.
var ErrManifest = errors.New("potluck: bad manifest")

// Encode returns the canonical JSON of m, with files sorted by path and
// tensors by name.
func (m *Manifest) Encode() ([]byte, error) {
	c := *m
	c.Files = append([]File(nil), m.Files...)
	c.Tensors = append([]Tensor(nil), m.Tensors...)
	sort.Slice(c.Files, func(i, j int) bool { return c.Files[i].Path < c.Files[j].Path })
	sort.Slice(c.Tensors, func(i, j int) bool { return c.Tensors[i].Name < c.Tensors[j].Name })
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&c); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Write writes m as dir/potluck.json.
func (m *Manifest) Write(dir string) error {
	b, err := m.Encode()
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ManifestFile), b, 0o644)
}

// ParseManifest decodes and checks a manifest: known schema and kind, a base,
// no unknown fields, no duplicate file or tensor, and the canonical encoding
// itself (what Encode writes), so that the signed bytes cannot say one thing
// to this parser and another to a different JSON reader (a key repeated in
// another case, a second document after the first).
func ParseManifest(b []byte) (*Manifest, error) {
	if err := checkKeys(b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrManifest, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrManifest, err)
	}
	if m.Schema != ManifestSchema {
		return nil, fmt.Errorf("%w: schema %q, want %q", ErrManifest, m.Schema, ManifestSchema)
	}
	if m.Kind != KindDelta && m.Kind != KindMerge {
		return nil, fmt.Errorf("%w: kind %q, want %q or %q", ErrManifest, m.Kind, KindDelta, KindMerge)
	}
	if m.Base == "" {
		return nil, fmt.Errorf("%w: no base", ErrManifest)
	}
	canon, err := m.Encode()
	if err != nil || !bytes.Equal(bytes.TrimSpace(canon), bytes.TrimSpace(b)) {
		return nil, fmt.Errorf("%w: not in canonical form (field names, order, spacing or trailing data differ from the canonical encoding)", ErrManifest)
	}
	seen := map[string]bool{}
	for _, f := range m.Files {
		if seen["f:"+f.Path] {
			return nil, fmt.Errorf("%w: file %q listed twice", ErrManifest, f.Path)
		}
		seen["f:"+f.Path] = true
	}
	for _, t := range m.Tensors {
		if seen["t:"+t.Name] {
			return nil, fmt.Errorf("%w: tensor %q listed twice", ErrManifest, t.Name)
		}
		seen["t:"+t.Name] = true
	}
	return &m, nil
}

// ReadManifest reads dir/potluck.json.
func ReadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, err
	}
	m, err := ParseManifest(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ManifestFile), err)
	}
	return m, nil
}

// HexDigest returns the lower-case hex of a SHA-256 digest.
func HexDigest(d [32]byte) string { return hex.EncodeToString(d[:]) }

// Digest returns the hex SHA-256 of b.
func Digest(b []byte) string { return HexDigest(sha256.Sum256(b)) }
