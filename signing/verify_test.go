package signing

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/signature"
)

// signRaw signs an arbitrary payload into a bundle, so tests can check what
// VerifyBundle makes of validly signed but wrong statements.
func signRaw(t *testing.T, s *Signer, typ string, payload []byte) []byte {
	t.Helper()
	sig, err := s.signPAE(pae(typ, payload))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(bundle{
		MediaType:            bundleMediaType,
		VerificationMaterial: verificationMaterial{PublicKey: &publicKeyID{Hint: s.Public().Hint()}},
		DSSEEnvelope:         &envelope{Payload: payload, PayloadType: typ, Signatures: []envSignature{{Sig: sig}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVerifyBundleChecksStatement(t *testing.T) {
	s, k := newPair(t, elliptic.P256())
	d1, d2 := sha256.Sum256([]byte("1")), sha256.Sum256([]byte("2"))
	root := sha256.Sum256(append(d1[:], d2[:]...))
	good := fmt.Sprintf(`{"_type":%q,"subject":[{"name":"m","digest":{"sha256":"%x"}}],"predicateType":%q,
		"predicate":{"resources":[{"algorithm":"sha256","name":"a","digest":"%x"},{"algorithm":"sha256","name":"b","digest":"%x"}],
		"serialization":{"method":"files","hash_type":"sha256","allow_symlinks":false}}}`,
		statementType, root, predicateType, d1, d2)
	if v, err := VerifyBundle(signRaw(t, s, payloadType, []byte(good)), []*PublicKey{k}); err != nil || v.Root != root {
		t.Fatalf("good statement: %v, %v", v, err)
	}
	tests := []struct {
		name, typ, from, to string
		want                error
	}{
		{"payload type", "text/plain", "", "", ErrMalformed},
		{"statement type", payloadType, statementType, "https://in-toto.io/Statement/v0.1", ErrMalformed},
		{"predicate type", payloadType, predicateType, "https://model_signing/Digests/v0.1", ErrMalformed},
		{"method", payloadType, `"files"`, `"shards"`, ErrMalformed},
		{"hash type", payloadType, `"hash_type":"sha256"`, `"hash_type":"blake3"`, ErrMalformed},
		{"unsorted", payloadType, `"name":"a"`, `"name":"c"`, ErrMalformed},
		{"duplicate", payloadType, `"name":"b"`, `"name":"a"`, ErrMalformed},
		{"short digest", payloadType, hex.EncodeToString(d2[:]), "abcd", ErrMalformed},
		{"root", payloadType, hex.EncodeToString(root[:]), hex.EncodeToString(d1[:]), ErrDigestMismatch},
		{"not json", payloadType, "{", "[", ErrMalformed},
	}
	for _, tt := range tests {
		payload := strings.Replace(good, tt.from, tt.to, 1)
		_, err := VerifyBundle(signRaw(t, s, tt.typ, []byte(payload)), []*PublicKey{k})
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestVerifyBundleMalformed(t *testing.T) {
	_, k := newPair(t, elliptic.P256())
	for _, b := range []string{``, `{}`, `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`,
		`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","dsseEnvelope":{"payload":"e30=","payloadType":"x","signatures":[]}}`} {
		if _, err := VerifyBundle([]byte(b), []*PublicKey{k}); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: got %v, want ErrMalformed", b, err)
		}
	}
}

func TestMatch(t *testing.T) {
	a, b, c := Resource{"a", sha256.Sum256([]byte("a"))}, Resource{"b", sha256.Sum256([]byte("b"))}, Resource{"c", sha256.Sum256([]byte("c"))}
	v := &Verified{Resources: []Resource{a, b}}
	if err := v.Match([]Resource{b, a}); err != nil {
		t.Errorf("same files in another order: %v", err)
	}
	changed := Resource{"b", c.Digest}
	tests := []struct {
		files []Resource
		want  string
	}{
		{[]Resource{a, changed}, fmt.Sprintf("b: signed sha256 %x, found %x", b.Digest, c.Digest)},
		{[]Resource{a, b, c}, "c: not signed"},
		{[]Resource{a}, "b: missing"},
		{[]Resource{a, b, a}, "a: listed twice"},
	}
	for _, tt := range tests {
		err := v.Match(tt.files)
		if !errors.Is(err, ErrDigestMismatch) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Match(%v): got %v, want ErrDigestMismatch with %q", tt.files, err, tt.want)
		}
	}
}

func TestMatchManyProblems(t *testing.T) {
	var files []Resource
	for i := range 25 {
		files = append(files, Resource{Name: fmt.Sprintf("f%02d", i)})
	}
	err := (&Verified{}).Match(files)
	if !errors.Is(err, ErrDigestMismatch) || !strings.Contains(err.Error(), "and 15 more") {
		t.Errorf("got %v, want the first 10 and a count", err)
	}
}

func TestGenerateKeyRefusesOverwrite(t *testing.T) {
	dir := t.TempDir()
	priv, pub := filepath.Join(dir, "k"), filepath.Join(dir, "k.pub")
	writeFile(t, priv, "precious")
	if err := GenerateKey(priv, pub); !errors.Is(err, os.ErrExist) {
		t.Errorf("existing private key: got %v, want os.ErrExist", err)
	}
	if string(readFile(t, priv)) != "precious" {
		t.Error("existing private key was overwritten")
	}
	if _, err := os.Stat(pub); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("public key written although the pair was refused: %v", err)
	}
	os.Remove(priv)
	writeFile(t, pub, "precious")
	if err := GenerateKey(priv, pub); !errors.Is(err, os.ErrExist) {
		t.Errorf("existing public key: got %v, want os.ErrExist", err)
	}
	if _, err := os.Stat(priv); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("private key written although the pair was refused: %v", err)
	}
}

func TestGenerateKeyDefaultP256(t *testing.T) {
	priv, pub := filepath.Join(t.TempDir(), "k"), filepath.Join(t.TempDir(), "k.pub")
	if err := GenerateKey(priv, pub); err != nil {
		t.Fatal(err)
	}
	s, k := loadPair(t, priv, pub)
	if k.Key.(*ecdsa.PublicKey).Curve != elliptic.P256() || s.Public().Hint() != k.Hint() {
		t.Errorf("key %v, signer hint %s, public hint %s", k.Key, s.Public().Hint(), k.Hint())
	}
	if err := GenerateKeyCurve(priv+"2", pub+"2", elliptic.P224()); err == nil {
		t.Error("P-224 accepted")
	}
}

func TestLoadSignerRefusesEncrypted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	writeFile(t, path, "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n")
	if _, err := LoadSigner(path); err == nil || !strings.Contains(err.Error(), "encrypted") {
		t.Errorf("got %v, want an error saying the key is encrypted", err)
	}
}

func TestParsePublicKeyRefusesNonEC(t *testing.T) {
	if _, err := ParsePublicKey([]byte("no pem here")); err == nil {
		t.Error("text without PEM accepted")
	}
	k, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newPublicKey(&k.PublicKey); err == nil {
		t.Error("P-224 public key accepted")
	}
}

// A signer hashing with another hash than its curve calls for would make
// bundles no verifier accepts; Sign refuses to produce them.
func TestNewSignerHashMismatch(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := signature.LoadSignerVerifier(priv, crypto.SHA384)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(sv)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Sign(s, "m", []Resource{{"f", sha256.Sum256(nil)}}, nil); err == nil {
		t.Error("signature with a mismatched hash accepted")
	}
}

func TestSignRefusesIgnoredResource(t *testing.T) {
	s, _ := newPair(t, elliptic.P256())
	d := sha256.Sum256(nil)
	if _, err := Sign(s, "m", []Resource{{".git/HEAD", d}}, nil); err == nil {
		t.Error("resource under .git signed")
	}
	if _, err := Sign(s, "m", []Resource{{"a", d}, {"notes/x", d}}, []string{"notes"}); err == nil {
		t.Error("resource under a given ignore path signed")
	}
}
