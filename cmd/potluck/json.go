package main

import (
	"encoding/json"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/node"
)

// --json: commands that scripts drive print one JSON object on stdout, in
// the vocabulary's field names (package potluck's json tags), lists never
// null; their human text is left out.

func jsonFlag(c *cobra.Command, on *bool) {
	c.Flags().BoolVar(on, "json", false, "print one JSON object on stdout instead of text (for scripts)")
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// releaseJSON is a release as --json prints it: lists never null.
func releaseJSON(r *potluck.Release) *potluck.Release {
	if r == nil {
		return nil
	}
	c := *r
	if c.Files == nil {
		c.Files = []potluck.File{}
	}
	if c.Bundle == nil {
		c.Bundle = []byte{}
	}
	return &c
}

// jobJSON is a merge job as --json prints it, with its error's message.
type jobJSON struct {
	*potluck.MergeJob
	Error string `json:"error,omitempty"`
}

func newJobJSON(j *potluck.MergeJob) jobJSON {
	out := jobJSON{MergeJob: j}
	j.Release = releaseJSON(j.Release)
	if j.Err != nil {
		out.Error = j.Err.Error()
	}
	return out
}

// publishJSON is what node publish and register-base print with --json:
// the release, and whether the hub held it already (nothing was sent).
type publishJSON struct {
	Release  *potluck.Release `json:"release"`
	Existing bool             `json:"existing"`
}

// pullJSON is what node pull prints with --json.
type pullJSON struct {
	Dir     string           `json:"dir"`
	Release *potluck.Release `json:"release"`
	KeyHint string           `json:"key_hint"` // of the key that signed the release
	// Attestations are those kept in the directory, checked; Untrusted
	// those signed by keys not trusted, left out.
	Attestations []*potluck.Attestation `json:"attestations"`
	Untrusted    []*potluck.Attestation `json:"untrusted_attestations"`
}

// reportJSON is what verify prints with --json: each check that held.
type reportJSON struct {
	CID      string            `json:"cid"`
	KeyHint  string            `json:"key_hint"` // of the key that signed the release
	Files    int               `json:"files"`    // signed, each digest checked
	Manifest *potluck.Manifest `json:"manifest,omitempty"`
	// Receipt is the log receipt checked; LogKeyPinned whether against a
	// key given with --log-key.
	Receipt      *potluck.Receipt      `json:"receipt,omitempty"`
	LogKeyPinned bool                  `json:"log_key_pinned"`
	Key          *keyCheckJSON         `json:"key,omitempty"`
	Provenance   *potluck.Provenance   `json:"provenance,omitempty"`
	Attestations []keptAttestationJSON `json:"attestations"`
	// Yank is the yank the directory recorded when it was pulled.
	Yank   *potluck.Yank `json:"yank,omitempty"`
	Inputs []reportJSON  `json:"inputs"` // a merge's base and inputs, audited by CID
}

type keyCheckJSON struct {
	Org      string    `json:"org"`
	LoggedAt time.Time `json:"logged_at"`
}

// keptAttestationJSON is a kept attestation: checked when signed by a
// trusted key, else listed unchecked.
type keptAttestationJSON struct {
	File    string `json:"file"`
	Checked bool   `json:"checked"`
	*potluck.Attestation
}

func newReportJSON(rep *node.Report, kc *node.KeyCheck) reportJSON {
	out := reportJSON{CID: rep.CID, KeyHint: rep.Signed.Key.Hint(), Files: len(rep.Signed.Resources), Manifest: rep.Manifest,
		Receipt: rep.Receipt, LogKeyPinned: rep.LogKeyPinned, Provenance: rep.Provenance, Yank: rep.Yank,
		Attestations: []keptAttestationJSON{}, Inputs: []reportJSON{}}
	if kc != nil {
		out.Key = &keyCheckJSON{Org: kc.Org, LoggedAt: kc.LoggedAt}
	}
	for _, k := range rep.Attestations {
		out.Attestations = append(out.Attestations, keptAttestationJSON{File: k.File, Checked: k.Key != nil, Attestation: k.Attestation})
	}
	return out
}

func auditJSON(a *node.Audit) reportJSON {
	out := newReportJSON(a.Report, a.Key)
	for _, in := range a.Inputs {
		out.Inputs = append(out.Inputs, auditJSON(in))
	}
	return out
}
