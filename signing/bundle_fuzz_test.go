package signing

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzVerifyBundle feeds the bundle parser and verifier arbitrary bytes,
// starting from a real bundle we sign and the OpenSSF tool's own. Whatever
// arrives, the answer is a verified statement signed by the trusted key or
// an error of a known kind (malformed, untrusted, bad signature, digest
// mismatch): never a panic, never a verification by a key not trusted.
func FuzzVerifyBundle(f *testing.F) {
	dir := f.TempDir()
	if err := GenerateKey(filepath.Join(dir, "k.key"), filepath.Join(dir, "k.pub")); err != nil {
		f.Fatal(err)
	}
	s, err := LoadSigner(filepath.Join(dir, "k.key"))
	if err != nil {
		f.Fatal(err)
	}
	res := []Resource{{Name: "a.safetensors", Digest: [32]byte{1}}, {Name: "config.json", Digest: [32]byte{2}}}
	b, err := Sign(s, "model", res, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	for _, dir := range []string{"v1.0.1-elliptic-key", "v1.1.0-elliptic-key", "v1.1.0-certificate"} {
		if ob, err := os.ReadFile(filepath.Join("testdata", "model-signing", dir, "model.sig")); err == nil {
			f.Add(ob)
		}
	}
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","dsseEnvelope":{"payload":"","payloadType":"","signatures":[]}}`))
	trusted := []*PublicKey{s.Public()}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := VerifyBundle(data, trusted)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUntrusted) && !errors.Is(err, ErrBadSignature) && !errors.Is(err, ErrDigestMismatch) {
				t.Errorf("VerifyBundle: error of no known kind: %v", err)
			}
			if v != nil {
				t.Errorf("VerifyBundle returned a result with error %v", err)
			}
			return
		}
		if v.Key == nil || v.Key.Hint() != s.Public().Hint() {
			t.Fatalf("verified with a key that is not the trusted one: %+v", v.Key)
		}
		if _, _, err := VerifyStatement(data, trusted); err != nil {
			t.Errorf("VerifyBundle accepted what VerifyStatement refuses: %v", err)
		}
	})
}
