package merge

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/potluck-hub/potluck"
)

// A merge's manifest records the engine that wrote it ("potluck 0.2.0"),
// and a merge must give the same bytes forever: `verify --recompute` of a
// release published by an older hub runs the recipe with that engine's
// semantics, not today's. Each change to what a recipe means is a row
// here, keyed by the first version that has it; the numeric kernels never
// changed their results, so the rows are about layout and positions.

// ErrEngine reports a merge recorded by an engine this one cannot
// reproduce: a newer one, or a name it does not know.
var ErrEngine = errors.New("merge: unknown engine")

// engineName is the name this engine records.
const engineName = "potluck " + potluck.Version

// semantics are the choices that changed between engine versions.
type semantics struct {
	name string // as recorded in the manifest
	// version is the engine's version, for the model card.
	version string
	// moduleLayers: gradients evaluated per module (mergekit ≥ 0.1.2),
	// tensors outside the layers at t = 0. Before 0.3.0 one stack of
	// layers spanned the model and tensors after it (final norm, lm_head)
	// sat at t = 1.
	moduleLayers bool
	// modelCard: the base's README.md replaced by a model card and the
	// recipe written as mergekit_config.yml (since 0.3.0; before, every
	// base file but the skipped ones was copied as it was).
	modelCard bool
	// plainDType: config.json's "dtype" key (transformers ≥ 4.56) set to
	// the recipe's dtype beside "torch_dtype" (since 0.3.0).
	plainDType bool
}

// semanticsOf returns the semantics of the engine a manifest names; ""
// is this engine.
func semanticsOf(engine string) (semantics, error) {
	if engine == "" {
		engine = engineName
	}
	v, ok := strings.CutPrefix(engine, "potluck ")
	ver, err := parseVersion(v)
	if !ok || err != nil {
		return semantics{}, fmt.Errorf("%w %q: a merge manifest names its engine as \"potluck X.Y.Z\"", ErrEngine, engine)
	}
	cur, _ := parseVersion(potluck.Version)
	if compareVersion(ver, cur) > 0 {
		return semantics{}, fmt.Errorf("%w: the merge was written by %s, newer than this one (%s): recompute it with potluck %s or later", ErrEngine, engine, engineName, v)
	}
	modern := compareVersion(ver, [3]int{0, 3, 0}) >= 0
	return semantics{name: engine, version: v, moduleLayers: modern, modelCard: modern, plainDType: modern}, nil
}

func parseVersion(s string) ([3]int, error) {
	var v [3]int
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return v, fmt.Errorf("version %q is not X.Y.Z", s)
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return v, fmt.Errorf("version %q is not X.Y.Z", s)
		}
		v[i] = n
	}
	return v, nil
}

func compareVersion(a, b [3]int) int {
	for i := range a {
		if a[i] != b[i] {
			return a[i] - b[i]
		}
	}
	return 0
}

// positions gives each tensor its gradient position under the semantics.
func (s semantics) positions(names []string) map[string]float64 {
	if s.moduleLayers {
		return layerPositions(names)
	}
	return stackPositions(names)
}

// stackPositions is layerPositions before 0.3.0: one stack of L layers
// (L one more than the largest layer number of any name), layer i at
// i/(L−1); outside the layers, embeddings at 0 and everything else at 1.
func stackPositions(names []string) map[string]float64 {
	layers := 0
	for _, n := range names {
		layers = max(layers, layerIndex(n)+1)
	}
	out := make(map[string]float64, len(names))
	for _, n := range names {
		switch i := layerIndex(n); {
		case i >= 0 && layers > 1:
			out[n] = float64(i) / float64(layers-1)
		case i >= 0:
			out[n] = 1
		case isEmbedding(n):
			out[n] = 0
		default:
			out[n] = 1
		}
	}
	return out
}
