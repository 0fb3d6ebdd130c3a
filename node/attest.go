package node

import (
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/internal/wire"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
	"github.com/potluck-hub/potluck/signing"
)

// Attest signs, with the org's key, the statement that release cid scored
// e (an in-toto Statement v1 whose subject is the release's CID and the
// root digest of its files as the hub lists them), and has the hub record
// it. The hub answers with the attestation and its log receipt.
func (c *Client) Attest(ctx context.Context, s *signing.Signer, cid string, e potluck.Evaluation) (*potluck.Attestation, error) {
	if err := e.Check(); err != nil {
		return nil, fmt.Errorf("node: attest %s: %w", cid, err)
	}
	rel, err := c.Release(ctx, cid)
	if err != nil {
		return nil, err
	}
	root, err := signing.FilesRoot(rel.Files)
	if err != nil {
		return nil, fmt.Errorf("node: attest %s: %w", cid, err)
	}
	st, err := potluck.NewEvaluationStatement(rel.CID, hex.EncodeToString(root[:]), e)
	if err != nil {
		return nil, fmt.Errorf("node: attest %s: %w", cid, err)
	}
	bundle, err := signing.SignStatement(s, st)
	if err != nil {
		return nil, err
	}
	return c.AttestBundle(ctx, bundle)
}

// AttestBundle sends a signed evaluation statement as it is.
func (c *Client) AttestBundle(ctx context.Context, bundle []byte) (*potluck.Attestation, error) {
	resp, err := c.hub.Attest(ctx, &hubv1.AttestRequest{Bundle: bundle})
	if err != nil {
		return nil, fmt.Errorf("node: attest: %w", err)
	}
	return wire.AttestationOf(resp.GetAttestation())
}

// Attestations lists a release's attestations, oldest first, optionally
// only one org's or one task's ("" for any); never nil.
func (c *Client) Attestations(ctx context.Context, cid, org, task string) ([]*potluck.Attestation, error) {
	resp, err := c.hub.ListAttestations(ctx, &hubv1.ListAttestationsRequest{ReleaseCid: cid, Org: org, Task: task})
	if err != nil {
		return nil, fmt.Errorf("node: attestations of %s: %w", cid, err)
	}
	out := []*potluck.Attestation{}
	for _, p := range resp.GetAttestations() {
		a, err := wire.AttestationOf(p)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// CheckAttestation verifies an attestation of release rootCID, whose files
// have the root digest root, offline: its bundle is signed by a trusted key
// (an untrusted one wraps signing.ErrUntrusted), the statement is a
// well-formed evaluation of exactly this release, the attestation's fields
// say what the statement says, and its log receipt, when it has one, holds
// that bundle under a checkpoint signed by logKey (or, when logKey is
// empty, the key recorded with the receipt) and names the same org, key
// and claim. It returns the signing key.
func CheckAttestation(a *potluck.Attestation, trusted []*signing.PublicKey, rootCID string, root [32]byte, logKey string) (*signing.PublicKey, error) {
	payload, key, err := signing.VerifyStatement(a.Bundle, trusted)
	if err != nil {
		return nil, err
	}
	st, err := potluck.ParseEvaluationStatement(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrVerify, err)
	}
	want := hex.EncodeToString(root[:])
	switch {
	case st.Release() != rootCID || st.Root() != want:
		return nil, fmt.Errorf("%w: the statement is about %s (root sha256 %s), not this release %s (root sha256 %s)", ErrVerify, st.Release(), st.Root(), rootCID, want)
	case a.Release != rootCID || a.KeyHint != key.Hint() || !potluck.SameClaim(a.Claim, st.Predicate):
		return nil, fmt.Errorf("%w: the attestation's fields (release %s, key %s, %s %s %v) are not what its signed statement says", ErrVerify, a.Release, a.KeyHint, a.Claim.Task, a.Claim.Metric, a.Claim.Value)
	}
	r := a.Receipt
	if r == nil {
		if logKey != "" {
			return nil, fmt.Errorf("%w: no log receipt, and a log key was given", ErrVerify)
		}
		return key, nil
	}
	if logKey == "" {
		logKey = r.LogKey
	}
	e, err := CheckAttestationReceipt(r, a.Bundle, logKey)
	if err != nil {
		return nil, fmt.Errorf("log receipt: %w", err)
	}
	if e.Release != rootCID || e.Org != a.Org || e.Key != key.Hint() || !potluck.SameClaim(e.Claim, st.Predicate) {
		return nil, fmt.Errorf("%w: log entry %d records release %s by %q (key %s), not what the attestation says", ErrVerify, r.Index, e.Release, e.Org, e.Key)
	}
	return key, nil
}

// keepAttestations fetches a release's attestations, checks each against
// the trusted keys and the hub's log key, and keeps those signed by a
// trusted key in dir/.potluck/attestations/<log index>.json; it returns
// the kept ones, and those signed by keys not trusted (left out). Any
// other failure (an altered bundle, a claim about another release, a bad
// receipt) fails the pull.
func (c *Client) keepAttestations(ctx context.Context, rel *potluck.Release, dir string, trusted []*signing.PublicKey, root [32]byte) (kept, untrusted []*potluck.Attestation, err error) {
	as, err := c.Attestations(ctx, rel.CID, "", "")
	if err != nil || len(as) == 0 {
		return []*potluck.Attestation{}, []*potluck.Attestation{}, err
	}
	info, err := c.Info(ctx)
	if err != nil {
		return nil, nil, err
	}
	if c.LogKey != "" && c.LogKey != info.LogKey {
		return nil, nil, fmt.Errorf("%w: the hub's log key %q is not the pinned %q", ErrVerify, info.LogKey, c.LogKey)
	}
	kept, untrusted = []*potluck.Attestation{}, []*potluck.Attestation{}
	for _, a := range as {
		if a.Receipt != nil {
			a.Receipt.LogOrigin, a.Receipt.LogKey = info.LogOrigin, info.LogKey
		}
		_, err := CheckAttestation(a, trusted, rel.CID, root, info.LogKey)
		if errors.Is(err, signing.ErrUntrusted) {
			untrusted = append(untrusted, a)
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("attestation by %q (%s %s): %w", a.Org, a.Claim.Task, a.Claim.Metric, err)
		}
		if err := writeAttestation(dir, a); err != nil {
			return nil, nil, err
		}
		kept = append(kept, a)
	}
	return kept, untrusted, nil
}

func writeAttestation(dir string, a *potluck.Attestation) error {
	name := "unlogged-" + potluck.Digest(a.Bundle)[:16]
	if a.Receipt != nil {
		name = strconv.FormatInt(a.Receipt.Index, 10)
	}
	p := filepath.Join(dir, filepath.FromSlash(potluck.AttestationsDir), name+".json")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(p, append(b, '\n'), 0o644)
}

// KeptAttestation is an attestation a release directory keeps, as
// VerifyDir found it.
type KeptAttestation struct {
	File        string // its path inside the directory
	Attestation *potluck.Attestation
	// Key is the trusted key that signed it; nil when no trusted key did,
	// and the attestation was left unchecked.
	Key *signing.PublicKey
}

// checkKeptAttestations checks every attestation kept in dir against the
// release the directory holds. One signed by a key not trusted is listed,
// unchecked, with no key; any other failure is an error naming the file.
func checkKeptAttestations(dir string, trusted []*signing.PublicKey, logKey string, rep *Report) error {
	rep.Attestations = []KeptAttestation{}
	files, err := filepath.Glob(filepath.Join(dir, filepath.FromSlash(potluck.AttestationsDir), "*.json"))
	if err != nil || len(files) == 0 {
		return err
	}
	if rep.CID == "" {
		return fmt.Errorf("%w: %s keeps attestations but is not a release directory", ErrVerify, dir)
	}
	slices.SortFunc(files, func(a, b string) int { return compareLogNames(filepath.Base(a), filepath.Base(b)) })
	for _, f := range files {
		rel := filepath.ToSlash(strings.TrimPrefix(f, dir+string(filepath.Separator)))
		var a potluck.Attestation
		b, err := os.ReadFile(f)
		if err == nil {
			err = json.Unmarshal(b, &a)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		key, err := CheckAttestation(&a, trusted, rep.CID, rep.Signed.Root, logKey)
		if err != nil && !errors.Is(err, signing.ErrUntrusted) {
			return fmt.Errorf("%s: attestation %s: %w", dir, rel, err)
		}
		rep.Attestations = append(rep.Attestations, KeptAttestation{File: rel, Attestation: &a, Key: key})
	}
	return nil
}

// compareLogNames orders "<index>.json" names by index, others after.
func compareLogNames(a, b string) int {
	ia, errA := strconv.ParseInt(strings.TrimSuffix(a, ".json"), 10, 64)
	ib, errB := strconv.ParseInt(strings.TrimSuffix(b, ".json"), 10, 64)
	switch {
	case errA == nil && errB == nil:
		return cmp.Compare(ia, ib)
	case errA == nil:
		return -1
	case errB == nil:
		return 1
	}
	return strings.Compare(a, b)
}
