// Package wire converts Potluck's vocabulary (package potluck) to and from
// the hub API's protobuf messages (hubv1), both ways, in this one place:
// the hub converts what it sends, the node what it receives, and neither
// lets a hubv1 type past its edge.
package wire

import (
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/potluck-hub/potluck"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
)

var kinds = map[potluck.Kind]hubv1.ReleaseKind{
	potluck.KindBase:  hubv1.ReleaseKind_RELEASE_KIND_BASE,
	potluck.KindDelta: hubv1.ReleaseKind_RELEASE_KIND_DELTA,
	potluck.KindMerge: hubv1.ReleaseKind_RELEASE_KIND_MERGE,
}

// Kind maps a release kind to its message (UNSPECIFIED for "").
func Kind(k potluck.Kind) hubv1.ReleaseKind { return kinds[k] }

// KindOf maps a release kind message to the domain's ("" for unspecified).
func KindOf(k hubv1.ReleaseKind) potluck.Kind {
	for d, p := range kinds {
		if p == k {
			return d
		}
	}
	return ""
}

// Release converts a release for the wire.
func Release(r *potluck.Release) *hubv1.Release {
	out := &hubv1.Release{
		Cid: r.CID, Kind: Kind(r.Kind), BaseCid: r.Base, Publisher: r.Publisher,
		Bundle: r.Bundle, CreatedUnix: r.Created.Unix(), KeyHint: r.KeyHint, Provenance: r.Provenance,
		Checks: checks(r.Checks), Receipt: Receipt(r.Receipt), Inputs: r.Inputs, Yank: yank(r.Yank),
	}
	for _, f := range r.Files {
		out.Files = append(out.Files, File(f))
	}
	return out
}

// ReleaseOf converts a release from the wire. It refuses a file digest that
// is not 32 bytes, naming the file.
func ReleaseOf(p *hubv1.Release) (*potluck.Release, error) {
	if p == nil {
		return nil, errors.New("wire: no release in the hub's answer")
	}
	r := &potluck.Release{
		CID: p.GetCid(), Kind: KindOf(p.GetKind()), Base: p.GetBaseCid(), Publisher: p.GetPublisher(),
		Bundle: p.GetBundle(), KeyHint: p.GetKeyHint(), Created: time.Unix(p.GetCreatedUnix(), 0).UTC(),
		Provenance: p.GetProvenance(), Checks: checksOf(p.GetChecks()), Receipt: ReceiptOf(p.GetReceipt()),
		Inputs: p.GetInputs(), Yank: yankOf(p.GetYank()),
	}
	for _, f := range p.GetFiles() {
		pf, err := FileOf(f)
		if err != nil {
			return nil, fmt.Errorf("wire: release %s: %w", p.GetCid(), err)
		}
		r.Files = append(r.Files, pf)
	}
	return r, nil
}

// File converts a release file for the wire.
func File(f potluck.File) *hubv1.FileEntry {
	b, _ := hex.DecodeString(f.SHA256) // release digests are written by the hub itself
	return &hubv1.FileEntry{Path: f.Path, Size: uint64(f.Size), Sha256: b, Cid: f.CID}
}

// FileOf converts a release file from the wire.
func FileOf(f *hubv1.FileEntry) (potluck.File, error) {
	if len(f.GetSha256()) != 32 || f.GetSize() > 1<<62 {
		return potluck.File{}, fmt.Errorf("file %q: sha256 of %d bytes, size %d", f.GetPath(), len(f.GetSha256()), f.GetSize())
	}
	return potluck.File{Path: f.GetPath(), Size: int64(f.GetSize()), SHA256: hex.EncodeToString(f.GetSha256()), CID: f.GetCid()}, nil
}

// Receipt converts a log receipt for the wire (nil for nil).
func Receipt(r *potluck.Receipt) *hubv1.Receipt {
	if r == nil {
		return nil
	}
	return &hubv1.Receipt{Index: r.Index, Entry: r.Entry, Proof: r.Proof, Checkpoint: r.Checkpoint}
}

// ReceiptOf converts a log receipt from the wire (nil for nil).
func ReceiptOf(p *hubv1.Receipt) *potluck.Receipt {
	if p == nil {
		return nil
	}
	return &potluck.Receipt{Index: p.GetIndex(), Entry: p.GetEntry(), Proof: p.GetProof(), Checkpoint: p.GetCheckpoint()}
}

// Verdict converts an admission verdict for the wire (a refused upload's
// status carries it as a detail).
func Verdict(v potluck.Verdict) *hubv1.Verdict {
	return &hubv1.Verdict{Accepted: v.Accepted, Checks: checks(v.Checks), Reason: v.Reason}
}

// VerdictOf converts an admission verdict from the wire.
func VerdictOf(p *hubv1.Verdict) potluck.Verdict {
	return potluck.Verdict{Accepted: p.GetAccepted(), Checks: checksOf(p.GetChecks()), Reason: p.GetReason()}
}

func checks(cs []potluck.Check) []*hubv1.AdmissionCheck {
	var out []*hubv1.AdmissionCheck
	for _, c := range cs {
		out = append(out, &hubv1.AdmissionCheck{Name: c.Name, Passed: c.Passed, Reason: c.Reason})
	}
	return out
}

func checksOf(ps []*hubv1.AdmissionCheck) []potluck.Check {
	var out []potluck.Check
	for _, c := range ps {
		out = append(out, potluck.Check{Name: c.GetName(), Passed: c.GetPassed(), Reason: c.GetReason()})
	}
	return out
}

var jobStates = map[potluck.JobState]hubv1.MergeJobState{
	potluck.JobQueued:    hubv1.MergeJobState_MERGE_JOB_STATE_QUEUED,
	potluck.JobRunning:   hubv1.MergeJobState_MERGE_JOB_STATE_RUNNING,
	potluck.JobDone:      hubv1.MergeJobState_MERGE_JOB_STATE_DONE,
	potluck.JobFailed:    hubv1.MergeJobState_MERGE_JOB_STATE_FAILED,
	potluck.JobCancelled: hubv1.MergeJobState_MERGE_JOB_STATE_CANCELLED,
}

// MergeJob converts a merge job for the wire.
func MergeJob(j *potluck.MergeJob) *hubv1.MergeJob {
	m := &hubv1.MergeJob{Id: j.ID, State: jobStates[j.State], TensorsDone: uint32(j.Done), TensorsTotal: uint32(j.Total), Org: j.Org}
	if !j.Created.IsZero() {
		m.CreatedUnix = j.Created.Unix()
	}
	if j.Release != nil {
		m.Release = Release(j.Release)
	}
	if j.Err != nil && j.State != potluck.JobDone {
		m.Error = j.Err.Error()
	}
	return m
}

// MergeJobOf converts a merge job from the wire; the hub's error message
// becomes Err.
func MergeJobOf(p *hubv1.MergeJob) (*potluck.MergeJob, error) {
	if p == nil {
		return nil, errors.New("wire: no merge job in the hub's answer")
	}
	j := &potluck.MergeJob{ID: p.GetId(), Done: int(p.GetTensorsDone()), Total: int(p.GetTensorsTotal()), Org: p.GetOrg()}
	if p.GetCreatedUnix() != 0 {
		j.Created = time.Unix(p.GetCreatedUnix(), 0).UTC()
	}
	for d, s := range jobStates {
		if s == p.GetState() {
			j.State = d
		}
	}
	if j.State == "" {
		return nil, fmt.Errorf("wire: merge job %s: unknown state %v", p.GetId(), p.GetState())
	}
	if p.GetRelease() != nil {
		r, err := ReleaseOf(p.GetRelease())
		if err != nil {
			return nil, err
		}
		j.Release = r
	}
	if p.GetError() != "" {
		j.Err = errors.New(p.GetError())
	}
	return j, nil
}

func yank(y *potluck.Yank) *hubv1.Yank {
	if y == nil {
		return nil
	}
	return &hubv1.Yank{TimeUnix: y.Time.Unix(), Org: y.Org, Reason: y.Reason, LogIndex: y.LogIndex}
}

func yankOf(p *hubv1.Yank) *potluck.Yank {
	if p == nil {
		return nil
	}
	return &potluck.Yank{Time: time.Unix(p.GetTimeUnix(), 0).UTC(), Org: p.GetOrg(), Reason: p.GetReason(), LogIndex: p.GetLogIndex()}
}

// Evaluation converts an evaluation claim for the wire.
func Evaluation(e potluck.Evaluation) *hubv1.Evaluation {
	return &hubv1.Evaluation{Task: e.Task, Metric: e.Metric, Value: e.Value, DatasetDigest: e.DatasetDigest, Details: e.Details}
}

// EvaluationOf converts an evaluation claim from the wire.
func EvaluationOf(p *hubv1.Evaluation) potluck.Evaluation {
	return potluck.Evaluation{Task: p.GetTask(), Metric: p.GetMetric(), Value: p.GetValue(), DatasetDigest: p.GetDatasetDigest(), Details: p.GetDetails()}
}

// Attestation converts an attestation for the wire.
func Attestation(a *potluck.Attestation) *hubv1.Attestation {
	return &hubv1.Attestation{ReleaseCid: a.Release, Org: a.Org, KeyHint: a.KeyHint, Claim: Evaluation(a.Claim),
		Bundle: a.Bundle, CreatedUnix: a.Created.Unix(), Receipt: Receipt(a.Receipt)}
}

// AttestationOf converts an attestation from the wire.
func AttestationOf(p *hubv1.Attestation) (*potluck.Attestation, error) {
	if p == nil {
		return nil, errors.New("wire: no attestation in the hub's answer")
	}
	return &potluck.Attestation{Release: p.GetReleaseCid(), Org: p.GetOrg(), KeyHint: p.GetKeyHint(), Claim: EvaluationOf(p.GetClaim()),
		Bundle: p.GetBundle(), Created: time.Unix(p.GetCreatedUnix(), 0).UTC(), Receipt: ReceiptOf(p.GetReceipt())}, nil
}

// Lineage converts a lineage for the wire.
func Lineage(l *potluck.Lineage) *hubv1.Lineage {
	out := &hubv1.Lineage{Root: l.Root}
	for _, n := range l.Nodes {
		pn := &hubv1.LineageNode{Cid: n.CID, Kind: Kind(n.Kind), Publisher: n.Publisher, CreatedUnix: n.Created.Unix(),
			Parents: n.Parents, Yanked: n.Yanked}
		for _, s := range n.Best {
			pn.Best = append(pn.Best, &hubv1.Score{Task: s.Task, Metric: s.Metric, Value: s.Value, Org: s.Org})
		}
		out.Nodes = append(out.Nodes, pn)
	}
	return out
}

// LineageOf converts a lineage from the wire; lists are never nil.
func LineageOf(p *hubv1.Lineage) (*potluck.Lineage, error) {
	if p == nil {
		return nil, errors.New("wire: no lineage in the hub's answer")
	}
	l := &potluck.Lineage{Root: p.GetRoot(), Nodes: []potluck.LineageNode{}}
	for _, n := range p.GetNodes() {
		ln := potluck.LineageNode{CID: n.GetCid(), Kind: KindOf(n.GetKind()), Publisher: n.GetPublisher(),
			Created: time.Unix(n.GetCreatedUnix(), 0).UTC(), Parents: append([]string{}, n.GetParents()...), Yanked: n.GetYanked()}
		for _, s := range n.GetBest() {
			ln.Best = append(ln.Best, potluck.Score{Task: s.GetTask(), Metric: s.GetMetric(), Value: s.GetValue(), Org: s.GetOrg()})
		}
		l.Nodes = append(l.Nodes, ln)
	}
	return l, nil
}
