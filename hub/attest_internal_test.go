package hub

import (
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/potluck-hub/potluck"
)

// bestScores keeps, per task and metric, the best claim: the highest, the
// lowest for losses and error rates, the earlier one on a tie; and names
// the org that claimed it.
func TestBestScores(t *testing.T) {
	dir := t.TempDir()
	members := filepath.Join(dir, "members.yaml")
	if err := os.WriteFile(members, []byte("orgs: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h, err := Open(Options{DataDir: filepath.Join(dir, "data"), MembersFile: members, Plaintext: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	cid := storeRelease(t, h, potluck.KindBase, "", map[string][]byte{"model.safetensors": []byte("weights")})
	if got := h.bestScores(cid); len(got) != 0 {
		t.Fatalf("scores of a release with no attestation: %v", got)
	}
	for i, c := range []struct {
		org, task, metric string
		value             float64
	}{
		{"lab-a", "mmlu", "accuracy", 0.61},
		{"lab-b", "mmlu", "accuracy", 0.64},
		{"lab-c", "mmlu", "accuracy", 0.64}, // a tie: lab-b claimed it first
		{"lab-a", "mmlu", "accuracy", 0.5},
		{"lab-a", "wiki", "val_loss", 2.1},
		{"lab-b", "wiki", "val_loss", 1.9},
		{"lab-c", "wiki", "val_loss", 2.5},
		{"lab-a", "asr", "WER", 0.12},
		{"lab-b", "asr", "WER", 0.15},
		{"lab-b", "qa", "answer_f1", 0.7}, // "answer" ends in "wer": not an error rate
		{"lab-a", "qa", "answer_f1", 0.8},
	} {
		_, err := h.recordAttestation(&potluck.Attestation{Release: cid, Org: c.org, KeyHint: "k",
			Claim: potluck.Evaluation{Task: c.task, Metric: c.metric, Value: c.value}, Bundle: []byte{byte(i)}, Created: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
	}
	want := []potluck.Score{
		{Task: "asr", Metric: "WER", Value: 0.12, Org: "lab-a"},
		{Task: "mmlu", Metric: "accuracy", Value: 0.64, Org: "lab-b"},
		{Task: "qa", Metric: "answer_f1", Value: 0.8, Org: "lab-a"},
		{Task: "wiki", Metric: "val_loss", Value: 1.9, Org: "lab-b"},
	}
	if got := h.bestScores(cid); !reflect.DeepEqual(got, want) {
		t.Errorf("best scores:\n got %v\nwant %v", got, want)
	}
}
