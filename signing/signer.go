package signing

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/pem"
	"fmt"
	"os"
	"strings"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/youmark/pkcs8"
)

// Signer makes signatures with a private key it may never see: it wraps a
// sigstore signature.SignerVerifier, which can be a key file in memory or a
// KMS/HSM key.
type Signer struct {
	sv  signature.SignerVerifier
	pub *PublicKey
}

// LoadSigner reads a PEM private key file (PKCS#8, or SEC 1 "EC PRIVATE KEY")
// and signs with the hash its curve calls for: SHA-256 for P-256, SHA-384 for
// P-384, SHA-512 for P-521. An encrypted key needs LoadSignerPassphrase.
func LoadSigner(privPath string) (*Signer, error) {
	return LoadSignerPassphrase(privPath, nil)
}

// LoadSignerPassphrase is LoadSigner for a key that may be encrypted: an
// "ENCRYPTED PRIVATE KEY" (PKCS#8 with PBES2, what openssl and Python's
// cryptography write) is decrypted with passphrase.
func LoadSignerPassphrase(privPath string, passphrase []byte) (*Signer, error) {
	b, err := os.ReadFile(privPath)
	if err != nil {
		return nil, fmt.Errorf("load signer: %w", err)
	}
	s, err := parseSigner(b, passphrase)
	if err != nil {
		return nil, fmt.Errorf("load signer %s: %w", privPath, err)
	}
	return s, nil
}

// parseSigner is LoadSignerPassphrase after the file is read.
func parseSigner(pemBytes, passphrase []byte) (*Signer, error) {
	key, err := parsePrivateKey(pemBytes, passphrase)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	priv, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("private key: got %T, want an ECDSA key", key)
	}
	hash, err := hashFor(priv.Curve)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	sv, err := signature.LoadSignerVerifier(priv, hash)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	return NewSigner(sv)
}

// parsePrivateKey decodes a plain or encrypted PEM private key, with clear
// messages for a missing or wrong passphrase and for legacy encryption.
func parsePrivateKey(pemBytes, passphrase []byte) (any, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, fmt.Errorf("no PEM block found")
	}
	switch {
	case block.Type == "ENCRYPTED PRIVATE KEY":
		if len(passphrase) == 0 {
			return nil, ErrPassphrase
		}
		key, err := pkcs8.ParsePKCS8PrivateKey(block.Bytes, passphrase)
		if err != nil {
			return nil, fmt.Errorf("%w (%v)", ErrWrongPassphrase, err)
		}
		return key, nil
	case strings.Contains(block.Type, "ENCRYPTED") || strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED"):
		return nil, fmt.Errorf("%q uses legacy PEM encryption; convert it: openssl pkcs8 -topk8 -v2 aes-256-cbc", block.Type)
	}
	return cryptoutils.UnmarshalPEMToPrivateKey(pemBytes, nil)
}

// NewSigner wraps any sigstore SignerVerifier, such as a KMS or HSM key. Its
// key must be ECDSA on P-256, P-384 or P-521 and it must hash with the
// matching SHA-2 (Sign checks each signature it makes against that).
func NewSigner(sv signature.SignerVerifier) (*Signer, error) {
	if sv == nil {
		return nil, fmt.Errorf("new signer: nil SignerVerifier")
	}
	key, err := sv.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("new signer: public key: %w", err)
	}
	pub, err := newPublicKey(key)
	if err != nil {
		return nil, fmt.Errorf("new signer: %w", err)
	}
	return &Signer{sv: sv, pub: pub}, nil
}

// Public is the key a verifier must trust to accept this signer's bundles.
func (s *Signer) Public() *PublicKey {
	return s.pub
}

// signPAE signs a DSSE pre-authentication encoding, then verifies the result
// as any reader would (hash chosen from the curve), so that a signer using
// another hash fails here rather than in front of every verifier.
func (s *Signer) signPAE(pae []byte) ([]byte, error) {
	sig, err := s.sv.SignMessage(bytes.NewReader(pae))
	if err != nil {
		return nil, err
	}
	if err := verifyPAE(s.pub, sig, pae); err != nil {
		return nil, fmt.Errorf("signer's own signature fails to verify (hash does not match curve?): %w", err)
	}
	return sig, nil
}
