package hub

import (
	"context"
	"errors"
	"slices"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/merge"
	"github.com/potluck-hub/potluck/signing"
	"github.com/potluck-hub/potluck/store"
)

// Admission is a pipeline: an upload goes through the stages its kind
// lists, in order, up to the first that refuses it. Each stage's outcome is
// recorded under its name, returned to the uploader (on success in the
// release, on refusal as the error's verdict) and written to the log, so a
// member can see why it was refused and an auditor that the same rules held
// for all. A new check is a function of the stage's signature and a line in
// the lists below.

// A stage is one admission check: its name, as the release, the verdict
// and the log record it, and the check.
type stage struct {
	name  string
	check func(h *Hub, ctx context.Context, a *admission) error
}

var (
	// Before any byte: the upload's declaration.
	stageHeader    = stage{"header", (*Hub).checkHeader}       // well formed
	stageSignature = stage{"signature", (*Hub).checkSignature} // by a member key, over the declared files
	stageAccess    = stage{"access", (*Hub).checkAccess}       // the caller is the signing org
	stageBase      = stage{"base", (*Hub).checkBase}           // a delta's base is held

	// After: the bytes, staged, and what they hold.
	stageBytes      = stage{"bytes", (*Hub).stageParts}       // staged, matching the declared digests
	stageFormat     = stage{"format", (*Hub).checkFormat}     // valid safetensors
	stageManifest   = stage{"manifest", (*Hub).checkManifest} // describes the upload
	stageFit        = stage{"fit", (*Hub).checkFit}           // tensors fit the base
	stageSparse     = stage{"sparse", (*Hub).checkSparse}     // sparse indices in range
	stageValues     = stage{"values", (*Hub).checkValues}     // finite, with the listed digests
	stageBaseValues = stage{"values", (*Hub).checkBaseValues} // a base's: finite
	stageNorm       = stage{"norm", (*Hub).checkNorms}        // within the bound of the base's
	stageCosine     = stage{"cosine", (*Hub).checkCosine}     // not against the other labs' deltas
)

// A pipeline is the stages one kind of upload goes through. Those before
// need no byte of it: they run when an upload session opens, and with the
// rest when it is committed.
type pipeline struct{ before, after []stage }

var pipelines = map[potluck.Kind]pipeline{
	potluck.KindBase: {
		before: []stage{stageHeader, stageSignature, stageAccess, stageBase},
		after:  []stage{stageBytes, stageFormat, stageBaseValues},
	},
	potluck.KindDelta: {
		before: []stage{stageHeader, stageSignature, stageAccess, stageBase},
		after:  []stage{stageBytes, stageFormat, stageManifest, stageFit, stageSparse, stageValues, stageNorm, stageCosine},
	},
}

// pipelineOf returns kind's pipeline; an upload of a kind that has none
// goes through the header check alone, which refuses it.
func pipelineOf(kind potluck.Kind) pipeline {
	if p, ok := pipelines[kind]; ok {
		return p
	}
	return pipeline{before: []stage{stageHeader}}
}

// admission is an upload going through its pipeline: what the stages found
// so far, and the checks they recorded.
type admission struct {
	up     Upload
	parts  *session // holds the upload's bytes; nil before they come
	checks []potluck.Check

	org    string             // signature: the signing member
	signed *signing.Verified  // signature
	staged []*store.Staged    // bytes: the files, in declaration order
	upload *merge.Model       // format: the staged files as a model
	man    *potluck.Manifest  // manifest
	base   *merge.Model       // fit: the delta's base
	norms  map[string]float64 // values: each float tensor's norm, for the norm stage
}

// run runs stages in order, recording each outcome, up to the first that
// fails, and closes the models they opened.
func (a *admission) run(ctx context.Context, h *Hub, stages []stage) error {
	defer a.closeModels()
	for _, st := range stages {
		err := st.check(h, ctx, a)
		c := potluck.Check{Name: st.name, Passed: err == nil}
		if err != nil {
			c.Reason = err.Error()
		}
		a.checks = append(a.checks, c)
		if err != nil {
			return err
		}
	}
	return nil
}

func (a *admission) closeModels() {
	for _, m := range []*merge.Model{a.upload, a.base} {
		if m != nil {
			m.Close()
		}
	}
	a.upload, a.base = nil, nil
}

// discard drops whatever was staged and not committed.
func (a *admission) discard() {
	for _, st := range a.staged {
		st.Discard()
	}
}

// screen runs stages over a. A refusal is counted and logged, written to
// the transparency log as a verdict once the upload is attributable to a
// member (its signature checked), and returned as a *RejectedError
// carrying the verdict; any other failure is returned as it is.
func (h *Hub) screen(ctx context.Context, a *admission, stages []stage) error {
	err := a.run(ctx, h, stages)
	if err == nil || !judged(err) {
		return err
	}
	h.metrics.uploads.WithLabelValues(string(a.up.Kind), "rejected").Inc()
	v := potluck.Verdict{Checks: a.checks, Reason: err.Error()}
	h.logger.Warn("upload rejected", "kind", a.up.Kind, "org", a.org, "base", a.up.Base, "reason", v.Reason)
	if a.signed != nil && h.verdictLogged(a) {
		if lerr := h.logVerdict(a, v); lerr != nil {
			return errors.Join(err, lerr)
		}
	}
	return &RejectedError{Verdict: v, Err: err}
}

// admitBeforeBytes runs the stages of up's pipeline that need no bytes.
func (h *Hub) admitBeforeBytes(ctx context.Context, up Upload) error {
	return h.screen(ctx, &admission{up: up}, pipelineOf(up.Kind).before)
}

// admit runs the whole pipeline over an upload whose bytes the session s
// holds and, only if every stage passes, commits the staged files and
// records the release. On any error nothing is stored.
func (h *Hub) admit(ctx context.Context, up Upload, s *session) (*potluck.Release, error) {
	a := &admission{up: up, parts: s}
	defer a.discard()
	p := pipelineOf(up.Kind)
	if err := h.screen(ctx, a, slices.Concat(p.before, p.after)); err != nil {
		return nil, err
	}
	r, err := h.commit(ctx, a)
	if err != nil {
		return nil, err
	}
	if up.Kind == potluck.KindBase {
		// The norm stage of the deltas to come bounds them by these.
		for name, n := range a.norms {
			h.norms.Store(r.CID+" "+name, n)
		}
	}
	h.metrics.uploads.WithLabelValues(string(up.Kind), "accepted").Inc()
	h.logger.Info("upload accepted", "kind", up.Kind, "cid", r.CID, "org", a.org, "base", up.Base)
	return r, nil
}
