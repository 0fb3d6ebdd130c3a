package signing

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The OpenSSF project's own signed folders; see testdata/model-signing/README.md.
const vectors = "testdata/model-signing"

var keyVectors = []string{"v1.0.1-elliptic-key", "v1.1.0-elliptic-key"}

func openSSFKey(t *testing.T) *PublicKey {
	t.Helper()
	k, err := LoadPublicKey(filepath.Join(vectors, "keys", "signing-key-pub.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// fileSHA256 hashes a file the plain way, independent of HashFile.
func fileSHA256(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// copyDir copies a test folder somewhere it may be changed.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	// CopyFS keeps the read-only modes of a read-only source; the tests edit.
	filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
		if err == nil {
			os.Chmod(p, 0o755)
		}
		return err
	})
	return dst
}

func TestOpenSSFKeyHint(t *testing.T) {
	k := openSSFKey(t)
	if ec, ok := k.Key.(*ecdsa.PublicKey); !ok || ec.Curve != elliptic.P384() {
		t.Fatalf("OpenSSF test key is %T, want a P-384 key", k.Key)
	}
	// The key file opens with certtool's text; the hint hashes the PEM block only.
	file := readFile(t, filepath.Join(vectors, "keys", "signing-key-pub.pem"))
	block := file[bytes.Index(file, []byte("-----BEGIN PUBLIC KEY-----")):]
	sum := sha256.Sum256(block)
	if got, want := k.Hint(), hex.EncodeToString(sum[:]); got != want {
		t.Errorf("Hint() = %s, want sha256 of the PEM block %s", got, want)
	}
	var b struct {
		VerificationMaterial struct{ PublicKey struct{ Hint string } }
	}
	if err := json.Unmarshal(readFile(t, filepath.Join(vectors, "v1.1.0-elliptic-key", "model.sig")), &b); err != nil {
		t.Fatal(err)
	}
	if b.VerificationMaterial.PublicKey.Hint != k.Hint() {
		t.Errorf("v1.1.0 bundle hint %s, key hint %s", b.VerificationMaterial.PublicKey.Hint, k.Hint())
	}
}

func TestOpenSSFVerify(t *testing.T) {
	key := openSSFKey(t)
	for _, name := range keyVectors {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(vectors, name)
			v, err := VerifyDir(dir, readFile(t, filepath.Join(dir, "model.sig")), []*PublicKey{key}, []string{"ignore-me"})
			if err != nil {
				t.Fatal(err)
			}
			want := []Resource{
				{"signme-1", fileSHA256(t, filepath.Join(dir, "signme-1"))},
				{"signme-2", fileSHA256(t, filepath.Join(dir, "signme-2"))},
			}
			if len(v.Resources) != 2 || v.Resources[0] != want[0] || v.Resources[1] != want[1] {
				t.Errorf("resources %x, want %x", v.Resources, want)
			}
			root := sha256.Sum256(append(want[0].Digest[:], want[1].Digest[:]...))
			if v.Root != root {
				t.Errorf("root %x, want %x", v.Root, root)
			}
			if v.Key != key || v.Name != name {
				t.Errorf("key %p name %q, want %p %q", v.Key, v.Name, key, name)
			}
		})
	}
}

// v1.1.0 records "ignore-me" among its ignore paths, v1.0.1 records none, so
// only v1.0.1 needs the caller to name it.
func TestOpenSSFRecordedIgnorePaths(t *testing.T) {
	key := []*PublicKey{openSSFKey(t)}
	dir := filepath.Join(vectors, "v1.1.0-elliptic-key")
	if _, err := VerifyDir(dir, readFile(t, filepath.Join(dir, "model.sig")), key, nil); err != nil {
		t.Errorf("v1.1.0 without extra ignore: %v", err)
	}
	dir = filepath.Join(vectors, "v1.0.1-elliptic-key")
	_, err := VerifyDir(dir, readFile(t, filepath.Join(dir, "model.sig")), key, nil)
	if !errors.Is(err, ErrDigestMismatch) || !strings.Contains(err.Error(), "ignore-me") {
		t.Errorf("v1.0.1 without extra ignore: got %v, want ErrDigestMismatch naming ignore-me", err)
	}
}

func TestOpenSSFTampered(t *testing.T) {
	key := openSSFKey(t)
	tests := []struct {
		name   string
		change func(t *testing.T, dir string)
		want   error
		naming string
	}{
		{"changed byte", func(t *testing.T, dir string) { flipFileByte(t, filepath.Join(dir, "signme-1")) }, ErrDigestMismatch, "signme-1"},
		{"extra file", func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "extra.bin"), "x") }, ErrDigestMismatch, "extra.bin"},
		{"missing file", func(t *testing.T, dir string) { removeFile(t, filepath.Join(dir, "signme-2")) }, ErrDigestMismatch, "signme-2"},
		{"signature byte", func(t *testing.T, dir string) { flipSignatureByte(t, filepath.Join(dir, "model.sig")) }, ErrBadSignature, ""},
	}
	for _, name := range keyVectors {
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				dir := copyDir(t, filepath.Join(vectors, name))
				tt.change(t, dir)
				_, err := VerifyDir(dir, readFile(t, filepath.Join(dir, "model.sig")), []*PublicKey{key}, []string{"ignore-me"})
				if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.naming) {
					t.Errorf("got %v, want %v naming %q", err, tt.want, tt.naming)
				}
			})
		}
	}
}

func TestOpenSSFOtherKey(t *testing.T) {
	tmp := t.TempDir()
	pub := filepath.Join(tmp, "k.pub")
	if err := GenerateKeyCurve(filepath.Join(tmp, "k"), pub, elliptic.P384()); err != nil {
		t.Fatal(err)
	}
	other, err := LoadPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range keyVectors {
		dir := filepath.Join(vectors, name)
		_, err := VerifyDir(dir, readFile(t, filepath.Join(dir, "model.sig")), []*PublicKey{other}, []string{"ignore-me"})
		if !errors.Is(err, ErrUntrusted) {
			t.Errorf("%s with another key: got %v, want ErrUntrusted", name, err)
		}
	}
}

func flipFileByte(t *testing.T, path string) {
	t.Helper()
	b := readFile(t, path)
	b[0] ^= 1
	writeFile(t, path, string(b))
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func removeFile(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

// flipSignatureByte changes one byte of the ECDSA signature inside a bundle,
// leaving the rest of the bundle as it was.
func flipSignatureByte(t *testing.T, path string) {
	t.Helper()
	out := editBundle(t, readFile(t, path), func(b map[string]any) {
		sigs := b["dsseEnvelope"].(map[string]any)["signatures"].([]any)
		s := sigs[0].(map[string]any)
		raw, err := base64.StdEncoding.DecodeString(s["sig"].(string))
		if err != nil {
			t.Fatal(err)
		}
		raw[len(raw)-1] ^= 1
		s["sig"] = base64.StdEncoding.EncodeToString(raw)
	})
	writeFile(t, path, string(out))
}
