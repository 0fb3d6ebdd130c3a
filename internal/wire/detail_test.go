package wire_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/internal/wire"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
)

func TestReleaseDetailRoundTrip(t *testing.T) {
	d := &potluck.ReleaseDetail{Release: sampleRelease(), Children: []string{"bafyc1", "bafyc2"},
		Attestations: []*potluck.Attestation{{Release: "bafyrel", Org: "lab-b", KeyHint: "beef",
			Claim: potluck.Evaluation{Task: "mmlu", Metric: "accuracy", Value: 0.61}, Bundle: []byte("{b}"), Created: time.Unix(1700000100, 0).UTC()}}}
	got, err := wire.ReleaseDetailOf(wire.ReleaseDetail(d))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, d) {
		t.Errorf("round trip:\n%+v\nwant\n%+v", got, d)
	}
	empty, err := wire.ReleaseDetailOf(&hubv1.GetReleaseResponse{Release: wire.Release(sampleRelease())})
	if err != nil || empty.Children == nil || empty.Attestations == nil {
		t.Errorf("no children, no attestations: %#v, %#v (%v); want empty lists, not nil", empty.Children, empty.Attestations, err)
	}
	if _, err := wire.ReleaseDetailOf(&hubv1.GetReleaseResponse{}); err == nil {
		t.Error("an answer without a release converted")
	}
}
