package potluck

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"time"
)

// EvaluationType is the predicate type of an evaluation attestation: an
// in-toto Statement v1 whose subject is a release (its root CID as the
// name, the SHA-256 root digest of its files as the digest) and whose
// predicate is an Evaluation. It is a claim by the org whose key signed it;
// a hub checks the signature and logs it, and never computes or edits the
// numbers.
const EvaluationType = "https://potluck.dev/evaluation/v1"

// MaxEvaluationDetails bounds an evaluation's free-form details.
const MaxEvaluationDetails = 64 << 10

// Evaluation is how a release scored on a task, as one org measured it.
type Evaluation struct {
	Task   string  `json:"task"`   // e.g. "mmlu", "lab-a/contracts-qa"
	Metric string  `json:"metric"` // e.g. "accuracy", "exact_match"
	Value  float64 `json:"value"`
	// DatasetDigest names the evaluation data, "sha256:<hex>", when given.
	DatasetDigest string `json:"dataset_digest,omitempty"`
	// Details is any JSON the org adds (per-class scores, settings), at
	// most MaxEvaluationDetails bytes.
	Details json.RawMessage `json:"details,omitempty"`
}

var (
	evalName      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/+-]{0,127}$`)
	datasetDigest = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
)

// Check reports the first field that is not well formed, naming it.
func (e *Evaluation) Check() error {
	switch {
	case !evalName.MatchString(e.Task):
		return fmt.Errorf("evaluation: task %q: want 1 to 128 letters, digits or ._:/+- starting with a letter or digit", e.Task)
	case !evalName.MatchString(e.Metric):
		return fmt.Errorf("evaluation: metric %q: want 1 to 128 letters, digits or ._:/+- starting with a letter or digit", e.Metric)
	case math.IsNaN(e.Value) || math.IsInf(e.Value, 0):
		return fmt.Errorf("evaluation: value %v is not a finite number", e.Value)
	case e.DatasetDigest != "" && !datasetDigest.MatchString(e.DatasetDigest):
		return fmt.Errorf("evaluation: dataset digest %q: want sha256: and 64 lower-case hex digits", e.DatasetDigest)
	case len(e.Details) > MaxEvaluationDetails:
		return fmt.Errorf("evaluation: details of %d bytes (at most %d)", len(e.Details), MaxEvaluationDetails)
	case len(e.Details) > 0 && !json.Valid(e.Details):
		return fmt.Errorf("evaluation: details are not valid JSON")
	}
	return nil
}

// Attestation is an evaluation attestation a hub accepted.
type Attestation struct {
	Release string     `json:"release"`
	Org     string     `json:"org"`
	KeyHint string     `json:"key_hint"`
	Claim   Evaluation `json:"claim"`
	Bundle  []byte     `json:"bundle"` // the Sigstore bundle of the statement
	Created time.Time  `json:"created"`
	Receipt *Receipt   `json:"receipt,omitempty"`
}

// Lineage is the part of the release graph around one release: every
// ancestor up to the root bases, and every release built on it, directly or
// not. Nodes are in creation order.
type Lineage struct {
	Root  string        `json:"root"` // the release asked about
	Nodes []LineageNode `json:"nodes"`
}

// LineageNode is one release of a lineage.
type LineageNode struct {
	CID       string    `json:"cid"`
	Kind      Kind      `json:"kind"`
	Publisher string    `json:"publisher"`
	Created   time.Time `json:"created"`
	Parents   []string  `json:"parents"`
	Yanked    bool      `json:"yanked,omitempty"`
	// Best is the highest attested value per task and metric
	// ("task/metric"), with the org that claimed it.
	Best []Score `json:"best,omitempty"`
}

// Score is one attested value and who claimed it.
type Score struct {
	Task   string  `json:"task"`
	Metric string  `json:"metric"`
	Value  float64 `json:"value"`
	Org    string  `json:"org"`
}
