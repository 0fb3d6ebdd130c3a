package hub

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// The gRPC listener always speaks TLS unless an operator asks for
// plaintext: bearer tokens and signed uploads must not cross a network in
// the clear. An operator with a certificate (a consortium CA, ACME) gives
// it; otherwise the hub makes a self-signed pair on first start, kept in
// DATA, and nodes pin its SHA-256 fingerprint.

// TLSOptions configure the gRPC listener's TLS.
type TLSOptions struct {
	// CertFile and KeyFile are a PEM certificate (chain) and key; both
	// empty: DATA/tls.crt and DATA/tls.key, generated on first start.
	CertFile, KeyFile string
	// ClientCAFile, when set, turns on mutual TLS: every client presents a
	// certificate issued by one of these CAs; its common name, when it is a
	// member org's name, authenticates the caller as that org.
	ClientCAFile string
	// Hosts are extra DNS names or IPs for a generated certificate (it
	// always covers localhost, 127.0.0.1, ::1 and the host name).
	Hosts []string
}

// TLS is the listener's configuration and its certificate's fingerprint.
type TLS struct {
	Config      *tls.Config
	Fingerprint string // hex SHA-256 of the leaf certificate's DER
}

// Fingerprint is the hex SHA-256 of a DER certificate: what nodes pin.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// LoadTLS loads the listener's certificate, generating DATA/tls.crt and
// DATA/tls.key first when none is given and none was made before.
func LoadTLS(dataDir string, o TLSOptions) (*TLS, error) {
	if (o.CertFile == "") != (o.KeyFile == "") {
		return nil, errors.New("hub: TLS: give both a certificate and its key, or neither")
	}
	if o.CertFile == "" {
		o.CertFile, o.KeyFile = filepath.Join(dataDir, "tls.crt"), filepath.Join(dataDir, "tls.key")
		if _, err := os.Stat(o.CertFile); errors.Is(err, os.ErrNotExist) {
			if err := generateCert(o.CertFile, o.KeyFile, o.Hosts); err != nil {
				return nil, fmt.Errorf("hub: TLS: generating a self-signed certificate: %w", err)
			}
		}
	}
	cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("hub: TLS: certificate %s, key %s: %w", o.CertFile, o.KeyFile, err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if o.ClientCAFile != "" {
		b, err := os.ReadFile(o.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("hub: TLS: client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("hub: TLS: client CA %s: no PEM certificate", o.ClientCAFile)
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return &TLS{Config: cfg, Fingerprint: Fingerprint(cert.Certificate[0])}, nil
}

// generateCert writes a self-signed ECDSA P-256 certificate valid for ten
// years; the key file is written first and only readable by its owner.
func generateCert(certFile, keyFile string, hosts []string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: "potluck hub", Organization: []string{"potluck"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(10, 0, 0),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	if h, err := os.Hostname(); err == nil {
		tmpl.DNSNames = append(tmpl.DNSNames, h)
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(certFile), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}
