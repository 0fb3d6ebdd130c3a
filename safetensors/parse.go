package safetensors

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"unicode/utf8"
)

// metadataKey is the one header key that is not a tensor.
const metadataKey = "__metadata__"

// rawTensor is one tensor entry as the header states it, before layout checks.
type rawTensor struct {
	name       string
	dtype      DType
	shape      []int64
	begin, end int64
}

// headerParser walks the header JSON token by token. json.Unmarshal would silently
// accept duplicate keys, unknown fields and floats where integers belong; a
// hostile header must be rejected for each of those instead.
type headerParser struct {
	dec *json.Decoder
}

// parseHeaderJSON returns the metadata and tensor entries of a header, checking
// syntax and types but not yet offsets.
func parseHeaderJSON(b []byte) (map[string]string, []rawTensor, error) {
	if !utf8.Valid(b) {
		return nil, nil, invalidf("header is not valid UTF-8")
	}
	if len(b) == 0 || b[0] != '{' {
		return nil, nil, invalidf("header must start with '{'")
	}
	p := headerParser{dec: json.NewDecoder(bytes.NewReader(b))}
	p.dec.UseNumber()
	meta, tensors, err := p.object()
	if err != nil {
		return nil, nil, err
	}
	if _, err := p.dec.Token(); err != io.EOF {
		return nil, nil, invalidf("header has data after its closing '}'")
	}
	return meta, tensors, nil
}

// object parses the top-level object: "__metadata__" and one entry per tensor.
func (p *headerParser) object() (map[string]string, []rawTensor, error) {
	if err := p.delim('{', "header"); err != nil {
		return nil, nil, err
	}
	var meta map[string]string
	var tensors []rawTensor
	seen := make(map[string]bool)
	for p.dec.More() {
		key, err := p.key("header", seen)
		if err != nil {
			return nil, nil, err
		}
		if key == metadataKey {
			meta, err = p.metadata()
		} else {
			var t rawTensor
			t, err = p.tensor(key)
			tensors = append(tensors, t)
		}
		if err != nil {
			return nil, nil, err
		}
	}
	return meta, tensors, p.delim('}', "header")
}

// metadata parses the "__metadata__" object, whose values must all be strings.
// null is accepted as no metadata, as the reference implementation does.
func (p *headerParser) metadata() (map[string]string, error) {
	tok, err := p.token(metadataKey)
	if err != nil || tok == nil {
		return nil, err
	}
	if tok != json.Delim('{') {
		return nil, invalidf("%s: expected an object, found %s", metadataKey, describe(tok))
	}
	meta := make(map[string]string)
	seen := make(map[string]bool)
	for p.dec.More() {
		key, err := p.key(metadataKey, seen)
		if err != nil {
			return nil, err
		}
		if meta[key], err = p.str(fmt.Sprintf("%s[%q]", metadataKey, short(key))); err != nil {
			return nil, err
		}
	}
	return meta, p.delim('}', metadataKey)
}

// tensor parses one tensor entry, which must have exactly the fields dtype, shape
// and data_offsets.
func (p *headerParser) tensor(name string) (rawTensor, error) {
	t := rawTensor{name: name}
	if name == "" {
		return t, invalidf("empty tensor name")
	}
	where := fmt.Sprintf("tensor %q", short(name))
	if err := p.delim('{', where); err != nil {
		return t, err
	}
	seen := make(map[string]bool)
	for p.dec.More() {
		field, err := p.key(where, seen)
		if err != nil {
			return t, err
		}
		if err := p.field(&t, where, field); err != nil {
			return t, err
		}
	}
	for _, f := range [...]string{"dtype", "shape", "data_offsets"} {
		if !seen[f] {
			return t, invalidf("%s: missing %s", where, f)
		}
	}
	return t, p.delim('}', where)
}

// field parses the value of one field of a tensor entry into t.
func (p *headerParser) field(t *rawTensor, where, field string) error {
	switch field {
	case "dtype":
		s, err := p.str(where + ": dtype")
		if err != nil {
			return err
		}
		if t.dtype, err = parseDType(s); err != nil {
			return invalidf("%s: %v", where, err)
		}
		return nil
	case "shape":
		var err error
		t.shape, err = p.ints(where + ": shape")
		return err
	case "data_offsets":
		offs, err := p.ints(where + ": data_offsets")
		if err == nil && len(offs) != 2 {
			err = invalidf("%s: data_offsets has %d entries, want 2", where, len(offs))
		}
		if err == nil {
			t.begin, t.end = offs[0], offs[1]
		}
		return err
	}
	return invalidf("%s: unknown field %q", where, short(field))
}
