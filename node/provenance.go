package node

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/signing"
)

// CheckProvenance verifies a merge's provenance bundle: signed by a trusted
// key (the hub's), an in-toto statement of potluck's merge provenance whose
// subject is rootCID with the root digest of the signed files, and whose
// output lists the same CID.
func CheckProvenance(bundle []byte, trusted []*signing.PublicKey, rootCID string, root [32]byte) (*potluck.Provenance, *signing.PublicKey, error) {
	payload, key, err := signing.VerifyStatement(bundle, trusted)
	if err != nil {
		return nil, nil, err
	}
	var st potluck.ProvenanceStatement
	if err := json.Unmarshal(payload, &st); err != nil {
		return nil, nil, fmt.Errorf("%w: provenance statement: %v", ErrVerify, err)
	}
	want := hex.EncodeToString(root[:])
	switch {
	case st.PredicateType != potluck.ProvenanceType:
		return nil, nil, fmt.Errorf("%w: provenance predicate type %q", ErrVerify, st.PredicateType)
	case len(st.Subject) != 1 || st.Subject[0].Name != rootCID || st.Subject[0].Digest["sha256"] != want:
		return nil, nil, fmt.Errorf("%w: the provenance is about %v, not %s (root sha256 %s)", ErrVerify, st.Subject, rootCID, want)
	case st.Predicate.Output.CID != rootCID:
		return nil, nil, fmt.Errorf("%w: the provenance's output is %s, not %s", ErrVerify, st.Predicate.Output.CID, rootCID)
	}
	return &st.Predicate, key, nil
}

func writeProvenance(dir string, bundle []byte) error {
	p := filepath.Join(dir, filepath.FromSlash(potluck.ProvenanceFile))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, bundle, 0o644)
}
