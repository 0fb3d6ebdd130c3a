package merge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Reading and writing a Hugging Face fast tokenizer (tokenizer.json): its
// vocabulary (model.vocab: a token → id object, or Unigram's list of
// [token, score] in id order), its added tokens, and BPE merges. What a
// merge does not change is kept as it was read, key order included.

// orderedJSON is a JSON object with its keys in the order read.
type orderedJSON struct {
	keys []string
	vals map[string]json.RawMessage
}

func parseOrdered(b []byte) (*orderedJSON, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object")
	}
	o := &orderedJSON{vals: map[string]json.RawMessage{}}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		k := tok.(string)
		if _, dup := o.vals[k]; !dup {
			o.keys = append(o.keys, k)
		}
		o.vals[k] = v
	}
	return o, nil
}

// get decodes key's value into v; a missing key leaves v as it is.
func (o *orderedJSON) get(key string, v any) error {
	if raw, ok := o.vals[key]; ok {
		return json.Unmarshal(raw, v)
	}
	return nil
}

// set encodes v as key's value, appending the key when new.
func (o *orderedJSON) set(key string, v any) error {
	raw, err := marshalPlain(v)
	if err != nil {
		return err
	}
	if _, ok := o.vals[key]; !ok {
		o.keys = append(o.keys, key)
	}
	o.vals[key] = raw
	return nil
}

// MarshalJSON writes the object in its keys' order.
func (o *orderedJSON) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := marshalPlain(k)
		b.Write(kb)
		b.WriteByte(':')
		b.Write(o.vals[k])
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// marshalPlain is json.Marshal without HTML escapes (tokens such as
// <|im_start|> stay as they are), indented as transformers writes.
func marshalPlain(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// indented writes a document indented by two spaces, with a final newline.
func indented(v any) ([]byte, error) {
	raw, err := marshalPlain(v)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return nil, err
	}
	return append(b.Bytes(), '\n'), nil
}

// addedToken is an entry of tokenizer.json's added_tokens.
type addedToken struct {
	ID         int    `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	Lstrip     bool   `json:"lstrip"`
	Rstrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

// tokenizerFile is a parsed tokenizer.json.
type tokenizerFile struct {
	doc, model *orderedJSON
	vocab      map[string]int // model.vocab, for the object kinds
	unigram    [][2]any       // model.vocab for Unigram
	added      []addedToken
}

func parseTokenizer(b []byte) (*tokenizerFile, error) {
	t := &tokenizerFile{}
	var err error
	if t.doc, err = parseOrdered(b); err != nil {
		return nil, err
	}
	if err := t.doc.get("added_tokens", &t.added); err != nil {
		return nil, fmt.Errorf("added_tokens: %w", err)
	}
	raw, ok := t.doc.vals["model"]
	if !ok {
		return nil, fmt.Errorf("no model")
	}
	if t.model, err = parseOrdered(raw); err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	if v := bytes.TrimSpace(t.model.vals["vocab"]); len(v) > 0 && v[0] == '[' {
		err = json.Unmarshal(v, &t.unigram)
	} else {
		err = t.model.get("vocab", &t.vocab)
	}
	if err != nil {
		return nil, fmt.Errorf("model.vocab: %w", err)
	}
	return t, nil
}

// tokens returns the vocabulary as get_vocab() gives it: the model's
// tokens and the added ones, by token, ids below rows only.
func (t *tokenizerFile) tokens(rows int) map[string]int {
	out := map[string]int{}
	for tok, id := range t.vocab {
		if id < rows {
			out[tok] = id
		}
	}
	for id, e := range t.unigram {
		if s, ok := e[0].(string); ok && id < rows {
			out[s] = id
		}
	}
	for _, a := range t.added {
		if a.ID < rows {
			out[a.Content] = a.ID
		}
	}
	return out
}

// size is one more than the largest id.
func (t *tokenizerFile) size() int {
	n := len(t.unigram)
	for _, id := range t.vocab {
		n = max(n, id+1)
	}
	for _, a := range t.added {
		n = max(n, a.ID+1)
	}
	return n
}

// strip removes every token of id rows or more, and the BPE merges of
// those tokens (mergekit's stripped tokenizer of a padded vocabulary).
func (t *tokenizerFile) strip(rows int) error {
	gone := map[string]bool{}
	for tok, id := range t.vocab {
		if id >= rows {
			gone[tok] = true
			delete(t.vocab, tok)
		}
	}
	if len(t.unigram) > rows {
		t.unigram = t.unigram[:rows]
	}
	t.added = slices.DeleteFunc(t.added, func(a addedToken) bool { return a.ID >= rows })
	var merges []json.RawMessage
	if err := t.model.get("merges", &merges); err != nil {
		return fmt.Errorf("model.merges: %w", err)
	}
	merges = slices.DeleteFunc(merges, func(m json.RawMessage) bool {
		var s string
		var pair []string
		if json.Unmarshal(m, &s) == nil {
			pair = strings.Split(s, " ")
		} else {
			json.Unmarshal(m, &pair)
		}
		return slices.ContainsFunc(pair, func(p string) bool { return gone[p] })
	})
	if merges != nil {
		return t.model.set("merges", merges)
	}
	return nil
}

// encode writes the tokenizer back, its vocabulary and added tokens as
// they now are.
func (t *tokenizerFile) encode() ([]byte, error) {
	var err error
	if t.unigram != nil {
		err = t.model.set("vocab", t.unigram)
	} else {
		err = t.model.set("vocab", vocabInOrder(t.vocab))
	}
	if err == nil {
		err = t.doc.set("model", t.model)
	}
	if err == nil {
		err = t.doc.set("added_tokens", t.added)
	}
	if err != nil {
		return nil, err
	}
	return indented(t.doc)
}

// vocabInOrder is a vocabulary object with its tokens in id order, as the
// tokenizers library writes it.
func vocabInOrder(v map[string]int) *orderedJSON {
	toks := sortedKeys(v)
	slices.SortStableFunc(toks, func(a, b string) int { return v[a] - v[b] })
	o := &orderedJSON{vals: map[string]json.RawMessage{}}
	for _, tok := range toks {
		o.keys = append(o.keys, tok)
		o.vals[tok] = json.RawMessage(strconv.Itoa(v[tok]))
	}
	return o
}
