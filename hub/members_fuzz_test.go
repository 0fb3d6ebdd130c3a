package hub

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck/signing"
)

// FuzzLoadMembers feeds the members file parser arbitrary bytes, starting
// from real files: an operator's typo or a hostile edit must give either
// members whose every key, org and token is indexed consistently, or an
// ErrMembers that says what is wrong; never a panic. The file lies beside
// a real key, so "file: a.pub" resolves.
func FuzzLoadMembers(f *testing.F) {
	dir := f.TempDir()
	if err := signing.GenerateKey(filepath.Join(dir, "a.key"), filepath.Join(dir, "a.pub")); err != nil {
		f.Fatal(err)
	}
	pem, err := os.ReadFile(filepath.Join(dir, "a.pub"))
	if err != nil {
		f.Fatal(err)
	}
	inline := "    keys:\n      - pem: |\n          " + strings.ReplaceAll(strings.TrimSpace(string(pem)), "\n", "\n          ") + "\n"
	for _, s := range []string{
		"orgs: []\n",
		"orgs:\n  - name: lab-a\n    keys:\n      - file: a.pub\n        not_before: 2026-01-01T00:00:00Z\n        not_after: 2027-01-01T00:00:00Z\n",
		"orgs:\n  - name: ops\n    role: operator\n" + inline + "    tokens:\n      - sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n",
		"orgs:\n  - name: lab-a\n    keys:\n      - file: a.pub\n        revoked: 2026-06-01T00:00:00Z\n  - name: lab-b\n    keys:\n      - file: a.pub\n",
		`{"orgs":[{"name":"lab-j","keys":[{"file":"a.pub"}]}]}`,
	} {
		f.Add([]byte(s))
	}
	path := filepath.Join(dir, "members.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		ms, err := LoadMembers(path)
		if err != nil {
			if !errors.Is(err, ErrMembers) {
				t.Fatalf("error %v is not ErrMembers", err)
			}
			return
		}
		for _, o := range ms.Orgs() {
			if o.Org == "" || o.Org == HubOrg || (o.Role != RolePublisher && o.Role != RoleOperator) {
				t.Fatalf("accepted org %q with role %q", o.Org, o.Role)
			}
			for _, k := range o.Keys {
				if mk, ok := ms.Key(k.Key); !ok || mk.Org != o.Org {
					t.Fatalf("key %s of %q is indexed as %+v", k.Key.Hint(), o.Org, mk)
				}
			}
		}
	})
}
