package web_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/tlog"
)

// memHashes is a tlog.HashReader over stored hashes in memory.
type memHashes []tlog.Hash

func (m memHashes) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = m[x]
	}
	return out, nil
}

func logEntry(i int) []byte { return fmt.Appendf(nil, `{"type":"release","n":%d}`, i) }

func b64s(hs []tlog.Hash) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = base64.StdEncoding.EncodeToString(h[:])
	}
	return out
}

func checkpointArg(size any, root []byte) map[string]any {
	return map[string]any{"size": size, "rootHash": b64(root)}
}

// The JS inclusion check agrees with Go's tlog on every entry of every
// tree of 1 to 64 entries: each proof tlog.ProveRecord makes verifies,
// and the same proof for another index or with one hash flipped fails; so
// does it for other bytes, cut short or too long (first, middle and last
// entries). proofLength matches the proofs' lengths.
func TestInclusionAgainstTlog(t *testing.T) {
	const max = 64
	var stored memHashes
	for i := range max {
		hs, err := tlog.StoredHashes(int64(i), logEntry(i), stored)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, hs...)
	}
	type want struct {
		ok   bool
		what string
	}
	var calls []call
	var wants []want
	add := func(ok bool, what string, fn string, args ...any) {
		calls = append(calls, call{Fn: fn, Args: args})
		wants = append(wants, want{ok, what})
	}
	for n := int64(1); n <= max; n++ {
		root, err := tlog.TreeHash(n, stored)
		if err != nil {
			t.Fatal(err)
		}
		cp := checkpointArg(n, root[:])
		for i := int64(0); i < n; i++ {
			p, err := tlog.ProveRecord(n, i, stored)
			if err != nil {
				t.Fatal(err)
			}
			if err := tlog.CheckRecord(p, n, root, i, tlog.RecordHash(logEntry(int(i)))); err != nil {
				t.Fatal(err)
			}
			what := fmt.Sprintf("entry %d of %d", i, n)
			add(true, what, "verifyInclusion", b64(logEntry(int(i))), i, b64s(p), cp)
			calls = append(calls, call{Fn: "proofLength", Args: []any{i, n}})
			wants = append(wants, want{ok: true, what: what + ": proof length " + strconv.Itoa(len(p))})
			if n > 1 {
				add(false, what+" with the proof of entry "+strconv.FormatInt((i+1)%n, 10), "verifyInclusion",
					b64(logEntry(int((i+1)%n))), (i+1)%n, b64s(p), cp)
				bad := append([]tlog.Hash(nil), p...)
				bad[int(i)%len(bad)][31] ^= 1
				add(false, what+" with a flipped proof hash", "verifyInclusion", b64(logEntry(int(i))), i, b64s(bad), cp)
			}
			if n > 1 && (i == 0 || i == n/2 || i == n-1) { // the first, middle and last suffice here
				add(false, what+" with other bytes", "verifyInclusion", b64(logEntry(int(i)+1000)), i, b64s(p), cp)
				add(false, what+" with a short proof", "verifyInclusion", b64(logEntry(int(i))), i, b64s(p[:len(p)-1]), cp)
				add(false, what+" with a proof too long", "verifyInclusion", b64(logEntry(int(i))), i, b64s(append(p, root)), cp)
			}
		}
		add(false, fmt.Sprintf("entry %d of %d (past the end)", n, n), "verifyInclusion", b64(logEntry(int(n))), n, []string{}, cp)
	}
	raw := runCalls(t, calls)
	for k, r := range raw {
		w := wants[k]
		if calls[k].Fn == "proofLength" {
			if got, want := string(r), w.what[strings.LastIndex(w.what, " ")+1:]; got != want {
				t.Errorf("%s: JS proofLength %s", w.what, got)
			}
			continue
		}
		var res result
		if err := json.Unmarshal(r, &res); err != nil || res.Threw != "" {
			t.Fatalf("%s: %s (%v)", w.what, r, err)
		}
		if res.OK != w.ok {
			t.Errorf("%s: ok=%v (%s), want ok=%v", w.what, res.OK, res.Reason, w.ok)
		}
		if !res.OK && res.Reason == "" {
			t.Errorf("%s: failed with no reason", w.what)
		}
	}
	t.Logf("%d calls", len(calls))
}

// Sizes and indexes past 2^32 and 2^53 work as BigInts and decimal
// strings, and a Number past 2^53, which JSON would round, is refused.
// The proofs are random hashes whose root the transparency-dev merkle
// package computes: an RFC 6962 implementation independent of tlog's.
func TestInclusionBigTrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	type tc struct {
		index, size uint64
	}
	cases := []tc{
		{0, 1<<32 + 1}, {1 << 32, 1<<32 + 1}, {1<<32 - 1, 1 << 33}, {12345, 1<<53 - 1},
		{1<<53 - 2, 1<<53 - 1}, {1<<53 + 5, 1<<53 + 9}, {1<<62 - 1, 1 << 62}, {3, 1 << 62},
	}
	var calls []call
	var names []string
	var wantOK []bool
	for _, c := range cases {
		leaf := sha256.Sum256(fmt.Appendf(nil, "leaf %d", c.index))
		inner := bits.Len64(c.index ^ (c.size - 1))
		border := bits.OnesCount64(c.index >> uint(inner))
		p := make([][]byte, inner+border)
		for k := range p {
			p[k] = make([]byte, 32)
			for j := range p[k] {
				p[k][j] = byte(rng.Uint32())
			}
		}
		root, err := proof.RootFromInclusionProof(rfc6962.DefaultHasher, c.index, c.size, leaf[:], p)
		if err != nil {
			t.Fatal(err)
		}
		hs := make([]tlog.Hash, len(p))
		for k := range p {
			copy(hs[k][:], p[k])
		}
		if err := tlog.CheckRecord(hs, int64(c.size), tlog.Hash(root), int64(c.index), leaf); err != nil {
			t.Fatalf("tlog rejects the merkle package's proof: %v", err)
		}
		idx, size := strconv.FormatUint(c.index, 10), strconv.FormatUint(c.size, 10)
		name := fmt.Sprintf("entry %s of %s", idx, size)
		cp := checkpointArg(bigint(size), root)
		calls = append(calls, call{Fn: "verifyInclusionHash", Args: []any{b64(leaf[:]), idx, b64s(hs), cp}})
		names, wantOK = append(names, name+" (index as a decimal string)"), append(wantOK, true)
		calls = append(calls, call{Fn: "verifyInclusionHash", Args: []any{b64(leaf[:]), bigint(idx), b64s(hs), cp}})
		names, wantOK = append(names, name+" (index as a BigInt)"), append(wantOK, true)
		if c.index < 1<<53 {
			calls = append(calls, call{Fn: "verifyInclusionHash", Args: []any{b64(leaf[:]), c.index, b64s(hs), cp}})
			names, wantOK = append(names, name+" (index as a Number)"), append(wantOK, true)
		} else {
			calls = append(calls, call{Fn: "verifyInclusionHash", Args: []any{b64(leaf[:]), c.index, b64s(hs), cp}})
			names, wantOK = append(names, name+" (index as an unsafe Number)"), append(wantOK, false)
		}
		hs[len(hs)-1][0] ^= 0x80
		calls = append(calls, call{Fn: "verifyInclusionHash", Args: []any{b64(leaf[:]), idx, b64s(hs), cp}})
		names, wantOK = append(names, name+" with its last proof hash flipped"), append(wantOK, false)
	}
	for k, r := range results(t, runCalls(t, calls)) {
		if r.OK != wantOK[k] {
			t.Errorf("%s: ok=%v (%s), want %v", names[k], r.OK, r.Reason, wantOK[k])
		}
		if !wantOK[k] && k%4 == 2 && !strings.Contains(r.Reason, "past 2^53") {
			t.Errorf("%s: reason %q, want it to say the Number is past 2^53", names[k], r.Reason)
		}
	}
}
