package node

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/internal/hashcache"
	"github.com/potluck-hub/potluck/merge"
	"github.com/potluck-hub/potluck/safetensors"
	"github.com/potluck-hub/potluck/signing"
	"github.com/potluck-hub/potluck/store"
)

// DeltaOptions say how to make a delta.
type DeltaOptions struct {
	BaseDir      string // the base model directory
	FinetunedDir string // the fine-tuned model directory
	OutDir       string // where the delta goes; must not exist
	// BaseCID is the base's CID on the hub; computed from BaseDir when empty
	// (which reads the whole base once), as DirCID does: a directory that
	// `potluck node pull` wrote names the release it holds.
	BaseCID string
	// DType of the delta tensors; empty keeps each base tensor's dtype.
	DType safetensors.DType
	// Exact makes a delta from which Apply gives back the fine-tune bit for
	// bit, or fails naming the element it cannot (merge.DiffOptions.Exact).
	Exact bool
	// Samples is how many training examples the fine-tune saw, recorded in
	// the manifest for federated averaging (fedavg); 0 records none.
	Samples int64
	// Progress, when set, is told how many bytes of the fine-tune's
	// weights have been read of how many while the delta is computed.
	Progress Progress
}

// MakeDelta writes finetuned − base to OutDir, tensor by tensor and chunk by
// chunk, with a manifest naming the base by CID. A PEFT LoRA adapter
// directory (FinetunedDir holding adapter_config.json) is taken as it is:
// its config and factors are copied, not expanded (see makeAdapterDelta). A
// delta that changes nothing is refused (merge.ErrZeroDelta). OutDir
// appears whole or not at all.
func MakeDelta(ctx context.Context, o DeltaOptions) (*potluck.Manifest, error) {
	d, err := makeDelta(ctx, o, nil, nil)
	if err != nil {
		return nil, err
	}
	return d.man, nil
}

// made is a delta made: its manifest, and the hashes of its files taken
// for the manifest, which a publication takes instead of reading the files
// again.
type made struct {
	man   *potluck.Manifest
	known knownFiles
}

// makeDelta is MakeDelta, the base's CID (when o.BaseCID is empty) taken
// through cache (nil: none) while the delta is computed: the CID is needed
// only once the delta is written, for its manifest. check, when set, is
// asked about the CID as soon as it is known; its error stops the delta
// and is returned.
func makeDelta(ctx context.Context, o DeltaOptions, cache *hashcache.Cache, check func(base string) error) (*made, error) {
	base, err := merge.OpenDir(o.BaseDir)
	if err != nil {
		return nil, err
	}
	defer base.Close()
	ft, err := merge.OpenDir(o.FinetunedDir)
	if err != nil {
		return nil, err
	}
	defer ft.Close()
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	baseCID := baseCIDOf(o, cache, func(base string) error {
		if check == nil {
			return nil
		}
		err := check(base)
		if err != nil {
			stop(err)
		}
		return err
	})
	defer baseCID() // a delta that failed waits for the hashing it started
	if merge.IsAdapter(ft) {
		if o.BaseCID, err = baseCID(); err != nil {
			return nil, err
		}
		man, err := makeAdapterDelta(o, base, ft)
		if err != nil {
			return nil, err
		}
		return &made{man: man}, nil
	}
	d := &made{}
	err = store.WriteDir(o.OutDir, func(tmp string) error {
		var shards []store.Entry // hashed as they were written
		hashed := func(rel string, info store.FileInfo) { shards = append(shards, store.Entry{Path: rel, File: info}) }
		tensors, err := merge.Diff(ctx, base, ft, tmp, merge.DiffOptions{DType: o.DType, Exact: o.Exact, Progress: o.Progress, Hashed: hashed})
		if err != nil {
			if _, berr := baseCID(); berr != nil {
				return berr // the base refused, which stopped the delta
			}
			return err
		}
		if err := refuseZero(base, tmp); err != nil {
			return fmt.Errorf("node: delta of %s: %w", o.FinetunedDir, err)
		}
		if err := merge.WriteLayout(base, ft, tmp); err != nil {
			return err
		}
		if o.BaseCID, err = baseCID(); err != nil {
			return err
		}
		known, err := knownAt(tmp, shards)
		if err != nil {
			return err
		}
		d.man, known, err = writeManifest(tmp, o, tensors, known)
		d.known = known.moved(tmp, o.OutDir)
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// baseCIDOf returns o.BaseCID, or, when it is empty, starts computing the
// CID of o.BaseDir (as DirCID does, through cache), then asks check about
// it, and returns a function that waits for both.
func baseCIDOf(o DeltaOptions, cache *hashcache.Cache, check func(string) error) func() (string, error) {
	if o.BaseCID != "" {
		return func() (string, error) { return o.BaseCID, nil }
	}
	var root string
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		if root, err = dirCID(o.BaseDir, cache); err == nil {
			err = check(root)
		}
	}()
	return func() (string, error) {
		<-done
		return root, err
	}
}

// DirCID is the CID of the release a directory holds, as the hub computes
// it: model.sig and hidden files (a pulled release's .potluck/) left out.
func DirCID(dir string) (string, error) { return dirCID(dir, nil) }

// dirCID is DirCID through cache (nil: none), its files hashed several at
// a time.
func dirCID(dir string, cache *hashcache.Cache) (string, error) {
	d, err := scanner{cache: cache}.scan(dir)
	if err != nil {
		return "", err
	}
	c, err := d.CID()
	if err != nil {
		return "", err
	}
	return c.String(), nil
}

// writeManifest writes the manifest of the delta in dir: its files, as
// they are there (those not known hashed several at a time), and tensors.
// It returns the files' hashes.
func writeManifest(dir string, o DeltaOptions, tensors []potluck.Tensor, known knownFiles) (*potluck.Manifest, knownFiles, error) {
	d, err := scanner{known: known}.scan(dir)
	if err != nil {
		return nil, nil, err
	}
	all, err := knownAt(dir, d.Files)
	if err != nil {
		return nil, nil, err
	}
	man := &potluck.Manifest{Schema: potluck.ManifestSchema, Kind: potluck.KindDelta, Base: o.BaseCID,
		Samples: o.Samples, Files: merge.DescribeEntries(d.Files), Tensors: tensors}
	return man, all, man.Write(dir)
}

// SignDir signs dir's files and writes the bundle to dir/model.sig, where
// `potluck verify` and the OpenSSF tool look for it.
func SignDir(dir string, s *signing.Signer) (*store.Dir, []byte, error) {
	d, err := store.ScanDir(dir)
	if err != nil {
		return nil, nil, err
	}
	bundle, err := Bundle(d, s)
	if err != nil {
		return nil, nil, err
	}
	return d, bundle, os.WriteFile(filepath.Join(dir, signing.SignatureFile), bundle, 0o644)
}

// Bundle signs a scanned directory's files in the OpenSSF model-signing
// format, recording its hidden paths as ignored, so the OpenSSF tool
// verifies the same set.
func Bundle(d *store.Dir, s *signing.Signer) ([]byte, error) {
	res := make([]signing.Resource, len(d.Files))
	for i, f := range d.Files {
		res[i] = signing.Resource{Name: f.Path, Digest: f.File.SHA256}
	}
	slices.SortFunc(res, func(a, b signing.Resource) int { return signing.ComparePaths(a.Name, b.Name) })
	return signing.Sign(s, filepath.Base(d.Path), res, d.Hidden)
}
