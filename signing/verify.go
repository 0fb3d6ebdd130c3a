package signing

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"

	"github.com/sigstore/sigstore/pkg/signature"
)

// Verified is what a bundle proves once its signature checks out: which
// trusted key signed which files.
type Verified struct {
	// Key is the trusted key that made the signature.
	Key *PublicKey
	// Name is the statement's subject name (informative only).
	Name string
	// Resources are the signed files, in canonical order.
	Resources []Resource
	// Root is the subject digest, RootDigest(Resources).
	Root [32]byte
	// IgnorePaths are the paths the signer left out of the signature; a
	// verifier leaves them out too when rehashing the directory.
	IgnorePaths []string
}

// VerifyBundle checks a bundle's DSSE signature against the trusted keys and
// returns the statement it signs, after checking that the statement is a
// model-signing v1.0 "files" statement whose subject digest is the root of its
// resources, listed in canonical order without duplicates.
//
// The key named by the bundle's hint (or embedded key) is tried first, then
// every other trusted key. If none verifies the signature, the error wraps
// ErrBadSignature when the bundle named a trusted key (the bundle was altered)
// and ErrUntrusted otherwise. A bundle this package cannot read wraps
// ErrMalformed.
func VerifyBundle(bundleJSON []byte, trusted []*PublicKey) (*Verified, error) {
	env, hint, err := parseBundle(bundleJSON)
	if err != nil {
		return nil, fmt.Errorf("verify bundle: %w", err)
	}
	key, err := findSigner(env, hint, trusted)
	if err != nil {
		return nil, fmt.Errorf("verify bundle: %w", err)
	}
	v, err := parseStatement(env)
	if err != nil {
		return nil, fmt.Errorf("verify bundle: %w", err)
	}
	v.Key = key
	return v, nil
}

// VerifyStatement checks a bundle's signature against the trusted keys and
// returns the in-toto statement it signs (any predicate), with the key.
func VerifyStatement(bundleJSON []byte, trusted []*PublicKey) ([]byte, *PublicKey, error) {
	env, hint, err := parseBundle(bundleJSON)
	if err != nil {
		return nil, nil, fmt.Errorf("verify statement: %w", err)
	}
	if env.PayloadType != payloadType {
		return nil, nil, fmt.Errorf("verify statement: %w: payloadType %q", ErrMalformed, env.PayloadType)
	}
	key, err := findSigner(env, hint, trusted)
	if err != nil {
		return nil, nil, fmt.Errorf("verify statement: %w", err)
	}
	return env.Payload, key, nil
}

// parseBundle reads the envelope and the key hint out of a bundle.
func parseBundle(data []byte) (*envelope, string, error) {
	var b bundle
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	switch {
	case b.MediaType != bundleMediaType && b.MediaType != bundleMediaTypeAlt:
		return nil, "", fmt.Errorf("%w: mediaType %q, want %q", ErrMalformed, b.MediaType, bundleMediaType)
	case b.DSSEEnvelope == nil:
		return nil, "", fmt.Errorf("%w: no dsseEnvelope", ErrMalformed)
	case len(b.DSSEEnvelope.Signatures) == 0:
		return nil, "", fmt.Errorf("%w: dsseEnvelope has no signatures", ErrMalformed)
	}
	return b.DSSEEnvelope, bundleHint(b.VerificationMaterial.PublicKey), nil
}

// bundleHint is the hint the bundle gives for its key, computed from the
// embedded key for bundles from OpenSSF v1.0; "" when it gives none.
func bundleHint(id *publicKeyID) string {
	switch {
	case id == nil:
		return ""
	case id.Hint != "":
		return id.Hint
	case len(id.RawBytes) > 0:
		if k, err := parseRawPublicKey(id.RawBytes); err == nil {
			return k.Hint()
		}
	}
	return ""
}

// findSigner returns the trusted key that verifies one of the envelope's
// signatures, trying the hinted keys first.
func findSigner(env *envelope, hint string, trusted []*PublicKey) (*PublicKey, error) {
	msg := pae(env.PayloadType, env.Payload)
	hinted := false
	for _, pass := range []bool{true, false} {
		for _, k := range trusted {
			if k == nil || (k.Hint() == hint) != pass {
				continue
			}
			hinted = hinted || pass
			for _, s := range env.Signatures {
				if verifyPAE(k, s.Sig, msg) == nil {
					return k, nil
				}
			}
		}
	}
	if hinted {
		return nil, fmt.Errorf("%w with the key it names (hint %s)", ErrBadSignature, hint)
	}
	if hint == "" {
		hint = "none"
	}
	return nil, fmt.Errorf("%w (%d trusted keys tried; bundle's key hint: %s)", ErrUntrusted, len(trusted), hint)
}

// verifyPAE checks one ECDSA signature over a DSSE encoding, hashing with
// the hash the key's curve calls for.
func verifyPAE(k *PublicKey, sig, msg []byte) error {
	ec, ok := k.Key.(*ecdsa.PublicKey)
	if !ok {
		return fmt.Errorf("key is %T, want ECDSA", k.Key)
	}
	hash, err := hashFor(ec.Curve)
	if err != nil {
		return err
	}
	v, err := signature.LoadVerifier(ec, hash)
	if err != nil {
		return err
	}
	return v.VerifySignature(bytes.NewReader(sig), bytes.NewReader(msg))
}
