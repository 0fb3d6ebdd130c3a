package signing

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// rawBundle and rawStatement read a bundle the plain way, independent of the
// package's own types.
type rawBundle struct {
	MediaType            string
	VerificationMaterial struct{ PublicKey struct{ Hint string } }
	DSSEEnvelope         struct {
		Payload     []byte
		PayloadType string
		Signatures  []struct{ Sig []byte }
	} `json:"dsseEnvelope"`
}

type rawStatement struct {
	Type    string `json:"_type"`
	Subject []struct {
		Name   string
		Digest struct{ SHA256 string }
	}
	PredicateType string
	Predicate     struct {
		Resources     []struct{ Algorithm, Name, Digest string }
		Serialization struct {
			Method      string
			HashType    string   `json:"hash_type"`
			IgnorePaths []string `json:"ignore_paths"`
		}
	}
}

// newKey generates a key pair in a temporary directory.
func newKey(t *testing.T, curve elliptic.Curve) (priv, pub string) {
	t.Helper()
	dir := t.TempDir()
	priv, pub = filepath.Join(dir, "key"), filepath.Join(dir, "key.pub")
	if err := GenerateKeyCurve(priv, pub, curve); err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

func loadPair(t *testing.T, priv, pub string) (*Signer, *PublicKey) {
	t.Helper()
	s, err := LoadSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	k, err := LoadPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return s, k
}

// newPair generates a key pair and loads both halves.
func newPair(t *testing.T, curve elliptic.Curve) (*Signer, *PublicKey) {
	t.Helper()
	priv, pub := newKey(t, curve)
	return loadPair(t, priv, pub)
}

// testModel writes a small model with nested files; "sub-x" sorts after
// "sub/dir/file" in path order although '-' < '/' in bytes.
func testModel(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tiny-model")
	for name, content := range map[string]string{
		"a": "alpha", "sub/dir/file": "nested", "sub-x": "dash",
		"notes.txt": "ignored by the signer", ".git/HEAD": "ref: main", "model.sig": "old",
	} {
		writeFile(t, filepath.Join(dir, filepath.FromSlash(name)), content)
	}
	return dir
}

func TestSignVerifyRoundTrip(t *testing.T) {
	for _, c := range []struct {
		curve elliptic.Curve
		hash  crypto.Hash
	}{{elliptic.P256(), crypto.SHA256}, {elliptic.P384(), crypto.SHA384}} {
		t.Run(c.curve.Params().Name, func(t *testing.T) {
			priv, pub := newKey(t, c.curve)
			if fi, err := os.Stat(priv); err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("private key mode %v (%v), want 0600", fi.Mode(), err)
			}
			s, k := loadPair(t, priv, pub)
			dir := testModel(t)
			rs, err := DigestDir(dir, append(DefaultIgnorePaths(), "notes.txt"))
			if err != nil {
				t.Fatal(err)
			}
			names := []string{}
			for _, r := range rs {
				names = append(names, r.Name)
			}
			if want := []string{"a", "sub/dir/file", "sub-x"}; !slices.Equal(names, want) {
				t.Fatalf("DigestDir names %q, want %q", names, want)
			}
			sig, err := Sign(s, filepath.Base(dir), rs, []string{"notes.txt"})
			if err != nil {
				t.Fatal(err)
			}
			checkBundle(t, sig, dir, readFile(t, pub), c.hash)
			writeFile(t, filepath.Join(dir, "model.sig"), string(sig))
			v, err := VerifyDir(dir, sig, []*PublicKey{k}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if v.Name != "tiny-model" || !slices.Equal(v.Resources, rs) || v.Root != RootDigest(rs) {
				t.Errorf("verified %+v, want the signed resources", v)
			}
		})
	}
}

// checkBundle checks a bundle Sign made by reading it independently: the key
// hint, the statement, its digests and the signature over the DSSE PAE.
func checkBundle(t *testing.T, sig []byte, dir string, pubPEM []byte, hash crypto.Hash) {
	t.Helper()
	var b rawBundle
	if err := json.Unmarshal(sig, &b); err != nil {
		t.Fatal(err)
	}
	hint := sha256.Sum256(pubPEM)
	if b.MediaType != bundleMediaType || b.VerificationMaterial.PublicKey.Hint != hex.EncodeToString(hint[:]) {
		t.Errorf("mediaType %q hint %q, want %q and sha256 of the public key file", b.MediaType, b.VerificationMaterial.PublicKey.Hint, bundleMediaType)
	}
	var st rawStatement
	if err := json.Unmarshal(b.DSSEEnvelope.Payload, &st); err != nil {
		t.Fatal(err)
	}
	root := sha256.New()
	for _, r := range st.Predicate.Resources {
		want := fileSHA256(t, filepath.Join(dir, filepath.FromSlash(r.Name)))
		if r.Algorithm != "sha256" || r.Digest != hex.EncodeToString(want[:]) {
			t.Errorf("resource %s: %s %s, want sha256 %x", r.Name, r.Algorithm, r.Digest, want)
		}
		d, _ := hex.DecodeString(r.Digest)
		root.Write(d)
	}
	if len(st.Subject) != 1 || st.Subject[0].Digest.SHA256 != hex.EncodeToString(root.Sum(nil)) {
		t.Errorf("subject %+v, want root %x", st.Subject, root.Sum(nil))
	}
	for _, p := range []string{"notes.txt", "model.sig", ".git", ".gitattributes", ".github", ".gitignore"} {
		if !slices.Contains(st.Predicate.Serialization.IgnorePaths, p) {
			t.Errorf("ignore_paths %q lacks %q", st.Predicate.Serialization.IgnorePaths, p)
		}
	}
	checkECDSA(t, pubPEM, b.DSSEEnvelope.PayloadType, b.DSSEEnvelope.Payload, b.DSSEEnvelope.Signatures[0].Sig, hash)
}

// checkECDSA verifies a DSSE signature with crypto/ecdsa alone.
func checkECDSA(t *testing.T, pubPEM []byte, typ string, payload, sig []byte, hash crypto.Hash) {
	t.Helper()
	k, err := ParsePublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	msg := fmt.Sprintf("DSSEv1 %d %s %d %s", len(typ), typ, len(payload), payload)
	h := hash.New()
	h.Write([]byte(msg))
	if !ecdsa.VerifyASN1(k.Key.(*ecdsa.PublicKey), h.Sum(nil), sig) {
		t.Errorf("signature does not verify over the PAE with %v", hash)
	}
}

func TestForgedPayload(t *testing.T) {
	s, k := newPair(t, elliptic.P256())
	good := []Resource{{"weights.bin", sha256.Sum256([]byte("good"))}}
	evil := []Resource{{"weights.bin", sha256.Sum256([]byte("evil"))}}
	orig, err := Sign(s, "m", good, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := Sign(s, "m", evil, nil)
	if err != nil {
		t.Fatal(err)
	}
	otherPayload := jsonObject(t, other)["dsseEnvelope"].(map[string]any)["payload"]
	forged := editBundle(t, orig, func(b map[string]any) {
		b["dsseEnvelope"].(map[string]any)["payload"] = otherPayload
	})
	if _, err := VerifyBundle(forged, []*PublicKey{k}); !errors.Is(err, ErrBadSignature) {
		t.Errorf("forged payload: got %v, want ErrBadSignature", err)
	}
	if v, err := VerifyBundle(orig, []*PublicKey{k}); err != nil || v.Resources[0] != good[0] {
		t.Errorf("original: %v %v", v, err)
	}
}

// The hinted key is tried first, but a bundle whose hint names no trusted
// key is still accepted when a trusted key verifies it.
func TestVerifyTriesAllKeys(t *testing.T) {
	s, k := newPair(t, elliptic.P256())
	_, other := newPair(t, elliptic.P384())
	sig, err := Sign(s, "m", []Resource{{"f", sha256.Sum256(nil)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	noHint := editBundle(t, sig, func(b map[string]any) {
		b["verificationMaterial"].(map[string]any)["publicKey"] = map[string]any{"hint": "0000"}
	})
	v, err := VerifyBundle(noHint, []*PublicKey{other, k})
	if err != nil || v.Key != k {
		t.Errorf("got %v, %v; want key %p", v, err, k)
	}
	if _, err := VerifyBundle(noHint, []*PublicKey{other}); !errors.Is(err, ErrUntrusted) {
		t.Errorf("only another key: got %v, want ErrUntrusted", err)
	}
}

func jsonObject(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// editBundle changes a bundle's JSON the way an attacker could.
func editBundle(t *testing.T, data []byte, edit func(map[string]any)) []byte {
	t.Helper()
	m := jsonObject(t, data)
	edit(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
