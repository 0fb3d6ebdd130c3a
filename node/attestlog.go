package node

import (
	"context"
	"fmt"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/signing"
	"github.com/potluck-hub/potluck/translog"
)

// LoggedAttestation is an attestation entry of a hub's log that checked out.
type LoggedAttestation struct {
	Index int64
	Entry *potluck.AttestationEntry
}

// CheckLoggedAttestations checks every attestation entry of a log from the
// log alone, given its entries in order from the first: each entry's
// bundle is signed by the key the entry names, and the key entries before
// it say that key was the named org's and valid at the entry's time; the
// signed statement is a well-formed evaluation whose release and claim are
// the entry's; and the release it is about was logged earlier. It returns
// the attestations, in log order, or the first that fails, naming its
// index. The caller proves the entries are the log's (see
// Client.AuditAttestations).
func CheckLoggedAttestations(entries [][]byte) ([]LoggedAttestation, error) {
	keys := keyStates{}
	released := map[string]bool{}
	out := []LoggedAttestation{}
	for i, b := range entries {
		e, err := potluck.ParseEntry(b)
		if err != nil {
			return nil, fmt.Errorf("%w: log entry %d: %w", ErrVerify, i, err)
		}
		keys.apply(e)
		switch e := e.(type) {
		case *potluck.ReleaseEntry:
			released[e.Release] = true
		case *potluck.AttestationEntry:
			if err := checkLoggedAttestation(keys, released, e, int64(i)); err != nil {
				return nil, err
			}
			out = append(out, LoggedAttestation{Index: int64(i), Entry: e})
		}
	}
	return out, nil
}

func checkLoggedAttestation(keys keyStates, released map[string]bool, e *potluck.AttestationEntry, i int64) error {
	state, err := keys.check(e.Key, e.Time, i)
	if err != nil {
		return err
	}
	if state.Org != e.Org {
		return fmt.Errorf("%w: log entry %d: attestation by %q, but key %s was %q's", ErrVerify, i, e.Org, e.Key, state.Org)
	}
	pub, err := signing.ParsePublicKey([]byte(state.PublicKey))
	if err != nil {
		return fmt.Errorf("%w: log entry %d: the logged key %s: %w", ErrVerify, i, e.Key, err)
	}
	payload, _, err := signing.VerifyStatement(e.Bundle, []*signing.PublicKey{pub})
	if err != nil {
		return fmt.Errorf("%w: log entry %d: attestation by %q: %w", ErrVerify, i, e.Org, err)
	}
	st, err := potluck.ParseEvaluationStatement(payload)
	if err != nil {
		return fmt.Errorf("%w: log entry %d: %w", ErrVerify, i, err)
	}
	switch {
	case st.Release() != e.Release:
		return fmt.Errorf("%w: log entry %d: the entry names release %s, its signed statement %s", ErrVerify, i, e.Release, st.Release())
	case !potluck.SameClaim(st.Predicate, e.Claim):
		return fmt.Errorf("%w: log entry %d: the entry claims %s %s %v, its signed statement %s %s %v", ErrVerify, i,
			e.Claim.Task, e.Claim.Metric, e.Claim.Value, st.Predicate.Task, st.Predicate.Metric, st.Predicate.Value)
	case !released[e.Release]:
		return fmt.Errorf("%w: log entry %d: attestation of release %s, which no earlier entry logs", ErrVerify, i, e.Release)
	}
	return nil
}

// AuditAttestations fetches every entry of the tree cp commits to (a
// checkpoint the caller checked, as VerifyLog returns it), proves they are
// exactly that tree, and checks every attestation entry from them alone
// (CheckLoggedAttestations).
func (c *Client) AuditAttestations(ctx context.Context, cp *translog.Checkpoint) ([]LoggedAttestation, error) {
	entries, err := c.entries(ctx, cp)
	if err != nil {
		return nil, err
	}
	return CheckLoggedAttestations(entries)
}
