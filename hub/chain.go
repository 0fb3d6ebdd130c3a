package hub

import (
	"fmt"
	"time"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/merge"
)

// Building on anything: a lab continues training from whatever full model
// the hub holds, a registered base or a merge of the group's work, and
// publishes a delta against it; a merge of such deltas takes that model as
// its base_model. Chains grow to any depth. A yanked release is kept for
// audits but no longer built on: it is refused as a new delta's base and
// as a merge's base_model or input.

// buildOn checks that a new delta or merge may build on release r: a base
// or a merge, not yanked. what names r in the message ("delta for base",
// "merge: base_model").
func buildOn(r *potluck.Release, what string) error {
	if err := notYanked(r, what); err != nil {
		return err
	}
	if r.Kind != potluck.KindBase && r.Kind != potluck.KindMerge {
		return fmt.Errorf("%w: %s %s is a %s; build on a base or a merge (the %s's own base is %s)",
			ErrRejected, what, r.CID, r.Kind, r.Kind, r.Base)
	}
	return nil
}

// notYanked refuses a withdrawn release, naming it, who yanked it, when
// and why.
func notYanked(r *potluck.Release, what string) error {
	y := r.Yank
	if y == nil {
		return nil
	}
	return fmt.Errorf("%w: %s %s was yanked by %s on %s (%q): nothing new may build on it; use a release that is not withdrawn",
		ErrRejected, what, r.CID, y.Org, y.Time.UTC().Format(time.RFC3339), y.Reason)
}

// checkInputs checks the releases a recipe's models name against its
// base_model: each a delta, not yanked, made against base_model, as the
// first one was.
func checkInputs(r *merge.Recipe, base *potluck.Release, rels []*potluck.Release) error {
	for i, rel := range rels {
		what := fmt.Sprintf("merge: models[%d]", i)
		if err := notYanked(rel, what); err != nil {
			return err
		}
		if rel.Kind != potluck.KindDelta {
			return fmt.Errorf("%w: %s %s is a %s, not a delta: a recipe's models are deltas of its base_model %s",
				ErrRejected, what, rel.CID, rel.Kind, base.CID)
		}
		if rel.Base == base.CID {
			continue
		}
		if i > 0 {
			return fmt.Errorf("%w: %s %s is a delta of base %s, models[0] of %s: every delta of a recipe must be against base_model %s",
				ErrRejected, what, rel.CID, rel.Base, rels[0].Base, r.BaseModel)
		}
		return fmt.Errorf("%w: %s %s is a delta of base %s, not of base_model %s: every delta of a recipe must be against base_model",
			ErrRejected, what, rel.CID, rel.Base, r.BaseModel)
	}
	return nil
}
