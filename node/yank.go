package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/internal/wire"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
)

// YankFile is where a pulled release keeps the hub's record of its yank,
// when it was yanked at pull time: in the hidden folder outside its CID and
// its signature.
const YankFile = ".potluck/yank.json"

// Yank withdraws a release on the hub (the caller's token must be its
// publisher org's or an operator's) and returns it as now recorded, with
// the releases built on it, directly or not, which the yank affects.
func (c *Client) Yank(ctx context.Context, cid, reason string) (*potluck.Release, []string, error) {
	resp, err := c.hub.Yank(ctx, &hubv1.YankRequest{Cid: cid, Reason: reason})
	if err != nil {
		return nil, nil, fmt.Errorf("node: yank %s: %w", cid, err)
	}
	r, err := wire.ReleaseOf(resp.GetRelease())
	if err != nil {
		return nil, nil, err
	}
	return r, append([]string{}, resp.GetAffected()...), nil
}

// writeKept writes v as JSON to name (slash-separated) inside a release
// directory, making its folder.
func writeKept(dir, name string, v any) error {
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(p, append(b, '\n'), 0o644)
}

// ReadYank reads the yank a pulled release directory keeps: nil when it
// keeps none (the release was not yanked when it was pulled).
func ReadYank(dir string) (*potluck.Yank, error) {
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(YankFile)))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var y potluck.Yank
	if err := json.Unmarshal(b, &y); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", dir, YankFile, err)
	}
	return &y, nil
}
