package translog

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

const origin = "potluck.test/log"

func newLog(t *testing.T, dir string) (*Log, string) {
	t.Helper()
	skey, vkey, err := GenerateKey("potluck-test")
	if err != nil {
		t.Fatal(err)
	}
	l, err := Open(dir, origin, skey)
	if err != nil {
		t.Fatal(err)
	}
	if l.VerifierKey() != vkey {
		t.Fatalf("derived verifier key %q, generated %q", l.VerifierKey(), vkey)
	}
	t.Cleanup(func() { l.Close() })
	return l, skey
}

// rfc6962 computes a tree's root hash straight from RFC 6962 §2.1, with no
// stored hashes: the independent reference for the log's checkpoints.
func rfc6962(entries [][]byte) [32]byte {
	switch len(entries) {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return sha256.Sum256(append([]byte{0}, entries[0]...))
	}
	k := 1
	for k*2 < len(entries) {
		k *= 2
	}
	l, r := rfc6962(entries[:k]), rfc6962(entries[k:])
	return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
}

func entry(i int) []byte { return []byte(fmt.Sprintf(`{"kind":"publication","n":%d}`, i)) }

func parse(t *testing.T, l *Log, cp []byte) *Checkpoint {
	t.Helper()
	v, err := NewVerifier(l.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseCheckpoint(cp, origin, v)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAppendReceiptsAndRoots(t *testing.T) {
	l, _ := newLog(t, t.TempDir())
	if c := parse(t, l, l.Checkpoint()); c.Size != 0 || c.Hash != rfc6962(nil) {
		t.Fatalf("empty log checkpoint %+v", c)
	}
	var all [][]byte
	for i := 0; i < 21; i++ {
		all = append(all, entry(i))
		r, err := l.Append(entry(i))
		if err != nil {
			t.Fatal(err)
		}
		c := parse(t, l, r.Checkpoint)
		if r.Index != int64(i) || c.Size != int64(i+1) {
			t.Fatalf("receipt %d: index %d, checkpoint size %d", i, r.Index, c.Size)
		}
		if c.Hash != rfc6962(all) {
			t.Fatalf("size %d: root %x, RFC 6962 gives %x", i+1, c.Hash, rfc6962(all))
		}
		if err := VerifyInclusion(entry(i), r.Index, r.Proof, c); err != nil {
			t.Fatal(err)
		}
		if err := VerifyInclusion(entry(i+1), r.Index, r.Proof, c); !errors.Is(err, ErrVerify) {
			t.Fatalf("proof accepted for other bytes: %v", err)
		}
	}
	got, err := l.Entry(7)
	if err != nil || string(got) != string(entry(7)) {
		t.Fatalf("entry 7: %q %v", got, err)
	}
	if _, err := l.Entry(21); !errors.Is(err, ErrNotFound) {
		t.Fatalf("entry past the end: %v", err)
	}
}

func TestProofsAgainstOlderTrees(t *testing.T) {
	l, _ := newLog(t, t.TempDir())
	var cps []*Checkpoint
	for i := 0; i < 13; i++ {
		r, err := l.Append(entry(i))
		if err != nil {
			t.Fatal(err)
		}
		cps = append(cps, parse(t, l, r.Checkpoint))
	}
	for m := 1; m <= 13; m++ {
		for n := m; n <= 13; n++ {
			p, err := l.ConsistencyProof(int64(m), int64(n))
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifyConsistency(cps[m-1], cps[n-1], p); err != nil {
				t.Fatalf("consistency %d→%d: %v", m, n, err)
			}
		}
	}
	p, _ := l.InclusionProof(3, 9)
	if err := VerifyInclusion(entry(3), 3, p, cps[8]); err != nil {
		t.Fatal(err)
	}
	if err := VerifyInclusion(entry(3), 3, p, cps[12]); !errors.Is(err, ErrVerify) {
		t.Fatalf("an inclusion proof for another tree was accepted: %v", err)
	}
}

// A hub that rewrote an entry, forked, or shrank its log is caught by an
// auditor holding an old checkpoint.
func TestRewrittenLogIsCaught(t *testing.T) {
	dirA, dirB := t.TempDir(), t.TempDir()
	a, skey := newLog(t, dirA)
	b, err := Open(dirB, origin, skey) // the same key: the hub itself lies
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for i := 0; i < 6; i++ {
		a.Append(entry(i))
		e := entry(i)
		if i == 2 {
			e = []byte(`{"kind":"publication","n":"rewritten"}`)
		}
		b.Append(e)
	}
	old := parse(t, a, a.Checkpoint())
	for i := 6; i < 9; i++ {
		b.Append(entry(i))
	}
	newer := parse(t, b, b.Checkpoint())
	p, err := b.ConsistencyProof(6, 9)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyConsistency(old, newer, p); !errors.Is(err, ErrVerify) {
		t.Fatalf("rewritten log accepted: %v", err)
	}
	forked := parse(t, b, mustCheckpointAt(t, b, 6))
	if err := VerifyConsistency(old, forked, nil); !errors.Is(err, ErrVerify) {
		t.Fatalf("fork at the same size accepted: %v", err)
	}
	shrunk := &Checkpoint{Origin: origin, Size: 3, Hash: old.Hash}
	if err := VerifyConsistency(old, shrunk, nil); !errors.Is(err, ErrVerify) {
		t.Fatalf("shrunk log accepted: %v", err)
	}
}

// mustCheckpointAt re-signs a checkpoint for an older size of l, as a lying
// hub could.
func mustCheckpointAt(t *testing.T, l *Log, size int64) []byte {
	t.Helper()
	cur := l.size
	if err := l.commit(size); err != nil {
		t.Fatal(err)
	}
	cp := l.cp
	if err := l.commit(cur); err != nil {
		t.Fatal(err)
	}
	return cp
}

func TestCheckpointSignature(t *testing.T) {
	l, _ := newLog(t, t.TempDir())
	l.Append(entry(0))
	cp := append([]byte(nil), l.Checkpoint()...)
	v, _ := NewVerifier(l.VerifierKey())
	cp[len(origin)+3] ^= 1 // inside the size/hash lines
	if _, err := ParseCheckpoint(cp, origin, v); !errors.Is(err, ErrVerify) {
		t.Fatalf("altered checkpoint accepted: %v", err)
	}
	_, other, _ := GenerateKey("potluck-test")
	ov, _ := NewVerifier(other)
	if _, err := ParseCheckpoint(l.Checkpoint(), origin, ov); !errors.Is(err, ErrVerify) {
		t.Fatalf("checkpoint accepted under another key: %v", err)
	}
	if _, err := ParseCheckpoint(l.Checkpoint(), "other.origin", v); !errors.Is(err, ErrVerify) {
		t.Fatalf("checkpoint accepted for another origin: %v", err)
	}
}

// The log survives a restart, and bytes appended after the last checkpoint
// (a crash mid-append) are cut off rather than served.
func TestReopenAndCrashRecovery(t *testing.T) {
	dir := t.TempDir()
	l, skey := newLog(t, dir)
	for i := 0; i < 5; i++ {
		l.Append(entry(i))
	}
	want := l.Checkpoint()
	l.Close()
	f, _ := os.OpenFile(filepath.Join(dir, "entries"), os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte{40, 'h', 'a', 'l', 'f'})
	f.Close()
	l2, err := Open(dir, origin, skey)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if l2.Size() != 5 || string(l2.Checkpoint()) != string(want) {
		t.Fatalf("reopened: size %d", l2.Size())
	}
	r, err := l2.Append(entry(5))
	if err != nil {
		t.Fatal(err)
	}
	var all [][]byte
	for i := 0; i <= 5; i++ {
		all = append(all, entry(i))
	}
	if c := parse(t, l2, r.Checkpoint); c.Hash != rfc6962(all) {
		t.Fatal("root after recovery differs from RFC 6962")
	}
	if got, _ := l2.Entry(5); string(got) != string(entry(5)) {
		t.Fatalf("entry 5 after recovery: %q", got)
	}
}
