package hub

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	cid "github.com/ipfs/go-cid"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/signing"
)

// Evaluation attestations: an org's signed claim of how a release scored
// (see potluck.Evaluation). The hub checks the signature as it checks an
// upload's (a member key, valid now, of the caller's own org), that the
// statement is about a release it holds (CID and root digest both) and
// that the claim is well formed; then it logs the whole bundle and keeps
// the attestation, with its receipt, in DATA/attestations/<release>/<log
// index>.json (written atomically, after the log entry, as releases are).
// The numbers are the org's: the hub never computes or edits them.
//
// A refused attestation is answered with its reason and counted in the
// hub's own log, but not written to the transparency log: the log records
// what the hub accepted and the verdicts of admission, whose screening of
// model bytes an auditor must be able to review. A refused claim changed
// nothing and screened nothing: it is refused for its form alone, which
// its sender is told at once; logging it would let any member key fill
// the log with free, unreviewable entries.

// Attest checks a signed evaluation statement (a Sigstore bundle) and
// records it; the same bundle sent again returns the recorded attestation.
func (h *Hub) Attest(ctx context.Context, bundle []byte) (*potluck.Attestation, error) {
	a, err := h.attest(ctx, bundle)
	if err != nil {
		h.logger.Warn("attestation refused", "reason", err)
		return nil, err
	}
	return a, nil
}

func (h *Hub) attest(ctx context.Context, bundle []byte) (*potluck.Attestation, error) {
	ms := h.members.Load() // one version of the members for both steps
	payload, key, err := signing.VerifyStatement(bundle, ms.Keys())
	if errors.Is(err, signing.ErrUntrusted) {
		return nil, fmt.Errorf("attest: the statement is signed by no member key of this hub: %w", err)
	}
	if err != nil {
		return nil, fmt.Errorf("attest: %w", err)
	}
	mk, _ := ms.Key(key) // VerifyStatement only accepts member keys
	now := h.opts.Now().UTC()
	if err := mk.ValidAt(now); err != nil {
		return nil, fmt.Errorf("attest: %w", err)
	}
	if c := CallerFrom(ctx); c != nil && c.Org != mk.Org {
		return nil, fmt.Errorf("%w: attest: signed by key %s of %q, but the caller authenticated as %q: sign with a key of your own org",
			ErrForbidden, key.Hint(), mk.Org, c.Org)
	}
	st, err := potluck.ParseEvaluationStatement(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: attest: %w", ErrRejected, err)
	}
	rel, err := h.releases.get(st.Release())
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: attest: release %s is not on this hub; check the CID", ErrNotFound, st.Release())
	}
	if err != nil {
		return nil, err
	}
	root, err := rootDigest(rel.Files)
	if err != nil {
		return nil, err
	}
	if root != st.Root() {
		return nil, fmt.Errorf("%w: attest: the statement names release %s with root sha256 %s, but its files have root sha256 %s (compute the digest over the release's files as the hub lists them)",
			ErrRejected, rel.CID, st.Root(), root)
	}
	return h.recordAttestation(&potluck.Attestation{Release: rel.CID, Org: mk.Org, KeyHint: key.Hint(),
		Claim: st.Predicate, Bundle: bundle, Created: now})
}

// recordAttestation logs an attestation and then keeps it with its
// receipt, unless the same bundle is already kept.
func (h *Hub) recordAttestation(a *potluck.Attestation) (*potluck.Attestation, error) {
	h.recordMu.Lock()
	defer h.recordMu.Unlock()
	held, err := h.attestationsOf(a.Release)
	if err != nil {
		return nil, err
	}
	for _, old := range held {
		if string(old.Bundle) == string(a.Bundle) {
			return old, nil
		}
	}
	e := &potluck.AttestationEntry{EntryHeader: potluck.EntryHeader{Time: a.Created}, Release: a.Release, Org: a.Org,
		Key: a.KeyHint, Claim: a.Claim, Bundle: a.Bundle}
	b, inc, err := h.appendEntry(e)
	if err != nil {
		return nil, err
	}
	a.Receipt = receiptOf(inc, b)
	dir := h.attestationDir(a.Release)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := writeFileJSON(filepath.Join(dir, strconv.FormatInt(inc.Index, 10)+".json"), a); err != nil {
		return nil, fmt.Errorf("hub: keeping attestation %d of %s: %w", inc.Index, a.Release, err)
	}
	h.logger.Info("attestation accepted", "release", a.Release, "org", a.Org, "task", a.Claim.Task,
		"metric", a.Claim.Metric, "value", a.Claim.Value, "log_index", inc.Index)
	return a, nil
}

func (h *Hub) attestationDir(release string) string {
	return filepath.Join(h.opts.DataDir, "attestations", release)
}

// Attestations lists a release's attestations, oldest first, optionally
// only those of one org or one task ("" for any).
func (h *Hub) Attestations(_ context.Context, release, org, task string) ([]*potluck.Attestation, error) {
	if _, err := h.releases.get(release); err != nil {
		return nil, err
	}
	all, err := h.attestationsOf(release)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(a *potluck.Attestation) bool {
		return (org != "" && a.Org != org) || (task != "" && a.Claim.Task != task)
	}), nil
}

// attestationsOf reads the attestations kept for a release, in log order;
// never nil.
func (h *Hub) attestationsOf(release string) ([]*potluck.Attestation, error) {
	if _, err := cid.Decode(release); err != nil { // a CID is a safe path element
		return nil, fmt.Errorf("%w: release %q: not a CID: %v", ErrNotFound, release, err)
	}
	dir := h.attestationDir(release)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return []*potluck.Attestation{}, nil
	}
	if err != nil {
		return nil, err
	}
	var idx []int64
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			if i, err := strconv.ParseInt(n, 10, 64); err == nil {
				idx = append(idx, i)
			}
		}
	}
	slices.Sort(idx)
	out := make([]*potluck.Attestation, 0, len(idx))
	for _, i := range idx {
		var a potluck.Attestation
		if err := readFileJSON(filepath.Join(dir, strconv.FormatInt(i, 10)+".json"), &a); err != nil {
			return nil, fmt.Errorf("hub: attestation %d of %s: %w", i, release, err)
		}
		out = append(out, &a)
	}
	return out, nil
}

// bestScores returns the best value attested for a release per task and
// metric, with the org that claimed it, sorted by task then metric: the
// highest, or the lowest for a metric whose name says it is a loss or an
// error (potluck.LowerIsBetter). On a tie the earlier claim stands. A
// release with no attestation (or none readable) has no scores.
func (h *Hub) bestScores(cid string) []potluck.Score {
	all, err := h.attestationsOf(cid)
	if err != nil {
		h.logger.Warn("best scores", "release", cid, "error", err)
		return nil
	}
	best := map[[2]string]int{}
	var out []potluck.Score
	for _, a := range all {
		s := potluck.Score{Task: a.Claim.Task, Metric: a.Claim.Metric, Value: a.Claim.Value, Org: a.Org}
		k := [2]string{s.Task, s.Metric}
		i, seen := best[k]
		switch {
		case !seen:
			best[k] = len(out)
			out = append(out, s)
		case potluck.LowerIsBetter(s.Metric) && s.Value < out[i].Value,
			!potluck.LowerIsBetter(s.Metric) && s.Value > out[i].Value:
			out[i] = s
		}
	}
	slices.SortFunc(out, func(a, b potluck.Score) int {
		return strings.Compare(a.Task+"\x00"+a.Metric, b.Task+"\x00"+b.Metric)
	})
	return out
}
