package hub

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/potluck-hub/potluck"
)

// ErrLimit reports a request beyond one of the hub's Limits; the message
// names the limit and its setting.
var ErrLimit = errors.New("hub: limit")

// Limits bound what one member, or all of them, can make the hub hold or
// do, so that none can exhaust it. Zero takes the default; a negative
// value turns that limit off.
type Limits struct {
	SessionsPerOrg int   // open upload sessions of one org (DefaultSessionsPerOrg)
	Sessions       int   // open upload sessions of every org together (DefaultSessions)
	UploadBytes    int64 // bytes one upload declares (DefaultUploadBytes); never more than the data folder's free space
	JobsPerOrg     int   // queued and running merge jobs of one org (DefaultJobsPerOrg)
	RecipeModels   int   // models one recipe lists (DefaultRecipeModels)
	RecipeBytes    int   // a recipe's size (DefaultRecipeBytes)
	HeaderBytes    int64 // a safetensors shard's header (DefaultHeaderBytes)
	// VerdictsPerOrgHour bounds the refused-upload verdicts logged for one
	// org in an hour (DefaultVerdictsPerOrgHour); those beyond it are
	// refused as ever, counted (potluck_verdicts_unlogged_total), not logged.
	VerdictsPerOrgHour int
}

// The Limits' defaults: generous for a lab, small for the hub.
const (
	DefaultSessionsPerOrg     = 16
	DefaultSessions           = 256
	DefaultUploadBytes        = 1 << 40 // 1 TiB
	DefaultJobsPerOrg         = 8
	DefaultRecipeModels       = 64
	DefaultRecipeBytes        = 256 << 10
	DefaultHeaderBytes        = 16 << 20
	DefaultVerdictsPerOrgHour = 60
)

// limit is one limit's value for a setting: the default for 0, none (-1
// returned as 0, false) for a negative value.
func limit[T int | int64](v, def T) (T, bool) {
	switch {
	case v == 0:
		return def, true
	case v < 0:
		return 0, false
	}
	return v, true
}

// errLimit says what is beyond which limit, and where it is set: the
// Limits field and the `hub serve` flag; advice, if any, what to do.
func errLimit(subject string, n any, noun string, max any, field, advice string) error {
	if advice != "" {
		advice = ": " + advice
	}
	return fmt.Errorf("%w: %s: %v %s, at most %v (Limits.%s, hub serve --limit-%s)%s", ErrLimit, subject, n, noun, max, field, kebab(field), advice)
}

// kebab turns a field name (SessionsPerOrg) into a flag's (sessions-per-org).
func kebab(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('-')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// checkSessions bounds the open upload sessions: all, and the caller's
// org's, counted before a new one opens.
func (l Limits) checkSessions(org string, all, ofOrg int) error {
	if max, ok := limit(l.SessionsPerOrg, DefaultSessionsPerOrg); ok && ofOrg >= max {
		return errLimit(orgName(org), ofOrg, "upload sessions open", max, "SessionsPerOrg", "commit them, or let them expire")
	}
	if max, ok := limit(l.Sessions, DefaultSessions); ok && all >= max {
		return errLimit("the hub", all, "upload sessions open", max, "Sessions", "try again later")
	}
	return nil
}

// checkDeclared bounds the bytes an upload declares by the limit and by
// the free space of the data folder (free < 0: not known).
func (l Limits) checkDeclared(up Upload, free int64) error {
	var n int64
	for _, f := range up.Files {
		n += f.Size
	}
	if max, ok := limit(l.UploadBytes, DefaultUploadBytes); ok && n > max {
		return errLimit("the upload", n, "bytes declared", max, "UploadBytes", "")
	}
	if free >= 0 && n > free {
		return fmt.Errorf("%w: the upload declares %d bytes; the hub's data folder has %d free (ask the operator for space)", ErrLimit, n, free)
	}
	return nil
}

// checkRecipe bounds a recipe's size before it is parsed.
func (l Limits) checkRecipe(recipe []byte) error {
	if max, ok := limit(l.RecipeBytes, DefaultRecipeBytes); ok && len(recipe) > max {
		return errLimit("the recipe", len(recipe), "bytes", max, "RecipeBytes", "")
	}
	return nil
}

// checkRecipeModels bounds the models a parsed recipe lists.
func (l Limits) checkRecipeModels(n int) error {
	if max, ok := limit(l.RecipeModels, DefaultRecipeModels); ok && n > max {
		return errLimit("the recipe", n, "models", max, "RecipeModels", "merge in stages")
	}
	return nil
}

// orgName names an org in a refusal; callers without a token (where
// tokens are optional) count as one org.
func orgName(org string) string {
	if org == "" {
		return "callers without a token"
	}
	return fmt.Sprintf("org %q", org)
}

// checkJobs bounds an org's queued and running merge jobs.
func (l Limits) checkJobs(org string, n int) error {
	if max, ok := limit(l.JobsPerOrg, DefaultJobsPerOrg); ok && n >= max {
		return errLimit(orgName(org), n, "merge jobs queued or running", max, "JobsPerOrg", "wait for them, or cancel some")
	}
	return nil
}

// checkHeaders bounds the header of every safetensors file of an upload,
// reading its first 8 bytes only.
func (h *Hub) checkHeaders(a *admission) error {
	max, ok := limit(h.opts.Limits.HeaderBytes, DefaultHeaderBytes)
	if !ok {
		return nil
	}
	src := stagedSource{a}
	for _, f := range a.up.Files {
		if !strings.HasSuffix(f.Path, ".safetensors") || f.Size < 8 {
			continue
		}
		r, _, err := src.Open(f.Path)
		if err != nil {
			return err
		}
		var b [8]byte
		_, err = r.ReadAt(b[:], 0)
		r.Close()
		if err != nil && err != io.EOF {
			return err
		}
		// A length past the file's end is malformed: the format check says so.
		if n := binary.LittleEndian.Uint64(b[:]); n > uint64(max) && n <= uint64(f.Size-8) {
			return fmt.Errorf("%w: %s: %w", ErrRejected, f.Path, errLimit("safetensors header", n, "bytes", max, "HeaderBytes", ""))
		}
	}
	return nil
}

// verdictQuota counts the verdicts logged per org in the current hour.
type verdictQuota struct {
	mu    sync.Mutex
	hour  time.Time
	count map[string]int
}

// take reports whether one more verdict of org may be logged this hour.
func (q *verdictQuota) take(org string, now time.Time, max int) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if hr := now.Truncate(time.Hour); !hr.Equal(q.hour) || q.count == nil {
		q.hour, q.count = hr, map[string]int{}
	}
	if q.count[org] >= max {
		return false
	}
	q.count[org]++
	return true
}

// verdictLogged reports whether a's verdict may be logged; one beyond the
// org's hourly limit is counted instead.
func (h *Hub) verdictLogged(a *admission) bool {
	max, ok := limit(h.opts.Limits.VerdictsPerOrgHour, DefaultVerdictsPerOrgHour)
	if !ok || h.verdicts.take(a.org, h.opts.Now(), max) {
		return true
	}
	h.metrics.verdictsUnlogged.WithLabelValues(a.org).Inc()
	h.logger.Warn("verdict not logged: the org's hourly limit is reached (Limits.VerdictsPerOrgHour, hub serve --limit-verdicts-per-org-hour)", "org", a.org, "limit", max)
	return false
}

// openJobsOf counts org's merge jobs queued or running; the caller holds
// h.jobs.mu.
func (h *Hub) openJobsOf(org string) int {
	n := 0
	for _, j := range h.jobs.byID {
		if j.rec.Org == org && (j.rec.State == potluck.JobQueued || j.rec.State == potluck.JobRunning) {
			n++
		}
	}
	return n
}
