package potluck

// ReleaseDetail is a release with what a hub knows around it: the releases
// built on it directly and the evaluations attested of it. In JSON the
// release's own fields stand beside children and attestations, which are
// lists, never null.
type ReleaseDetail struct {
	*Release
	// Children are the releases whose parents include this one: deltas
	// against it, merges of it (as base or input), oldest first.
	Children []string `json:"children"`
	// Attestations are its evaluation attestations, oldest first.
	Attestations []*Attestation `json:"attestations"`
}
