package merge

import (
	"fmt"
	"io"

	"github.com/potluck-hub/potluck/safetensors"
)

// Each full model's embeddings in the recipe's vocabulary, as mergekit
// builds them: a row per token of the vocabulary, the model's own row of
// the token where it has one; else (or, forced, always) the row the
// recipe's tokenizer.tokens names, else the one model's that has it, else
// the base's, else the average of the models' that have it, else zeros.
// Rows past the vocabulary (pad_to_multiple_of) are the mean of the
// model's rows. Rows are views of the models' rows; only the computed ones
// are held in memory.

// embedding is one full model's tensor of one vocabulary tensor name, and
// for each output row the model's row of its token (-1: it lacks it).
type embedding struct {
	m *Model
	t Tensor
	p []int64
}

// mapRows puts every full model's embedding rows in the vocabulary's order.
func (x *expansion) mapRows(models []*Model, vocabs map[*Model]map[string]int) error {
	toks := make([]string, 0, len(x.vocab.ids))
	for tok, id := range x.vocab.ids {
		for len(toks) <= id {
			toks = append(toks, "")
		}
		toks[id] = tok
	}
	byName := map[string][]*embedding{}
	var names []string
	for _, m := range models {
		for _, t := range x.vocabTensors(m) {
			e := &embedding{m: m, t: t, p: make([]int64, len(toks))}
			for i, tok := range toks {
				e.p[i] = -1
				if id, ok := vocabs[m][tok]; ok && tok != "" && int64(id) < t.Shape[0] {
					e.p[i] = int64(id)
				}
			}
			if byName[t.Name] == nil {
				names = append(names, t.Name)
			}
			byName[t.Name] = append(byName[t.Name], e)
		}
	}
	for _, name := range names {
		if err := x.mapTensor(toks, byName[name]); err != nil {
			return err
		}
	}
	return nil
}

// mapTensor maps one vocabulary tensor of every model that has it.
func (x *expansion) mapTensor(toks []string, es []*embedding) error {
	cols := es[0].t.Shape[1]
	for _, e := range es {
		if e.t.Shape[1] != cols {
			return fmt.Errorf("%w: %s: %s is %v wide, %s %v", ErrIncompatible, e.t.Name, es[0].m.Name, es[0].t.Shape, e.m.Name, e.t.Shape)
		}
	}
	defaults := map[int][]float32{}
	forced := map[int]bool{}
	for i, tok := range toks {
		cfg, configured := x.tokenConfig(tok)
		forced[i] = configured && cfg.Force
		need := forced[i]
		for _, e := range es {
			need = need || e.p[i] < 0
		}
		if !need {
			continue
		}
		row, err := x.defaultRow(es, i, tok, cfg, configured)
		if err != nil {
			return err
		}
		defaults[i] = row
	}
	for _, e := range es {
		rows := make([]rowSource, x.vocab.rows)
		identity := x.vocab.rows == e.t.Shape[0]
		for i := range toks {
			if d, ok := defaults[i]; ok && (e.p[i] < 0 || forced[i]) {
				rows[i], identity = rowSource{data: encodeRow(d, e.t.DType)}, false
				continue
			}
			rows[i] = rowSource{t: &e.t, i: e.p[i]}
			identity = identity && e.p[i] == int64(i)
		}
		if len(toks) < len(rows) {
			mean, err := meanRow(rows[:len(toks)], e.t.DType, cols)
			if err != nil {
				return err
			}
			for i := len(toks); i < len(rows); i++ {
				rows[i] = rowSource{data: encodeRow(mean, e.t.DType)}
			}
		}
		if !identity {
			x.fixed[e.m][e.t.Name] = rowsTensor(e.t.Name, e.t.DType, cols, rows)
		}
	}
	return nil
}

// tokenConfig is the recipe's tokenizer.tokens entry for tok.
func (x *expansion) tokenConfig(tok string) (TokenEmbedding, bool) {
	if t := x.j.Recipe.Tokenizer; t != nil {
		cfg, ok := t.Tokens[tok]
		return cfg, ok
	}
	return TokenEmbedding{}, false
}

// defaultRow is the row of token i (tok) for the models that lack it.
func (x *expansion) defaultRow(es []*embedding, i int, tok string, cfg TokenEmbedding, configured bool) ([]float32, error) {
	cols := es[0].t.Shape[1]
	if configured {
		return x.configuredRow(es, i, tok, cfg.Source)
	}
	var have []*embedding
	for _, e := range es {
		if e.p[i] >= 0 {
			have = append(have, e)
		}
	}
	switch {
	case len(have) == 0:
		return make([]float32, cols), nil
	case len(have) == 1:
		return readRow(have[0].t, have[0].p[i])
	case have[0].m == x.j.Base:
		return readRow(have[0].t, have[0].p[i])
	}
	sum := make([]float32, cols)
	for _, e := range have {
		row, err := readRow(e.t, e.p[i])
		if err != nil {
			return nil, err
		}
		addInto(sum, row)
	}
	divBy(sum, float32(len(have)))
	return sum, nil
}

// configuredRow is the row tokenizer.tokens[tok] names.
func (x *expansion) configuredRow(es []*embedding, i int, tok string, src EmbeddingSource) ([]float32, error) {
	where := fmt.Sprintf("tokenizer.tokens[%q]", tok)
	if src.Kind == "zero" {
		return make([]float32, es[0].t.Shape[1]), nil
	}
	m, _ := x.j.reference(src.Model)
	var e *embedding
	for _, c := range es {
		if c.m == m {
			e = c
		}
	}
	if e == nil {
		return nil, fmt.Errorf("%w: %s: %s is not a full model of the merge with %s", ErrIncompatible, where, src.Model, es[0].t.Name)
	}
	row := e.p[i]
	switch {
	case src.Kind == "model_token" && src.TokenID != nil:
		row = int64(*src.TokenID)
	case src.Kind == "model_token":
		row = -1
		if id, ok := x.vocab.models[m][src.Token]; ok {
			row = int64(id)
		}
	}
	if row < 0 || row >= e.t.Shape[0] {
		return nil, fmt.Errorf("%w: %s: model %s has no row for it in %s", ErrIncompatible, where, src.Model, e.t.Name)
	}
	return readRow(e.t, row)
}

// meanRow is the mean of rows, in float64 rounded once.
func meanRow(rows []rowSource, dt safetensors.DType, cols int64) ([]float32, error) {
	sum := make([]float64, cols)
	raw := make([]byte, cols*int64(dt.Size()))
	vals := make([]float32, cols)
	rr := &rowsReader{rowBytes: int64(len(raw)), rows: rows}
	for i := range rows {
		if _, err := rr.ReadAt(raw, int64(i)*int64(len(raw))); err != nil {
			return nil, err
		}
		if err := safetensors.DecodeFloat32(vals, raw, dt); err != nil {
			return nil, err
		}
		for k, v := range vals {
			sum[k] += float64(v)
		}
	}
	out := make([]float32, cols)
	for k, s := range sum {
		out[k] = float32(s / float64(len(rows)))
	}
	return out, nil
}

// rowsTensor is a 2-D tensor of dtype dt made of rows, each a row of a
// source tensor or bytes computed once.
func rowsTensor(name string, dt safetensors.DType, cols int64, rows []rowSource) Tensor {
	rb := cols * int64(dt.Size())
	rr := &rowsReader{rowBytes: rb, rows: rows}
	info := safetensors.TensorInfo{Name: name, DType: dt, Shape: []int64{int64(len(rows)), cols}, End: rb * int64(len(rows))}
	return Tensor{TensorInfo: info, r: rr}
}

// rowSource is one row of a rowsTensor: row i of tensor t, or data.
type rowSource struct {
	t    *Tensor
	i    int64
	data []byte
}

// rowsReader reads a rowsTensor's bytes. It keeps no state: any number of
// goroutines may read it at once.
type rowsReader struct {
	rowBytes int64
	rows     []rowSource
}

func (rr *rowsReader) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		at := off + int64(n)
		row, col := at/rr.rowBytes, at%rr.rowBytes
		if row >= int64(len(rr.rows)) {
			return n, io.EOF
		}
		k := int(min(int64(len(p)-n), rr.rowBytes-col))
		src := rr.rows[row]
		if src.t == nil {
			copy(p[n:n+k], src.data[col:])
		} else if _, err := src.t.r.ReadAt(p[n:n+k], src.t.Start+src.i*rr.rowBytes+col); err != nil {
			return n, err
		}
		n += k
	}
	return n, nil
}

// readRow reads row i of a 2-D tensor widened to float32.
func readRow(t Tensor, i int64) ([]float32, error) {
	cols := t.Shape[1]
	raw := make([]byte, cols*int64(t.DType.Size()))
	if _, err := t.r.ReadAt(raw, t.Start+i*int64(len(raw))); err != nil {
		return nil, fmt.Errorf("merge: tensor %q: row %d: %w", t.Name, i, err)
	}
	out := make([]float32, cols)
	return out, safetensors.DecodeFloat32(out, raw, t.DType)
}

// encodeRow encodes a float32 row in dt.
func encodeRow(row []float32, dt safetensors.DType) []byte {
	b := make([]byte, len(row)*dt.Size())
	if err := safetensors.EncodeFloat32(b, row, dt); err != nil {
		panic(err) // lengths agree by construction
	}
	return b
}
