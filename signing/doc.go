// Package signing exists so that a hub and an auditor can prove who published a
// model directory and that no byte of it changed since, in the OpenSSF
// model-signing format that other tools (model_signing, sigstore-go) also read.
//
// A signature is a Sigstore bundle (v0.3 JSON) holding a DSSE envelope around an
// in-toto Statement v1 whose predicate lists every file of the model with its
// sha256 digest. Keys are ECDSA (P-256, P-384 or P-521) and all signing goes
// through a sigstore signature.SignerVerifier, so that a KMS or HSM key can
// replace a key file without changing the format.
//
// The usual flow is DigestDir then Sign on the publisher's side, and VerifyDir (or
// VerifyBundle then Verified.Match, when the files arrive over the network) on
// the receiver's side.
package signing

import "errors"

// Sentinel errors, wrapped with details; match them with errors.Is.
var (
	// ErrUntrusted means no trusted key made the signature: the bundle names
	// another key, or none of the keys the caller trusts verifies it.
	ErrUntrusted = errors.New("signing: no trusted key made this signature")
	// ErrBadSignature means the bundle names a trusted key but the signature
	// does not verify with it: the bundle was altered after signing.
	ErrBadSignature = errors.New("signing: signature does not verify")
	// ErrDigestMismatch means the signed content and the content at hand differ:
	// a file changed, appeared or went missing.
	ErrDigestMismatch = errors.New("signing: digest mismatch")
	// ErrMalformed means the bundle or its statement is not one this package
	// understands (bad JSON, wrong types, unsupported serialization).
	ErrMalformed = errors.New("signing: malformed bundle")
	// ErrPassphrase means a private key is encrypted and no passphrase was
	// given.
	ErrPassphrase = errors.New("signing: the private key is encrypted; a passphrase is needed")
	// ErrWrongPassphrase means the passphrase does not decrypt the key.
	ErrWrongPassphrase = errors.New("signing: wrong passphrase for the private key")
)
