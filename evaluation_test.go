package potluck_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck"
)

func TestLowerIsBetter(t *testing.T) {
	for metric, want := range map[string]bool{
		"accuracy": false, "exact_match": false, "f1": false, "answer_f1": false, "bleu": false,
		"loss": true, "val_loss": true, "eval/nllloss": true, "Perplexity": true, "word_error_rate": true,
		"WER": true, "cer": true, "MAE": true, "mse": true, "rmse": true, "error": true,
	} {
		if got := potluck.LowerIsBetter(metric); got != want {
			t.Errorf("LowerIsBetter(%q) = %v, want %v", metric, got, want)
		}
	}
}

func TestEvaluationStatement(t *testing.T) {
	root := strings.Repeat("0f", 32)
	e := potluck.Evaluation{Task: "mmlu", Metric: "accuracy", Value: 0.5, Details: json.RawMessage("{\n  \"shots\": 5\n}")}
	b, err := potluck.NewEvaluationStatement("bafyrelease", root, e)
	if err != nil {
		t.Fatal(err)
	}
	st, err := potluck.ParseEvaluationStatement(b)
	if err != nil || st.Release() != "bafyrelease" || st.Root() != root || !potluck.SameClaim(st.Predicate, e) || string(st.Predicate.Details) != `{"shots":5}` {
		t.Fatalf("round trip: %+v, %v", st, err)
	}
	for _, tc := range []struct {
		name, from, to, want string
	}{
		{"two subjects", `"subject":[`, `"subject":[{"name":"x","digest":{"sha256":"` + root + `"}},`, "2 subjects, want one: the release"},
		{"unknown predicate field", `"task"`, `"tusk":1,"task"`, `predicate: json: unknown field "tusk"`},
		{"digest not hex", root, strings.ToUpper(root), "subject digest map[sha256:" + strings.ToUpper(root) + "]"},
		{"type", potluck.StatementType, "https://in-toto.io/Statement/v0.1", `_type "https://in-toto.io/Statement/v0.1"`},
		{"value", `"value":0.5`, `"value":"high"`, "predicate: json: cannot unmarshal string"},
	} {
		_, err := potluck.ParseEvaluationStatement([]byte(strings.Replace(string(b), tc.from, tc.to, 1)))
		if !errors.Is(err, potluck.ErrEvaluation) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	// A log entry re-encodes the details (escaping <>&): the same claim.
	withHTML := potluck.Evaluation{Task: "qa", Metric: "f1", Value: 0.5, Details: json.RawMessage(`{"b": "<a&b>", "a": 1.50}`)}
	entry, err := potluck.EncodeEntry(&potluck.AttestationEntry{Claim: withHTML})
	if err != nil {
		t.Fatal(err)
	}
	logged, err := potluck.ParseEntry(entry)
	if err != nil {
		t.Fatal(err)
	}
	if got := logged.(*potluck.AttestationEntry).Claim; !potluck.SameClaim(got, withHTML) || string(got.Details) == string(withHTML.Details) {
		t.Errorf("details %s as logged are not the claim's %s", got.Details, withHTML.Details)
	}
	if potluck.SameClaim(withHTML, potluck.Evaluation{Task: "qa", Metric: "f1", Value: 0.5, Details: json.RawMessage(`{"b": "<a&b>", "a": 1.5}`)}) {
		t.Error("1.50 and 1.5 in details taken for the same claim (numbers are compared as written)")
	}
	if _, err := potluck.NewEvaluationStatement("bafyrelease", root, potluck.Evaluation{Task: "mmlu", Metric: "accuracy", Value: 0, DatasetDigest: "md5:00"}); err == nil {
		t.Error("a statement with a bad dataset digest was made")
	}
}
