package web_test

import (
	"crypto/elliptic"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck/signing"
	"golang.org/x/mod/sumdb/tlog"
)

// Every check resolves to a failed result with a reason on input of the
// wrong shape; none throws.
func TestMalformedInputFailsWithAReason(t *testing.T) {
	calls := []call{
		{"verifyRelease", []any{nil}},
		{"verifyRelease", []any{42}},
		{"verifyRelease", []any{"{not json"}},
		{"verifyRelease", []any{map[string]any{}}},
		{"verifyRelease", []any{map[string]any{"release": map[string]any{"bundle": 7, "receipt": map[string]any{"proof": "x"}}}}},
		{"verifyRelease", []any{map[string]any{"release": map[string]any{"files": "x", "receipt": []any{}}, "publisher_key": 1}}},
		{"verifyBundle", []any{nil, nil}},
		{"verifyBundle", []any{"[]", "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n"}},
		{"verifyBundle", []any{`{"mediaType":"` + bundleType + `","dsseEnvelope":{"payload":"e30=","payloadType":"` + inTotoType + `","signatures":[null]}}`, "x"}},
		{"checkFiles", []any{nil, nil}},
		{"checkFiles", []any{map[string]any{"subject": "x", "predicate": map[string]any{"resources": []any{nil}}}, []any{}}},
		{"checkFiles", []any{map[string]any{"predicate": map[string]any{"resources": []any{map[string]any{"name": 5}}}}, nil}},
		{"verifyCheckpoint", []any{nil, nil, nil}},
		{"verifyCheckpoint", []any{"x\n\n— a AAAA\n", "a+00000000+AQ==", "o"}},
		{"verifyCheckpoint", []any{b64{0xff, 0xfe}, "k", "o"}},
		{"verifyInclusion", []any{nil, nil, nil, nil}},
		{"verifyInclusion", []any{"e", -1, []any{}, map[string]any{"size": 1, "rootHash": b64(make([]byte, 32))}}},
		{"verifyInclusion", []any{"e", 0.5, []any{}, map[string]any{"size": 1, "rootHash": b64(make([]byte, 32))}}},
		{"verifyInclusion", []any{"e", 0, []any{nil}, map[string]any{"size": 2, "rootHash": b64(make([]byte, 32))}}},
		{"verifyInclusion", []any{"e", 0, "AAAA", map[string]any{"size": "2", "rootHash": b64(make([]byte, 31))}}},
		{"verifyInclusionHash", []any{nil, 0, []any{}, map[string]any{"size": 1, "rootHash": b64(make([]byte, 32))}}},
	}
	raw := runCalls(t, calls)
	for i, r := range results(t, raw) {
		if calls[i].Fn == "verifyRelease" {
			var rel struct {
				OK     bool
				Checks []result
			}
			json.Unmarshal(raw[i], &rel)
			if rel.OK || len(rel.Checks) != 5 {
				t.Errorf("verifyRelease%v = %s, want five failed checks", calls[i].Args, raw[i])
			}
			for _, c := range rel.Checks {
				if strings.Contains(c.Reason, "internal error") {
					t.Errorf("verifyRelease%v: %s", calls[i].Args, c.Reason)
				}
				if c.OK || c.Reason == "" {
					t.Errorf("verifyRelease%v: a check ok=%v reason %q, want a failure with a reason", calls[i].Args, c.OK, c.Reason)
				}
			}
			continue
		}
		if r.OK || r.Reason == "" || strings.Contains(r.Reason, "internal error") {
			t.Errorf("%s%v: ok=%v reason %q, want a failure with a reason", calls[i].Fn, calls[i].Args, r.OK, r.Reason)
		}
		if testing.Verbose() {
			t.Logf("%s: %s", calls[i].Fn, r.Reason)
		}
	}
}

// checkFiles names each differing file, up to ten, then counts the rest.
func TestCheckFilesReasons(t *testing.T) {
	var rs []resource
	for i := range 15 {
		rs = append(rs, res(fmt.Sprintf("shard-%02d", i), fmt.Sprint(i)))
	}
	var st any
	json.Unmarshal(statement(t, rs, nil), &st)
	file := func(r resource) map[string]string { return map[string]string{"path": r.Name, "sha256": r.Digest} }
	var changed []map[string]string
	for _, r := range rs {
		f := file(r)
		f["sha256"] = strings.Repeat("0", 64)
		changed = append(changed, f)
	}
	twice := []map[string]string{file(rs[0]), file(rs[0])}
	badHex := []map[string]string{{"path": rs[0].Name, "sha256": "xyz"}}
	var all []map[string]string
	for _, r := range rs {
		all = append(all, file(r))
	}
	calls := []call{
		{"checkFiles", []any{st, all}},
		{"checkFiles", []any{st, changed}},
		{"checkFiles", []any{st, append(twice, all[1:]...)}},
		{"checkFiles", []any{st, append(badHex, all[1:]...)}},
	}
	want := []string{
		"",
		"file shard-00: sha256 " + rs[0].Digest + " in the statement, " + strings.Repeat("0", 64) + " listed; file shard-01:",
		"file shard-00: listed twice",
		`file shard-00: listed sha256: "xyz" is not 64 hex digits`,
	}
	got := results(t, runCalls(t, calls))
	for i, r := range got {
		if r.OK != (want[i] == "") || !strings.Contains(r.Reason, want[i]) {
			t.Errorf("case %d: ok=%v %q, want %q", i, r.OK, r.Reason, want[i])
		}
	}
	if !strings.HasSuffix(got[1].Reason, "; and 5 more") || strings.Count(got[1].Reason, "file shard") != 10 {
		t.Errorf("15 changed files: %q, want ten named and 5 more", got[1].Reason)
	}
	if strings.Contains(got[3].Reason, "not listed") {
		t.Errorf("a file listed with a bad digest is also called not listed: %q", got[3].Reason)
	}
}

// The helpers agree with the Go they mirror: comparePaths with
// signing.ComparePaths, publicKeyHint with PublicKey.Hint (also for PEM
// with text around it and CRLF lines), recordHash with tlog.RecordHash.
func TestHelpersAgreeWithGo(t *testing.T) {
	paths := []string{"a", "a/b", "a-b", "a.b", "ab", "a/b/c", "a/", "b", "B", "é", "z", "日本/語", "\U0001F600", "\uFFFD", "a b"}
	var calls []call
	type pair struct{ a, b string }
	var pairs []pair
	for _, a := range paths {
		for _, b := range paths {
			calls = append(calls, call{"comparePaths", []any{a, b}})
			pairs = append(pairs, pair{a, b})
		}
	}
	var hints []string
	for _, curve := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()} {
		pub, err := signing.ParsePublicKey([]byte(newKey(t, curve).pem))
		if err != nil {
			t.Fatal(err)
		}
		wrapped := "Public key for org-a\r\n" + strings.ReplaceAll(string(pub.PEM), "\n", "\r\n") + "trailing text\n"
		for _, p := range []string{string(pub.PEM), wrapped} {
			calls = append(calls, call{"publicKeyHint", []any{p}})
			hints = append(hints, pub.Hint())
		}
	}
	entries := []string{"", "{}", `{"type":"release"}`, strings.Repeat("x", 1000)}
	for _, e := range entries {
		calls = append(calls, call{"recordHash", []any{b64(e)}})
	}
	raw := runCalls(t, calls)
	for i, p := range pairs {
		if got, want := string(raw[i]), fmt.Sprint(signing.ComparePaths(p.a, p.b)); got != want {
			t.Errorf("comparePaths(%q, %q) = %s, Go says %s", p.a, p.b, got, want)
		}
	}
	raw = raw[len(pairs):]
	for i, want := range hints {
		var got string
		if err := json.Unmarshal(raw[i], &got); err != nil || got != want {
			t.Errorf("publicKeyHint %d = %s, Go says %s", i, raw[i], want)
		}
	}
	raw = raw[len(hints):]
	for i, e := range entries {
		h := tlog.RecordHash([]byte(e))
		if got, want := string(raw[i]), fmt.Sprintf("%q", fmt.Sprintf("%x", h[:])); got != want {
			t.Errorf("recordHash(%.20q) = %s, Go says %s", e, got, want)
		}
	}
}
