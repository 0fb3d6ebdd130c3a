package signing

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
)

// Sign signs a model's resources and returns the bundle JSON, to be written as
// SignatureFile in the model directory or sent beside it.
//
// name is the statement's subject name, by convention the model directory's
// base name; it is informative only. resources must be in canonical order
// and unique, as DigestDir returns them. ignorePaths are recorded in the
// statement, together with the paths the OpenSSF tool always ignores
// (model.sig, .git, .gitattributes, .github, .gitignore), so that a verifier
// rehashes the directory the same way.
func Sign(s *Signer, name string, resources []Resource, ignorePaths []string) ([]byte, error) {
	if s == nil {
		return nil, fmt.Errorf("sign %s: nil signer", name)
	}
	payload, err := statementJSON(name, resources, ignorePaths)
	if err != nil {
		return nil, fmt.Errorf("sign %s: %w", name, err)
	}
	out, err := signPayload(s, payload)
	if err != nil {
		return nil, fmt.Errorf("sign %s: %w", name, err)
	}
	return out, nil
}

// SignStatement signs any in-toto Statement v1 (JSON) into a bundle of the
// same shape Sign writes: merge provenance uses it.
func SignStatement(s *Signer, statement []byte) ([]byte, error) {
	if s == nil {
		return nil, fmt.Errorf("sign statement: nil signer")
	}
	var st struct {
		Type string `json:"_type"`
	}
	if err := json.Unmarshal(statement, &st); err != nil || st.Type != statementType {
		return nil, fmt.Errorf("sign statement: not an in-toto Statement v1 (%v)", err)
	}
	return signPayload(s, statement)
}

// signPayload wraps a statement in a signed DSSE envelope inside a bundle.
func signPayload(s *Signer, payload []byte) ([]byte, error) {
	sig, err := s.signPAE(pae(payloadType, payload))
	if err != nil {
		return nil, err
	}
	b := bundle{
		MediaType: bundleMediaType,
		VerificationMaterial: verificationMaterial{
			PublicKey:   &publicKeyID{Hint: s.pub.Hint()},
			TlogEntries: []struct{}{},
		},
		DSSEEnvelope: &envelope{
			Payload:     payload,
			PayloadType: payloadType,
			Signatures:  []envSignature{{Sig: sig}},
		},
	}
	return json.Marshal(b)
}

// DefaultIgnorePaths are the paths Sign always records as ignored, as the
// OpenSSF tool does: SignatureFile and git's files. Pass them (and any
// others) to DigestDir when hashing a directory to sign it.
func DefaultIgnorePaths() []string {
	return slices.Clone(defaultIgnorePaths)
}

// statementJSON is the in-toto statement for resources, indented as the
// OpenSSF tool writes it.
func statementJSON(name string, resources []Resource, ignorePaths []string) ([]byte, error) {
	if err := checkResources(resources); err != nil {
		return nil, err
	}
	ignore, err := cleanIgnorePaths(append(slices.Clone(ignorePaths), defaultIgnorePaths...))
	if err != nil {
		return nil, err
	}
	slices.Sort(ignore)
	for _, r := range resources {
		if ig := ignoredBy(r.Name, ignore); ig != "" {
			return nil, fmt.Errorf("resource %q is under ignored path %q, so no verifier would check it (hash with DefaultIgnorePaths)", r.Name, ig)
		}
	}
	root := RootDigest(resources)
	st := statement{
		Type:          statementType,
		Subject:       []subject{{Name: name, Digest: map[string]string{hashSHA256: hex.EncodeToString(root[:])}}},
		PredicateType: predicateType,
		Predicate: predicate{
			Resources:     resourcesJSON(resources),
			Serialization: serialization{Method: methodFiles, HashType: hashSHA256, IgnorePaths: ignore},
		},
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(st); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// resourcesJSON converts resources to the predicate's descriptors.
func resourcesJSON(rs []Resource) []resourceJSON {
	out := make([]resourceJSON, len(rs))
	for i, r := range rs {
		out[i] = resourceJSON{Algorithm: hashSHA256, Name: r.Name, Digest: hex.EncodeToString(r.Digest[:])}
	}
	return out
}
