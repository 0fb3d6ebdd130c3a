package hub

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Access decides who may call what. Uploads are always checked against the
// signature's org; these options add bearer tokens (each org lists the
// SHA-256 of its tokens in the members file, never the tokens) on top.
type Access struct {
	// RequireToken: uploads and merges need a member's token (or client
	// certificate). Without it, a caller that sends none is judged by its
	// signatures alone; a token sent is still checked.
	RequireToken bool
	// MembersOnlyReads: reads (info, list, get, the log) need a member's
	// token too; otherwise anyone may read, as releases are public.
	MembersOnlyReads bool
}

// ErrUnauthenticated reports a call with no credential where one is needed,
// or with a token no member holds.
var ErrUnauthenticated = errors.New("hub: unauthenticated")

// ErrForbidden reports a caller whose org or role may not do what it asked:
// an upload signed by another org's key, an operator call by a publisher.
var ErrForbidden = errors.New("hub: forbidden")

// Caller is the member org a call was authenticated as.
type Caller struct {
	Org  string
	Role string
	Via  string // "token" or "certificate"
}

// Call classes: what an RPC needs of its caller.
const (
	CallRead     = iota // public unless MembersOnlyReads
	CallWrite           // a member when RequireToken
	CallOperator        // always the operator role
)

// TokenPrefix starts every token the hub makes, so a leaked one is easy to
// recognise in logs and secret scanners.
const TokenPrefix = "plk_"

// NewToken returns a fresh random bearer token.
func NewToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// HashToken is how a members file lists a token: "sha256:" and the hex
// SHA-256 of the token.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func checkTokenHash(s string) error {
	h, ok := strings.CutPrefix(s, "sha256:")
	if b, err := hex.DecodeString(h); !ok || err != nil || len(b) != sha256.Size {
		return fmt.Errorf("token %q is not sha256:<64 hex digits> (list the hash, never the token; `potluck hub token` prints both)", s)
	}
	return nil
}

// Authorize decides a call of the given class by a caller (nil when it
// sent no credential) and returns ctx carrying the caller.
func (h *Hub) Authorize(ctx context.Context, class int, c *Caller) (context.Context, error) {
	switch {
	case class == CallOperator && c == nil:
		return nil, fmt.Errorf("%w: operator calls need an operator's token", ErrUnauthenticated)
	case class == CallOperator && c.Role != RoleOperator:
		return nil, fmt.Errorf("%w: org %q is a %s; this call needs the operator role", ErrForbidden, c.Org, c.Role)
	case class == CallWrite && c == nil && h.opts.Access.RequireToken:
		return nil, fmt.Errorf("%w: uploads and merges need a member's token", ErrUnauthenticated)
	case class == CallRead && c == nil && h.opts.Access.MembersOnlyReads:
		return nil, fmt.Errorf("%w: this hub serves members only; send a member's token", ErrUnauthenticated)
	}
	if c == nil {
		return ctx, nil
	}
	return context.WithValue(ctx, callerKey{}, c), nil
}

// TokenCaller returns the member a bearer token belongs to.
func (h *Hub) TokenCaller(token string) (*Caller, error) {
	m, ok := h.members.Load().TokenOrg(HashToken(token))
	if !ok {
		return nil, fmt.Errorf("%w: the token is no member's", ErrUnauthenticated)
	}
	return &Caller{Org: m.Org, Role: m.Role, Via: "token"}, nil
}

// CertCaller returns the member named by a verified client certificate's
// common name, if any.
func (h *Hub) CertCaller(commonName string) (*Caller, bool) {
	for _, m := range h.members.Load().Orgs() {
		if m.Org == commonName {
			return &Caller{Org: m.Org, Role: m.Role, Via: "certificate"}, true
		}
	}
	return nil, false
}

type callerKey struct{}

// CallerFrom returns the authenticated caller of a call, nil if none.
func CallerFrom(ctx context.Context) *Caller {
	c, _ := ctx.Value(callerKey{}).(*Caller)
	return c
}

// checkAccess: an upload by an authenticated caller must be signed by a
// key of the caller's own org.
func (h *Hub) checkAccess(ctx context.Context, a *admission) error {
	c := CallerFrom(ctx)
	if c == nil || c.Org == a.org {
		return nil
	}
	return fmt.Errorf("%w: signed by a key of %q, but the caller authenticated as %q", ErrForbidden, a.org, c.Org)
}
