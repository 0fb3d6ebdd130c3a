package hub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/translog"
)

// The log's pages: its checkpoint and entries a page at a time, newest
// first, and one entry with its inclusion proof for entry.js to check.

// logPageSize is how many entries the log page lists.
const logPageSize = 50

// entryRow is one log entry in a table: its kind, when, and what it says
// in a line; Release is the release it is about, if any.
type entryRow struct {
	Index   int64
	Type    potluck.EntryType
	Time    time.Time
	Release string
	Text    string
}

// entries describes log entries [from, to), newest first.
func (s *site) entries(from, to int64) ([]entryRow, error) {
	var out []entryRow
	for i := to - 1; i >= from; i-- {
		b, err := s.h.log.Entry(i)
		if err != nil {
			return nil, fmt.Errorf("log entry %d: %w", i, err)
		}
		out = append(out, describeEntry(i, b))
	}
	return out, nil
}

// describeEntry reads an entry with potluck.ParseEntry, as every reader
// of the log does, and says what it records in a line.
func describeEntry(i int64, b []byte) entryRow {
	e, err := potluck.ParseEntry(b)
	if err != nil {
		return entryRow{Index: i, Type: "?", Text: err.Error()}
	}
	row := entryRow{Index: i, Type: e.EntryType(), Time: e.Header().Time}
	switch e := e.(type) {
	case *potluck.ReleaseEntry:
		row.Release, row.Text = e.Release, fmt.Sprintf("%s by %s", e.Kind, e.Publisher)
		if e.Base != "" {
			row.Text += " on " + shortCID(e.Base)
		}
	case *potluck.KeyEntry:
		row.Text = fmt.Sprintf("%s: key %s of %s (%s), %s", e.Action, shortHint(e.Key), e.Org, e.Role, windowText(e.Window()))
	case *potluck.VerdictEntry:
		row.Text = fmt.Sprintf("%s upload by %s refused: %s", e.Kind, e.Publisher, e.Reason)
	case *potluck.AttestationEntry:
		row.Release, row.Text = e.Release, fmt.Sprintf("%s/%s = %g, claimed by %s", e.Claim.Task, e.Claim.Metric, e.Claim.Value, e.Org)
	case *potluck.YankEntry:
		row.Release, row.Text = e.Release, fmt.Sprintf("yanked by %s: %s", e.Org, e.Reason)
	default:
		row.Text = "an entry of a kind this hub's version does not know"
	}
	return row
}

func shortHint(h string) string {
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}

type logPage struct {
	frame
	Checkpoint   string
	Size         int64
	Entries      []entryRow
	Newer, Older int64 // the "before" of the pages beside this one; 0 if none
	From, To     int64
}

func (s *site) logPage(w http.ResponseWriter, r *http.Request) {
	size := s.h.log.Size()
	before := size
	if v := r.URL.Query().Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 || n > size {
			s.fail(w, fmt.Errorf("%w: before %q: want a log index from 1 to %d", ErrBadRequest, v, size))
			return
		}
		before = n
	}
	p := logPage{frame: s.frame("Log"), Checkpoint: string(s.h.log.Checkpoint()), Size: size, From: max(0, before-logPageSize), To: before}
	var err error
	if p.Entries, err = s.entries(p.From, p.To); err != nil {
		s.fail(w, err)
		return
	}
	if before < size {
		p.Newer = min(size, before+logPageSize)
	}
	p.Older = p.From
	s.render(w, http.StatusOK, "log", p)
}

// entryData is what an entry's page embeds for entry.js: the entry with
// its inclusion proof up to the log's checkpoint, and the log's identity
// to check them with.
type entryData struct {
	Receipt   potluck.Receipt `json:"receipt"`
	LogOrigin string          `json:"log_origin"`
	LogKey    string          `json:"log_key"`
}

type entryPage struct {
	frame
	entryRow
	Fields []field
	PEM    string // a key entry's public key
	Text   string // the entry as JSON, indented
	Data   entryData
	Size   int64 // of the tree the proof leads to
	// Prev and Next are the entries beside it, -1 if none; Page is the
	// log page that lists it.
	Prev, Next, Page int64
}

// field is one line of what an entry records; Href links it when set.
type field struct {
	Name, Value, Href string
}

func (s *site) entry(w http.ResponseWriter, r *http.Request) {
	v := r.PathValue("index")
	i, err := strconv.ParseInt(v, 10, 64)
	if err != nil || i < 0 {
		s.fail(w, fmt.Errorf("%w: log entry %q: want a number from 0", ErrBadRequest, v))
		return
	}
	d, err := s.receipt(i)
	if err != nil {
		s.fail(w, err)
		return
	}
	row := describeEntry(i, d.Receipt.Entry)
	p := entryPage{frame: s.frame(fmt.Sprintf("Log entry %d", i)), entryRow: row, Data: *d, Text: indentJSON(d.Receipt.Entry)}
	if e, err := potluck.ParseEntry(d.Receipt.Entry); err == nil {
		p.Fields, p.PEM = entryFields(e)
	}
	p.Size, _ = checkpointSize(d.Receipt.Checkpoint)
	p.Prev, p.Next, p.Page = i-1, i+1, min(p.Size, i+logPageSize/2)
	if i+1 >= p.Size {
		p.Next = -1
	}
	s.render(w, http.StatusOK, "entry", p)
}

// receipt proves entry i in the tree of the log's current checkpoint.
func (s *site) receipt(i int64) (*entryData, error) {
	cp := s.h.log.Checkpoint()
	size, err := checkpointSize(cp)
	if err != nil {
		return nil, err
	}
	if i >= size {
		return nil, fmt.Errorf("%w: log entry %d: the log has %d entries (0 to %d)", ErrNotFound, i, size, size-1)
	}
	b, err := s.h.log.Entry(i)
	if err != nil {
		return nil, err
	}
	proof, err := s.h.log.InclusionProof(i, size)
	if err != nil {
		return nil, err
	}
	return &entryData{Receipt: potluck.Receipt{Index: i, Entry: b, Proof: hashesToBytes(proof), Checkpoint: cp},
		LogOrigin: s.h.log.Origin(), LogKey: s.h.log.VerifierKey()}, nil
}

// checkpointSize is the tree size a checkpoint of this hub's own log
// states, read from its second line: the page's reader checks the
// signature, in the browser.
func checkpointSize(cp []byte) (int64, error) {
	lines := strings.SplitN(string(cp), "\n", 3)
	if len(lines) < 3 {
		return 0, fmt.Errorf("hub: log checkpoint %q has no size line", cp)
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("hub: log checkpoint size %q: %v", lines[1], err)
	}
	return n, nil
}

func indentJSON(b []byte) string {
	var out bytes.Buffer
	if json.Indent(&out, b, "", "  ") != nil {
		return string(b)
	}
	return out.String()
}

// entryFields lists what an entry records, linking releases and keys.
func entryFields(e potluck.Entry) (fs []field, pem string) {
	rel := func(name, c string) {
		if c != "" {
			fs = append(fs, field{Name: name, Value: c, Href: "/releases/" + c})
		}
	}
	key := func(hint string) {
		if hint != "" {
			fs = append(fs, field{Name: "signing key", Value: hint, Href: "/members#key-" + hint})
		}
	}
	text := func(name, v string) {
		if v != "" {
			fs = append(fs, field{Name: name, Value: v})
		}
	}
	checks := func(cs []potluck.Check) {
		for _, c := range cs {
			state := "passed"
			if !c.Passed {
				state = "failed: " + c.Reason
			}
			text("check "+c.Name, state)
		}
	}
	switch e := e.(type) {
	case *potluck.ReleaseEntry:
		rel("release", e.Release)
		text("kind", string(e.Kind))
		rel("base", e.Base)
		text("publisher", e.Publisher)
		key(e.Key)
		text("bundle sha256", e.Bundle)
		for _, in := range e.Inputs {
			rel("merge input", in)
		}
		text("verdict", e.Verdict)
		checks(e.Checks)
	case *potluck.KeyEntry:
		text("action", string(e.Action))
		text("org", e.Org)
		text("role", e.Role)
		key(e.Key)
		text("may sign", windowText(e.Window()))
		pem = e.PublicKey
	case *potluck.VerdictEntry:
		text("kind", string(e.Kind))
		rel("base", e.Base)
		text("publisher", e.Publisher)
		key(e.Key)
		text("bundle sha256", e.Bundle)
		text("verdict", e.Verdict)
		text("reason", e.Reason)
		checks(e.Checks)
	case *potluck.AttestationEntry:
		rel("release", e.Release)
		text("claimed by", e.Org)
		key(e.Key)
		text("task", e.Claim.Task)
		text("metric", e.Claim.Metric)
		text("value", strconv.FormatFloat(e.Claim.Value, 'g', -1, 64))
		text("dataset", e.Claim.DatasetDigest)
		text("details", string(e.Claim.Details))
	case *potluck.YankEntry:
		rel("release", e.Release)
		text("yanked by", e.Org)
		text("reason", e.Reason)
	}
	return fs, pem
}

// keyHistory is what the log says of each key: its key entries, replayed
// as an auditor replays them (node.KeyState). It reads only the entries
// appended since it last looked.
type keyHistory struct {
	log *translog.Log

	mu     sync.Mutex
	read   int64                 // entries read so far
	byHint map[string][]keyEvent // in log order
}

// keyEvent is a key entry and its place in the log.
type keyEvent struct {
	Index int64
	*potluck.KeyEntry
}

// keyPrefix starts every key entry: EncodeEntry writes the type first.
var keyPrefix = []byte(`{"type":"key"`)

// update reads the entries appended since the last call.
func (k *keyHistory) update() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.byHint == nil {
		k.byHint = map[string][]keyEvent{}
	}
	for size := k.log.Size(); k.read < size; k.read++ {
		b, err := k.log.Entry(k.read)
		if err != nil {
			return fmt.Errorf("log entry %d: %w", k.read, err)
		}
		if !bytes.HasPrefix(b, keyPrefix) {
			continue
		}
		e, err := potluck.ParseEntry(b)
		if ke, ok := e.(*potluck.KeyEntry); err == nil && ok {
			k.byHint[ke.Key] = append(k.byHint[ke.Key], keyEvent{Index: k.read, KeyEntry: ke})
		}
	}
	return nil
}

// events returns the key entries of the key with this hint, oldest first.
func (k *keyHistory) events(hint string) ([]keyEvent, error) {
	if err := k.update(); err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.byHint[hint], nil
}

// last is the newest key entry of a key, nil if the log never named it.
func (k *keyHistory) last(hint string) (*keyEvent, error) {
	evs, err := k.events(hint)
	if err != nil || len(evs) == 0 {
		return nil, err
	}
	return &evs[len(evs)-1], nil
}
