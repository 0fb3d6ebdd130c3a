package potluck

import "time"

// Release is a release a hub holds: a directory in its store, who signed
// it, how it was admitted and where the log records it. The hub keeps one
// as JSON in its release index; the node gets the same fields over gRPC.
type Release struct {
	CID       string    `json:"cid"`
	Kind      Kind      `json:"kind"`
	Base      string    `json:"base,omitempty"` // base CID, for a delta or merge
	Publisher string    `json:"publisher"`      // member org, or "hub" for a merge
	Files     []File    `json:"files"`
	Bundle    []byte    `json:"bundle"`   // Sigstore bundle over Files (base64 in JSON)
	KeyHint   string    `json:"key_hint"` // hex SHA-256 of the signing key's PEM
	Created   time.Time `json:"created"`
	Receipt   *Receipt  `json:"receipt,omitempty"` // its entry in the transparency log
	// Provenance, for a merge: a bundle of the hub-signed in-toto statement
	// naming the recipe, the inputs and the output (see Provenance).
	Provenance []byte `json:"provenance,omitempty"`
	// Checks, for an upload: the admission checks it passed.
	Checks []Check `json:"checks,omitempty"`
	// Inputs, for a merge: the CIDs of the recipe's models, in order. A
	// release's parents are its Base and its Inputs.
	Inputs []string `json:"inputs,omitempty"`
	// Yank, once the release is withdrawn: who, when and why.
	Yank *Yank `json:"yank,omitempty"`
}

// Parents are the releases r was made from: its base, then a merge's
// inputs (each once, the base left out of them).
func (r *Release) Parents() []string {
	var out []string
	seen := map[string]bool{}
	for _, c := range append([]string{r.Base}, r.Inputs...) {
		if c != "" && !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}

// Yank says a release was withdrawn, as its log entry records.
type Yank struct {
	Time     time.Time `json:"time"`
	Org      string    `json:"org"`
	Reason   string    `json:"reason"`
	LogIndex int64     `json:"log_index"`
}

// File returns the release's file at path.
func (r *Release) File(path string) (File, bool) {
	for _, f := range r.Files {
		if f.Path == path {
			return f, true
		}
	}
	return File{}, false
}

// Check is the outcome of one admission check.
type Check struct {
	Name   string `json:"name"`
	Passed bool   `json:"passed"`
	Reason string `json:"reason,omitempty"`
}

// Verdict is a hub's decision on an upload: the checks run, in order, the
// failed one (if any) last.
type Verdict struct {
	Accepted bool    `json:"accepted"`
	Checks   []Check `json:"checks"`
	Reason   string  `json:"reason,omitempty"`
}

// Receipt proves a release's entry is in a hub's transparency log: the
// entry, its index, an inclusion proof and the signed checkpoint the proof
// leads to. A pulled release keeps it (with the log's origin and key it was
// checked with), so it can be checked offline.
type Receipt struct {
	// LogOrigin and LogKey name the log and the verifier key the receipt
	// was checked with; empty in the hub's own records.
	LogOrigin  string   `json:"log_origin,omitempty"`
	LogKey     string   `json:"log_key,omitempty"`
	Index      int64    `json:"index"`
	Entry      []byte   `json:"entry"`
	Proof      [][]byte `json:"proof"`
	Checkpoint []byte   `json:"checkpoint"`
}

// JobState is where a merge job stands.
type JobState string

// The states of a merge job.
const (
	JobQueued    JobState = "queued"
	JobRunning   JobState = "running"
	JobDone      JobState = "done"
	JobFailed    JobState = "failed"
	JobCancelled JobState = "cancelled"
)

// Final reports whether the job will not change again.
func (s JobState) Final() bool { return s == JobDone || s == JobFailed || s == JobCancelled }

// MergeJob is a snapshot of a merge job on a hub.
type MergeJob struct {
	ID      string   `json:"id"`
	State   JobState `json:"state"`
	Done    int      `json:"tensors_done"` // output tensors written
	Total   int      `json:"tensors_total"`
	Release *Release `json:"release,omitempty"` // when done
	// Org started the job ("" when no member authenticated); Created is
	// when.
	Org     string    `json:"org,omitempty"`
	Created time.Time `json:"created,omitzero"`
	// Err says why the job failed or was cancelled (on a client, the
	// hub's message).
	Err error `json:"-"`
}
