package store

import (
	"errors"
	"strings"
	"testing"
)

// A file name that a terminal or a listing would show as another name is
// refused, naming the character: newlines, ANSI escapes, bidi controls,
// bytes that are not UTF-8.
func TestCheckPathRefusesUnprintable(t *testing.T) {
	for _, c := range []struct{ path, want string }{
		{"model\n.safetensors", `contains the control character U+000A at byte 5`},
		{"a/\x1b[31mred.json", `contains the control character U+001B at byte 2`},
		{"evil\u202egnp.safetensors", `contains the control character U+202E at byte 4`},
		{"x\u2066y.json", `U+2066`},
		{"del\x7f.json", `U+007F`},
		{"c1\u0085.json", `U+0085`},
		{"bad\xffutf8.json", `is not valid UTF-8`},
	} {
		err := CheckPath(c.path)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("CheckPath(%q) = %v, want ErrInvalid mentioning %q", c.path, err, c.want)
		}
	}
	for _, good := range []string{"modèle/权重.safetensors", "tokenizer (copy).json", "emoji-👩‍💻.txt"} {
		if err := CheckPath(good); err != nil {
			t.Errorf("CheckPath(%q) = %v", good, err)
		}
	}
}
