package hub

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/internal/testgen"
	"github.com/potluck-hub/potluck/store"
)

// A session hashes each part as its bytes arrive, once each: a resent
// chunk that overlaps what the session holds feeds the hasher only its new
// bytes, and a session reloaded after a restart has no hasher for a part
// begun before it, so the commit hashes that part in place. Either way the
// staged file's CID and digest are those of the bytes.
func TestSessionHashesPartsAsTheyArrive(t *testing.T) {
	content := testgen.Bytes(41, 3*store.ChunkSize+1000)
	want, err := store.HashFile(bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	// [offset, end) of each chunk sent, in order: overlaps, a chunk wholly
	// held already, uneven sizes.
	chunks := [][2]int{{0, 100}, {50, 300000}, {0, 200}, {300000, 300001}, {299999, 600000}, {600000, len(content)}}
	for _, restartAt := range []int{-1, 3} {
		t.Run(map[int]string{-1: "in step", 3: "reloaded"}[restartAt], func(t *testing.T) {
			dir := t.TempDir()
			now := func() time.Time { return time.Now() }
			ss, err := openSessions(dir, time.Hour, now)
			if err != nil {
				t.Fatal(err)
			}
			up := Upload{Kind: potluck.KindBase, Files: []UploadFile{{Path: "a.bin", Size: int64(len(content))}, {Path: "empty", Size: 0}}}
			s, err := ss.create(up, "", Limits{})
			if err != nil {
				t.Fatal(err)
			}
			for i, c := range chunks {
				if i == restartAt {
					if err := ss.close(); err != nil {
						t.Fatal(err)
					}
					if s, err = ss.get(s.id); err != nil {
						t.Fatal(err)
					}
				}
				if err := s.write(Chunk{File: 0, Offset: int64(c[0]), Data: content[c[0]:c[1]]}, now()); err != nil {
					t.Fatalf("chunk %v: %v", c, err)
				}
			}
			st, err := store.Open(t.TempDir(), store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			s.mu.Lock()
			defer s.mu.Unlock()
			p, h, err := s.complete(0, int64(len(content)))
			if err != nil {
				t.Fatal(err)
			}
			if inStep := restartAt < 0; (h != nil) != inStep {
				t.Fatalf("hasher %v, want one: %v", h != nil, inStep)
			}
			staged, err := st.AddFile(p, h)
			if err != nil {
				t.Fatal(err)
			}
			defer staged.Discard()
			if staged.Info != want {
				t.Errorf("staged %+v, the bytes are %+v", staged.Info, want)
			}
			p, h, err = s.complete(1, 0)
			if err != nil || h != nil {
				t.Fatalf("empty part: hasher %v, %v", h, err)
			}
			empty, err := st.AddFile(p, h)
			if err != nil {
				t.Fatal(err)
			}
			defer empty.Discard()
			if w, _ := store.HashFile(bytes.NewReader(nil)); empty.Info != w {
				t.Errorf("empty part staged as %+v, want %+v", empty.Info, w)
			}
		})
	}
}

// Past checkpointBytes a session records what it holds in the background,
// while the stream goes on: once that checkpoint lands, state.json claims
// at least the bytes held when it began and no more than were written.
func TestSessionCheckpointsBehindTheStream(t *testing.T) {
	const chunk = MaxChunk
	size := int64(2*checkpointBytes + 3*chunk)
	ss, err := openSessions(t.TempDir(), time.Hour, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ss.create(Upload{Kind: potluck.KindBase, Files: []UploadFile{{Path: "a.bin", Size: size}}}, "", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	data := testgen.Bytes(42, chunk)
	var off int64
	for ; off < checkpointBytes+chunk; off += chunk {
		if err := s.write(Chunk{File: 0, Offset: off, Data: data}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	s.mu.Lock()
	err = s.landed()
	s.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	var st sessionState
	if err := readFileJSON(filepath.Join(s.dir, "state.json"), &st); err != nil {
		t.Fatal(err)
	}
	if got := st.Received[0]; got < checkpointBytes || got > off {
		t.Fatalf("state.json claims %d bytes; %d were written, a checkpoint began at %d", got, off, checkpointBytes)
	}
	if fi, err := os.Stat(s.part(0)); err != nil || fi.Size() < st.Received[0] {
		t.Fatalf("part: %v, %v", fi, err)
	}
}

// BenchmarkSessionWrite measures a session taking 256 MiB in 4 MiB chunks:
// the part's writes, its hashing and its checkpoints.
func BenchmarkSessionWrite(b *testing.B) {
	const size = 256 << 20
	data := testgen.Bytes(43, MaxChunk)
	ss, err := openSessions(b.TempDir(), time.Hour, time.Now)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	for b.Loop() {
		s, err := ss.create(Upload{Kind: potluck.KindBase, Files: []UploadFile{{Path: "a.bin", Size: size}}}, "", Limits{SessionsPerOrg: -1, Sessions: -1})
		if err != nil {
			b.Fatal(err)
		}
		for off := int64(0); off < size; off += MaxChunk {
			if err := s.write(Chunk{File: 0, Offset: off, Data: data}, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
		s.mu.Lock()
		ss.drop(s)
		s.mu.Unlock()
	}
}
