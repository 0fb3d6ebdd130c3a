package merge

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/potluck-hub/potluck"
)

// expansion is what a job's output needs of its full models beyond their
// tensors as they are: which models are full (the base, fine-tuned models:
// the ones views are made of), their layer counts, and the tensors
// outside the layers each must show instead of its own (fixed).
type expansion struct {
	j      *Job
	full   map[*Model]bool
	layers map[*Model]int
	fixed  map[*Model]map[string]Tensor
	// headAdded: the base has no lm_head (its embeddings are tied) but a
	// model has one, so the output has one.
	headAdded bool
	// rows is the output's vocabulary size when the embeddings change
	// rows (0: they keep the base's).
	rows int64
	// vocab is the output's tokenizer when the recipe builds one.
	vocab *vocabulary
}

// lmHead is the output projection that a model with tied embeddings lacks;
// tiedTo are the embeddings it then reads, as mergekit's architectures
// name them.
const lmHead = "lm_head.weight"

var tiedTo = []string{"model.embed_tokens.weight", "transformer.wte.weight", "wte.weight"}

// vocabTensor reports whether a tensor has a row per token.
func vocabTensor(name string) bool {
	for _, s := range []string{"embed_tokens.weight", "lm_head.weight", "wte.weight", "embed_out.weight", "word_embeddings.weight"} {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// expansion works out what the job's output needs of its full models.
func (j *Job) expansion() (*expansion, error) {
	x := &expansion{j: j, full: map[*Model]bool{j.Base: true}, layers: map[*Model]int{}, fixed: map[*Model]map[string]Tensor{}}
	for _, d := range j.Deltas {
		full, err := isFull(d)
		if err != nil {
			return nil, err
		}
		x.full[d] = full
	}
	for m, full := range x.full {
		if full {
			x.fixed[m] = map[string]Tensor{}
			for _, name := range m.Names() {
				x.layers[m] = max(x.layers[m], layerIndex(name)+1)
			}
		}
	}
	x.tieHeads()
	if err := x.fixVocabulary(); err != nil {
		return nil, err
	}
	return x, nil
}

// none reports whether the job runs over its inputs as they are.
func (x *expansion) none() bool {
	if len(x.j.Recipe.Slices) > 0 {
		return false
	}
	for _, f := range x.fixed {
		if len(f) > 0 {
			return false
		}
	}
	return true
}

// isFull reports whether a model is a full model (not a delta release or
// a LoRA adapter).
func isFull(m *Model) (bool, error) {
	if slices.Contains(m.Other, AdapterConfig) {
		return false, nil
	}
	man, err := modelManifest(m)
	return man == nil || man.Kind != potluck.KindDelta, err
}

// tieHeads gives every full model an lm_head when one has it: as mergekit
// reads a tied model's, its embeddings.
func (x *expansion) tieHeads() {
	has := false
	for m := range x.fixed {
		_, ok := m.Tensor(lmHead)
		has = has || ok
	}
	if !has {
		return
	}
	for m, f := range x.fixed {
		if _, ok := m.Tensor(lmHead); ok {
			continue
		}
		for _, name := range tiedTo {
			if t, ok := m.Tensor(name); ok {
				f[lmHead] = renamed(t, lmHead)
				x.headAdded = x.headAdded || m == x.j.Base
				break
			}
		}
	}
}

// fixVocabulary maps every full model's embeddings to the recipe's
// vocabulary, or without one, when their sizes differ, cuts them to the
// rows they have in common (mergekit's largest common submatrix).
func (x *expansion) fixVocabulary() error {
	if kind, _ := x.j.Recipe.tokenizerSource(); kind != "" {
		return x.mapVocabulary()
	}
	rows := map[string]int64{}
	differ := false
	for m := range x.fixed {
		for _, t := range x.vocabTensors(m) {
			if n, ok := rows[t.Name]; ok && n != t.Shape[0] {
				differ = true
			}
			if n, ok := rows[t.Name]; !ok || t.Shape[0] < n {
				rows[t.Name] = t.Shape[0]
			}
		}
	}
	if !differ {
		return nil
	}
	for m, f := range x.fixed {
		for _, t := range x.vocabTensors(m) {
			if n := rows[t.Name]; t.Shape[0] != n {
				f[t.Name] = firstRows(t, n)
			}
		}
	}
	for _, n := range rows {
		x.rows = cmp.Or(min(x.rows, n), n)
	}
	return nil
}

// vocabTensors are a full model's tensors with a row per token, as the
// output sees them (a tied lm_head included).
func (x *expansion) vocabTensors(m *Model) []Tensor {
	var out []Tensor
	for _, name := range append(m.Names(), lmHead) {
		t, ok := x.fixed[m][name]
		if !ok {
			t, ok = m.Tensor(name)
		}
		if ok && vocabTensor(name) && len(t.Shape) == 2 && t.DType.IsFloat() && !slices.ContainsFunc(out, func(o Tensor) bool { return o.Name == name }) {
			out = append(out, t)
		}
	}
	return out
}

// viewSpec is what a view shows of a model.
type viewSpec struct {
	all          bool // every tensor, in the model's order
	from, to, at int  // else layers [from, to), shown as layers at, at+1, …
	pre, post    bool // and the tensors outside the layers before them, after them
}

// view shows m as spec says, its fixed tensors in place of its own.
func (x *expansion) view(m *Model, s viewSpec) *Model {
	f := x.fixed[m]
	var pre, mid, post []Tensor
	add := func(t Tensor) {
		l := layerIndex(t.Name)
		switch {
		case s.all:
			mid = append(mid, t)
		case l >= 0 && l >= s.from && l < s.to:
			mid = append(mid, renamed(t, withLayer(t.Name, s.at+l-s.from)))
		case l < 0 && isEmbedding(t.Name) && s.pre:
			pre = append(pre, t)
		case l < 0 && !isEmbedding(t.Name) && s.post:
			post = append(post, t)
		}
	}
	for _, sh := range m.Shards {
		for _, t := range sh.Tensors {
			if ft, ok := f[t.Name]; ok {
				t = ft
			}
			add(t)
		}
	}
	for _, name := range sortedKeys(f) {
		if _, own := m.Tensor(name); !own {
			add(f[name])
		}
	}
	if !s.all {
		slices.SortStableFunc(mid, func(a, b Tensor) int { return layerIndex(a.Name) - layerIndex(b.Name) })
	}
	return newView(m.Name, slices.Concat(pre, mid, post))
}

// withLayer renames a layer's tensor to layer l.
func withLayer(name string, l int) string {
	at := layerRE.FindStringSubmatchIndex(name)
	return name[:at[2]] + strconv.Itoa(l) + name[at[3]:]
}
