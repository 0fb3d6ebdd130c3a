package signing_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/potluck-hub/potluck/signing"
)

// A publisher signs a model directory; anyone holding the public key then
// checks the directory against the signature.
func Example() {
	tmp, err := os.MkdirTemp("", "signing-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	model := filepath.Join(tmp, "tiny-llama")
	os.MkdirAll(filepath.Join(model, "tokenizer"), 0o755)
	os.WriteFile(filepath.Join(model, "model.safetensors"), []byte("weights"), 0o644)
	os.WriteFile(filepath.Join(model, "tokenizer", "vocab.json"), []byte("{}"), 0o644)

	// Publisher: a key pair, then hash and sign the directory.
	privPath, pubPath := filepath.Join(tmp, "publisher.key"), filepath.Join(tmp, "publisher.pub")
	if err := signing.GenerateKey(privPath, pubPath); err != nil {
		log.Fatal(err)
	}
	signer, err := signing.LoadSigner(privPath)
	if err != nil {
		log.Fatal(err)
	}
	files, err := signing.DigestDir(model, signing.DefaultIgnorePaths())
	if err != nil {
		log.Fatal(err)
	}
	bundle, err := signing.Sign(signer, filepath.Base(model), files, nil)
	if err != nil {
		log.Fatal(err)
	}
	os.WriteFile(filepath.Join(model, signing.SignatureFile), bundle, 0o644)

	// Auditor: trust the publisher's key and verify the directory.
	pub, err := signing.LoadPublicKey(pubPath)
	if err != nil {
		log.Fatal(err)
	}
	v, err := signing.VerifyDir(model, bundle, []*signing.PublicKey{pub}, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range v.Resources {
		fmt.Println("verified", r.Name)
	}

	// Any change to a signed file is caught and named.
	os.WriteFile(filepath.Join(model, "model.safetensors"), []byte("poisoned"), 0o644)
	_, err = signing.VerifyDir(model, bundle, []*signing.PublicKey{pub}, nil)
	fmt.Println(errors.Is(err, signing.ErrDigestMismatch))
	// Output:
	// verified model.safetensors
	// verified tokenizer/vocab.json
	// true
}
