package hub

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/potluck-hub/potluck"
)

// A yank withdraws a release: its publisher org or an operator says why,
// the hub logs a YankEntry and then records the yank in the release's
// record. A yanked release is left out of listings (unless asked for) but
// still served by CID, so its bytes can be fetched and audited; the log
// entries stay whatever retention later does to the bytes.

// MaxYankReason bounds a yank's reason, in bytes.
const MaxYankReason = 1000

// ErrAlreadyYanked reports a yank of a release already yanked.
var ErrAlreadyYanked = errors.New("hub: already yanked")

// Yank withdraws release c for the caller in ctx (its publisher org or an
// operator) and returns the release as now recorded and the releases built
// on it, directly or not, which the yank affects.
func (h *Hub) Yank(ctx context.Context, c, reason string) (*potluck.Release, []string, error) {
	r, err := h.releases.get(c)
	if err != nil {
		return nil, nil, err
	}
	caller := CallerFrom(ctx)
	switch {
	case caller == nil:
		return nil, nil, fmt.Errorf("%w: yanking release %s needs a token of its publisher %q or of an operator", ErrUnauthenticated, c, r.Publisher)
	case caller.Org != r.Publisher && caller.Role != RoleOperator:
		return nil, nil, fmt.Errorf("%w: org %q may not yank release %s: only its publisher %q or an operator may", ErrForbidden, caller.Org, c, r.Publisher)
	}
	if err := checkReason(c, reason); err != nil {
		return nil, nil, err
	}
	h.recordMu.Lock()
	defer h.recordMu.Unlock()
	if r, err = h.releases.get(c); err != nil { // as it is now, under the lock
		return nil, nil, err
	}
	if y := r.Yank; y != nil {
		return nil, nil, fmt.Errorf("%w: release %s was yanked by %q at %s (log entry %d): %s",
			ErrAlreadyYanked, c, y.Org, y.Time.Format(time.RFC3339), y.LogIndex, y.Reason)
	}
	e := &potluck.YankEntry{EntryHeader: potluck.EntryHeader{Time: h.opts.Now().UTC()}, Release: c, Org: caller.Org, Reason: reason}
	_, rec, err := h.appendEntry(e)
	if err != nil {
		return nil, nil, err
	}
	// A crash here leaves the entry without the record: reconcileYanks
	// applies it on the next start.
	r.Yank = &potluck.Yank{Time: e.Time, Org: e.Org, Reason: e.Reason, LogIndex: rec.Index}
	if err := h.releases.replace(r); err != nil {
		return nil, nil, fmt.Errorf("hub: yank %s: logged as entry %d, but recording it failed (the hub applies it when it next starts): %w", c, rec.Index, err)
	}
	h.logger.Info("release yanked", "release", c, "org", e.Org, "reason", reason, "log_index", rec.Index)
	return r, h.releases.g.descendants(c), nil
}

// checkReason: a yank says why, in one line of text of bounded length.
func checkReason(c, reason string) error {
	switch {
	case strings.TrimSpace(reason) == "":
		return fmt.Errorf("%w: yank %s: a reason is required: say why the release is withdrawn", ErrBadRequest, c)
	case len(reason) > MaxYankReason:
		return fmt.Errorf("%w: yank %s: the reason has %d bytes; at most %d", ErrBadRequest, c, len(reason), MaxYankReason)
	case !utf8.ValidString(reason) || strings.ContainsFunc(reason, unicode.IsControl):
		return fmt.Errorf("%w: yank %s: the reason must be one line of UTF-8 text, without control characters", ErrBadRequest, c)
	}
	return nil
}

// reconcileYanks applies the yank entries logged since the last start
// whose release record lacks its yank (the hub stopped in between, or the
// record could not be written). DATA/yanks-checked remembers how far the
// log was checked, so a start reads only the entries since the last one.
func (h *Hub) reconcileYanks() error {
	mark := filepath.Join(h.opts.DataDir, "yanks-checked")
	size := h.log.Size()
	from := int64(0)
	if b, err := os.ReadFile(mark); err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n >= 0 && n <= size {
			from = n
		}
	}
	for i := from; i < size; i++ {
		b, err := h.log.Entry(i)
		if err != nil {
			return err
		}
		e, err := potluck.ParseEntry(b)
		y, ok := e.(*potluck.YankEntry)
		if err != nil || !ok {
			continue
		}
		r, err := h.releases.get(y.Release)
		if errors.Is(err, ErrNotFound) || (err == nil && r.Yank != nil) {
			continue // unpinned since, or recorded
		}
		if err != nil {
			return err
		}
		r.Yank = &potluck.Yank{Time: y.Time, Org: y.Org, Reason: y.Reason, LogIndex: i}
		if err := h.releases.replace(r); err != nil {
			return err
		}
		h.logger.Info("logged yank recorded", "release", y.Release, "log_index", i)
	}
	return os.WriteFile(mark, []byte(strconv.FormatInt(size, 10)+"\n"), 0o644)
}
