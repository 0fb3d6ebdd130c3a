package signing

import (
	"crypto"
	"crypto/elliptic"
	"os"
	"path/filepath"
	"testing"
	"time"

	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"
)

// sigstoreGoVerify checks a bundle with sigstore-go's verifier (an
// implementation independent of ours), trusting one public key and
// expecting the statement's subject to be rootDigest.
func sigstoreGoVerify(t *testing.T, bundlePath string, pub *PublicKey, hash crypto.Hash, rootDigest []byte) error {
	t.Helper()
	b, err := sgbundle.LoadJSONFromPath(bundlePath)
	if err != nil {
		return err
	}
	v, err := signature.LoadVerifier(pub.Key, hash)
	if err != nil {
		t.Fatal(err)
	}
	trusted := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
		return root.NewExpiringKey(v, time.Time{}, time.Time{}), nil
	})
	verifier, err := verify.NewVerifier(trusted, verify.WithNoObserverTimestamps())
	if err != nil {
		t.Fatal(err)
	}
	_, err = verifier.Verify(b, verify.NewPolicy(verify.WithArtifactDigest("sha256", rootDigest), verify.WithKey()))
	return err
}

// A bundle we write for a model directory verifies with sigstore-go given
// the public key, for both curves the format allows; another key, or
// another root digest, does not.
func TestSigstoreGoVerifiesOurBundles(t *testing.T) {
	for _, tc := range []struct {
		curve elliptic.Curve
		hash  crypto.Hash
	}{{elliptic.P256(), crypto.SHA256}, {elliptic.P384(), crypto.SHA384}} {
		t.Run(tc.curve.Params().Name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range map[string]string{"config.json": "{}", "model.safetensors": "weights", "sub/tokenizer.json": "tok"} {
				p := filepath.Join(dir, filepath.FromSlash(name))
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			priv, pubPath := newKey(t, tc.curve)
			s, pub := loadPair(t, priv, pubPath)
			res, err := DigestDir(dir, DefaultIgnorePaths())
			if err != nil {
				t.Fatal(err)
			}
			b, err := Sign(s, filepath.Base(dir), res, nil)
			if err != nil {
				t.Fatal(err)
			}
			bundlePath := filepath.Join(dir, SignatureFile)
			if err := os.WriteFile(bundlePath, b, 0o644); err != nil {
				t.Fatal(err)
			}
			rootDigest := RootDigest(res)
			if err := sigstoreGoVerify(t, bundlePath, pub, tc.hash, rootDigest[:]); err != nil {
				t.Fatalf("sigstore-go refuses our bundle: %v", err)
			}
			otherPriv, otherPubPath := newKey(t, tc.curve)
			_, other := loadPair(t, otherPriv, otherPubPath)
			if err := sigstoreGoVerify(t, bundlePath, other, tc.hash, rootDigest[:]); err == nil {
				t.Fatal("sigstore-go accepts our bundle under another key")
			}
			wrong := rootDigest
			wrong[0] ^= 1
			if err := sigstoreGoVerify(t, bundlePath, pub, tc.hash, wrong[:]); err == nil {
				t.Fatal("sigstore-go accepts our bundle for another root digest")
			}
		})
	}
}

// The OpenSSF project's own v1.1.0 bundle verifies with sigstore-go too: the
// yardstick our reading of the format is held to.
func TestSigstoreGoVerifiesOpenSSFBundle(t *testing.T) {
	pub, err := LoadPublicKey("testdata/model-signing/keys/signing-key-pub.pem")
	if err != nil {
		t.Fatal(err)
	}
	res, err := DigestDir("testdata/model-signing/v1.1.0-elliptic-key", []string{"ignore-me"})
	if err != nil {
		t.Fatal(err)
	}
	rootDigest := RootDigest(res)
	if err := sigstoreGoVerify(t, "testdata/model-signing/v1.1.0-elliptic-key/model.sig", pub, crypto.SHA384, rootDigest[:]); err != nil {
		t.Fatalf("sigstore-go: %v", err)
	}
}
