package signing

import "strconv"

// The names the OpenSSF model-signing format (v1.0 predicate) fixes.
const (
	bundleMediaType    = "application/vnd.dev.sigstore.bundle.v0.3+json"
	bundleMediaTypeAlt = "application/vnd.dev.sigstore.bundle+json;version=0.3"
	payloadType        = "application/vnd.in-toto+json"
	statementType      = "https://in-toto.io/Statement/v1"
	predicateType      = "https://model_signing/signature/v1.0"
	methodFiles        = "files"
	hashSHA256         = "sha256"
)

// defaultIgnorePaths are what the OpenSSF tool always records as ignored;
// Sign records them too so both tools rehash a directory the same way.
var defaultIgnorePaths = []string{SignatureFile, ".git", ".gitattributes", ".github", ".gitignore"}

// bundle is the part of a Sigstore bundle v0.3 this package reads and writes.
type bundle struct {
	MediaType            string               `json:"mediaType"`
	VerificationMaterial verificationMaterial `json:"verificationMaterial"`
	DSSEEnvelope         *envelope            `json:"dsseEnvelope"`
}

// verificationMaterial names the signing key. The OpenSSF tool writes a hint
// since v1.1; v1.0 embedded the key itself as rawBytes with keyDetails.
type verificationMaterial struct {
	PublicKey   *publicKeyID `json:"publicKey,omitempty"`
	TlogEntries []struct{}   `json:"tlogEntries"`
}

type publicKeyID struct {
	Hint       string `json:"hint,omitempty"`
	RawBytes   []byte `json:"rawBytes,omitempty"`
	KeyDetails string `json:"keyDetails,omitempty"`
}

// envelope is a DSSE envelope; encoding/json's []byte is the standard
// base64 that Sigstore bundles use.
type envelope struct {
	Payload     []byte         `json:"payload"`
	PayloadType string         `json:"payloadType"`
	Signatures  []envSignature `json:"signatures"`
}

type envSignature struct {
	Sig   []byte `json:"sig"`
	KeyID string `json:"keyid"` // null in OpenSSF v1.0 bundles, "" since
}

// statement is an in-toto Statement v1 with the model-signing predicate.
type statement struct {
	Type          string    `json:"_type"`
	Subject       []subject `json:"subject"`
	PredicateType string    `json:"predicateType"`
	Predicate     predicate `json:"predicate"`
}

type subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

type predicate struct {
	Resources     []resourceJSON `json:"resources"`
	Serialization serialization  `json:"serialization"`
}

type resourceJSON struct {
	Algorithm string `json:"algorithm"`
	Name      string `json:"name"`
	Digest    string `json:"digest"`
}

type serialization struct {
	Method        string   `json:"method"`
	HashType      string   `json:"hash_type"`
	AllowSymlinks bool     `json:"allow_symlinks"`
	IgnorePaths   []string `json:"ignore_paths,omitempty"`
}

// pae is DSSE's pre-authentication encoding, the bytes actually signed:
// "DSSEv1 <len(type)> <type> <len(payload)> <payload>".
func pae(typ string, payload []byte) []byte {
	b := []byte("DSSEv1 ")
	b = strconv.AppendInt(b, int64(len(typ)), 10)
	b = append(b, ' ')
	b = append(b, typ...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(len(payload)), 10)
	b = append(b, ' ')
	return append(b, payload...)
}
