package node

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestLineProgress(t *testing.T) {
	var buf bytes.Buffer
	at := time.Unix(0, 0)
	p := lineProgress(&buf, "sent", func() time.Time { return at })
	p(0, 100e6)
	for _, done := range []int64{5e6, 10e6, 12e6, 50e6, 100e6} {
		at = at.Add(time.Second)
		p(done, 100e6)
	}
	want := []string{
		"  sent 10000000/100000000 bytes (10%), 5.0 MB/s, ETA 18s",
		"  sent 50000000/100000000 bytes (50%), 12.5 MB/s, ETA 4s",
		"  sent 100000000/100000000 bytes (100%), 20.0 MB/s",
	}
	if got := buf.String(); got != strings.Join(want, "\n")+"\n" {
		t.Errorf("lines:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

func TestProgressQuietAndNotATerminal(t *testing.T) {
	if NewProgress(&bytes.Buffer{}, "sent", true) != nil {
		t.Error("quiet progress reports")
	}
	var buf bytes.Buffer
	NewProgress(&buf, "sent", false)(10, 10)
	if !strings.HasPrefix(buf.String(), "  sent 10/10 bytes (100%)") {
		t.Errorf("a buffer got %q, want a plain line", buf.String())
	}
}
