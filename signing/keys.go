package signing

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/youmark/pkcs8"
)

// PublicKey is a trusted (or to be trusted) ECDSA public key.
type PublicKey struct {
	// PEM is the canonical PKIX PEM encoding of Key. It is re-encoded rather
	// than copied from the file because the OpenSSF tool hashes this exact
	// form into the bundle's key hint, and key files often carry extra text.
	PEM []byte
	// Key is the parsed key, an *ecdsa.PublicKey.
	Key crypto.PublicKey
}

// GenerateKey writes a new ECDSA P-256 key pair: the private key as PKCS#8 PEM
// with mode 0600 and the public key as PKIX PEM. It refuses to overwrite an
// existing file, so that a typo cannot destroy a key someone trusts.
func GenerateKey(privPath, pubPath string) error {
	return GenerateKeyCurve(privPath, pubPath, elliptic.P256())
}

// GenerateKeyCurve is GenerateKey on another curve: P-256, P-384 or P-521.
func GenerateKeyCurve(privPath, pubPath string, curve elliptic.Curve) error {
	return GenerateKeyWith(privPath, pubPath, KeyOptions{Curve: curve})
}

// KeyOptions choose a new key's curve and whether it is encrypted.
type KeyOptions struct {
	Curve elliptic.Curve // P-256 when nil
	// Passphrase, when set, encrypts the private key as PKCS#8 with PBES2
	// (PBKDF2-SHA256, AES-256-CBC): an "ENCRYPTED PRIVATE KEY" that openssl
	// and the OpenSSF tool read.
	Passphrase []byte
}

// GenerateKeyWith is GenerateKey with options.
func GenerateKeyWith(privPath, pubPath string, o KeyOptions) error {
	curve := o.Curve
	if curve == nil {
		curve = elliptic.P256()
	}
	if _, err := hashFor(curve); err != nil {
		return fmt.Errorf("generate key: %w", err)
	}
	priv, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		return fmt.Errorf("generate key: %w", err)
	}
	privPEM, err := encodePrivateKey(priv, o.Passphrase)
	if err != nil {
		return fmt.Errorf("generate key: encode private key: %w", err)
	}
	pubPEM, err := cryptoutils.MarshalPublicKeyToPEM(priv.Public())
	if err != nil {
		return fmt.Errorf("generate key: encode public key: %w", err)
	}
	return writeKeyPair(privPath, privPEM, pubPath, pubPEM)
}

// writeKeyPair writes both files or neither: a private key without its public
// half (or the reverse) would only confuse the next run.
func writeKeyPair(privPath string, privPEM []byte, pubPath string, pubPEM []byte) error {
	for _, p := range []string{privPath, pubPath} {
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("generate key: %s: %w", p, os.ErrExist)
		}
	}
	if err := writeNew(privPath, privPEM, 0o600); err != nil {
		return fmt.Errorf("generate key: private key: %w", err)
	}
	if err := writeNew(pubPath, pubPEM, 0o644); err != nil {
		os.Remove(privPath)
		return fmt.Errorf("generate key: public key: %w", err)
	}
	return nil
}

// writeNew creates path exclusively (never following or replacing what is
// there) and syncs it, so a crash cannot leave a half-written key.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// ParsePublicKey reads the first PEM block of pemBytes (text before it, as
// certtool writes, is skipped) as a PKIX ECDSA public key.
func ParsePublicKey(pemBytes []byte) (*PublicKey, error) {
	key, err := cryptoutils.UnmarshalPEMToPublicKey(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	return newPublicKey(key)
}

// LoadPublicKey reads a PEM public key file.
func LoadPublicKey(path string) (*PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load public key: %w", err)
	}
	k, err := ParsePublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("load public key %s: %w", path, err)
	}
	return k, nil
}

// parseRawPublicKey reads the key some bundles embed (PEM in the OpenSSF
// v1.0 tool, DER in the Sigstore spec). The embedded key is never trusted; it
// only says which trusted key to try first.
func parseRawPublicKey(raw []byte) (*PublicKey, error) {
	if k, err := ParsePublicKey(raw); err == nil {
		return k, nil
	}
	key, err := x509.ParsePKIXPublicKey(raw)
	if err != nil {
		return nil, fmt.Errorf("embedded public key: %w", err)
	}
	return newPublicKey(key)
}

// newPublicKey checks that key is an ECDSA key on a supported curve and
// computes its canonical PEM.
func newPublicKey(key crypto.PublicKey) (*PublicKey, error) {
	ec, ok := key.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key: got %T, want an ECDSA key", key)
	}
	if _, err := hashFor(ec.Curve); err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	pemBytes, err := cryptoutils.MarshalPublicKeyToPEM(ec)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	return &PublicKey{PEM: pemBytes, Key: ec}, nil
}

// Hint is the hex sha256 of k.PEM, the key identifier the OpenSSF tool puts in
// a bundle's verificationMaterial.publicKey.hint.
func (k *PublicKey) Hint() string {
	sum := sha256.Sum256(k.PEM)
	return hex.EncodeToString(sum[:])
}

// hashFor is the signature hash the OpenSSF tool and Sigstore pair with each
// curve; signer and verifier must agree on it.
func hashFor(curve elliptic.Curve) (crypto.Hash, error) {
	switch curve {
	case elliptic.P256():
		return crypto.SHA256, nil
	case elliptic.P384():
		return crypto.SHA384, nil
	case elliptic.P521():
		return crypto.SHA512, nil
	}
	if curve == nil {
		return 0, errors.New("no curve")
	}
	return 0, fmt.Errorf("unsupported curve %s, want P-256, P-384 or P-521", curve.Params().Name)
}

func encodePrivateKey(priv *ecdsa.PrivateKey, passphrase []byte) ([]byte, error) {
	if len(passphrase) == 0 {
		return cryptoutils.MarshalPrivateKeyToPEM(priv)
	}
	der, err := pkcs8.MarshalPrivateKey(priv, passphrase, &pkcs8.Opts{
		Cipher:  pkcs8.AES256CBC,
		KDFOpts: pkcs8.PBKDF2Opts{SaltSize: 16, IterationCount: 600000, HMACHash: crypto.SHA256},
	})
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: der}), nil
}
