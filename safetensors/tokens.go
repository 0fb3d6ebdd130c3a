package safetensors

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// token returns the next JSON token, turning syntax errors and a header that ends
// early into errors wrapping ErrInvalid that say where the parser was.
func (p *headerParser) token(where string) (json.Token, error) {
	tok, err := p.dec.Token()
	if err == io.EOF {
		return nil, invalidf("%s: header JSON ends early", where)
	}
	if err != nil {
		return nil, invalidf("%s: header JSON: %v", where, err)
	}
	return tok, nil
}

// delim consumes one expected delimiter.
func (p *headerParser) delim(want json.Delim, where string) error {
	tok, err := p.token(where)
	if err != nil {
		return err
	}
	if tok != want {
		return invalidf("%s: expected '%v', found %s", where, want, describe(tok))
	}
	return nil
}

// key reads an object key and rejects one already seen in the same object:
// with duplicates, two readers could disagree about what the file holds.
func (p *headerParser) key(where string, seen map[string]bool) (string, error) {
	tok, err := p.token(where)
	if err != nil {
		return "", err
	}
	key, ok := tok.(string)
	if !ok {
		return "", invalidf("%s: expected a key, found %s", where, describe(tok))
	}
	if seen[key] {
		return "", invalidf("%s: duplicate key %q", where, short(key))
	}
	seen[key] = true
	return key, nil
}

// str reads a string value.
func (p *headerParser) str(where string) (string, error) {
	tok, err := p.token(where)
	if err != nil {
		return "", err
	}
	s, ok := tok.(string)
	if !ok {
		return "", invalidf("%s: expected a string, found %s", where, describe(tok))
	}
	return s, nil
}

// ints reads an array of non-negative integers that fit in an int64.
func (p *headerParser) ints(where string) ([]int64, error) {
	if err := p.delim('[', where); err != nil {
		return nil, err
	}
	vals := []int64{}
	for p.dec.More() {
		tok, err := p.token(where)
		if err != nil {
			return nil, err
		}
		num, ok := tok.(json.Number)
		v, perr := strconv.ParseInt(string(num), 10, 64)
		if !ok || perr != nil || v < 0 {
			return nil, invalidf("%s[%d]: expected a non-negative integer, found %s",
				where, len(vals), describe(tok))
		}
		vals = append(vals, v)
	}
	return vals, p.delim(']', where)
}

// describe renders a token for an error message.
func describe(tok json.Token) string {
	switch v := tok.(type) {
	case nil:
		return "null"
	case json.Delim:
		return fmt.Sprintf("'%v'", v)
	case string:
		return fmt.Sprintf("string %q", short(v))
	case json.Number:
		return short(string(v))
	}
	return fmt.Sprint(tok)
}
