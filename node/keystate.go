package node

import (
	"context"
	"fmt"

	"github.com/potluck-hub/potluck"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
	"github.com/potluck-hub/potluck/translog"
)

// KeyState returns what the hub's log last says of the key with this hint
// (hex SHA-256 of its PEM): its latest key entry, whose Window is when the
// key may sign, and that entry's index; nil if the log never named the
// key. It reads the whole log up to the newest checkpoint, signed by the
// log key (Client.LogKey when pinned), and checks the entries are that
// checkpoint's tree.
func (c *Client) KeyState(ctx context.Context, hint string) (*potluck.KeyEntry, int64, error) {
	info, err := c.Info(ctx)
	if err != nil {
		return nil, 0, err
	}
	if c.LogKey != "" && c.LogKey != info.LogKey {
		return nil, 0, fmt.Errorf("%w: the hub's log key %q is not the pinned %q", ErrVerify, info.LogKey, c.LogKey)
	}
	v, err := translog.NewVerifier(info.LogKey)
	if err != nil {
		return nil, 0, err
	}
	resp, err := c.hub.GetCheckpoint(ctx, &hubv1.GetCheckpointRequest{})
	if err != nil {
		return nil, 0, fmt.Errorf("node: log checkpoint: %w", err)
	}
	cp, err := translog.ParseCheckpoint(resp.GetCheckpoint(), info.LogOrigin, v)
	if err != nil {
		return nil, 0, err
	}
	entries, err := c.entries(ctx, cp)
	if err != nil {
		return nil, 0, err
	}
	var last *potluck.KeyEntry
	var at int64
	for i, b := range entries {
		e, err := potluck.ParseEntry(b)
		if k, ok := e.(*potluck.KeyEntry); err == nil && ok && k.Key == hint {
			last, at = k, int64(i)
		}
	}
	return last, at, nil
}
