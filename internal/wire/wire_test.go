package wire_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/internal/wire"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
)

func sampleRelease() *potluck.Release {
	return &potluck.Release{
		CID: "bafyrel", Kind: potluck.KindMerge, Base: "bafybase", Publisher: "hub",
		Files:  []potluck.File{{Path: "a.safetensors", Size: 12, SHA256: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", CID: "bafkfile"}},
		Bundle: []byte("{bundle}"), KeyHint: "feed", Created: time.Unix(1700000000, 0).UTC(),
		Receipt:    &potluck.Receipt{Index: 7, Entry: []byte("{}"), Proof: [][]byte{make([]byte, 32)}, Checkpoint: []byte("cp")},
		Provenance: []byte("{prov}"), Checks: []potluck.Check{{Name: "header", Passed: true}, {Name: "norm", Reason: "too large"}},
		Inputs: []string{"bafyd1", "bafyd2"},
		Yank:   &potluck.Yank{Time: time.Unix(1700000500, 0).UTC(), Org: "lab-a", Reason: "leaked test set", LogIndex: 42},
	}
}

func TestReleaseRoundTrip(t *testing.T) {
	r := sampleRelease()
	back, err := wire.ReleaseOf(wire.Release(r))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, r) {
		t.Errorf("round trip\n%#v\nwant\n%#v", back, r)
	}
}

func TestReleaseOfRefusesBadDigest(t *testing.T) {
	p := wire.Release(sampleRelease())
	p.Files[0].Sha256 = []byte{1, 2, 3}
	if _, err := wire.ReleaseOf(p); err == nil {
		t.Fatal("a 3-byte file digest was accepted")
	}
	if _, err := wire.ReleaseOf(nil); err == nil {
		t.Fatal("a missing release was accepted")
	}
}

func TestKinds(t *testing.T) {
	for _, k := range []potluck.Kind{potluck.KindBase, potluck.KindDelta, potluck.KindMerge} {
		if wire.Kind(k) == hubv1.ReleaseKind_RELEASE_KIND_UNSPECIFIED || wire.KindOf(wire.Kind(k)) != k {
			t.Errorf("kind %q maps to %v and back to %q", k, wire.Kind(k), wire.KindOf(wire.Kind(k)))
		}
	}
	if wire.Kind("") != hubv1.ReleaseKind_RELEASE_KIND_UNSPECIFIED || wire.KindOf(hubv1.ReleaseKind_RELEASE_KIND_UNSPECIFIED) != "" {
		t.Error("the empty kind is not UNSPECIFIED")
	}
}

func TestMergeJobRoundTrip(t *testing.T) {
	for _, j := range []*potluck.MergeJob{
		{ID: "job-1", State: potluck.JobQueued},
		{ID: "job-2", State: potluck.JobRunning, Done: 3, Total: 9},
		{ID: "job-3", State: potluck.JobDone, Done: 9, Total: 9, Release: sampleRelease()},
		{ID: "job-4", State: potluck.JobFailed, Err: errors.New("merge: tensor \"x\": not finite")},
		{ID: "job-5", State: potluck.JobCancelled, Err: errors.New("hub: merge job cancelled")},
	} {
		back, err := wire.MergeJobOf(wire.MergeJob(j))
		if err != nil {
			t.Fatal(err)
		}
		if back.ID != j.ID || back.State != j.State || back.Done != j.Done || back.Total != j.Total ||
			!reflect.DeepEqual(back.Release, j.Release) || (j.Err == nil) != (back.Err == nil) ||
			(j.Err != nil && back.Err.Error() != j.Err.Error()) {
			t.Errorf("round trip of %+v gave %+v", j, back)
		}
	}
	if _, err := wire.MergeJobOf(&hubv1.MergeJob{Id: "x"}); err == nil {
		t.Error("a job of unspecified state was accepted")
	}
}

func TestAttestationRoundTrip(t *testing.T) {
	a := &potluck.Attestation{Release: "bafyrel", Org: "lab-b", KeyHint: "beef",
		Claim:  potluck.Evaluation{Task: "mnist", Metric: "accuracy", Value: 0.9375, DatasetDigest: "sha256:00", Details: []byte(`{"n":2000}`)},
		Bundle: []byte("{b}"), Created: time.Unix(1700000600, 0).UTC(), Receipt: &potluck.Receipt{Index: 9, Entry: []byte("{}")}}
	back, err := wire.AttestationOf(wire.Attestation(a))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, a) {
		t.Errorf("round trip\n%#v\nwant\n%#v", back, a)
	}
}

func TestLineageRoundTrip(t *testing.T) {
	l := &potluck.Lineage{Root: "bafym", Nodes: []potluck.LineageNode{
		{CID: "bafyb", Kind: potluck.KindBase, Publisher: "lab-a", Created: time.Unix(1, 0).UTC(), Parents: []string{}},
		{CID: "bafym", Kind: potluck.KindMerge, Publisher: "hub", Created: time.Unix(2, 0).UTC(), Parents: []string{"bafyb", "bafyd"},
			Yanked: true, Best: []potluck.Score{{Task: "mnist", Metric: "accuracy", Value: 0.9, Org: "lab-b"}}},
	}}
	back, err := wire.LineageOf(wire.Lineage(l))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, l) {
		t.Errorf("round trip\n%#v\nwant\n%#v", back, l)
	}
}
