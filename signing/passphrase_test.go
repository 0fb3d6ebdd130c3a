package signing

import (
	"bytes"
	"crypto/elliptic"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A key encrypted by OpenSSL (PKCS#8, PBES2) loads with its passphrase and
// is the key OpenSSL says it is; without or with a wrong passphrase it is a
// clear error.
func TestOpenSSLEncryptedKey(t *testing.T) {
	const priv = "testdata/openssl-p384-encrypted.pem"
	want, err := LoadPublicKey("testdata/openssl-p384-encrypted.pub")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSigner(priv); !errors.Is(err, ErrPassphrase) {
		t.Fatalf("no passphrase: %v, want ErrPassphrase", err)
	}
	if _, err := LoadSignerPassphrase(priv, []byte("hunter3")); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("wrong passphrase: %v, want ErrWrongPassphrase", err)
	}
	s, err := LoadSignerPassphrase(priv, []byte("hunter2"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s.Public().PEM, want.PEM) {
		t.Fatalf("decrypted key's public half differs from openssl's")
	}
	res := []Resource{{Name: "f", Digest: [32]byte{1}}}
	b, err := Sign(s, "m", res, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyBundle(b, []*PublicKey{want}); err != nil {
		t.Fatalf("signature by the decrypted key: %v", err)
	}
}

// Our encrypted keys: written as "ENCRYPTED PRIVATE KEY", mode 0600, usable
// only with the passphrase.
func TestGenerateEncryptedKey(t *testing.T) {
	dir := t.TempDir()
	priv, pub := filepath.Join(dir, "k"), filepath.Join(dir, "k.pub")
	if err := GenerateKeyWith(priv, pub, KeyOptions{Curve: elliptic.P384(), Passphrase: []byte("correct horse")}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(priv)
	if !bytes.HasPrefix(b, []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----")) {
		t.Fatalf("private key file starts %q", b[:40])
	}
	if st, _ := os.Stat(priv); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode().Perm())
	}
	if _, err := LoadSigner(priv); !errors.Is(err, ErrPassphrase) {
		t.Fatalf("no passphrase: %v", err)
	}
	s, err := LoadSignerPassphrase(priv, []byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := LoadPublicKey(pub)
	if err != nil || !bytes.Equal(p.PEM, s.Public().PEM) {
		t.Fatalf("public key file does not match the decrypted key: %v", err)
	}
}
