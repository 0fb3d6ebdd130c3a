package node

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/signing"
)

// Report is what verifying a release directory established.
type Report struct {
	CID      string            // root CID of the directory without model.sig
	Signed   *signing.Verified // signature and signer
	Manifest *potluck.Manifest // nil for a base
}

// VerifyDir checks a release directory offline: the signature in
// dir/model.sig by one of the trusted keys over exactly the directory's
// files, and, when it carries a manifest, that every file it lists is there
// with the listed size, SHA-256 and CID.
func VerifyDir(dir string, trusted []*signing.PublicKey) (*Report, error) {
	bundle, err := os.ReadFile(filepath.Join(dir, signing.SignatureFile))
	if err != nil {
		return nil, fmt.Errorf("%w: %s has no signature: %v", ErrVerify, dir, err)
	}
	d, err := potluck.ScanDir(dir)
	if err != nil {
		return nil, err
	}
	v, err := checkBundle(bundle, trusted, d.Files)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	root, err := d.CID()
	if err != nil {
		return nil, err
	}
	rep := &Report{CID: root.String(), Signed: v}
	if _, err := os.Stat(filepath.Join(dir, potluck.ManifestFile)); err == nil {
		if rep.Manifest, err = potluck.ReadManifest(dir); err != nil {
			return nil, err
		}
		if err := checkManifest(rep.Manifest, d); err != nil {
			return nil, fmt.Errorf("%s: %w", dir, err)
		}
	}
	return rep, nil
}

func checkManifest(m *potluck.Manifest, d *potluck.Dir) error {
	have := map[string]potluck.File{}
	for _, e := range d.Files {
		have[e.Path] = potluck.File{Path: e.Path, Size: e.File.Size, SHA256: potluck.HexDigest(e.File.SHA256), CID: e.File.CID.String()}
	}
	for _, f := range m.Files {
		if got, ok := have[f.Path]; !ok || got != f {
			return fmt.Errorf("%w: manifest lists %s (%d bytes, %s), found %+v", ErrVerify, f.Path, f.Size, f.CID, got)
		}
	}
	return nil
}
