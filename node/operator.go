package node

import (
	"context"
	"fmt"
	"time"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/internal/wire"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
)

// The calls an operator makes on a running hub, with an operator's token.

// MembersReload is what the hub loaded from its members file and the key
// changes it logged.
type MembersReload struct {
	Orgs, Keys, Tokens int
	KeyChanges         []KeyChange
}

// KeyChange is one key change the hub logged.
type KeyChange struct {
	Action, Key, Org string
	LogIndex         int64
}

// ReloadMembers has the hub re-read its members file.
func (c *Client) ReloadMembers(ctx context.Context) (*MembersReload, error) {
	resp, err := c.hub.ReloadMembers(ctx, &hubv1.ReloadMembersRequest{})
	if err != nil {
		return nil, fmt.Errorf("node: reload members: %w", err)
	}
	r := &MembersReload{Orgs: int(resp.GetOrgs()), Keys: int(resp.GetKeys()), Tokens: int(resp.GetTokens())}
	for _, k := range resp.GetKeyChanges() {
		r.KeyChanges = append(r.KeyChanges, KeyChange{Action: k.GetAction(), Key: k.GetKey(), Org: k.GetOrg(), LogIndex: k.GetLogIndex()})
	}
	return r, nil
}

// MergeJobs lists the merge jobs the caller may see (an operator: all),
// newest first.
func (c *Client) MergeJobs(ctx context.Context) ([]*potluck.MergeJob, error) {
	resp, err := c.hub.ListMergeJobs(ctx, &hubv1.ListMergeJobsRequest{})
	if err != nil {
		return nil, fmt.Errorf("node: list merge jobs: %w", err)
	}
	out := make([]*potluck.MergeJob, 0, len(resp.GetJobs()))
	for _, p := range resp.GetJobs() {
		j, err := wire.MergeJobOf(p)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, nil
}

// Unpin drops a release no other release refers to, so that the hub's
// next gc reclaims its files.
func (c *Client) Unpin(ctx context.Context, cid string) error {
	if _, err := c.hub.Unpin(ctx, &hubv1.UnpinRequest{Cid: cid}); err != nil {
		return fmt.Errorf("node: unpin %s: %w", cid, err)
	}
	return nil
}

// WaitMergeJob asks the hub for a job every interval until it stops (done,
// failed or cancelled), calling progress, if set, with each report, and
// returns the job as it stopped.
func (c *Client) WaitMergeJob(ctx context.Context, id string, every time.Duration, progress func(*potluck.MergeJob)) (*potluck.MergeJob, error) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		j, err := c.MergeJob(ctx, id)
		if err != nil {
			return nil, err
		}
		if progress != nil {
			progress(j)
		}
		if j.State.Final() {
			return j, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("node: waiting for merge job %s: %w", id, ctx.Err())
		case <-t.C:
		}
	}
}
