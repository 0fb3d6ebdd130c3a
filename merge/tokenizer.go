package merge

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// A recipe that builds a tokenizer (tokenizer_source, tokenizer) merges
// embeddings of different vocabularies as mergekit does: the output's
// vocabulary is the base's, a model's, or the union of all (the base's
// tokens first, then the others' in order, added tokens last); every full
// model's embedding rows are put in that order by token, a token a model
// lacks taking a row from elsewhere (embed_rows.go); the output's config
// gets the vocabulary's size and its tokenizer files the new tokens.
//
// Left out: tokenizers without tokenizer.json (a SentencePiece
// tokenizer.model alone is not read), and new tokens' placement inside
// tokenizer.model, vocab.json or merges.txt (those files are dropped when
// the vocabulary changes; tokenizer.json holds it all).

const tokenizerConfigFile = "tokenizer_config.json"

// vocabulary is the output's tokenizer when the recipe builds one.
type vocabulary struct {
	ids map[string]int // token → id
	// models are the full models' vocabularies, token → row
	models map[*Model]map[string]int
	rows   int64 // the embeddings' rows: the vocabulary, padded
	out    map[string][]byte
	added  []addedToken // tokens added to the source's tokenizer
}

func (v *vocabulary) files() (map[string][]byte, error) { return v.out, nil }

// readTokenizer reads a model's tokenizer.json (nil when it has none).
func readTokenizer(m *Model) (*tokenizerFile, error) {
	if !slices.Contains(m.Other, "tokenizer.json") {
		if slices.Contains(m.Other, "tokenizer.model") {
			return nil, fmt.Errorf("%w: model %s has a tokenizer.model but no tokenizer.json; a recipe's tokenizer needs tokenizer.json", ErrIncompatible, m.Name)
		}
		return nil, nil
	}
	b, err := readOther(m, "tokenizer.json")
	if err != nil {
		return nil, err
	}
	t, err := parseTokenizer(b)
	if err != nil {
		return nil, fmt.Errorf("%w: model %s: tokenizer.json: %v", ErrIncompatible, m.Name, err)
	}
	return t, nil
}

// embedRows is a model's vocabulary size as its embeddings hold it.
func (x *expansion) embedRows(m *Model) int {
	for _, t := range x.vocabTensors(m) {
		return int(t.Shape[0])
	}
	return 0
}

// fullModels lists the full models, the base first, then the inputs in
// the recipe's order.
func (x *expansion) fullModels() []*Model {
	out := []*Model{x.j.Base}
	for _, d := range x.j.Deltas {
		if x.full[d] {
			out = append(out, d)
		}
	}
	return out
}

// mapVocabulary builds the recipe's vocabulary and maps every full model's
// embeddings to it.
func (x *expansion) mapVocabulary() error {
	j := x.j
	models := x.fullModels()
	files := map[*Model]*tokenizerFile{}
	vocabs := map[*Model]map[string]int{}
	for _, m := range models {
		t, err := readTokenizer(m)
		if err != nil {
			return err
		}
		if t != nil {
			files[m], vocabs[m] = t, t.tokens(x.embedRows(m))
		}
	}
	if files[j.Base] == nil {
		return fmt.Errorf("%w: the base %s has no tokenizer.json, which the recipe's tokenizer starts from", ErrIncompatible, j.Base.Name)
	}
	for _, m := range models {
		if vocabs[m] == nil { // as mergekit: a model without a tokenizer has the base's
			vocabs[m] = vocabs[j.Base]
		}
	}
	v, err := x.buildVocabulary(models, files)
	if err != nil {
		return err
	}
	v.models = vocabs
	x.vocab, x.rows = v, v.rows
	if err := x.mapRows(models, vocabs); err != nil {
		return err
	}
	return x.checkDeltas()
}

// buildVocabulary makes the output's tokenizer from the source's: the
// base's or a model's, stripped of tokens past its embeddings; for union
// with every other model's tokens added; with the tokens the recipe
// configures added last.
func (x *expansion) buildVocabulary(models []*Model, files map[*Model]*tokenizerFile) (*vocabulary, error) {
	r := x.j.Recipe
	kind, ref := r.tokenizerSource()
	src := x.j.Base
	if kind == "model" {
		src, _ = x.j.reference(ref)
	}
	out, err := readTokenizer(src) // a copy of its own: it is changed below
	if err == nil && out == nil {
		err = fmt.Errorf("%w: tokenizer source %s has no tokenizer.json", ErrIncompatible, src.Name)
	}
	if err != nil {
		return nil, err
	}
	rows := x.embedRows(src)
	if rows == 0 {
		rows = out.size()
	}
	stripped := out.size() > rows
	if err := out.strip(rows); err != nil {
		return nil, fmt.Errorf("%w: model %s: tokenizer.json: %v", ErrIncompatible, src.Name, err)
	}
	v := &vocabulary{ids: out.tokens(out.size())}
	add := func(a addedToken) {
		if _, ok := v.ids[a.Content]; !ok {
			a.ID = max(out.size(), len(v.ids))
			out.added = append(out.added, a)
			v.ids[a.Content] = a.ID
			v.added = append(v.added, a)
		}
	}
	if kind == "union" {
		x.union(models, files, add)
	}
	if r.Tokenizer != nil {
		for _, tok := range sortedKeys(r.Tokenizer.Tokens) {
			add(addedToken{Content: tok, Normalized: true})
		}
	}
	for _, id := range v.ids {
		v.rows = max(v.rows, int64(id)+1)
	}
	if pad := int64(0); r.Tokenizer != nil && r.Tokenizer.PadToMultipleOf > 0 {
		pad = int64(r.Tokenizer.PadToMultipleOf)
		v.rows = (v.rows + pad - 1) / pad * pad
	}
	v.out, err = v.tokenizerFiles(src, out, stripped)
	return v, err
}

// union adds every model's tokens the source lacks, as mergekit's union
// does: first the models' own tokens in model order and id order, then
// their added tokens (a token added in any model counts as added).
func (x *expansion) union(models []*Model, files map[*Model]*tokenizerFile, add func(addedToken)) {
	var plain []string
	seen := map[string]bool{}
	added := map[string]addedToken{}
	var addedOrder []string
	for _, m := range models {
		t := files[m]
		if t == nil {
			continue
		}
		rows := x.embedRows(m)
		isAdded := map[string]bool{}
		for _, a := range t.added {
			isAdded[a.Content] = true
			if _, ok := added[a.Content]; !ok && a.ID < rows {
				added[a.Content] = a
				addedOrder = append(addedOrder, a.Content)
			}
		}
		ids := t.tokens(rows)
		toks := sortedKeys(ids)
		slices.SortStableFunc(toks, func(a, b string) int { return ids[a] - ids[b] })
		for _, tok := range toks {
			if !isAdded[tok] && !seen[tok] {
				seen[tok] = true
				plain = append(plain, tok)
			}
		}
	}
	for _, tok := range plain {
		if _, isAdded := added[tok]; !isAdded {
			add(addedToken{Content: tok, Normalized: true})
		}
	}
	for _, tok := range addedOrder {
		add(added[tok])
	}
}

// checkDeltas refuses a delta or adapter that changes an embedding whose
// rows the recipe's vocabulary puts in another order.
func (x *expansion) checkDeltas() error {
	if len(x.fixed[x.j.Base]) == 0 {
		return nil // the base's rows stay as they are, and so do its deltas'
	}
	for i, d := range x.j.Deltas {
		if x.full[d] {
			continue
		}
		for _, name := range d.Names() {
			if touchesVocab(name) {
				return fmt.Errorf("%w: %s (%s) changes %s, whose rows the recipe's tokenizer puts in another order; give the full model instead", ErrIncompatible, x.j.Recipe.where(i), d.Name, name)
			}
		}
	}
	return nil
}

// touchesVocab reports whether a delta's or adapter's tensor changes an
// embedding with a row per token.
func touchesVocab(name string) bool {
	for _, s := range []string{"embed_tokens", "lm_head", "wte", "embed_out", "word_embeddings"} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

// tokenizerFiles are the output's tokenizer files: the source's, and when
// its vocabulary changed, tokenizer.json and tokenizer_config.json written
// anew and the files that would contradict them left out.
func (v *vocabulary) tokenizerFiles(src *Model, out *tokenizerFile, stripped bool) (map[string][]byte, error) {
	files, err := modelFiles(src, tokenizerFiles)
	if err != nil || (!stripped && len(v.added) == 0) {
		return files, err
	}
	for _, p := range []string{"tokenizer.model", "added_tokens.json", "merges.txt", "vocab.json", "vocab.txt"} {
		delete(files, p)
	}
	if out.added == nil {
		out.added = []addedToken{}
	}
	if files["tokenizer.json"], err = out.encode(); err != nil {
		return nil, err
	}
	if cfg, ok := files[tokenizerConfigFile]; ok {
		files[tokenizerConfigFile], err = addedDecoder(cfg, out.added)
	}
	return files, err
}

// addedDecoder rewrites tokenizer_config.json's added_tokens_decoder (when
// it has one) to list exactly the tokenizer's added tokens.
func addedDecoder(cfg []byte, added []addedToken) ([]byte, error) {
	doc, err := parseOrdered(cfg)
	if err != nil {
		return nil, fmt.Errorf("merge: %s: %w", tokenizerConfigFile, err)
	}
	if _, ok := doc.vals["added_tokens_decoder"]; !ok {
		return cfg, nil
	}
	dec := &orderedJSON{vals: map[string]json.RawMessage{}}
	for _, a := range added {
		err = dec.set(strconv.Itoa(a.ID), map[string]any{"content": a.Content, "lstrip": a.Lstrip,
			"normalized": a.Normalized, "rstrip": a.Rstrip, "single_word": a.SingleWord, "special": a.Special})
		if err != nil {
			return nil, err
		}
	}
	if err := doc.set("added_tokens_decoder", dec); err != nil {
		return nil, err
	}
	return indented(doc)
}
