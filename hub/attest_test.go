package hub_test

// Evaluation attestations through the real hub over gRPC: accepted,
// listed, returned with the release, kept by a pull and checked offline,
// checked from the log alone by an auditor; and refused, with the reason,
// leaving no trace in the log.

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/hub"
	"github.com/potluck-hub/potluck/node"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
	"github.com/potluck-hub/potluck/signing"
	"github.com/potluck-hub/potluck/translog"
)

// released is a hub holding a tiny base and lab-a's delta of it.
type released struct {
	hs          *harness
	m           models
	base, delta *potluck.Release
	deltaDir    string
}

func releaseTiny(t *testing.T, hs *harness, c *node.Client) *released {
	t.Helper()
	r := &released{hs: hs, m: tinyModels(t, hs.dir), deltaDir: filepath.Join(hs.dir, "delta-a")}
	ctx := context.Background()
	p, err := c.PublishBase(ctx, hs.keyA, r.m.base, node.UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r.base = p.Release
	p, err = c.PublishDelta(ctx, hs.keyA, node.DeltaOptions{BaseDir: r.m.base, FinetunedDir: r.m.ftA, OutDir: r.deltaDir, BaseCID: r.base.CID}, node.UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r.delta = p.Release
	return r
}

var mmlu = potluck.Evaluation{Task: "mmlu", Metric: "accuracy", Value: 0.634,
	DatasetDigest: "sha256:" + strings.Repeat("ab", 32), Details: json.RawMessage(`{"shots": 5, "note": "a<b & c>d"}`)}

// logSize is how many entries the hub's log holds.
func (hs *harness) logSize() int64 {
	hs.t.Helper()
	resp, err := hs.raw.GetCheckpoint(context.Background(), &hubv1.GetCheckpointRequest{})
	if err != nil {
		hs.t.Fatal(err)
	}
	lines := strings.Split(string(resp.GetCheckpoint()), "\n")
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		hs.t.Fatal(err)
	}
	return n
}

// allEntries returns every entry of the hub's log.
func (hs *harness) allEntries() [][]byte {
	hs.t.Helper()
	resp, err := hs.raw.GetEntries(context.Background(), &hubv1.GetEntriesRequest{Start: 0, Count: 1000})
	if err != nil {
		hs.t.Fatal(err)
	}
	return resp.GetEntries()
}

// rootHex is the root digest of a release's files, computed here from its
// file list.
func rootHex(t *testing.T, rel *potluck.Release) string {
	t.Helper()
	r, err := signing.FilesRoot(rel.Files)
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(r[:])
}

// signedStatement signs an evaluation statement written by hand (so that
// it may be wrong in any way), after edit changes its fields.
func signedStatement(t *testing.T, s *signing.Signer, cid, root string, edit func(st map[string]any)) []byte {
	t.Helper()
	st := map[string]any{
		"_type":         potluck.StatementType,
		"subject":       []any{map[string]any{"name": cid, "digest": map[string]string{"sha256": root}}},
		"predicateType": potluck.EvaluationType,
		"predicate":     map[string]any{"task": "mmlu", "metric": "accuracy", "value": 0.5},
	}
	if edit != nil {
		edit(st)
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := signing.SignStatement(s, b)
	if err != nil {
		t.Fatal(err)
	}
	return bundle
}

func TestAttestations(t *testing.T) {
	ctx := context.Background()

	t.Run("Accepted", func(t *testing.T) {
		hs := newHarness(t)
		r := releaseTiny(t, hs, hs.client)
		a, err := hs.client.Attest(ctx, hs.keyA, r.delta.CID, mmlu)
		if err != nil {
			t.Fatal(err)
		}
		if a.Release != r.delta.CID || a.Org != orgA || a.KeyHint != hs.pubA.Hint() || !potluck.SameClaim(a.Claim, mmlu) || a.Receipt == nil {
			t.Fatalf("attestation %+v", a)
		}
		// The log holds the whole bundle, with the claim and who made it.
		entries := hs.allEntries()
		e, err := potluck.ParseEntry(entries[a.Receipt.Index])
		if err != nil {
			t.Fatal(err)
		}
		ae, ok := e.(*potluck.AttestationEntry)
		if !ok || ae.Release != r.delta.CID || ae.Org != orgA || ae.Key != hs.pubA.Hint() || string(ae.Bundle) != string(a.Bundle) || !potluck.SameClaim(ae.Claim, mmlu) {
			t.Fatalf("log entry %d: %+v", a.Receipt.Index, e)
		}
		// Kept with its receipt, where the package doc says.
		var kept potluck.Attestation
		b, err := os.ReadFile(filepath.Join(hs.data, "attestations", r.delta.CID, strconv.FormatInt(a.Receipt.Index, 10)+".json"))
		if err != nil || json.Unmarshal(b, &kept) != nil || kept.Receipt == nil || kept.Receipt.Index != a.Receipt.Index {
			t.Fatalf("kept attestation: %v, %s", err, b)
		}
		// The same bundle again is the same attestation, logged once.
		size := hs.logSize()
		again, err := hs.client.AttestBundle(ctx, a.Bundle)
		if err != nil || again.Receipt.Index != a.Receipt.Index || hs.logSize() != size {
			t.Fatalf("the same bundle again: %+v, %v; log %d → %d entries", again, err, size, hs.logSize())
		}
	})

	t.Run("ListedAndInGetRelease", func(t *testing.T) {
		hs := newHarness(t)
		r := releaseTiny(t, hs, hs.client)
		if _, err := hs.client.Attest(ctx, hs.keyA, r.delta.CID, mmlu); err != nil {
			t.Fatal(err)
		}
		loss := potluck.Evaluation{Task: "lab-b/contracts-qa", Metric: "loss", Value: 1.92}
		if _, err := hs.client.Attest(ctx, hs.keyB, r.delta.CID, loss); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			org, task string
			want      []string
		}{
			{"", "", []string{orgA + " mmlu", orgB + " lab-b/contracts-qa"}},
			{orgB, "", []string{orgB + " lab-b/contracts-qa"}},
			{"", "mmlu", []string{orgA + " mmlu"}},
			{orgA, "lab-b/contracts-qa", nil},
		} {
			as, err := hs.client.Attestations(ctx, r.delta.CID, tc.org, tc.task)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range as {
				got = append(got, a.Org+" "+a.Claim.Task)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("attestations (org %q, task %q): %v, want %v", tc.org, tc.task, got, tc.want)
			}
		}
		resp, err := hs.raw.GetRelease(ctx, &hubv1.GetReleaseRequest{Cid: r.delta.CID})
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.GetAttestations(); len(got) != 2 || got[0].GetOrg() != orgA || got[1].GetClaim().GetMetric() != "loss" || got[1].GetReceipt() == nil {
			t.Errorf("GetRelease's attestations: %v", got)
		}
		if resp, err := hs.raw.GetRelease(ctx, &hubv1.GetReleaseRequest{Cid: r.base.CID}); err != nil || len(resp.GetAttestations()) != 0 {
			t.Errorf("GetRelease of the base, attested by none: %v, %v", resp.GetAttestations(), err)
		}
	})

	t.Run("PulledAndVerifiedOffline", func(t *testing.T) {
		hs := newHarness(t)
		r := releaseTiny(t, hs, hs.client)
		a, err := hs.client.Attest(ctx, hs.keyA, r.delta.CID, mmlu)
		if err != nil {
			t.Fatal(err)
		}
		b, err := hs.client.Attest(ctx, hs.keyB, r.delta.CID, potluck.Evaluation{Task: "gsm8k", Metric: "exact_match", Value: 0.41})
		if err != nil {
			t.Fatal(err)
		}
		info, err := hs.client.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(hs.dir, "pulled")
		p, err := hs.client.Pull(ctx, r.delta.CID, dir, info.TrustedKeys(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Attestations) != 2 || len(p.Untrusted) != 0 {
			t.Fatalf("pull kept %d attestations, left out %d", len(p.Attestations), len(p.Untrusted))
		}
		for _, x := range []*potluck.Attestation{a, b} {
			if _, err := os.Stat(filepath.Join(dir, ".potluck", "attestations", strconv.FormatInt(x.Receipt.Index, 10)+".json")); err != nil {
				t.Fatal(err)
			}
		}
		rep, err := node.VerifyDirWith(dir, info.TrustedKeys(), node.VerifyOptions{LogKey: info.LogKey})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Attestations) != 2 || rep.Attestations[0].Key.Hint() != hs.pubA.Hint() || rep.Attestations[1].Key.Hint() != hs.pubB.Hint() {
			t.Fatalf("verify's attestations: %+v", rep.Attestations)
		}
		// Trusting lab-a alone, lab-b's claim is listed, unchecked.
		rep, err = node.VerifyDir(dir, []*signing.PublicKey{hs.pubA})
		if err != nil || len(rep.Attestations) != 2 || rep.Attestations[1].Key != nil {
			t.Fatalf("verify trusting lab-a only: %+v, %v", rep, err)
		}
		// A kept claim edited after the pull fails, naming the file.
		kept := filepath.Join(dir, ".potluck", "attestations", strconv.FormatInt(a.Receipt.Index, 10)+".json")
		raw, _ := os.ReadFile(kept)
		var edited potluck.Attestation
		if err := json.Unmarshal(raw, &edited); err != nil {
			t.Fatal(err)
		}
		edited.Claim.Value = 0.99
		raw, _ = json.Marshal(edited)
		if err := os.WriteFile(kept, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err = node.VerifyDir(dir, info.TrustedKeys())
		want := dir + ": attestation .potluck/attestations/" + strconv.FormatInt(a.Receipt.Index, 10) + ".json: node: verification failed: " +
			"the attestation's fields (release " + r.delta.CID + ", key " + hs.pubA.Hint() + ", mmlu accuracy 0.99) are not what its signed statement says"
		if err == nil || err.Error() != want {
			t.Errorf("verify of an edited claim:\n got %v\nwant %s", err, want)
		}
	})

	t.Run("AuditorFromTheLogAlone", func(t *testing.T) {
		hs := newHarness(t)
		r := releaseTiny(t, hs, hs.client)
		a, err := hs.client.Attest(ctx, hs.keyA, r.delta.CID, mmlu)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := hs.client.Attest(ctx, hs.keyB, r.base.CID, potluck.Evaluation{Task: "mmlu", Metric: "accuracy", Value: 0.6}); err != nil {
			t.Fatal(err)
		}
		info, err := hs.client.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		check, err := hs.client.VerifyLog(ctx, filepath.Join(hs.dir, "log-state.json"), info.LogKey)
		if err != nil {
			t.Fatal(err)
		}
		got, err := hs.client.AuditAttestations(ctx, check.New)
		if err != nil || len(got) != 2 || got[0].Index != a.Receipt.Index || got[1].Entry.Org != orgB {
			t.Fatalf("audit of the hub's log: %+v, %v", got, err)
		}

		// A copy of the log whose holder (the hub's key in hand) forged the
		// claim inside lab-a's bundle and re-signed the checkpoint: the tree
		// checks out, the attestation does not.
		entries := hs.allEntries()
		var e map[string]any
		if err := json.Unmarshal(entries[a.Receipt.Index], &e); err != nil {
			t.Fatal(err)
		}
		e["bundle"] = forgeClaim(t, a.Bundle, 0.99)
		e["claim"].(map[string]any)["value"] = 0.99
		entries[a.Receipt.Index], _ = json.Marshal(e)
		copied := copyLog(t, hs, entries)
		_, err = node.CheckLoggedAttestations(copied)
		want := "node: verification failed: log entry " + strconv.FormatInt(a.Receipt.Index, 10) + ": attestation by \"lab-a\": verify statement: signing: signature does not verify with the key it names (hint " + hs.pubA.Hint() + ")"
		if err == nil || err.Error() != want {
			t.Errorf("audit of the forged copy:\n got %v\nwant %s", err, want)
		}

		// An entry whose fields disagree with its (intact) bundle.
		if err := json.Unmarshal(hs.allEntries()[a.Receipt.Index], &e); err != nil {
			t.Fatal(err)
		}
		e["claim"].(map[string]any)["value"] = 0.99
		entries = hs.allEntries()
		entries[a.Receipt.Index], _ = json.Marshal(e)
		_, err = node.CheckLoggedAttestations(copyLog(t, hs, entries))
		want = "node: verification failed: log entry " + strconv.FormatInt(a.Receipt.Index, 10) + ": the entry claims mmlu accuracy 0.99, its signed statement mmlu accuracy 0.634"
		if err == nil || err.Error() != want {
			t.Errorf("audit of an entry edited beside its bundle:\n got %v\nwant %s", err, want)
		}
	})
}

// forgeClaim rewrites the value inside a bundle's signed statement,
// leaving the signature as it was.
func forgeClaim(t *testing.T, bundle []byte, value float64) []byte {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal(bundle, &b); err != nil {
		t.Fatal(err)
	}
	env := b["dsseEnvelope"].(map[string]any)
	payload, err := base64.StdEncoding.DecodeString(env["payload"].(string))
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(payload, &st); err != nil {
		t.Fatal(err)
	}
	st["predicate"].(map[string]any)["value"] = value
	payload, _ = json.Marshal(st)
	env["payload"] = base64.StdEncoding.EncodeToString(payload)
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// copyLog writes entries into a new log signed with the hub's own log key
// and reads them back, checking the copy's checkpoint as an auditor would:
// the copy is a log the key holder could serve.
func copyLog(t *testing.T, hs *harness, entries [][]byte) [][]byte {
	t.Helper()
	skey, err := os.ReadFile(filepath.Join(hs.data, "log.key"))
	if err != nil {
		t.Fatal(err)
	}
	info, err := hs.client.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	l, err := translog.Open(t.TempDir(), info.LogOrigin, string(skey))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, e := range entries {
		if _, err := l.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	v, err := translog.NewVerifier(info.LogKey)
	if err != nil {
		t.Fatal(err)
	}
	if cp, err := translog.ParseCheckpoint(l.Checkpoint(), info.LogOrigin, v); err != nil || cp.Size != int64(len(entries)) {
		t.Fatalf("the copy's checkpoint: %v, %v", cp, err)
	}
	out := make([][]byte, len(entries))
	for i := range entries {
		if out[i], err = l.Entry(int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestAttestRefused(t *testing.T) {
	ctx := context.Background()
	// refused sends bundle and checks the code and the whole message, and
	// that nothing was logged or kept.
	refused := func(t *testing.T, hs *harness, c *node.Client, bundle []byte, code codes.Code, want string) {
		t.Helper()
		size := hs.logSize()
		_, err := c.AttestBundle(ctx, bundle)
		if err == nil {
			t.Fatal("accepted")
		}
		st := grpcStatus(t, err)
		if st.Code() != code || st.Message() != want {
			t.Errorf("refusal: %v %q\nwant      %v %q", st.Code(), st.Message(), code, want)
		}
		if hs.logSize() != size {
			t.Errorf("the refusal was logged: %d entries, %d before", hs.logSize(), size)
		}
		if ents, _ := os.ReadDir(filepath.Join(hs.data, "attestations")); len(ents) != 0 {
			t.Errorf("the refusal left attestations: %v", ents)
		}
	}

	t.Run("AnotherOrgsKey", func(t *testing.T) {
		hs, tokA, _, _ := tokenHarness(t, hub.Access{RequireToken: true})
		a := hs.as(tokA)
		r := releaseTiny(t, hs, a)
		bundle := signedStatement(t, hs.keyB, r.delta.CID, rootHex(t, r.delta), nil)
		refused(t, hs, a, bundle, codes.PermissionDenied, `hub: forbidden: attest: signed by key `+hs.pubB.Hint()+` of "lab-b", but the caller authenticated as "lab-a": sign with a key of your own org`)
	})

	t.Run("OutsidersKey", func(t *testing.T) {
		hs := newHarness(t)
		r := releaseTiny(t, hs, hs.client)
		bundle := signedStatement(t, hs.keyX, r.delta.CID, rootHex(t, r.delta), nil)
		refused(t, hs, hs.client, bundle, codes.PermissionDenied, "attest: the statement is signed by no member key of this hub: verify statement: "+
			"signing: no trusted key made this signature (2 trusted keys tried; bundle's key hint: "+hs.pubX.Hint()+")")
	})

	t.Run("KeyOutsideItsWindow", func(t *testing.T) {
		hs := newHarness(t)
		r := releaseTiny(t, hs, hs.client)
		hs.rewriteMembers("        not_after: 2020-01-01T00:00:00Z\n", "")
		bundle := signedStatement(t, hs.keyA, r.delta.CID, rootHex(t, r.delta), nil)
		size := hs.logSize()
		_, err := hs.client.AttestBundle(ctx, bundle)
		st := grpcStatus(t, err)
		want := `attest: hub: key not valid: key ` + hs.pubA.Hint() + ` of "lab-a" was outside its validity window (expired at 2020-01-01T00:00:00Z, before `
		if st.Code() != codes.PermissionDenied || !strings.HasPrefix(st.Message(), want) {
			t.Errorf("refusal: %v %q, want PermissionDenied %q…", st.Code(), st.Message(), want)
		}
		if hs.logSize() != size {
			t.Error("the refusal was logged")
		}
	})

	t.Run("UnknownRelease", func(t *testing.T) {
		hs := newHarness(t)
		r := releaseTiny(t, hs, hs.client)
		other := dirCID(t, r.m.ftB) // a model the hub never saw
		bundle := signedStatement(t, hs.keyA, other, rootHex(t, r.delta), nil)
		refused(t, hs, hs.client, bundle, codes.NotFound, "hub: not found: attest: release "+other+" is not on this hub; check the CID")
	})

	t.Run("SubjectDigestMismatch", func(t *testing.T) {
		hs := newHarness(t)
		r := releaseTiny(t, hs, hs.client)
		wrong := rootHex(t, r.base)
		bundle := signedStatement(t, hs.keyA, r.delta.CID, wrong, nil)
		refused(t, hs, hs.client, bundle, codes.InvalidArgument, "hub: rejected: attest: the statement names release "+r.delta.CID+" with root sha256 "+wrong+
			", but its files have root sha256 "+rootHex(t, r.delta)+" (compute the digest over the release's files as the hub lists them)")
	})

	t.Run("BadMetric", func(t *testing.T) {
		hs := newHarness(t)
		r := releaseTiny(t, hs, hs.client)
		bundle := signedStatement(t, hs.keyA, r.delta.CID, rootHex(t, r.delta), func(st map[string]any) {
			st["predicate"].(map[string]any)["metric"] = "acc uracy"
		})
		refused(t, hs, hs.client, bundle, codes.InvalidArgument, `hub: rejected: attest: potluck: bad evaluation statement: evaluation: metric "acc uracy": `+
			`want 1 to 128 letters, digits or ._:/+- starting with a letter or digit`)
	})

	t.Run("NotAnEvaluation", func(t *testing.T) {
		hs := newHarness(t)
		r := releaseTiny(t, hs, hs.client)
		bundle := signedStatement(t, hs.keyA, r.delta.CID, rootHex(t, r.delta), func(st map[string]any) {
			st["predicateType"] = potluck.ProvenanceType
		})
		refused(t, hs, hs.client, bundle, codes.InvalidArgument, `hub: rejected: attest: potluck: bad evaluation statement: predicate type "`+
			potluck.ProvenanceType+`", want "`+potluck.EvaluationType+`"`)
	})
}
