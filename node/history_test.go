package node

import (
	"errors"
	"strings"
	"testing"
)

// The key history is replayed from the log: a key must have been added, not
// removed, inside its window and not revoked when a release was logged.
func TestKeyAtLogTime(t *testing.T) {
	add := `{"type":"key","time":"2026-01-01T00:00:00Z","action":"add","key":"k1","org":"lab-a","not_after":"2026-12-01T00:00:00Z"}`
	revoke := `{"type":"key","time":"2026-06-01T00:00:00Z","action":"revoke","key":"k1","org":"lab-a","revoked":"2026-06-01T00:00:00Z"}`
	remove := `{"type":"key","time":"2026-07-01T00:00:00Z","action":"remove","key":"k1","org":"lab-a"}`
	other := `{"type":"key","time":"2026-01-01T00:00:00Z","action":"add","key":"k2","org":"lab-b"}`
	rel := func(at string) string {
		return `{"type":"release","time":"` + at + `","release":"bafy","key":"k1","publisher":"lab-a"}`
	}
	for _, tc := range []struct {
		name    string
		log     []string
		wantErr string
	}{
		{"valid", []string{add, other, rel("2026-03-01T00:00:00Z")}, ""},
		{"never added", []string{other, rel("2026-03-01T00:00:00Z")}, "not a member key"},
		{"added after", []string{rel("2026-03-01T00:00:00Z"), add}, "not a member key"},
		{"revoked before", []string{add, revoke, rel("2026-06-02T00:00:00Z")}, "revoked"},
		{"logged before revocation", []string{add, rel("2026-03-01T00:00:00Z"), revoke}, ""},
		{"removed", []string{add, remove, rel("2026-03-01T00:00:00Z")}, "not a member key"},
		{"expired", []string{add, rel("2026-12-02T00:00:00Z")}, "outside its validity window"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var entries [][]byte
			idx := int64(-1)
			for i, e := range tc.log {
				entries = append(entries, []byte(e))
				if strings.Contains(e, `"release"`) {
					idx = int64(i)
				}
			}
			kc, err := keyAtLogTime(entries, idx)
			if tc.wantErr == "" {
				if err != nil || kc.Org != "lab-a" {
					t.Fatalf("%+v, %v", kc, err)
				}
				return
			}
			if !errors.Is(err, ErrVerify) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("%v, want ErrVerify saying %q", err, tc.wantErr)
			}
		})
	}
}
