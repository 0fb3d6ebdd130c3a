package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/signing"
	"github.com/potluck-hub/potluck/store"
)

// Report is what verifying a release directory established.
type Report struct {
	CID      string            // root CID of the directory without model.sig
	Signed   *signing.Verified // signature and signer
	Manifest *potluck.Manifest // nil for a base
	// Receipt is the release's log receipt, checked, when the directory
	// keeps one; LogKeyPinned says whether it was checked against a key the
	// caller gave rather than the one recorded with it.
	Receipt      *potluck.Receipt
	LogKeyPinned bool
	// Provenance is a merge's checked provenance, when the directory keeps it.
	Provenance *potluck.Provenance
	// Yank is the hub's yank of the release as recorded when it was
	// pulled, if it was yanked then (the hub may have yanked it since).
	Yank *potluck.Yank
	// Attestations are the evaluation attestations the directory keeps
	// (see potluck.AttestationsDir), checked; never nil.
	Attestations []KeptAttestation
}

// VerifyDir checks a release directory offline: the signature in
// dir/model.sig by one of the trusted keys over exactly the directory's
// files, and, when it carries a manifest, that every file it lists is there
// with the listed size, SHA-256 and CID.
func VerifyDir(dir string, trusted []*signing.PublicKey) (*Report, error) {
	return VerifyDirWith(dir, trusted, VerifyOptions{})
}

// VerifyOptions are the OpenSSF `model_signing verify` options.
type VerifyOptions struct {
	Bundle      string   // the signature file; dir/model.sig when empty
	IgnorePaths []string // paths (relative to dir) left out, besides those the bundle records
	LogKey      string   // the hub's log verifier key, to check a kept receipt against
}

// VerifyDirWith is VerifyDir with the contract of `model_signing verify
// key`: every file of dir but the ignored ones (the bundle's, the caller's,
// and the bundle file itself when it lies inside dir) must be signed, with
// its digest. The root CID is reported when the directory is a release (no
// empty folders).
func VerifyDirWith(dir string, trusted []*signing.PublicKey, o VerifyOptions) (*Report, error) {
	if o.Bundle == "" {
		o.Bundle = filepath.Join(dir, signing.SignatureFile)
	}
	bundle, err := os.ReadFile(o.Bundle)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: no signature: %v", ErrVerify, dir, err)
	}
	ignore := append([]string{filepath.Dir(ReceiptFile)}, o.IgnorePaths...)
	if rel, err := filepath.Rel(dir, o.Bundle); err == nil && filepath.IsLocal(rel) {
		ignore = append(ignore, filepath.ToSlash(rel))
	}
	v, err := signing.VerifyDir(dir, bundle, trusted, ignore)
	if err != nil {
		return nil, err
	}
	rep := &Report{Signed: v}
	d, err := store.ScanDir(dir)
	if err != nil {
		return rep, nil // signed, but not a release directory: no CID to give
	}
	if root, err := d.CID(); err == nil {
		rep.CID = root.String()
	}
	if _, err := os.Stat(filepath.Join(dir, potluck.ManifestFile)); err == nil {
		if rep.Manifest, err = potluck.ReadManifest(dir); err != nil {
			return nil, err
		}
		if err := checkManifest(rep.Manifest, d); err != nil {
			return nil, fmt.Errorf("%s: %w", dir, err)
		}
	}
	if err := checkKeptReceipt(dir, bundle, o.LogKey, rep); err != nil {
		return nil, err
	}
	if rep.Yank, err = ReadYank(dir); err != nil {
		return nil, err
	}
	if err := checkKeptAttestations(dir, trusted, o.LogKey, rep); err != nil {
		return nil, err
	}
	return rep, checkKeptProvenance(dir, trusted, rep)
}

// checkKeptProvenance checks a merge's provenance kept in dir, if any.
func checkKeptProvenance(dir string, trusted []*signing.PublicKey, rep *Report) error {
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(potluck.ProvenanceFile)))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	p, _, err := CheckProvenance(b, trusted, rep.CID, rep.Signed.Root)
	if err != nil {
		return fmt.Errorf("%s: provenance: %w", dir, err)
	}
	rep.Provenance = p
	return nil
}

// checkKeptReceipt checks a receipt kept in dir, if any, against the log key
// given (or, unpinned, the one recorded with it).
func checkKeptReceipt(dir string, bundle []byte, logKey string, rep *Report) error {
	r, err := ReadReceipt(dir)
	if errors.Is(err, os.ErrNotExist) {
		if logKey != "" {
			return fmt.Errorf("%w: %s keeps no log receipt, and a log key was given", ErrVerify, dir)
		}
		return nil
	}
	if err != nil {
		return err
	}
	rep.LogKeyPinned = logKey != ""
	if logKey == "" {
		logKey = r.LogKey
	}
	if _, err := CheckReceipt(r, rep.CID, bundle, logKey); err != nil {
		return fmt.Errorf("%s: log receipt: %w", dir, err)
	}
	rep.Receipt = r
	return nil
}

func checkManifest(m *potluck.Manifest, d *store.Dir) error {
	have := map[string]potluck.File{}
	for _, e := range d.Files {
		have[e.Path] = e.File.Describe(e.Path)
	}
	for _, f := range m.Files {
		if got, ok := have[f.Path]; !ok || got != f {
			return fmt.Errorf("%w: manifest lists %s (%d bytes, %s), found %+v", ErrVerify, f.Path, f.Size, f.CID, got)
		}
	}
	return nil
}
