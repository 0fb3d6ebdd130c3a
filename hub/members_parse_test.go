package hub

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/potluck-hub/potluck/signing"
)

// TestParseMembersErrors: each mistake in a members file is one line naming
// the line, the org and the field.
func TestParseMembersErrors(t *testing.T) {
	dir := t.TempDir()
	if err := signing.GenerateKey(filepath.Join(dir, "a.key"), filepath.Join(dir, "a.pub")); err != nil {
		t.Fatal(err)
	}
	const tok = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	for _, tc := range []struct{ name, file, want string }{
		{"duplicate org", "orgs:\n  - name: lab-a\n  - name: lab-b\n  - name: lab-a\n",
			`line 4: org "lab-a" is listed twice (first at line 2): give each org one entry`},
		{"unknown org field", "orgs:\n  - name: lab-a\n    token:\n      - " + tok + "\n",
			`line 3: org "lab-a": unknown field "token" (want name, role, keys or tokens)`},
		{"unknown key field", "orgs:\n  - name: lab-a\n    keys:\n      - file: a.pub\n        not_befor: 2026-01-01\n",
			`line 5: org "lab-a" keys[0]: unknown field "not_befor" (want file, pem, not_before, not_after or revoked)`},
		{"bad date", "orgs:\n  - name: lab-a\n    keys:\n      - file: a.pub\n        not_after: 2026-13-01\n",
			`line 5: org "lab-a" keys[0]: not_after "2026-13-01" is not a date (want RFC 3339, e.g. 2026-01-01T00:00:00Z)`},
		{"unknown top field", "org:\n  - name: lab-a\n", `line 1: the file: unknown field "org" (want orgs)`},
		{"tokens not a list", "orgs:\n  - name: lab-a\n    tokens: " + tok + "\n", `line 3: org "lab-a": tokens: want a list`},
		{"empty", "", "the file is empty (want orgs: a list of member orgs)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseMembers([]byte(tc.file), dir)
			if !errors.Is(err, ErrMembers) || err.Error() != "hub: bad members file: "+tc.want {
				t.Fatalf("got %v\nwant hub: bad members file: %s", err, tc.want)
			}
		})
	}
}

// TestParseMembersDates: YAML timestamps, quoted RFC 3339 and bare dates
// are all read, and a file parses as it did before.
func TestParseMembersDates(t *testing.T) {
	dir := t.TempDir()
	if err := signing.GenerateKey(filepath.Join(dir, "a.key"), filepath.Join(dir, "a.pub")); err != nil {
		t.Fatal(err)
	}
	file := "orgs:\n  - name: lab-a\n    role: operator\n    keys:\n      - file: a.pub\n        not_before: 2026-01-01T00:00:00Z\n" +
		"        not_after: \"2027-01-01T00:00:00Z\"\n        revoked: 2026-06-01\n    tokens: [sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08]\n"
	ms, err := ParseMembers([]byte(file), dir)
	if err != nil {
		t.Fatal(err)
	}
	k := ms.Orgs()[0].Keys[0]
	if k.NotBefore.Year() != 2026 || k.NotAfter.Year() != 2027 || k.Revoked.Month() != 6 {
		t.Fatalf("window %+v", k.KeyWindow)
	}
	if o, ks, ts := ms.Counts(); o != 1 || ks != 1 || ts != 1 {
		t.Fatalf("counts %d %d %d", o, ks, ts)
	}
}
