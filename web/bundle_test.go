package web_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck/signing"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

const (
	bundleType    = "application/vnd.dev.sigstore.bundle.v0.3+json"
	inTotoType    = "application/vnd.in-toto+json"
	statementType = "https://in-toto.io/Statement/v1"
	predicateType = "https://model_signing/signature/v1.0"
)

// key is an ECDSA key with the hash signing pairs with its curve.
type key struct {
	priv *ecdsa.PrivateKey
	hash crypto.Hash
	pem  string
}

func newKey(t *testing.T, curve elliptic.Curve) *key {
	t.Helper()
	priv, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	hash := map[int]crypto.Hash{256: crypto.SHA256, 384: crypto.SHA384, 521: crypto.SHA512}[curve.Params().BitSize]
	return &key{priv, hash, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))}
}

// sign makes an ASN.1 signature over DSSE's encoding of payload.
func (k *key) sign(t *testing.T, typ string, payload []byte) []byte {
	t.Helper()
	h := k.hash.New()
	fmt.Fprintf(h, "DSSEv1 %d %s %d ", len(typ), typ, len(payload))
	h.Write(payload)
	sig, err := ecdsa.SignASN1(rand.Reader, k.priv, h.Sum(nil))
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// envelope is a bundle's JSON, built by hand so cases can break any part.
type envelope struct {
	MediaType    string `json:"mediaType"`
	DSSEEnvelope struct {
		Payload     []byte `json:"payload"`
		PayloadType string `json:"payloadType"`
		Signatures  []sig  `json:"signatures"`
	} `json:"dsseEnvelope"`
}

type sig struct {
	Sig string `json:"sig"`
}

func bundleOf(t *testing.T, mediaType, typ string, payload []byte, sigs ...string) []byte {
	t.Helper()
	var e envelope
	e.MediaType = mediaType
	e.DSSEEnvelope.Payload, e.DSSEEnvelope.PayloadType = payload, typ
	e.DSSEEnvelope.Signatures = []sig{}
	for _, s := range sigs {
		e.DSSEEnvelope.Signatures = append(e.DSSEEnvelope.Signatures, sig{s})
	}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type resource struct {
	Algorithm string `json:"algorithm"`
	Name      string `json:"name"`
	Digest    string `json:"digest"`
}

// statement is a model-signing statement over resources, with the edits a
// case makes to its JSON object.
func statement(t *testing.T, rs []resource, edit func(map[string]any)) []byte {
	t.Helper()
	h := sha256.New()
	for _, r := range rs {
		d, _ := hex.DecodeString(r.Digest)
		h.Write(d)
	}
	st := map[string]any{
		"_type":         statementType,
		"subject":       []any{map[string]any{"name": "m", "digest": map[string]any{"sha256": hex.EncodeToString(h.Sum(nil))}}},
		"predicateType": predicateType,
		"predicate": map[string]any{
			"resources":     rs,
			"serialization": map[string]any{"method": "files", "hash_type": "sha256", "allow_symlinks": false},
		},
	}
	if edit != nil {
		edit(st)
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func res(name, content string) resource {
	sum := sha256.Sum256([]byte(content))
	return resource{"sha256", name, hex.EncodeToString(sum[:])}
}

// scalarLens are the lengths of an ASN.1 signature's r and s.
func scalarLens(t *testing.T, der []byte) (int, int) {
	t.Helper()
	var inner cryptobyte.String
	var r, s []byte
	in := cryptobyte.String(der)
	if !in.ReadASN1(&inner, asn1.SEQUENCE) || !inner.ReadASN1Bytes(&r, asn1.INTEGER) || !inner.ReadASN1Bytes(&s, asn1.INTEGER) {
		t.Fatal("bad signature DER")
	}
	return len(strings.TrimLeft(string(r), "\x00")), len(strings.TrimLeft(string(s), "\x00"))
}

// shortScalar signs until r or s is shorter than the curve's size, so the
// JS must pad it with leading zeros for WebCrypto.
func (k *key) shortScalar(t *testing.T, payload []byte) string {
	t.Helper()
	size := (k.priv.Curve.Params().BitSize + 7) / 8
	for range 20000 {
		s := k.sign(t, inTotoType, payload)
		if r, ss := scalarLens(t, s); r < size || ss < size {
			return base64.StdEncoding.EncodeToString(s)
		}
	}
	t.Fatal("no signature with a short r or s in 20000 tries")
	return ""
}

type bundleCase struct {
	name   string
	bundle []byte
	pem    string
}

func bundleCases(t *testing.T) []bundleCase {
	p256, p384, p521 := newKey(t, elliptic.P256()), newKey(t, elliptic.P384()), newKey(t, elliptic.P521())
	rs := []resource{res("a/b", "1"), res("a-b", "2"), res("model.safetensors", "3")}
	st := statement(t, rs, nil)
	ok := func(k *key, payload []byte) []byte {
		return bundleOf(t, bundleType, inTotoType, payload, base64.StdEncoding.EncodeToString(k.sign(t, inTotoType, payload)))
	}
	der := p256.sign(t, inTotoType, st)
	b64 := base64.StdEncoding.EncodeToString
	flipped := append([]byte(nil), der...)
	flipped[len(flipped)-1] ^= 1
	var urlSig string
	for urlSig == "" {
		s := p256.sign(t, inTotoType, st)
		if u := base64.URLEncoding.EncodeToString(s); u != b64(s) {
			urlSig = u
		}
	}
	longLen := append([]byte{0x30, 0x81}, der[1:]...) // the same SEQUENCE, its length in long form
	editSt := func(edit func(map[string]any)) []byte { return ok(p256, statement(t, rs, edit)) }
	pred := func(m map[string]any) map[string]any { return m["predicate"].(map[string]any) }
	return []bundleCase{
		{"P-256", ok(p256, st), p256.pem},
		{"P-384", ok(p384, st), p384.pem},
		{"P-521", ok(p521, st), p521.pem},
		{"P-256 with a short r or s", bundleOf(t, bundleType, inTotoType, st, p256.shortScalar(t, st)), p256.pem},
		{"P-384 with a short r or s", bundleOf(t, bundleType, inTotoType, st, p384.shortScalar(t, st)), p384.pem},
		{"the older media type", bundleOf(t, "application/vnd.dev.sigstore.bundle+json;version=0.3", inTotoType, st, b64(der)), p256.pem},
		{"a bad signature, then a good one", bundleOf(t, bundleType, inTotoType, st, b64(flipped), b64(der)), p256.pem},
		{"an unreadable signature, then a good one", bundleOf(t, bundleType, inTotoType, st, "AAAA", b64(der)), p256.pem},
		{"upper-case hex digests", editSt(func(m map[string]any) {
			rs := pred(m)["resources"].([]resource)
			up := append([]resource(nil), rs...)
			up[0].Digest = strings.ToUpper(up[0].Digest)
			pred(m)["resources"] = up
		}), p256.pem},
		{"a flipped signature byte", bundleOf(t, bundleType, inTotoType, st, b64(flipped)), p256.pem},
		{"a base64url signature", bundleOf(t, bundleType, inTotoType, st, urlSig), p256.pem},
		{"a byte after the signature's DER", bundleOf(t, bundleType, inTotoType, st, b64(append(der, 0))), p256.pem},
		{"a long-form DER length", bundleOf(t, bundleType, inTotoType, st, b64(longLen)), p256.pem},
		{"no signatures", bundleOf(t, bundleType, inTotoType, st), p256.pem},
		{"another media type", bundleOf(t, "application/json", inTotoType, st, b64(der)), p256.pem},
		{"another payload type, signed", bundleOf(t, bundleType, "text/plain", st,
			b64(p256.sign(t, "text/plain", st))), p256.pem},
		{"a changed statement", bundleOf(t, bundleType, inTotoType, append(st[:len(st):len(st)], ' '), b64(der)), p256.pem},
		{"another key", ok(p256, st), p384.pem},
		{"another predicate type", editSt(func(m map[string]any) { m["predicateType"] = "https://example.com/v1" }), p256.pem},
		{"another statement type", editSt(func(m map[string]any) { m["_type"] = "https://in-toto.io/Statement/v0.1" }), p256.pem},
		{"two subjects", editSt(func(m map[string]any) { m["subject"] = append(m["subject"].([]any), m["subject"].([]any)[0]) }), p256.pem},
		{"shard serialization", editSt(func(m map[string]any) {
			pred(m)["serialization"].(map[string]any)["method"] = "shards"
		}), p256.pem},
		{"resources out of order", ok(p256, statement(t, []resource{rs[1], rs[0], rs[2]}, nil)), p256.pem},
		{"a duplicated resource", ok(p256, statement(t, []resource{rs[0], rs[0], rs[2]}, nil)), p256.pem},
		{"a resource outside the model", ok(p256, statement(t, []resource{res("../x", "1")}, nil)), p256.pem},
		{"no resources", ok(p256, statement(t, []resource{}, nil)), p256.pem},
		{"a sha512 resource", editSt(func(m map[string]any) {
			bad := append([]resource(nil), rs...)
			bad[2].Algorithm = "sha512"
			pred(m)["resources"] = bad
		}), p256.pem},
		{"a wrong root digest", editSt(func(m map[string]any) {
			m["subject"] = []any{map[string]any{"name": "m", "digest": map[string]any{"sha256": strings.Repeat("ab", 32)}}}
		}), p256.pem},
		{"not JSON", []byte(`{"mediaType": "` + bundleType + `", "dsseEnvelope": `), p256.pem},
		{"a statement that is not JSON", ok(p256, []byte(`{"_type": `)), p256.pem},
		{"a key that is not PEM", ok(p256, st), "hello"},
	}
}

// verifyBundle with checkFiles (given the statement's own resources)
// accepts exactly the bundles signing.VerifyBundle accepts.
func TestBundleAgainstSigning(t *testing.T) {
	cases := bundleCases(t)
	var calls []call
	for _, c := range cases {
		calls = append(calls, call{Fn: "verifyBundle", Args: []any{string(c.bundle), c.pem}})
		st, files := statementOf(c.bundle)
		calls = append(calls, call{Fn: "checkFiles", Args: []any{st, files}})
	}
	raw := runCalls(t, calls)
	res := results(t, raw)
	accepted := 0
	for i, c := range cases {
		sig, files := res[2*i], res[2*i+1]
		jsOK := sig.OK && files.OK
		goErr := verifyInGo(c)
		if jsOK != (goErr == nil) {
			t.Errorf("%s: JS signature ok=%v (%s), files ok=%v (%s); Go: %v", c.name, sig.OK, sig.Reason, files.OK, files.Reason, goErr)
		}
		if sig.OK {
			var withSt struct{ Statement json.RawMessage }
			json.Unmarshal(raw[2*i], &withSt)
			if st, _ := statementOf(c.bundle); !jsonEqual(withSt.Statement, st) {
				t.Errorf("%s: JS returned statement %s", c.name, withSt.Statement)
			}
		}
		if jsOK {
			accepted++
		}
		if testing.Verbose() {
			t.Logf("%s: %v %s / %v %s", c.name, sig.OK, sig.Reason, files.OK, files.Reason)
		}
	}
	if accepted < 8 || accepted == len(cases) {
		t.Errorf("%d of %d cases accepted: the cases do not test both ways", accepted, len(cases))
	}
}

func verifyInGo(c bundleCase) error {
	pub, err := signing.ParsePublicKey([]byte(c.pem))
	if err != nil {
		return err
	}
	_, err = signing.VerifyBundle(c.bundle, []*signing.PublicKey{pub})
	return err
}

// statementOf is a bundle's statement as a JSON value, and its resources
// as the files a page would list; nil when it cannot be read.
func statementOf(bundle []byte) (any, []map[string]string) {
	var e envelope
	if json.Unmarshal(bundle, &e) != nil {
		return nil, nil
	}
	var st any
	if json.Unmarshal(e.DSSEEnvelope.Payload, &st) != nil {
		return nil, nil
	}
	var s struct {
		Predicate struct{ Resources []resource }
	}
	json.Unmarshal(e.DSSEEnvelope.Payload, &s)
	var files []map[string]string
	for _, r := range s.Predicate.Resources {
		files = append(files, map[string]string{"path": r.Name, "sha256": r.Digest})
	}
	return st, files
}

func jsonEqual(a json.RawMessage, b any) bool {
	var x any
	if json.Unmarshal(a, &x) != nil {
		return false
	}
	return strconv.Quote(fmt.Sprint(x)) == strconv.Quote(fmt.Sprint(b))
}
