package hub

import (
	"encoding/hex"

	"github.com/potluck-hub/potluck"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
)

// This file alone converts between domain types and hubv1 messages.

var kindToProto = map[potluck.Kind]hubv1.ReleaseKind{
	potluck.KindBase:  hubv1.ReleaseKind_RELEASE_KIND_BASE,
	potluck.KindDelta: hubv1.ReleaseKind_RELEASE_KIND_DELTA,
	potluck.KindMerge: hubv1.ReleaseKind_RELEASE_KIND_MERGE,
}

// KindFromProto maps a release kind message to the domain's ("" for
// unspecified).
func KindFromProto(k hubv1.ReleaseKind) potluck.Kind {
	for d, p := range kindToProto {
		if p == k {
			return d
		}
	}
	return ""
}

// KindToProto maps a domain kind to its message.
func KindToProto(k potluck.Kind) hubv1.ReleaseKind { return kindToProto[k] }

// ReleaseToProto converts a release for the wire.
func ReleaseToProto(r *Release) *hubv1.Release {
	out := &hubv1.Release{
		Cid: r.CID, Kind: KindToProto(r.Kind), BaseCid: r.Base, Publisher: r.Publisher,
		Bundle: r.Bundle, CreatedUnix: r.Created.Unix(), KeyHint: r.KeyHint, Provenance: r.Provenance,
	}
	for _, f := range r.Files {
		out.Files = append(out.Files, FileToProto(f))
	}
	out.Checks = checksToProto(r.Checks)
	if rc := r.Receipt; rc != nil {
		out.Receipt = &hubv1.Receipt{Index: rc.Index, Entry: rc.Entry, Proof: rc.Proof, Checkpoint: rc.Checkpoint}
	}
	return out
}

// VerdictToProto converts an admission verdict for the wire (a refused
// upload's status carries it as a detail).
func VerdictToProto(v Verdict) *hubv1.Verdict {
	return &hubv1.Verdict{Accepted: v.Accepted, Checks: checksToProto(v.Checks), Reason: v.Reason}
}

func checksToProto(cs []Check) []*hubv1.AdmissionCheck {
	var out []*hubv1.AdmissionCheck
	for _, c := range cs {
		out = append(out, &hubv1.AdmissionCheck{Name: c.Name, Passed: c.Passed, Reason: c.Reason})
	}
	return out
}

// FileToProto converts a release file for the wire.
func FileToProto(f potluck.File) *hubv1.FileEntry {
	return &hubv1.FileEntry{Path: f.Path, Size: uint64(f.Size), Sha256: hexBytes(f.SHA256), Cid: f.CID}
}

func hexBytes(h string) []byte {
	b, _ := hex.DecodeString(h) // release digests are written by the hub itself
	return b
}

func uploadFromProto(kind potluck.Kind, h *hubv1.UploadHeader) Upload {
	up := Upload{Kind: kind, Bundle: h.GetBundle(), Base: h.GetBaseCid()}
	for _, f := range h.GetFiles() {
		uf := UploadFile{Path: f.GetPath(), Size: int64(f.GetSize()), CID: f.GetCid()}
		if len(f.GetSha256()) == 32 && f.GetSize() <= 1<<62 {
			copy(uf.SHA256[:], f.GetSha256())
		} else {
			uf.Size = -1 // refused by the header check, naming the file
		}
		up.Files = append(up.Files, uf)
	}
	return up
}

var jobStateToProto = map[JobState]hubv1.MergeJobState{
	JobQueued:    hubv1.MergeJobState_MERGE_JOB_STATE_QUEUED,
	JobRunning:   hubv1.MergeJobState_MERGE_JOB_STATE_RUNNING,
	JobDone:      hubv1.MergeJobState_MERGE_JOB_STATE_DONE,
	JobFailed:    hubv1.MergeJobState_MERGE_JOB_STATE_FAILED,
	JobCancelled: hubv1.MergeJobState_MERGE_JOB_STATE_CANCELLED,
}

// MergeJobToProto converts a merge job.
func MergeJobToProto(j *MergeJob) *hubv1.MergeJob {
	m := &hubv1.MergeJob{Id: j.ID, State: jobStateToProto[j.State], TensorsDone: uint32(j.Done), TensorsTotal: uint32(j.Total)}
	if j.Release != nil {
		m.Release = ReleaseToProto(j.Release)
	}
	if j.Err != nil && j.State != JobDone {
		m.Error = j.Err.Error()
	}
	return m
}
