package deployments

import (
	"crypto/rand"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck/internal/testmodel"
)

// lab is a member org as a lab holds it: its private key and its token.
type lab struct {
	name, key, token string
}

// fillMembers writes what an operator fills before starting a hub, the way
// the README tells: the lab makes its key pair (potluck node keygen) and
// sends the .pub, which goes to keys/; the operator makes the lab's token
// (potluck hub token), gives it to the lab and lists only its hash; the
// members file names both. dir is the operator's folder (members.yaml,
// keys/); the lab's own files are elsewhere.
func fillMembers(t *testing.T, dir string) lab {
	t.Helper()
	l := lab{name: "lab-a", key: filepath.Join(t.TempDir(), "lab-a")}
	potluck(t, nil, "node", "keygen", "--out", l.key)
	pub, err := os.ReadFile(l.key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "keys"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "keys", l.name+".pub"), pub, 0o644); err != nil {
		t.Fatal(err)
	}
	l.key += ".key"
	tok, hashLine := potluck(t, nil, "hub", "token")
	l.token = strings.TrimSpace(tok)
	_, hash, ok := strings.Cut(hashLine, "- ")
	if !ok {
		t.Fatalf("potluck hub token printed no hash line: %q", hashLine)
	}
	members := "orgs:\n  - name: " + l.name + "\n    keys: [{file: keys/" + l.name + ".pub}]\n    tokens: [" + strings.TrimSpace(hash) + "]\n"
	if err := os.WriteFile(filepath.Join(dir, "members.yaml"), []byte(members), 0o644); err != nil {
		t.Fatal(err)
	}
	return l
}

// registerBase has the lab upload a small base model through the hub, as
// the README's walk-through does, trusting the hub by trust (its pinned
// fingerprint, or a CA); the model's file must then be in the bucket,
// written by the hub with its bucket-scoped credentials.
func registerBase(t *testing.T, m *testMinIO, bucket string, s served, l lab, trust ...string) {
	t.Helper()
	base := filepath.Join(t.TempDir(), "base")
	var seed [8]byte
	rand.Read(seed[:]) // new files, not ones an earlier run left in the bucket
	if err := testmodel.WriteBase(base, binary.LittleEndian.Uint64(seed[:]), testmodel.Spec{Layers: 1, Hidden: 16, Vocab: 32, Shards: 1}); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"node", "register-base", base, "--hub", s.grpc, "--key", l.key, "--quiet"}, trust...)
	got, _ := potluck(t, []string{"POTLUCK_TOKEN=" + l.token}, args...)
	want, _ := potluck(t, nil, "cid", "-r", base)
	if strings.TrimSpace(got) != strings.TrimSpace(want) {
		t.Errorf("register-base printed %q, cid -r gives %q", got, want)
	}
	file, _ := potluck(t, nil, "cid", filepath.Join(base, "model.safetensors"))
	if key := "files/" + strings.TrimSpace(file); !m.hasObject(t, bucket, key) {
		t.Errorf("bucket %s has no %s after register-base", bucket, key)
	}
}
