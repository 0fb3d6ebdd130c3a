// Package demo runs Potluck's whole path on one machine, every part real: a
// hub on loopback with embedded storage, two labs with their own keys, a
// base and two fine-tunes generated on the spot, publication, a merge on the
// hub, a pull, and verification of every signature and digest; then a
// second round built on the merge (chain.go).
package demo

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/potluck-hub/potluck/hub"
	"github.com/potluck-hub/potluck/internal/testmodel"
	"github.com/potluck-hub/potluck/merge"
	"github.com/potluck-hub/potluck/node"
	"github.com/potluck-hub/potluck/signing"
	"github.com/potluck-hub/potluck/store"
)

// Result is what the demo made, for tests to check.
type Result struct {
	Dir                  string
	BaseCID              string
	DeltaCIDs            []string
	MergeCID             string
	MergedDir            string // pulled from the hub
	LocalDir             string // the same recipe run locally
	BaseDir, FineTuned   string
	FineTunedB, DeltaDir string
	HubKey               *signing.PublicKey
	Chained              *Chained // the second round, built on the merge
}

// labs are the demo's two member organisations.
var labs = []string{"lab-a", "lab-b"}

// Run runs the demo in dir (created if needed), printing each step to w.
func Run(ctx context.Context, w io.Writer, dir string) (*Result, error) {
	r := &Result{Dir: dir, BaseDir: filepath.Join(dir, "base"), FineTuned: filepath.Join(dir, "lab-a-finetuned"), FineTunedB: filepath.Join(dir, "lab-b-finetuned")}
	step := func(format string, args ...any) { fmt.Fprintf(w, "==> "+format+"\n", args...) }

	step("generating a base model and two fine-tunes in %s", dir)
	if err := testmodel.WriteBase(r.BaseDir, 1, testmodel.Small); err != nil {
		return nil, err
	}
	for i, ft := range []string{r.FineTuned, r.FineTunedB} {
		if err := testmodel.WriteFinetune(r.BaseDir, ft, uint64(10+i), 0.02); err != nil {
			return nil, err
		}
	}
	signers, tokens, members, err := makeKeys(dir, labs)
	if err != nil {
		return nil, err
	}
	step("starting a hub on loopback over TLS (self-signed, pinned by fingerprint), tokens required, data in %s", filepath.Join(dir, "hub"))
	clients, h, stop, err := startHub(filepath.Join(dir, "hub"), members, tokens, hub.Screening{MaxNormRatio: hub.DefaultMaxNormRatio})
	if err != nil {
		return nil, err
	}
	defer stop()
	client := clients[0]
	r.HubKey = h.Info().PublicKey
	fmt.Fprintf(w, "    hub key %s, TLS fingerprint %s\n", r.HubKey.Hint(), h.Info().TLSFingerprint)

	if err := registerBase(ctx, w, client, r, signers[0]); err != nil {
		return nil, err
	}
	if err := auditLog(ctx, w, client, dir); err != nil {
		return nil, err
	}
	for i, lab := range labs {
		c, err := publish(ctx, w, clients[i], r, lab, []string{r.FineTuned, r.FineTunedB}[i], signers[i])
		if err != nil {
			return nil, err
		}
		r.DeltaCIDs = append(r.DeltaCIDs, c)
	}
	if err := mergeAndPull(ctx, w, client, r); err != nil {
		return nil, err
	}
	if err := reproduce(ctx, w, r); err != nil {
		return nil, err
	}
	if err := auditLog(ctx, w, client, dir); err != nil {
		return nil, err
	}
	if err := buildOnMerge(ctx, w, clients, r, signers); err != nil {
		return nil, err
	}
	if err := auditLog(ctx, w, client, dir); err != nil {
		return nil, err
	}
	step("done: every signature, digest, CID and log proof checked")
	return r, nil
}

// makeKeys makes a key pair and a bearer token per lab (the labs are
// named orgs), and the hub's members file (which lists only the tokens'
// hashes).
func makeKeys(dir string, orgs []string) ([]*signing.Signer, []string, string, error) {
	members := "orgs:\n"
	var signers []*signing.Signer
	var tokens []string
	for _, lab := range orgs {
		priv, pub := filepath.Join(dir, lab+".key"), filepath.Join(dir, lab+".pub")
		if err := signing.GenerateKey(priv, pub); err != nil {
			return nil, nil, "", err
		}
		s, err := signing.LoadSigner(priv)
		if err != nil {
			return nil, nil, "", err
		}
		tok, err := hub.NewToken()
		if err != nil {
			return nil, nil, "", err
		}
		signers, tokens = append(signers, s), append(tokens, tok)
		members += fmt.Sprintf("  - name: %s\n    keys:\n      - file: %s.pub\n    tokens:\n      - %s\n", lab, lab, hub.HashToken(tok))
	}
	path := filepath.Join(dir, "members.yaml")
	return signers, tokens, path, os.WriteFile(path, []byte(members), 0o644)
}

// startHub opens a hub that screens uploads as screen says and serves it
// over real gRPC and TLS on a loopback port, with a client per lab (its
// token, the hub's certificate pinned).
func startHub(dataDir, members string, tokens []string, screen hub.Screening) ([]*node.Client, *hub.Hub, func(), error) {
	h, err := hub.Open(hub.Options{DataDir: dataDir, MembersFile: members, Access: hub.Access{RequireToken: true},
		Screen: screen, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, nil, nil, err
	}
	l, err := hub.Listen(h, hub.ServeOptions{GRPCAddr: "127.0.0.1:0", ShutdownTimeout: hub.DefaultShutdownTimeout})
	if err != nil {
		h.Close()
		return nil, nil, nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- l.Serve(ctx) }()
	var clients []*node.Client
	stop := func() {
		for _, c := range clients {
			c.Close()
		}
		cancel()
		<-served
		h.Close()
	}
	for _, tok := range tokens {
		c, err := node.Dial(l.GRPCAddr(), node.DialOptions{Fingerprint: h.Info().TLSFingerprint, Token: tok})
		if err != nil {
			stop()
			return nil, nil, nil, err
		}
		clients = append(clients, c)
	}
	return clients, h, stop, nil
}

func registerBase(ctx context.Context, w io.Writer, client *node.Client, r *Result, s *signing.Signer) error {
	fmt.Fprintf(w, "==> lab-a registers the base %s\n", r.BaseDir)
	d, err := store.ScanDir(r.BaseDir)
	if err != nil {
		return err
	}
	bundle, err := node.Bundle(d, s)
	if err != nil {
		return err
	}
	rel, err := client.RegisterBase(ctx, d, bundle, nil)
	if err != nil {
		return err
	}
	r.BaseCID = rel.CID
	local, err := store.HashDir(r.BaseDir)
	if err != nil {
		return err
	}
	if local.String() != r.BaseCID {
		return fmt.Errorf("demo: hub gave the base CID %s, 'ipfs add -r' gives %s", r.BaseCID, local)
	}
	fmt.Fprintf(w, "    base %s (%d files, %d bytes; the CID 'ipfs add -r --cid-version=1' gives)\n", r.BaseCID, len(d.Files), d.Size())
	return nil
}

func publish(ctx context.Context, w io.Writer, client *node.Client, r *Result, lab, ft string, s *signing.Signer) (string, error) {
	out := filepath.Join(r.Dir, lab+"-delta")
	fmt.Fprintf(w, "==> %s computes, signs and publishes its delta (%s − base)\n", lab, filepath.Base(ft))
	man, err := node.MakeDelta(ctx, node.DeltaOptions{BaseDir: r.BaseDir, FinetunedDir: ft, OutDir: out, BaseCID: r.BaseCID})
	if err != nil {
		return "", err
	}
	scan, bundle, err := node.SignDir(out, s)
	if err != nil {
		return "", err
	}
	rel, err := client.Publish(ctx, scan, bundle, r.BaseCID, nil)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(w, "    delta %s (%d tensors, %d bytes, signed by %s key %s)\n", rel.CID, len(man.Tensors), scan.Size(), rel.Publisher, rel.KeyHint)
	for _, f := range rel.Files {
		fmt.Fprintf(w, "      %-40s %s\n", f.Path, f.CID)
	}
	if r.DeltaDir == "" {
		r.DeltaDir = out
	}
	return rel.CID, nil
}

// recipe is the demo's merge: both deltas added to the base at full weight.
func recipe(base string, deltas []string) string {
	s := fmt.Sprintf("merge_method: task_arithmetic\nbase_model: %s\nparameters:\n  lambda: 1.0\nmodels:\n", base)
	for _, d := range deltas {
		s += fmt.Sprintf("  - model: %s\n    parameters:\n      weight: 1.0\n", d)
	}
	return s
}

func mergeAndPull(ctx context.Context, w io.Writer, client *node.Client, r *Result) error {
	fmt.Fprintf(w, "==> the hub merges both deltas (task arithmetic) and signs the result\n")
	rel, err := client.Merge(ctx, []byte(recipe(r.BaseCID, r.DeltaCIDs)))
	if err != nil {
		return err
	}
	r.MergeCID = rel.CID
	fmt.Fprintf(w, "    merge %s (signed by the hub, key %s)\n", r.MergeCID, rel.KeyHint)
	r.MergedDir = filepath.Join(r.Dir, "merged")
	fmt.Fprintf(w, "==> pulling the merge to %s, checking every byte and the hub's signature\n", r.MergedDir)
	if _, err := client.Pull(ctx, r.MergeCID, r.MergedDir, []*signing.PublicKey{r.HubKey}, nil); err != nil {
		return err
	}
	info, err := client.Info(ctx)
	if err != nil {
		return err
	}
	rep, err := node.VerifyDirWith(r.MergedDir, []*signing.PublicKey{r.HubKey}, node.VerifyOptions{LogKey: info.LogKey})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "    verified: %d files signed by the hub, manifest of %d tensors, root %s,\n", len(rep.Signed.Resources), len(rep.Manifest.Tensors), rep.CID)
	fmt.Fprintf(w, "    entry %d of the hub's transparency log (inclusion proof checked against its signed checkpoint)\n", rep.Receipt.Index)
	for i, c := range r.DeltaCIDs {
		dir := filepath.Join(r.Dir, "pulled-"+labs[i])
		p, err := client.Pull(ctx, c, dir, info.TrustedKeys(), nil)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "    pulled and verified %s from %s (key %s)\n", c, p.Release.Publisher, p.Signed.Key.Hint())
	}
	return nil
}

// reproduce runs the same recipe locally over the labs' delta directories:
// a deterministic merge gives the hub's bytes, hence its CID.
func reproduce(ctx context.Context, w io.Writer, r *Result) error {
	fmt.Fprintf(w, "==> running the same recipe locally (potluck merge) to reproduce the hub's merge\n")
	var dirs []string
	for _, lab := range labs {
		dirs = append(dirs, filepath.Join(r.Dir, lab+"-delta"))
	}
	rec, err := merge.ParseRecipe([]byte(recipe(r.BaseDir, dirs)))
	if err != nil {
		return err
	}
	job, err := merge.OpenLocal(rec)
	if err != nil {
		return err
	}
	defer job.Close()
	r.LocalDir = filepath.Join(r.Dir, "merged-locally")
	if _, err := merge.Run(ctx, job, r.LocalDir); err != nil {
		return err
	}
	c, err := store.HashDir(r.LocalDir)
	if err != nil {
		return err
	}
	if c.String() != r.MergeCID {
		return fmt.Errorf("demo: the local merge gives %s, the hub's is %s", c, r.MergeCID)
	}
	fmt.Fprintf(w, "    local merge %s: identical to the hub's\n", c)
	return nil
}

// auditLog is an auditor's `potluck log verify`: the first call remembers
// the checkpoint, later ones prove the log only grew since.
func auditLog(ctx context.Context, w io.Writer, client *node.Client, dir string) error {
	check, err := client.VerifyLog(ctx, filepath.Join(dir, "auditor-log-state.json"), "")
	if err != nil {
		return err
	}
	if check.Old == nil {
		fmt.Fprintf(w, "==> an auditor remembers the hub's log checkpoint: %d entries, root %x...\n", check.New.Size, check.New.Hash[:8])
		return nil
	}
	fmt.Fprintf(w, "==> the auditor checks the log again (potluck log verify): it grew from %d to %d entries, consistently\n", check.Old.Size, check.New.Size)
	return nil
}
