package potluck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// StatementType is the _type of an in-toto Statement v1.
const StatementType = "https://in-toto.io/Statement/v1"

// AttestationsDir is where a pulled release keeps its evaluation
// attestations, one potluck.Attestation (bundle and log receipt) per file,
// named by its log index: in the hidden folder, outside the release's CID
// and its signature.
const AttestationsDir = ".potluck/attestations"

// ErrEvaluation reports an evaluation statement that is not well formed.
var ErrEvaluation = errors.New("potluck: bad evaluation statement")

// EvaluationSubject names the release an evaluation is about.
type EvaluationSubject struct {
	Name   string            `json:"name"`   // the release's root CID
	Digest map[string]string `json:"digest"` // "sha256": its root digest (hex)
}

// EvaluationStatement is the in-toto Statement v1 an org signs to attest
// an evaluation: its one subject is the release, its predicate the claim.
type EvaluationStatement struct {
	Type          string              `json:"_type"`
	Subject       []EvaluationSubject `json:"subject"`
	PredicateType string              `json:"predicateType"`
	Predicate     Evaluation          `json:"predicate"`
}

// Release is the CID the statement is about.
func (s *EvaluationStatement) Release() string { return s.Subject[0].Name }

// Root is the hex SHA-256 root digest of the release's files the statement
// names.
func (s *EvaluationStatement) Root() string { return s.Subject[0].Digest["sha256"] }

// NewEvaluationStatement returns the JSON of the statement that release
// (its root CID and hex root digest) scored e, after checking e.
func NewEvaluationStatement(release, root string, e Evaluation) ([]byte, error) {
	if err := e.Check(); err != nil {
		return nil, err
	}
	if len(e.Details) > 0 {
		var buf bytes.Buffer
		if err := json.Compact(&buf, e.Details); err != nil {
			return nil, fmt.Errorf("evaluation: details: %v", err)
		}
		e.Details = buf.Bytes()
	}
	return json.Marshal(EvaluationStatement{Type: StatementType, PredicateType: EvaluationType,
		Subject:   []EvaluationSubject{{Name: release, Digest: map[string]string{"sha256": root}}},
		Predicate: e})
}

var hexDigest = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ParseEvaluationStatement decodes a signed statement's payload and checks
// it is an evaluation: the in-toto Statement v1 type, the evaluation
// predicate type, exactly one subject with a CID and a SHA-256 digest, a
// predicate with no unknown field, and a well-formed claim (Evaluation.Check).
// The hub, the node and an auditor judge statements by this one function.
func ParseEvaluationStatement(payload []byte) (*EvaluationStatement, error) {
	var raw struct {
		Type          string              `json:"_type"`
		Subject       []EvaluationSubject `json:"subject"`
		PredicateType string              `json:"predicateType"`
		Predicate     json.RawMessage     `json:"predicate"`
	}
	if err := json.Unmarshal(payload, &raw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEvaluation, err)
	}
	switch {
	case raw.Type != StatementType:
		return nil, fmt.Errorf("%w: _type %q, want %q", ErrEvaluation, raw.Type, StatementType)
	case raw.PredicateType != EvaluationType:
		return nil, fmt.Errorf("%w: predicate type %q, want %q", ErrEvaluation, raw.PredicateType, EvaluationType)
	case len(raw.Subject) != 1:
		return nil, fmt.Errorf("%w: %d subjects, want one: the release", ErrEvaluation, len(raw.Subject))
	case raw.Subject[0].Name == "":
		return nil, fmt.Errorf("%w: the subject names no release CID", ErrEvaluation)
	case len(raw.Subject[0].Digest) != 1 || !hexDigest.MatchString(raw.Subject[0].Digest["sha256"]):
		return nil, fmt.Errorf("%w: subject digest %v, want only sha256: the release's root digest in lower-case hex", ErrEvaluation, raw.Subject[0].Digest)
	}
	st := &EvaluationStatement{Type: raw.Type, Subject: raw.Subject, PredicateType: raw.PredicateType}
	dec := json.NewDecoder(bytes.NewReader(raw.Predicate))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st.Predicate); err != nil {
		return nil, fmt.Errorf("%w: predicate: %v", ErrEvaluation, err)
	}
	if err := st.Predicate.Check(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEvaluation, err)
	}
	return st, nil
}

// SameClaim reports whether two claims say the same: every field equal,
// details compared as the JSON values they encode (spacing, key order and
// escapes aside: a log entry's copy of the details is re-encoded).
func SameClaim(a, b Evaluation) bool {
	if a.Task != b.Task || a.Metric != b.Metric || a.Value != b.Value || a.DatasetDigest != b.DatasetDigest {
		return false
	}
	if len(a.Details) == 0 || len(b.Details) == 0 {
		return len(a.Details) == len(b.Details)
	}
	ca, errA := reencode(a.Details)
	cb, errB := reencode(b.Details)
	return errA == nil && errB == nil && bytes.Equal(ca, cb)
}

// reencode re-encodes a JSON value: object keys sorted, no space,
// numbers as written.
func reencode(b []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// Metrics where a smaller value is better: a word of the metric's name
// (split at anything but letters and digits, case aside) that ends in a
// long one ("loss", "val_loss", "nllloss") or is a short one ("wer", not
// "answer").
var (
	lowerLong  = []string{"loss", "perplexity", "error"}
	lowerShort = []string{"wer", "cer", "mae", "mse", "rmse"}
)

// LowerIsBetter reports whether a smaller value of metric is the better
// one: losses, perplexity, error rates (WER, CER) and mean errors (MAE,
// MSE, RMSE), named so; any other metric is better higher.
func LowerIsBetter(metric string) bool {
	words := strings.FieldsFunc(strings.ToLower(metric), func(r rune) bool {
		return !('a' <= r && r <= 'z' || '0' <= r && r <= '9')
	})
	for _, w := range words {
		if slices.Contains(lowerShort, w) || slices.ContainsFunc(lowerLong, func(l string) bool { return strings.HasSuffix(w, l) }) {
			return true
		}
	}
	return false
}
