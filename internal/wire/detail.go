package wire

import (
	"github.com/potluck-hub/potluck"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
)

// ReleaseDetail converts a release with its children and attestations for
// the wire.
func ReleaseDetail(d *potluck.ReleaseDetail) *hubv1.GetReleaseResponse {
	out := &hubv1.GetReleaseResponse{Release: Release(d.Release), Children: d.Children}
	for _, a := range d.Attestations {
		out.Attestations = append(out.Attestations, Attestation(a))
	}
	return out
}

// ReleaseDetailOf converts a release with its children and attestations
// from the wire; the lists are never nil.
func ReleaseDetailOf(p *hubv1.GetReleaseResponse) (*potluck.ReleaseDetail, error) {
	r, err := ReleaseOf(p.GetRelease())
	if err != nil {
		return nil, err
	}
	d := &potluck.ReleaseDetail{Release: r, Children: append([]string{}, p.GetChildren()...), Attestations: []*potluck.Attestation{}}
	for _, pa := range p.GetAttestations() {
		a, err := AttestationOf(pa)
		if err != nil {
			return nil, err
		}
		d.Attestations = append(d.Attestations, a)
	}
	return d, nil
}
