package web_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck/translog"
	"golang.org/x/mod/sumdb/note"
)

// cpCase is a signed note checked against a verifier key and an origin.
type cpCase struct {
	name         string
	note         []byte
	vkey, origin string
}

// checkpointCases builds well-formed and broken checkpoints from a real
// translog.Log's.
func checkpointCases(t *testing.T) []cpCase {
	skey, vkey, err := translog.GenerateKey(logName)
	if err != nil {
		t.Fatal(err)
	}
	l, err := translog.Open(t.TempDir(), testOrigin, skey)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	empty := l.Checkpoint()
	for i := range 7 {
		if _, err := l.Append(logEntry(i)); err != nil {
			t.Fatal(err)
		}
	}
	cp := l.Checkpoint()
	text := string(cp[:bytes.Index(cp, []byte("\n\n"))+1])
	sigs := cp[len(text)+1:]
	lines := strings.SplitN(text, "\n", 4)
	witness := newLogKey(t, "witness.test")
	impostor := newLogKey(t, logName)
	withBody := func(size, root, rest string) []byte {
		return resign(t, nil, fmt.Sprintf("%s\n%s\n%s\n%s", testOrigin, size, root, rest), skey)
	}
	root := lines[2]
	rawRoot, _ := base64.StdEncoding.DecodeString(root)
	urlRoot := base64.URLEncoding.EncodeToString(append([]byte{0xfb, 0xff}, rawRoot[2:]...))
	pub := ed25519.PublicKey(make([]byte, 32))
	otherAlg, _ := note.NewEd25519VerifierKey(logName, pub)
	otherAlg = strings.Replace(otherAlg, "+AQ", "+Ag", 1) // algorithm byte 2 (the hash no longer matches either)
	return []cpCase{
		{"valid", cp, vkey, testOrigin},
		{"valid, empty log", empty, vkey, testOrigin},
		{"verifier key with an upper-case hash", cp, upperHash(vkey), testOrigin},
		{"cosigned by a witness", resign(t, cp, "", skey, witness), vkey, testOrigin},
		{"witness signature first", resign(t, cp, "", witness, skey), vkey, testOrigin},
		{"log signature twice", append(bytes.Clone(cp), sigs...), vkey, testOrigin},
		{"with an extension line", withBody("7", root, "extension data\n"), vkey, testOrigin},
		{"size with leading zeros", withBody("007", root, ""), vkey, testOrigin},
		{"size at 2^62", withBody("4611686018427387904", root, ""), vkey, testOrigin},
		{"size past 2^62", withBody("4611686018427387905", root, ""), vkey, testOrigin},
		{"size with a sign", withBody("+7", root, ""), vkey, testOrigin},
		{"size not a number", withBody("seven", root, ""), vkey, testOrigin},
		{"root of 31 bytes", withBody("7", base64.StdEncoding.EncodeToString(rawRoot[1:]), ""), vkey, testOrigin},
		{"root in base64url", withBody("7", urlRoot, ""), vkey, testOrigin},
		{"too few lines", resign(t, nil, testOrigin+"\n7\n", skey), vkey, testOrigin},
		{"signed by another key of the log's name", resign(t, cp, "", impostor), vkey, testOrigin},
		{"signed by a witness only", resign(t, cp, "", witness), vkey, testOrigin},
		{"another origin", cp, vkey, "potluck.hub/log/other"},
		{"size changed", bytes.Replace(cp, []byte("\n7\n"), []byte("\n8\n"), 1), vkey, testOrigin},
		{"a bad signature by the log key, then a good one", append(corrupt(cp, len(text)+1), sigs...), vkey, testOrigin},
		{"a carriage return", bytes.ReplaceAll(cp, []byte("\n"), []byte("\r\n")), vkey, testOrigin},
		{"no newline at the end", cp[:len(cp)-1], vkey, testOrigin},
		{"no signatures", []byte(text + "\n"), vkey, testOrigin},
		{"a signature line without the em dash", bytes.Replace(cp, []byte("\u2014 "), []byte("- "), 1), vkey, testOrigin},
		{"verifier key with a wrong hash", cp, wrongHash(vkey), testOrigin},
		{"verifier key of another algorithm", cp, otherAlg, testOrigin},
		{"verifier key that is not one", cp, "potluck.test", testOrigin},
	}
}

func upperHash(vkey string) string {
	parts := strings.SplitN(vkey, "+", 3)
	return parts[0] + "+" + strings.ToUpper(parts[1]) + "+" + parts[2]
}

func wrongHash(vkey string) string {
	parts := strings.SplitN(vkey, "+", 3)
	return parts[0] + "+00000000+" + parts[2]
}

// corrupt flips a bit of the signature on the line starting at off.
func corrupt(cp []byte, off int) []byte {
	out := bytes.Clone(cp[off:])
	line := out[:bytes.IndexByte(out, '\n')]
	sp := bytes.LastIndexByte(line, ' ')
	raw, _ := base64.StdEncoding.DecodeString(string(line[sp+1:]))
	raw[10] ^= 1
	copy(line[sp+1:], base64.StdEncoding.EncodeToString(raw))
	return append(bytes.Clone(cp[:off]), out...)
}

// verifyCheckpoint accepts exactly the checkpoints translog.ParseCheckpoint
// (x/mod's note and transparency-dev's checkpoint parser) accepts, and
// reads the same size and root hash from them.
func TestCheckpointAgainstTranslog(t *testing.T) {
	cases := checkpointCases(t)
	var calls []call
	for _, c := range cases {
		calls = append(calls, call{Fn: "verifyCheckpoint", Args: []any{string(c.note), c.vkey, c.origin}})
	}
	res := results(t, runCalls(t, calls))
	accepted := 0
	for i, c := range cases {
		r := res[i]
		var goErr error
		v, err := translog.NewVerifier(c.vkey)
		var cp *translog.Checkpoint
		if err == nil {
			cp, err = translog.ParseCheckpoint(c.note, c.origin, v)
		}
		goErr = err
		switch {
		case r.OK != (goErr == nil):
			t.Errorf("%s: JS ok=%v (%s); Go: %v", c.name, r.OK, r.Reason, goErr)
		case r.OK && (r.Size != fmt.Sprint(cp.Size) || r.RootHash != fmt.Sprintf("%x", cp.Hash[:])):
			t.Errorf("%s: JS read size %s root %s, Go %d %x", c.name, r.Size, r.RootHash, cp.Size, cp.Hash[:])
		case !r.OK && r.Reason == "":
			t.Errorf("%s: failed without a reason", c.name)
		}
		if r.OK {
			accepted++
		}
		if testing.Verbose() {
			t.Logf("%s: ok=%v %s", c.name, r.OK, r.Reason)
		}
	}
	if accepted < 8 || accepted == len(cases) {
		t.Errorf("%d of %d cases accepted: the cases do not test both ways", accepted, len(cases))
	}
}
