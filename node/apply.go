package node

import (
	"context"
	"fmt"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/merge"
	"github.com/potluck-hub/potluck/store"
)

// ApplyOptions say which delta to apply to which base, and where the
// fine-tuned model goes.
type ApplyOptions struct {
	DeltaDir string // a delta release directory (its potluck.json names its base)
	BaseDir  string // the release the delta was made against: a base or a merge
	OutDir   string // must not exist
}

// Apply rebuilds the fine-tuned model a delta was made from into OutDir,
// laid out as it was (merge.Apply), after checking that BaseDir holds the
// release the delta's manifest names. It returns the delta's manifest.
// OutDir appears whole or not at all.
func Apply(ctx context.Context, o ApplyOptions) (*potluck.Manifest, error) {
	man, err := potluck.ReadManifest(o.DeltaDir)
	if err != nil {
		return nil, fmt.Errorf("apply: %s is not a delta release: %w", o.DeltaDir, err)
	}
	if man.Kind != potluck.KindDelta {
		return nil, fmt.Errorf("apply: %s holds a %s, not a delta", o.DeltaDir, man.Kind)
	}
	baseCID, err := DirCID(o.BaseDir)
	if err != nil {
		return nil, err
	}
	if baseCID != man.Base {
		return nil, fmt.Errorf("apply: the delta in %s was made against %s; %s holds %s: give the delta's base", o.DeltaDir, man.Base, o.BaseDir, baseCID)
	}
	base, err := merge.OpenDir(o.BaseDir)
	if err != nil {
		return nil, err
	}
	defer base.Close()
	delta, err := merge.OpenDir(o.DeltaDir)
	if err != nil {
		return nil, err
	}
	defer delta.Close()
	err = store.WriteDir(o.OutDir, func(tmp string) error { return merge.Apply(ctx, base, delta, tmp) })
	return man, err
}
