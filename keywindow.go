package potluck

import (
	"fmt"
	"time"
)

// KeyWindow is when a member key may sign: the hub judges a publication by
// it, and an auditor replays it from the log to judge the same publication
// later. A zero time is no bound; Revoked ends the key like NotAfter,
// recorded as a revocation.
type KeyWindow struct {
	NotBefore, NotAfter, Revoked time.Time
}

// WindowOf builds a window from optional times (nil: no bound), as members
// files and log entries hold them.
func WindowOf(notBefore, notAfter, revoked *time.Time) KeyWindow {
	var w KeyWindow
	for _, b := range []struct {
		dst *time.Time
		src *time.Time
	}{{&w.NotBefore, notBefore}, {&w.NotAfter, notAfter}, {&w.Revoked, revoked}} {
		if b.src != nil {
			*b.dst = b.src.UTC()
		}
	}
	return w
}

// Check says why the key may not sign at t, or returns nil.
func (w KeyWindow) Check(t time.Time) error {
	switch {
	case !w.Revoked.IsZero() && !t.Before(w.Revoked):
		return fmt.Errorf("revoked at %s", w.Revoked.Format(time.RFC3339))
	case !w.NotBefore.IsZero() && t.Before(w.NotBefore):
		return fmt.Errorf("outside its validity window (valid from %s, not at %s)", w.NotBefore.Format(time.RFC3339), t.Format(time.RFC3339))
	case !w.NotAfter.IsZero() && !t.Before(w.NotAfter):
		return fmt.Errorf("outside its validity window (expired at %s, before %s)", w.NotAfter.Format(time.RFC3339), t.Format(time.RFC3339))
	}
	return nil
}
