package hub_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/potluck-hub/potluck/hub"
	"github.com/potluck-hub/potluck/node"
)

// writePEM writes one PEM block.
func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// consortiumCA makes a CA and a client certificate it issues for org,
// written under dir: ca.pem, ORG.crt, ORG.key.
func consortiumCA(t *testing.T, dir, org string) (ca, cert, key string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "consortium CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	cliKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cliTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: org},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	cliDER, err := x509.CreateCertificate(rand.Reader, cliTmpl, caCert, &cliKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(cliKey)
	ca, cert, key = filepath.Join(dir, "ca.pem"), filepath.Join(dir, org+".crt"), filepath.Join(dir, org+".key")
	writePEM(t, ca, "CERTIFICATE", caDER)
	writePEM(t, cert, "CERTIFICATE", cliDER)
	writePEM(t, key, "PRIVATE KEY", keyDER)
	return ca, cert, key
}

// With mutual TLS, a client certificate issued by the consortium CA whose
// common name is a member org authenticates as that org (no token needed);
// a publication signed by another org's key is still refused, and a client
// without a certificate cannot connect.
func TestMutualTLS(t *testing.T) {
	ca, cert, key := consortiumCA(t, t.TempDir(), orgA)
	hs := newHarnessWith(t, func(o *hub.Options) {
		o.TLS.ClientCAFile = ca
		o.Access.RequireToken = true
	})
	ctx := context.Background()
	fp := hs.h.Info().TLSFingerprint

	withCert, err := node.Dial(hs.addr, node.DialOptions{Fingerprint: fp, CertFile: cert, KeyFile: key})
	if err != nil {
		t.Fatal(err)
	}
	defer withCert.Close()
	m := writeModels(t, hs.dir)
	scan, bundle := scanAndBundle(t, m.base, hs.keyA)
	if _, err := withCert.RegisterBase(ctx, scan, bundle, nil); err != nil {
		t.Fatalf("register with lab-a's certificate and key: %v", err)
	}
	// lab-a's certificate, lab-b's signature: refused.
	other := filepath.Join(hs.dir, "other-base")
	copyDir(t, m.ftB, other)
	scan, bundle = scanAndBundle(t, other, hs.keyB)
	if _, err := withCert.RegisterBase(ctx, scan, bundle, nil); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("lab-a's certificate with lab-b's signature: %v, want PermissionDenied", err)
	}
	// No certificate: the TLS handshake fails.
	noCert, err := node.Dial(hs.addr, node.DialOptions{Fingerprint: fp})
	if err != nil {
		t.Fatal(err)
	}
	defer noCert.Close()
	if _, err := noCert.Info(ctx); err == nil {
		t.Fatal("a client without a certificate was served")
	}
}
