package demo

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/node"
	"github.com/potluck-hub/potluck/signing"
	"github.com/potluck-hub/potluck/studygroup"
)

// HubRound is what the hub did in one round of the study group.
type HubRound struct {
	Deltas []Admission // each lab's delta, in lab order
	Merge  string      // the CID of the hub's merge of the admitted deltas
	// Attested is how many evaluations the labs attested of the merge.
	Attested int
}

// Admission is how the hub answered one lab's delta.
type Admission struct {
	CID     string // the delta's CID, admitted
	Refused string // the hub's refusal, when it refused it
}

// group is the study group's side of the hub: a client and a key per lab,
// the model the labs start the round from (its CID and each lab's pulled
// copy), and what the hub did each round.
type group struct {
	w       io.Writer
	dir     string
	orgs    []string
	clients []*node.Client
	signers []*signing.Signer
	trusted []*signing.PublicKey
	method  Method

	base    string   // the registered base's CID
	current string   // the CID of the model the labs start from
	pulled  []string // each lab's verified copy of it
	rounds  []HubRound
}

func (g *group) labDir(k int, parts ...string) string {
	return filepath.Join(append([]string{g.dir, "labs", g.orgs[k]}, parts...)...)
}

// start registers the base (lab 0 signs and uploads it) and has every lab
// pull it; the labs start round 1 from lab 0's copy (every copy has the
// same bytes: the CID and the signature are checked).
func (g *group) start(ctx context.Context, base string) (string, error) {
	p, err := g.clients[0].PublishBase(ctx, g.signers[0], base, node.UploadOptions{})
	if err != nil {
		return "", err
	}
	g.base = p.Release.CID
	fmt.Fprintf(g.w, "==> %s registers the base, trained on the public slice: %s\n", g.orgs[0], g.base)
	return g.pullAll(ctx, g.base, "base")
}

// pullAll has every lab pull release cid into its folder name and makes it
// the model the labs start from.
func (g *group) pullAll(ctx context.Context, cid, name string) (string, error) {
	g.current, g.pulled = cid, make([]string, len(g.orgs))
	for k, c := range g.clients {
		g.pulled[k] = g.labDir(k, name)
		if _, err := c.Pull(ctx, cid, g.pulled[k], g.trusted, nil); err != nil {
			return "", fmt.Errorf("%s pulls %s: %w", g.orgs[k], cid, err)
		}
	}
	fmt.Fprintf(g.w, "    every lab pulled it and checked its signature, every byte and its log receipt\n")
	return g.pulled[0], nil
}

// merge is the round's studygroup.MergeFunc: every lab publishes its
// fine-tune's delta against the model it started from, with its sample
// count; the hub merges the deltas it admitted; every lab pulls the merge.
func (g *group) merge(ctx context.Context, req studygroup.MergeRequest) (string, error) {
	round := HubRound{Deltas: make([]Admission, len(g.orgs))}
	var admitted []string
	for k, ft := range req.Labs {
		p, err := g.clients[k].PublishDelta(ctx, g.signers[k], node.DeltaOptions{
			BaseDir: g.pulled[k], BaseCID: g.current, FinetunedDir: ft,
			OutDir: g.labDir(k, fmt.Sprintf("round-%d", req.Round), "delta"), Samples: int64(req.Samples[k]),
		}, node.UploadOptions{})
		if msg, _, ok := node.Refusal(err); ok {
			round.Deltas[k].Refused = msg
			fmt.Fprintf(g.w, "    %s's delta is refused: %s\n", g.orgs[k], msg)
			continue
		}
		if err != nil {
			return "", fmt.Errorf("%s publishes: %w", g.orgs[k], err)
		}
		round.Deltas[k].CID = p.Release.CID
		admitted = append(admitted, p.Release.CID)
		fmt.Fprintf(g.w, "    %s publishes its delta (%d training images): %s\n", g.orgs[k], req.Samples[k], p.Release.CID)
	}
	if len(admitted) == 0 {
		return "", fmt.Errorf("the hub refused every lab's delta: nothing to merge")
	}
	rel, err := g.clients[0].Merge(ctx, []byte(g.method.recipe(g.current, admitted)))
	if err != nil {
		return "", fmt.Errorf("the hub's merge: %w", err)
	}
	round.Merge = rel.CID
	g.rounds = append(g.rounds, round)
	fmt.Fprintf(g.w, "==> round %d: the hub merges the %d deltas it admitted (%s): %s\n", req.Round, len(admitted), g.method.Name, rel.CID)
	return g.pullAll(ctx, rel.CID, fmt.Sprintf("round-%d/merge", req.Round))
}

// attest has every lab attest the round's merge: its accuracy on the full
// test set and on the lab's own held-out split, signed with the lab's key
// and logged by the hub.
func (g *group) attest(ctx context.Context, round int, _ string, s studygroup.Scores) error {
	r := &g.rounds[len(g.rounds)-1]
	for k, c := range g.clients {
		evals := []potluck.Evaluation{
			{Task: "mnist-test", Metric: "accuracy", Value: s.Test},
			{Task: g.orgs[k] + "-heldout", Metric: "accuracy", Value: s.HeldOut[k]},
		}
		for _, e := range evals {
			e.Details = []byte(fmt.Sprintf(`{"round":%d}`, round))
			if _, err := c.Attest(ctx, g.signers[k], r.Merge, e); err != nil {
				return fmt.Errorf("%s attests %s: %w", g.orgs[k], r.Merge, err)
			}
			r.Attested++
		}
	}
	fmt.Fprintf(g.w, "    every lab attested its scores of it (signed, logged): mnist-test %.4f, held-out %s\n", s.Test, heldOut(g.orgs, s))
	return nil
}

func heldOut(orgs []string, s studygroup.Scores) string {
	var parts []string
	for k, v := range s.HeldOut {
		parts = append(parts, fmt.Sprintf("%s %.4f", orgs[k], v))
	}
	return strings.Join(parts, ", ")
}
