package hub_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/potluck-hub/potluck/hub"
	"github.com/potluck-hub/potluck/node"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
)

// tokenHarness restarts hs with a token per org (lab-a, lab-b and an
// operator org "ops") and the given access rules.
func tokenHarness(t *testing.T, access hub.Access) (hs *harness, tokA, tokB, tokOp string) {
	hs = newHarness(t)
	var toks []string
	for range 3 {
		tok, err := hub.NewToken()
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, tok)
	}
	members := fmt.Sprintf("orgs:\n  - name: %s\n    keys:\n      - file: a.pub\n    tokens: [%s]\n"+
		"  - name: %s\n    keys:\n      - file: b.pub\n    tokens: [%s]\n  - name: ops\n    role: operator\n    tokens: [%s]\n",
		orgA, hub.HashToken(toks[0]), orgB, hub.HashToken(toks[1]), hub.HashToken(toks[2]))
	if err := os.WriteFile(hs.members, []byte(members), 0o644); err != nil {
		t.Fatal(err)
	}
	hs.stop()
	hs.configure = func(o *hub.Options) { o.Access = access }
	hs.start()
	return hs, toks[0], toks[1], toks[2]
}

// as dials the harness's hub with a token (pinning its certificate).
func (hs *harness) as(token string) *node.Client {
	hs.t.Helper()
	o := hs.dial
	o.Token = token
	c, err := node.Dial(hs.addr, o)
	if err != nil {
		hs.t.Fatal(err)
	}
	hs.t.Cleanup(func() { c.Close() })
	return c
}

func TestTokensBindCallersToTheirOrg(t *testing.T) {
	hs, tokA, tokB, tokOp := tokenHarness(t, hub.Access{RequireToken: true})
	ctx := context.Background()
	m := writeModels(t, hs.dir)
	d, bundle := signDir(t, m.base, hs.keyA)
	a, b, op := hs.as(tokA), hs.as(tokB), hs.as(tokOp)

	hs.expectRefused(t, codes.Unauthenticated, []string{"token"}, func() error {
		_, err := hs.client.RegisterBase(ctx, d, bundle, nil) // no token
		return err
	})
	hs.expectRefused(t, codes.Unauthenticated, []string{"no member's"}, func() error {
		_, err := hs.as("plk_not-a-member").RegisterBase(ctx, d, bundle, nil)
		return err
	})
	hs.expectRefused(t, codes.PermissionDenied, []string{`"lab-a"`, `"lab-b"`}, func() error {
		_, err := b.RegisterBase(ctx, d, bundle, nil) // lab-a's signature, lab-b's token
		return err
	})
	base, err := a.RegisterBase(ctx, d, bundle, nil)
	if err != nil {
		t.Fatalf("lab-a's base with lab-a's token: %v", err)
	}
	delta := filepath.Join(hs.dir, "delta-b")
	makeDelta(t, m.base, m.ftB, delta, base.CID)
	scan, dbundle := signDir(t, delta, hs.keyB)
	rel, err := b.Publish(ctx, scan, dbundle, base.CID, nil)
	if err != nil {
		t.Fatalf("lab-b's delta with lab-b's token: %v", err)
	}

	// Reads are public by default: no token needed.
	if _, err := hs.client.List(ctx, "", ""); err != nil {
		t.Errorf("a public read without a token: %v", err)
	}
	// Unpin is the operator's.
	for _, c := range []struct {
		client *node.Client
		code   codes.Code
	}{{hs.client, codes.Unauthenticated}, {a, codes.PermissionDenied}} {
		_, err := hs.rawAs(c.client).Unpin(ctx, &hubv1.UnpinRequest{Cid: rel.CID})
		if got := grpcStatus(t, err).Code(); got != c.code {
			t.Errorf("unpin: %v, want %v", err, c.code)
		}
	}
	// The operator is let through, to the hub's own rule: a logged release
	// stays pinned.
	_, err = hs.rawAs(op).Unpin(ctx, &hubv1.UnpinRequest{Cid: rel.CID})
	if st := grpcStatus(t, err); st.Code() != codes.FailedPrecondition || !strings.Contains(st.Message(), "still referenced") {
		t.Errorf("the operator's unpin: %v, want FailedPrecondition (logged releases stay)", err)
	}
}

// rawAs is a raw gRPC client on a node client's connection.
func (hs *harness) rawAs(c *node.Client) hubv1.HubServiceClient {
	return hubv1.NewHubServiceClient(c.Conn())
}

func TestMembersOnlyReads(t *testing.T) {
	hs, tokA, _, _ := tokenHarness(t, hub.Access{MembersOnlyReads: true})
	ctx := context.Background()
	_, err := hs.client.List(ctx, "", "")
	if got := grpcStatus(t, err).Code(); got != codes.Unauthenticated {
		t.Errorf("a read without a token: %v, want Unauthenticated", err)
	}
	if _, err := hs.as(tokA).List(ctx, "", ""); err != nil {
		t.Errorf("a member's read: %v", err)
	}
}

func TestTLSRefusesAWrongPinAndPlaintext(t *testing.T) {
	hs := newHarness(t)
	ctx := context.Background()
	for _, o := range []node.DialOptions{
		{Fingerprint: strings.Repeat("0", 64)},
		{Plaintext: true},
		{}, // system roots do not know the self-signed certificate
	} {
		c, err := node.Dial(hs.addr, o)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Info(ctx)
		c.Close()
		if err == nil {
			t.Errorf("%+v: the hub answered", o)
		} else if o.Fingerprint != "" && !strings.Contains(err.Error(), "fingerprint") {
			t.Errorf("a wrong pin: %v, want it named", err)
		}
	}
	// The pin in any usual spelling works.
	fp := hs.h.Info().TLSFingerprint
	var colons []string
	for i := 0; i < len(fp); i += 2 {
		colons = append(colons, strings.ToUpper(fp[i:i+2]))
	}
	c, err := node.Dial(hs.addr, node.DialOptions{Fingerprint: "sha256:" + strings.Join(colons, ":")})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatalf("the right pin: %v", err)
	}
	if info.TLSFingerprint != fp {
		t.Errorf("GetInfo serves fingerprint %q, the listener's is %q", info.TLSFingerprint, fp)
	}
}
