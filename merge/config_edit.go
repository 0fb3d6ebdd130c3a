package merge

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
)

// The output's config.json is the base's, edited in place where the merge
// changes what it describes, every other byte kept: the dtype (whether the
// key is torch_dtype or dtype), the layer count of a recipe of slices, the
// vocabulary size when the embeddings change rows, and the tie of lm_head
// to the embeddings when the output has an lm_head the base lacked.

// layerKeys name the layer count in the configs mergekit knows.
var layerKeys = []string{"num_hidden_layers", "n_layer", "num_layers", "n_layers"}

var torchDType = regexp.MustCompile(`"torch_dtype"(\s*):(\s*)"[^"]*"`)
var plainDType = regexp.MustCompile(`"dtype"(\s*):(\s*)"[^"]*"`)

// editConfig returns the base's config.json as the output's.
func (j *Job) editConfig(b []byte, x *expansion) []byte {
	if name := j.Recipe.dtypeName(); name != "" {
		b = torchDType.ReplaceAll(b, []byte(`"torch_dtype"$1:$2"`+name+`"`))
		b = plainDType.ReplaceAll(b, []byte(`"dtype"$1:$2"`+name+`"`))
	}
	if n := j.Recipe.Layers(); n > 0 {
		for _, k := range layerKeys {
			b = setTopLevel(b, k, strconv.Itoa(n))
		}
	}
	if x.rows > 0 {
		b = setTopLevel(b, "vocab_size", strconv.FormatInt(x.rows, 10))
	}
	if x.headAdded {
		b = setTopLevel(b, "tie_word_embeddings", "false")
	}
	return b
}

// setTopLevel replaces the value of key in the top-level object of the
// JSON document b with the literal val, when the key is there and its
// value is a scalar; b is returned unchanged otherwise.
func setTopLevel(b []byte, key, val string) []byte {
	dec := json.NewDecoder(bytes.NewReader(b))
	depth, isKey := 0, false // isKey: the next token at depth 1 is a key
	for {
		tok, err := dec.Token()
		if err != nil {
			return b
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
			isKey = depth == 1
			continue
		}
		switch {
		case depth != 1:
		case !isKey:
			isKey = true
		case tok == key:
			return replaceValue(b, dec, val)
		default:
			isKey = false
		}
	}
}

// replaceValue replaces the value dec is about to read with val, when it
// is a scalar.
func replaceValue(b []byte, dec *json.Decoder, val string) []byte {
	start := dec.InputOffset()
	tok, err := dec.Token()
	if _, nested := tok.(json.Delim); err != nil || nested {
		return b
	}
	end := dec.InputOffset()
	start += int64(bytes.IndexByte(b[start:], ':')) + 1
	for start < end && bytes.IndexByte([]byte(" \t\r\n"), b[start]) >= 0 {
		start++
	}
	return slices.Concat(b[:start], []byte(val), b[end:])
}
