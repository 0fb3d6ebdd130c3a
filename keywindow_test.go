package potluck

import (
	"strings"
	"testing"
	"time"
)

// The window's bounds: NotBefore inclusive, NotAfter and Revoked exclusive,
// each failure saying which; zero times are no bound.
func TestKeyWindow(t *testing.T) {
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	nb, na, rv := at("2026-01-01T00:00:00Z"), at("2027-01-01T00:00:00Z"), at("2026-06-01T00:00:00Z")
	w := WindowOf(&nb, &na, nil)
	for _, tc := range []struct {
		w    KeyWindow
		t    string
		want string
	}{
		{w, "2026-01-01T00:00:00Z", ""},
		{w, "2025-12-31T23:59:59Z", "valid from"},
		{w, "2027-01-01T00:00:00Z", "expired"},
		{WindowOf(nil, nil, &rv), "2026-05-31T23:59:59Z", ""},
		{WindowOf(nil, nil, &rv), "2026-06-01T00:00:00Z", "revoked"},
		{KeyWindow{}, "1999-01-01T00:00:00Z", ""},
	} {
		err := tc.w.Check(at(tc.t))
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v at %s: %v, want %q", tc.w, tc.t, err, tc.want)
		}
	}
}
