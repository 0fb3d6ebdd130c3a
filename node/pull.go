package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/potluck-hub/potluck"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
	"github.com/potluck-hub/potluck/signing"
	"github.com/potluck-hub/potluck/store"
)

// ErrVerify reports bytes or a signature that do not check out.
var ErrVerify = errors.New("node: verification failed")

// Pulled is a release fetched and checked.
type Pulled struct {
	Release *potluck.Release
	Signed  *signing.Verified // who signed it
	// Attestations are the release's evaluation attestations kept in the
	// directory, checked; Untrusted those signed by keys not trusted, left
	// out. Neither is nil.
	Attestations, Untrusted []*potluck.Attestation
}

// Pull fetches release rootCID into outDir (which must not exist) and checks
// everything before the directory appears: each file's size, SHA-256 and
// CID, the root CID over them, and the signature by one of the trusted keys
// over every file. The bundle is written to outDir/model.sig, the log
// receipt and the checked evaluation attestations under outDir/.potluck. A
// yanked release is pulled all the same, its yank kept in outDir/.potluck
// (see YankFile); Pulled.Release.Yank says so.
func (c *Client) Pull(ctx context.Context, rootCID, outDir string, trusted []*signing.PublicKey, progress Progress) (*Pulled, error) {
	rel, err := c.Release(ctx, rootCID)
	if err != nil {
		return nil, err
	}
	var signed *signing.Verified
	var kept, untrusted []*potluck.Attestation
	err = store.WriteDir(outDir, func(tmp string) error {
		entries, err := c.fetchFiles(ctx, rel, tmp, progress)
		if err != nil {
			return err
		}
		if root, err := store.DirCID(entries); err != nil || root.String() != rootCID {
			return fmt.Errorf("%w: release %s: its files make root CID %v (%v)", ErrVerify, rootCID, root, err)
		}
		signed, err = checkBundle(rel.Bundle, trusted, entries)
		if err != nil {
			return fmt.Errorf("release %s: %w", rootCID, err)
		}
		if err := c.checkReceipt(ctx, rel, tmp); err != nil {
			return fmt.Errorf("release %s: %w", rootCID, err)
		}
		if kept, untrusted, err = c.keepAttestations(ctx, rel, tmp, trusted, signed.Root); err != nil {
			return fmt.Errorf("release %s: %w", rootCID, err)
		}
		if prov := rel.Provenance; prov != nil {
			if _, _, err := CheckProvenance(prov, trusted, rootCID, signed.Root); err != nil {
				return fmt.Errorf("release %s: provenance: %w", rootCID, err)
			}
			if err := writeProvenance(tmp, prov); err != nil {
				return err
			}
		}
		if rel.Yank != nil {
			if err := writeKept(tmp, YankFile, rel.Yank); err != nil {
				return err
			}
		}
		return os.WriteFile(filepath.Join(tmp, signing.SignatureFile), rel.Bundle, 0o644)
	})
	if err != nil {
		return nil, err
	}
	return &Pulled{Release: rel, Signed: signed, Attestations: kept, Untrusted: untrusted}, nil
}

// checkReceipt verifies the release's log receipt, if the hub gave one,
// against the hub's log key (pinned with Client.LogKey, else as the hub
// says), and keeps it in dir.
func (c *Client) checkReceipt(ctx context.Context, rel *potluck.Release, dir string) error {
	if rel.Receipt == nil {
		return nil
	}
	info, err := c.Info(ctx)
	if err != nil {
		return err
	}
	key := info.LogKey
	if c.LogKey != "" && c.LogKey != key {
		return fmt.Errorf("%w: the hub's log key %q is not the pinned %q", ErrVerify, key, c.LogKey)
	}
	r := *rel.Receipt
	r.LogOrigin, r.LogKey = info.LogOrigin, key
	if _, err := CheckReceipt(&r, rel.CID, rel.Bundle, key); err != nil {
		return err
	}
	return writeReceipt(dir, &r)
}

// checkBundle verifies a bundle against trusted keys and the files' digests.
func checkBundle(bundle []byte, trusted []*signing.PublicKey, entries []store.Entry) (*signing.Verified, error) {
	v, err := signing.VerifyBundle(bundle, trusted)
	if err != nil {
		return nil, err
	}
	var res []signing.Resource
	for _, e := range entries {
		if !e.Dir {
			res = append(res, signing.Resource{Name: e.Path, Digest: e.File.SHA256})
		}
	}
	return v, v.Match(res)
}

// fetchFiles downloads every file of rel into dir, checking each one
// against the release's listing as its bytes arrive.
func (c *Client) fetchFiles(ctx context.Context, rel *potluck.Release, dir string, progress Progress) ([]store.Entry, error) {
	var total, done int64
	for _, f := range rel.Files {
		total += f.Size
	}
	var entries []store.Entry
	for _, f := range rel.Files {
		if err := store.CheckPath(f.Path); err != nil {
			return nil, fmt.Errorf("%w: the hub names a file %v", ErrVerify, err)
		}
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		info, err := c.fetch(ctx, rel.CID, f.Path, p, f.Size, func(n int64) {
			if progress != nil {
				progress(done+n, total)
			}
		})
		if err != nil {
			return nil, err
		}
		done += f.Size
		if info.CID.String() != f.CID || info.Size != f.Size || potluck.HexDigest(info.SHA256) != f.SHA256 {
			return nil, fmt.Errorf("%w: file %q: got %d bytes, CID %s; the release lists %d bytes, CID %s", ErrVerify, f.Path, info.Size, info.CID, f.Size, f.CID)
		}
		entries = append(entries, store.Entry{Path: f.Path, File: info})
	}
	return entries, nil
}

// fetch streams one file of a release to path, refusing more bytes than the
// release lists for it, and returns what its bytes hash to. The bytes are
// hashed (SHA-256 and CID, on store's goroutines: store.HashWriter) and
// written as they arrive, the disk told to start writing them back as they
// accumulate (see writer), so that the one fsync at the end finds little
// left to do.
func (c *Client) fetch(ctx context.Context, root, name, path string, size int64, progress func(int64)) (store.FileInfo, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return store.FileInfo{}, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // a failed fetch ends its stream
	stream, err := c.hub.Get(ctx, &hubv1.GetRequest{Cid: root, Path: name})
	if err != nil {
		return store.FileInfo{}, err
	}
	f, err := os.Create(path)
	if err != nil {
		return store.FileInfo{}, err
	}
	defer f.Close()
	h := store.NewHashWriter()
	w := newWriter(f)
	var off int64
	for {
		m, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			h.Abandon()
			return store.FileInfo{}, fmt.Errorf("node: get %s/%s: %w", root, name, err)
		}
		if int64(m.GetOffset()) != off || off+int64(len(m.GetData())) > size {
			h.Abandon()
			return store.FileInfo{}, fmt.Errorf("%w: get %s/%s: %d bytes at %d, expected at most %d at %d", ErrVerify, root, name, len(m.GetData()), m.GetOffset(), size-off, off)
		}
		_, herr := h.Write(m.GetData())
		if err := errors.Join(w.write(m.GetData()), herr); err != nil {
			h.Abandon()
			return store.FileInfo{}, fmt.Errorf("node: get %s/%s: writing %s: %w", root, name, path, err)
		}
		off += int64(len(m.GetData()))
		progress(off)
	}
	info, err := h.Sum()
	if err != nil {
		return store.FileInfo{}, fmt.Errorf("node: get %s/%s: hashing: %w", root, name, err)
	}
	if err := f.Sync(); err != nil {
		return store.FileInfo{}, fmt.Errorf("node: get %s/%s: writing %s: %w", root, name, path, err)
	}
	return info, nil
}
