package node

import (
	"context"
	"fmt"

	"google.golang.org/grpc"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/internal/wire"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
	"github.com/potluck-hub/potluck/signing"
)

// Client talks to one hub.
type Client struct {
	conn *grpc.ClientConn
	hub  hubv1.HubServiceClient
	// LogKey, when set, pins the hub's transparency-log verifier key:
	// receipts and checkpoints signed by another key are refused.
	LogKey string
}

// Dial connects to a hub's gRPC address (host:port), over TLS unless opts
// say plaintext (see DialOptions).
func Dial(addr string, opts DialOptions) (*Client, error) {
	gopts, err := opts.GRPCOptions()
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient(addr, gopts...)
	if err != nil {
		return nil, fmt.Errorf("node: dial %s: %w", addr, err)
	}
	return &Client{conn: conn, hub: hubv1.NewHubServiceClient(conn)}, nil
}

// Conn is the client's gRPC connection, for calls the Client does not wrap.
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// HubInfo is what a hub says of itself.
type HubInfo struct {
	Version   string
	HubKey    *signing.PublicKey
	Members   map[string][]*signing.PublicKey
	LogOrigin string // the origin line of the log's checkpoints
	LogKey    string // the log's checkpoint verifier key
	// TLSFingerprint is what the hub says its certificate's SHA-256 is.
	TLSFingerprint string
}

// TrustedKeys returns the hub's key and every member key.
func (i *HubInfo) TrustedKeys() []*signing.PublicKey {
	keys := []*signing.PublicKey{i.HubKey}
	for _, ks := range i.Members {
		keys = append(keys, ks...)
	}
	return keys
}

// Info asks the hub for its version, its merge-signing key and its members.
func (c *Client) Info(ctx context.Context) (*HubInfo, error) {
	resp, err := c.hub.GetInfo(ctx, &hubv1.GetInfoRequest{})
	if err != nil {
		return nil, fmt.Errorf("node: hub info: %w", err)
	}
	hubKey, err := signing.ParsePublicKey(resp.GetPublicKey())
	if err != nil {
		return nil, fmt.Errorf("node: hub key: %w", err)
	}
	info := &HubInfo{Version: resp.GetVersion(), HubKey: hubKey, Members: map[string][]*signing.PublicKey{},
		LogOrigin: resp.GetLogOrigin(), LogKey: resp.GetLogKey(), TLSFingerprint: resp.GetTlsFingerprint()}
	for _, m := range resp.GetMembers() {
		for _, pem := range m.GetPublicKeys() {
			k, err := signing.ParsePublicKey(pem)
			if err != nil {
				return nil, fmt.Errorf("node: key of member %q: %w", m.GetOrg(), err)
			}
			info.Members[m.GetOrg()] = append(info.Members[m.GetOrg()], k)
		}
	}
	return info, nil
}

// Release describes a release by CID.
func (c *Client) Release(ctx context.Context, cid string) (*potluck.Release, error) {
	resp, err := c.hub.GetRelease(ctx, &hubv1.GetReleaseRequest{Cid: cid})
	if err != nil {
		return nil, fmt.Errorf("node: release %s: %w", cid, err)
	}
	return wire.ReleaseOf(resp.GetRelease())
}

// List lists the hub's releases of a kind and base ("": any), oldest
// first, yanked ones left out (see ListAll).
func (c *Client) List(ctx context.Context, kind potluck.Kind, base string) ([]*potluck.Release, error) {
	return c.ListAll(ctx, ListOptions{Kind: kind, Base: base})
}

// Merge asks the hub to run a recipe (YAML naming releases by CID).
func (c *Client) Merge(ctx context.Context, recipe []byte) (*potluck.Release, error) {
	resp, err := c.hub.Merge(ctx, &hubv1.MergeRequest{Recipe: string(recipe)})
	if err != nil {
		return nil, fmt.Errorf("node: merge: %w", err)
	}
	return wire.ReleaseOf(resp.GetRelease())
}

// StartMerge queues a recipe as a merge job on the hub and returns the job
// at once (done already when the hub has merged the same recipe before).
func (c *Client) StartMerge(ctx context.Context, recipe []byte) (*potluck.MergeJob, error) {
	resp, err := c.hub.StartMerge(ctx, &hubv1.StartMergeRequest{Recipe: string(recipe)})
	if err != nil {
		return nil, fmt.Errorf("node: start merge: %w", err)
	}
	return wire.MergeJobOf(resp.GetJob())
}

// MergeJob reports a merge job: its state, progress, release or error.
func (c *Client) MergeJob(ctx context.Context, id string) (*potluck.MergeJob, error) {
	resp, err := c.hub.GetMergeJob(ctx, &hubv1.GetMergeJobRequest{Id: id})
	if err != nil {
		return nil, fmt.Errorf("node: merge job %s: %w", id, err)
	}
	return wire.MergeJobOf(resp.GetJob())
}

// CancelMergeJob stops a merge job and returns it once stopped.
func (c *Client) CancelMergeJob(ctx context.Context, id string) (*potluck.MergeJob, error) {
	resp, err := c.hub.CancelMergeJob(ctx, &hubv1.CancelMergeJobRequest{Id: id})
	if err != nil {
		return nil, fmt.Errorf("node: cancel merge job %s: %w", id, err)
	}
	return wire.MergeJobOf(resp.GetJob())
}
