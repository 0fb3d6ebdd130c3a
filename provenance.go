package potluck

import "encoding/json"

// ProvenanceType is the predicate type of a hub's merge provenance: an
// in-toto Statement whose subject is the merge's root CID (with the SHA-256
// root digest of its files) and whose predicate is a Provenance.
const ProvenanceType = "https://potluck.dev/merge-provenance/v1"

// ProvenanceFile is where a pulled merge keeps its provenance bundle: in the
// hidden folder outside its CID and its signature.
const ProvenanceFile = ".potluck/provenance.sig"

// ProvenanceRef names a release by CID and by the SHA-256 root digest of
// its files (the model-signing root, independent of any signature).
type ProvenanceRef struct {
	CID    string  `json:"cid"`
	Root   string  `json:"root_sha256"`
	Weight float64 `json:"weight,omitempty"`
	// Gradient is an input's weight over the layers when the recipe gives
	// one (Weight is then its value at the first layer). The merge's
	// manifest records Weight only (its bytes are the engine's); the hub
	// reads the gradient from the recorded recipe.
	Gradient []float64 `json:"weight_gradient,omitempty"`
}

// Provenance is what went into a merge, how, and what came out.
type Provenance struct {
	Recipe json.RawMessage `json:"recipe"` // canonical, models named by CID
	Base   ProvenanceRef   `json:"base"`
	Inputs []ProvenanceRef `json:"inputs"`
	Engine string          `json:"engine"`
	Output struct {
		CID   string `json:"cid"`
		Files []File `json:"files"`
	} `json:"output"`
}

// ProvenanceStatement is the in-toto Statement v1 around a Provenance.
type ProvenanceStatement struct {
	Type    string `json:"_type"`
	Subject []struct {
		Name   string            `json:"name"`
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
	PredicateType string     `json:"predicateType"`
	Predicate     Provenance `json:"predicate"`
}
