package potluck_test

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/potluck-hub/potluck"
)

// legacyEntry is the one struct every hub before the typed entries wrote
// its log with (json.Marshal of it). Logs written then stay in every hub's
// history: the typed entries must encode to the same bytes and decode them.
type legacyEntry struct {
	Type      string          `json:"type"`
	Time      time.Time       `json:"time"`
	Release   string          `json:"release,omitempty"`
	Kind      potluck.Kind    `json:"kind,omitempty"`
	Base      string          `json:"base,omitempty"`
	Publisher string          `json:"publisher,omitempty"`
	Key       string          `json:"key,omitempty"`
	Bundle    string          `json:"bundle,omitempty"`
	Inputs    []string        `json:"inputs,omitempty"`
	Action    string          `json:"action,omitempty"`
	Org       string          `json:"org,omitempty"`
	Role      string          `json:"role,omitempty"`
	PublicKey string          `json:"public_key,omitempty"`
	NotBefore *time.Time      `json:"not_before,omitempty"`
	NotAfter  *time.Time      `json:"not_after,omitempty"`
	Revoked   *time.Time      `json:"revoked,omitempty"`
	Verdict   string          `json:"verdict,omitempty"`
	Checks    []potluck.Check `json:"checks,omitempty"`
	Reason    string          `json:"reason,omitempty"`
}

func TestEntryEncodingMatchesLegacy(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 890, time.UTC)
	nb, na := at.Add(-time.Hour), at.Add(time.Hour)
	checks := []potluck.Check{{Name: "header", Passed: true}, {Name: "norm", Passed: false, Reason: "tensor \"a<b>\" & more"}}
	for _, tc := range []struct {
		name   string
		typed  potluck.Entry
		legacy legacyEntry
	}{
		{"release", &potluck.ReleaseEntry{EntryHeader: potluck.EntryHeader{Time: at}, Release: "bafyrel", Kind: potluck.KindDelta,
			Base: "bafybase", Publisher: "lab-a", Key: "k1", Bundle: "b1", Verdict: "accepted", Checks: checks[:1]},
			legacyEntry{Type: "release", Time: at, Release: "bafyrel", Kind: potluck.KindDelta, Base: "bafybase",
				Publisher: "lab-a", Key: "k1", Bundle: "b1", Verdict: "accepted", Checks: checks[:1]}},
		{"merge", &potluck.ReleaseEntry{EntryHeader: potluck.EntryHeader{Time: at}, Release: "bafym", Kind: potluck.KindMerge,
			Base: "bafybase", Publisher: "hub", Key: "k2", Bundle: "b2", Inputs: []string{"x", "y"}},
			legacyEntry{Type: "release", Time: at, Release: "bafym", Kind: potluck.KindMerge, Base: "bafybase",
				Publisher: "hub", Key: "k2", Bundle: "b2", Inputs: []string{"x", "y"}}},
		{"key", &potluck.KeyEntry{EntryHeader: potluck.EntryHeader{Time: at}, Key: "k3", Action: potluck.KeyRevoke, Org: "lab-b",
			Role: "publisher", PublicKey: "-----BEGIN PUBLIC KEY-----\n...", NotBefore: &nb, NotAfter: &na, Revoked: &at},
			legacyEntry{Type: "key", Time: at, Key: "k3", Action: "revoke", Org: "lab-b", Role: "publisher",
				PublicKey: "-----BEGIN PUBLIC KEY-----\n...", NotBefore: &nb, NotAfter: &na, Revoked: &at}},
		{"verdict", &potluck.VerdictEntry{EntryHeader: potluck.EntryHeader{Time: at}, Kind: potluck.KindDelta, Base: "bafybase",
			Publisher: "lab-a", Key: "k1", Bundle: "b9", Verdict: "rejected", Checks: checks, Reason: "norm"},
			legacyEntry{Type: "verdict", Time: at, Kind: potluck.KindDelta, Base: "bafybase", Publisher: "lab-a", Key: "k1",
				Bundle: "b9", Verdict: "rejected", Checks: checks, Reason: "norm"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := json.Marshal(tc.legacy)
			if err != nil {
				t.Fatal(err)
			}
			got, err := potluck.EncodeEntry(tc.typed)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Fatalf("typed encoding\n%s\nlegacy encoding\n%s", got, want)
			}
			back, err := potluck.ParseEntry(want)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, tc.typed) {
				t.Errorf("decoded %#v, want %#v", back, tc.typed)
			}
		})
	}
}

func TestEntryTypeComesFromGoType(t *testing.T) {
	e := &potluck.KeyEntry{EntryHeader: potluck.EntryHeader{Type: potluck.EntryRelease}, Key: "k", Action: potluck.KeyAdd, Org: "o"}
	b, err := potluck.EncodeEntry(e)
	if err != nil {
		t.Fatal(err)
	}
	got, err := potluck.ParseEntry(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got.(*potluck.KeyEntry); !ok {
		t.Fatalf("a key entry with a wrong Type field decoded as %T (%s)", got, b)
	}
}

func TestParseEntryUnknownAndBad(t *testing.T) {
	t.Run("unknown", func(t *testing.T) {
		b := []byte(`{"type":"telemetry","time":"2026-01-02T03:04:05Z","x":1}`)
		e, err := potluck.ParseEntry(b)
		if err != nil {
			t.Fatal(err)
		}
		u, ok := e.(*potluck.UnknownEntry)
		if !ok || u.EntryType() != "telemetry" || string(u.Raw) != string(b) || u.Time.Year() != 2026 {
			t.Fatalf("got %#v, want an unknown entry of type telemetry holding the bytes", e)
		}
		if _, err := potluck.EncodeEntry(u); !errors.Is(err, potluck.ErrEntry) {
			t.Errorf("re-encoding an unknown entry: %v, want ErrEntry", err)
		}
	})
	for name, b := range map[string]string{
		"not json":   `{"type":`,
		"wrong type": `{"type":"key","time":"2026-01-02T03:04:05Z","not_before":"yesterday"}`,
		"array":      `[1,2]`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := potluck.ParseEntry([]byte(b)); !errors.Is(err, potluck.ErrEntry) {
				t.Errorf("ParseEntry(%s): %v, want ErrEntry", b, err)
			}
		})
	}
}

func TestNewEntryKindsRoundTrip(t *testing.T) {
	at := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	for _, e := range []potluck.Entry{
		&potluck.AttestationEntry{EntryHeader: potluck.EntryHeader{Time: at}, Release: "bafyr", Org: "lab-a", Key: "k",
			Claim: potluck.Evaluation{Task: "mnist", Metric: "accuracy", Value: 0.93, DatasetDigest: "sha256:" + strings.Repeat("ab", 32),
				Details: json.RawMessage(`{"per_class":[0.9,0.95]}`)}, Bundle: []byte("{\"bundle\":1}")},
		&potluck.YankEntry{EntryHeader: potluck.EntryHeader{Time: at}, Release: "bafyr", Org: "lab-a", Reason: "trained on test data"},
	} {
		b, err := potluck.EncodeEntry(e)
		if err != nil {
			t.Fatal(err)
		}
		var raw map[string]any
		if err := json.Unmarshal(b, &raw); err != nil || raw["type"] != string(e.EntryType()) {
			t.Fatalf("%s: encoded %s (%v): type field %v", e.EntryType(), b, err, raw["type"])
		}
		back, err := potluck.ParseEntry(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, e) {
			t.Errorf("%s: decoded %#v, want %#v", e.EntryType(), back, e)
		}
	}
}

func TestEvaluationCheck(t *testing.T) {
	ok := potluck.Evaluation{Task: "mnist", Metric: "accuracy", Value: 0.5}
	if err := ok.Check(); err != nil {
		t.Fatalf("a plain evaluation: %v", err)
	}
	for field, bad := range map[string]potluck.Evaluation{
		"task":    {Task: "", Metric: "accuracy"},
		"metric":  {Task: "t", Metric: "acc uracy"},
		"value":   {Task: "t", Metric: "m", Value: math.NaN()},
		"dataset": {Task: "t", Metric: "m", DatasetDigest: "md5:00"},
		"details": {Task: "t", Metric: "m", Details: json.RawMessage(`{"a":`)},
	} {
		if err := bad.Check(); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: %v, want an error naming %s", field, err, field)
		}
	}
}
