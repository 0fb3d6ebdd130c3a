package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/mod/sumdb/tlog"

	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
	"github.com/potluck-hub/potluck/translog"
)

// LogState is what an auditor remembers of a hub's log between checks: the
// log's identity and the last checkpoint seen.
type LogState struct {
	Origin     string `json:"origin"`
	LogKey     string `json:"log_key"`
	Checkpoint []byte `json:"checkpoint"`
}

// LogCheck is the outcome of one VerifyLog.
type LogCheck struct {
	Old, New *translog.Checkpoint // Old is nil on the first check
}

// VerifyLog fetches the hub's newest checkpoint, checks its signature with
// the log key remembered in stateFile (on the first check: logKey, or the
// key the hub names), proves it consistent with the remembered checkpoint,
// and only then remembers it. A hub that rewrote, forked or shrank its log
// fails with translog.ErrVerify.
func (c *Client) VerifyLog(ctx context.Context, stateFile, logKey string) (*LogCheck, error) {
	st, err := readLogState(stateFile)
	if err != nil {
		return nil, err
	}
	if st == nil {
		info, err := c.Info(ctx)
		if err != nil {
			return nil, err
		}
		if logKey != "" && logKey != info.LogKey {
			return nil, fmt.Errorf("%w: the hub's log key %q is not the given %q", ErrVerify, info.LogKey, logKey)
		}
		st = &LogState{Origin: info.LogOrigin, LogKey: info.LogKey}
	}
	v, err := translog.NewVerifier(st.LogKey)
	if err != nil {
		return nil, err
	}
	resp, err := c.hub.GetCheckpoint(ctx, &hubv1.GetCheckpointRequest{})
	if err != nil {
		return nil, fmt.Errorf("node: log checkpoint: %w", err)
	}
	check := &LogCheck{}
	if check.New, err = translog.ParseCheckpoint(resp.GetCheckpoint(), st.Origin, v); err != nil {
		return nil, err
	}
	if st.Checkpoint != nil {
		if check.Old, err = translog.ParseCheckpoint(st.Checkpoint, st.Origin, v); err != nil {
			return nil, fmt.Errorf("the remembered checkpoint in %s: %w", stateFile, err)
		}
		if err := c.checkConsistency(ctx, check.Old, check.New); err != nil {
			return nil, err
		}
	}
	st.Checkpoint = resp.GetCheckpoint()
	return check, writeLogState(stateFile, st)
}

func (c *Client) checkConsistency(ctx context.Context, old, new *translog.Checkpoint) error {
	var proof []tlog.Hash
	if old.Size > 0 && new.Size > old.Size {
		resp, err := c.hub.GetConsistencyProof(ctx, &hubv1.GetConsistencyProofRequest{First: old.Size, Second: new.Size})
		if err != nil {
			return fmt.Errorf("node: consistency proof %d→%d: %w", old.Size, new.Size, err)
		}
		for _, b := range resp.GetProof() {
			var h tlog.Hash
			if len(b) != len(h) {
				return fmt.Errorf("%w: a proof hash of %d bytes", translog.ErrVerify, len(b))
			}
			copy(h[:], b)
			proof = append(proof, h)
		}
	}
	return translog.VerifyConsistency(old, new, proof)
}

func readLogState(path string) (*LogState, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var st LogState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &st, nil
}

// writeLogState replaces the state file atomically.
func writeLogState(path string, st *LogState) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".logstate-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(append(b, '\n'))
	if err = errors.Join(err, tmp.Sync(), tmp.Close()); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
