package node

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/internal/wire"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
	"github.com/potluck-hub/potluck/signing"
	"github.com/potluck-hub/potluck/store"
)

// Publish once: before a publisher computes or sends anything, it asks the
// hub whether it may (CheckPublish: the key is its org's and valid now, the
// base is one to build on); once it knows the release's CID (hashing
// locally), it asks whether the hub holds it already, and if so sends
// nothing.

// Cleared is the hub's answer to a preflight that passed.
type Cleared struct {
	Org      string           // the org the key (and the caller) belongs to
	Base     *potluck.Release // a delta's base, when named
	Existing *potluck.Release // the release the hub already holds under the CID asked about
}

// CheckPublish asks the hub whether key may publish a release of kind (for
// a delta, against base; "" checks the key alone) now, and, given the
// release's CID, whether the hub already holds it.
func (c *Client) CheckPublish(ctx context.Context, kind potluck.Kind, base string, key *signing.PublicKey, cid string) (*Cleared, error) {
	resp, err := c.hub.CheckPublish(ctx, &hubv1.CheckPublishRequest{Kind: wire.Kind(kind), BaseCid: base, PublicKey: key.PEM, Cid: cid})
	if err != nil {
		return nil, fmt.Errorf("node: preflight: %w", err)
	}
	out := &Cleared{Org: resp.GetOrg()}
	if resp.GetBase() != nil {
		if out.Base, err = wire.ReleaseOf(resp.GetBase()); err != nil {
			return nil, err
		}
	}
	if resp.GetExisting() != nil {
		if out.Existing, err = wire.ReleaseOf(resp.GetExisting()); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Publication is what a publication did.
type Publication struct {
	Release *potluck.Release // the release the hub holds
	// Existing says the hub held the release already: nothing was sent.
	Existing bool
	Manifest *potluck.Manifest // a delta's
	Dir      *store.Dir        // what was (or would have been) sent
}

// PublishDelta publishes a delta of o.FinetunedDir against o.BaseDir (a
// PEFT LoRA adapter directory is published as its factors; see MakeDelta):
// a preflight first, then the delta is made into o.OutDir, asked about by
// CID, and, unless the hub holds it already, signed (o.OutDir/model.sig)
// and uploaded. An empty o.BaseCID is taken from up.Hashes when the base's
// files are cached there (and the base asked about before the delta is
// made), else computed from the base while the delta is made and asked
// about once computed, a refusal stopping the delta. The delta's files are
// hashed once, for its manifest, and not read again to sign.
func (c *Client) PublishDelta(ctx context.Context, s *signing.Signer, o DeltaOptions, up UploadOptions) (*Publication, error) {
	if _, err := c.CheckPublish(ctx, potluck.KindDelta, o.BaseCID, s.Public(), ""); err != nil {
		return nil, err
	}
	if o.BaseCID == "" {
		// A base hashed before (and unchanged) is asked about before any
		// work; any other is hashed while the delta is made, and asked
		// about once hashed, a refusal stopping the delta.
		if root, ok := cachedCID(up.Hashes, o.BaseDir); ok {
			o.BaseCID = root
			if _, err := c.CheckPublish(ctx, potluck.KindDelta, o.BaseCID, s.Public(), ""); err != nil {
				return nil, err
			}
		}
	}
	d, err := deltaToSend(ctx, o, up, func(base string) error {
		_, err := c.CheckPublish(ctx, potluck.KindDelta, base, s.Public(), "")
		return err
	})
	if err != nil {
		return nil, err
	}
	p, err := c.publishDir(ctx, s, potluck.KindDelta, o.OutDir, d.man.Base, d.known, up)
	if p != nil {
		p.Manifest = d.man
	}
	return p, err
}

// PublishBase registers base model dir: a preflight of the key, then its
// CID is computed and asked about and, unless the hub holds it already,
// the directory is signed (the signature kept in memory) and uploaded.
func (c *Client) PublishBase(ctx context.Context, s *signing.Signer, dir string, up UploadOptions) (*Publication, error) {
	if _, err := c.CheckPublish(ctx, potluck.KindBase, "", s.Public(), ""); err != nil {
		return nil, err
	}
	return c.publishDir(ctx, s, potluck.KindBase, dir, "", nil, up)
}

// publishDir asks the hub about dir's CID, and signs and uploads it unless
// the hub holds it. Files whose hashes are known are not read again. A
// delta's signature is written to dir/model.sig.
func (c *Client) publishDir(ctx context.Context, s *signing.Signer, kind potluck.Kind, dir, base string, known knownFiles, up UploadOptions) (*Publication, error) {
	scan, err := scanner{cache: up.Hashes, known: known, progress: up.Hashed}.scan(dir)
	if err != nil {
		return nil, err
	}
	root, err := scan.CID()
	if err != nil {
		return nil, err
	}
	cl, err := c.CheckPublish(ctx, kind, base, s.Public(), root.String())
	if err != nil {
		return nil, err
	}
	if cl.Existing != nil {
		return &Publication{Release: cl.Existing, Existing: true, Dir: scan}, nil
	}
	sigPath := filepath.Join(dir, signing.SignatureFile)
	if kind == potluck.KindDelta && up.ResumeID != "" {
		// The session holds the signature the first run wrote: keep it.
		if _, err := os.Stat(sigPath); err == nil {
			rel, err := c.Upload(ctx, kind, scan, nil, base, up)
			if err != nil {
				return nil, err
			}
			return &Publication{Release: rel, Dir: scan}, nil
		}
	}
	bundle, err := Bundle(scan, s)
	if err != nil {
		return nil, err
	}
	if kind == potluck.KindDelta {
		if err := os.WriteFile(filepath.Join(dir, signing.SignatureFile), bundle, 0o644); err != nil {
			return nil, err
		}
	}
	rel, err := c.Upload(ctx, kind, scan, bundle, base, up)
	if err != nil {
		return nil, err
	}
	return &Publication{Release: rel, Dir: scan}, nil
}

// deltaToSend makes the delta in o.OutDir, or, resuming an upload
// (up.ResumeID) whose first run made it there, reads its manifest: the
// directory must hold a delta of o.BaseCID (computed first when empty).
// check is asked about a base CID computed here.
func deltaToSend(ctx context.Context, o DeltaOptions, up UploadOptions, check func(base string) error) (*made, error) {
	if up.ResumeID == "" || o.OutDir == "" {
		return makeDelta(ctx, o, up.Hashes, check)
	}
	if _, err := os.Stat(o.OutDir); err != nil {
		return makeDelta(ctx, o, up.Hashes, check)
	}
	if o.BaseCID == "" {
		var err error
		if o.BaseCID, err = dirCID(o.BaseDir, up.Hashes); err != nil {
			return nil, err
		}
		if err := check(o.BaseCID); err != nil {
			return nil, err
		}
	}
	man, err := potluck.ReadManifest(o.OutDir)
	if err != nil {
		return nil, fmt.Errorf("node: resuming upload %s from %s: %w (it must hold the delta the first run wrote)", up.ResumeID, o.OutDir, err)
	}
	if man.Kind != potluck.KindDelta || man.Base != o.BaseCID {
		return nil, fmt.Errorf("node: resuming upload %s: %s holds a %s of %s, not a delta of %s", up.ResumeID, o.OutDir, man.Kind, man.Base, o.BaseCID)
	}
	return &made{man: man}, nil
}
