package demo

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/hub"
	"github.com/potluck-hub/potluck/studygroup"
)

// StudyOptions configures StudyGroup.
type StudyOptions struct {
	// Study is the group: labs, rounds, training, poison. StudyGroup sets
	// its Merge, MergeName, Start, Scored and Dir.
	Study studygroup.Options
	// Method is how the hub merges each round (Methods[0] when its Name
	// is empty).
	Method Method
	// Screen is the hub's admission screening; nil: what `hub serve` does
	// by default (the norm bound hub.DefaultMaxNormRatio, no cosine screen).
	Screen *hub.Screening
	// Dir receives everything: the hub's data, the labs' keys and files,
	// the checkpoints, results.csv and results.svg. It must be empty or
	// absent.
	Dir string
	// Lineage, when set, prints the lineage of the last merge (as
	// `potluck lineage` does).
	Lineage func(io.Writer, *potluck.Lineage)
}

// StudyResult is what StudyGroup measured and what the hub did.
type StudyResult struct {
	*studygroup.Result
	Method Method
	Orgs   []string // the labs' orgs on the hub, in lab order
	Base   string   // the registered base's CID
	Hub    []HubRound
	// Recomputed is, round by round, the CID an auditor's recomputation
	// of the hub's merge gave (the merge's own CID when it reproduced).
	Recomputed []string
}

// StudyGroup runs the study group through a real hub on loopback (TLS,
// tokens, each lab's own key): lab0 registers the base; each round every
// lab fine-tunes the model it pulled, publishes its signed delta against
// it, the hub merges the deltas it admitted with o.Method, and every lab
// pulls the merge, checks it and attests its scores; the next round
// starts from that merge. It prints each step, then the table, the last
// merge's lineage and an auditor's recomputation of every merge, to w, and writes
// results.csv and results.svg into o.Dir.
func StudyGroup(ctx context.Context, w io.Writer, o StudyOptions) (*StudyResult, error) {
	if err := o.Study.Check(); err != nil {
		return nil, err
	}
	if o.Method.Name == "" {
		o.Method = Methods[0]
	}
	screen := hub.Screening{MaxNormRatio: hub.DefaultMaxNormRatio}
	if o.Screen != nil {
		screen = *o.Screen
	}
	orgs := make([]string, o.Study.Labs)
	for k := range orgs {
		orgs[k] = fmt.Sprintf("lab%d", k)
	}
	if err := emptyDir(o.Dir); err != nil {
		return nil, err
	}
	signers, tokens, members, err := makeKeys(o.Dir, orgs)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "==> a hub on loopback over TLS, tokens required, %s; %d labs, each with its own key\n", screening(screen), len(orgs))
	clients, _, stop, err := startHub(filepath.Join(o.Dir, "hub"), members, tokens, screen)
	if err != nil {
		return nil, err
	}
	defer stop()
	info, err := clients[0].Info(ctx)
	if err != nil {
		return nil, err
	}
	g := &group{w: w, dir: o.Dir, orgs: orgs, clients: clients, signers: signers, trusted: info.TrustedKeys(), method: o.Method}
	s := o.Study
	s.Merge, s.MergeName = g.merge, o.Method.String()
	s.Start, s.Scored = g.start, g.attest
	s.Dir = filepath.Join(o.Dir, "checkpoints")
	res, err := studygroup.Run(ctx, s)
	if err != nil {
		return nil, fmt.Errorf("study group: %w", err)
	}
	r := &StudyResult{Result: res, Method: o.Method, Orgs: orgs, Base: g.base, Hub: g.rounds}
	fmt.Fprintf(w, "\n%s\n", res)
	if err := res.WriteFiles(filepath.Join(o.Dir, "results")); err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "table: %s, plot: %s\n", filepath.Join(o.Dir, "results.csv"), filepath.Join(o.Dir, "results.svg"))
	last := r.Hub[len(r.Hub)-1].Merge
	if o.Lineage != nil {
		l, err := clients[0].Lineage(ctx, last)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(w, "\n==> the lineage of the last merge (potluck lineage %s)\n", last)
		o.Lineage(w, l)
	}
	fmt.Fprintf(w, "==> an auditor recomputes every merge from the hub's releases (potluck verify --recompute)\n")
	auditor := clients[len(clients)-1]
	for i, h := range r.Hub {
		rc, err := auditor.Recompute(ctx, h.Merge, filepath.Join(o.Dir, "recompute", fmt.Sprintf("round-%d", i+1)), g.trusted)
		if err != nil {
			return r, fmt.Errorf("recomputing round %d's merge %s: %w", i+1, h.Merge, err)
		}
		r.Recomputed = append(r.Recomputed, rc.Local)
		if !rc.Match() {
			return r, fmt.Errorf("recomputing round %d's merge %s gives %s: the hub's merge does not reproduce", i+1, rc.Published, rc.Local)
		}
		fmt.Fprintf(w, "    round %d: recomputed %s: identical to the hub's\n", i+1, rc.Local)
	}
	return r, nil
}

// screening says what the hub's admission screens.
func screening(s hub.Screening) string {
	out := "norm screen off"
	if s.MaxNormRatio > 0 {
		out = fmt.Sprintf("norm screen %g× (--max-norm-ratio)", s.MaxNormRatio)
	}
	if s.Cosine {
		out += fmt.Sprintf(", cosine screen ≥ %g once %d deltas are held (--cosine-screen)", s.MinCosine, max(s.MinPeers, 1))
	}
	return out
}

// emptyDir makes dir unless it exists and is empty: a study group's files
// must not meet an earlier run's.
func emptyDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	names, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(names) > 0 {
		return fmt.Errorf("%s is not empty (it holds %s): a study group needs a new or empty folder", dir, names[0].Name())
	}
	return nil
}
