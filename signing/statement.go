package signing

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// parseStatement reads and checks the signed statement of an envelope whose
// signature is already verified.
func parseStatement(env *envelope) (*Verified, error) {
	if env.PayloadType != payloadType {
		return nil, fmt.Errorf("%w: payloadType %q, want %q", ErrMalformed, env.PayloadType, payloadType)
	}
	var st statement
	dec := json.NewDecoder(bytes.NewReader(env.Payload))
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Errorf("%w: statement: %w", ErrMalformed, err)
	}
	if err := checkStatement(&st); err != nil {
		return nil, fmt.Errorf("%w: statement: %w", ErrMalformed, err)
	}
	rs, err := parseResources(st.Predicate.Resources)
	if err != nil {
		return nil, fmt.Errorf("%w: statement: %w", ErrMalformed, err)
	}
	root, err := decodeDigest(st.Subject[0].Digest[hashSHA256])
	if err != nil {
		return nil, fmt.Errorf("%w: statement: subject %q: %w", ErrMalformed, st.Subject[0].Name, err)
	}
	if got := RootDigest(rs); got != root {
		return nil, fmt.Errorf("%w: statement subject %q has root sha256 %x, its resources hash to %x",
			ErrDigestMismatch, st.Subject[0].Name, root, got)
	}
	return &Verified{
		Name:        st.Subject[0].Name,
		Resources:   rs,
		Root:        root,
		IgnorePaths: st.Predicate.Serialization.IgnorePaths,
	}, nil
}

// checkStatement checks the fixed fields of a model-signing v1.0 statement
// for the "files" serialization with sha256, the only one this package
// can rehash.
func checkStatement(st *statement) error {
	ser := st.Predicate.Serialization
	switch {
	case st.Type != statementType:
		return fmt.Errorf("_type %q, want %q", st.Type, statementType)
	case st.PredicateType != predicateType:
		return fmt.Errorf("predicateType %q, want %q", st.PredicateType, predicateType)
	case len(st.Subject) != 1:
		return fmt.Errorf("%d subjects, want 1", len(st.Subject))
	case ser.Method != methodFiles:
		return fmt.Errorf("serialization method %q is not supported, want %q", ser.Method, methodFiles)
	case ser.HashType != hashSHA256:
		return fmt.Errorf("serialization hash_type %q is not supported, want %q", ser.HashType, hashSHA256)
	}
	return nil
}

// parseResources converts the predicate's descriptors, checking each digest
// and the canonical order.
func parseResources(in []resourceJSON) ([]Resource, error) {
	rs := make([]Resource, len(in))
	for i, r := range in {
		if r.Algorithm != hashSHA256 {
			return nil, fmt.Errorf("resource %q: algorithm %q, want %q", r.Name, r.Algorithm, hashSHA256)
		}
		d, err := decodeDigest(r.Digest)
		if err != nil {
			return nil, fmt.Errorf("resource %q: %w", r.Name, err)
		}
		rs[i] = Resource{Name: r.Name, Digest: d}
	}
	if err := checkResources(rs); err != nil {
		return nil, err
	}
	return rs, nil
}

// decodeDigest reads a hex sha256 digest.
func decodeDigest(s string) ([32]byte, error) {
	var d [32]byte
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(d) {
		return d, fmt.Errorf("sha256 digest %q: want 64 hex digits", s)
	}
	copy(d[:], b)
	return d, nil
}
