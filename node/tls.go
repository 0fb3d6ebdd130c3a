package node

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// DialOptions say how to reach a hub. The zero value speaks TLS and trusts
// the system's CAs; a hub with a self-signed certificate is reached by
// pinning its fingerprint, which `potluck hub serve` prints and serves.
type DialOptions struct {
	// Plaintext turns TLS off: only for a hub on loopback or behind a
	// proxy that adds it. Tokens then travel in the clear.
	Plaintext bool
	// CAFile is a PEM bundle of CAs to trust instead of the system's.
	CAFile string
	// Fingerprint pins the hub's certificate: the hex SHA-256 of its DER
	// (colons and a "sha256:" prefix are accepted). With no CAFile, the
	// pin alone decides; with one, both must hold.
	Fingerprint string
	// ServerName overrides the name checked against the certificate.
	ServerName string
	// CertFile and KeyFile are the node's client certificate, for hubs
	// that require mutual TLS.
	CertFile, KeyFile string
	// Token is the org's bearer token, sent with every call.
	Token string
}

// GRPCOptions returns the dial options these settings make, for callers
// that build their own gRPC clients.
func (o DialOptions) GRPCOptions() ([]grpc.DialOption, error) {
	var opts []grpc.DialOption
	if o.Plaintext {
		opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))
	} else {
		cfg, err := o.tlsConfig()
		if err != nil {
			return nil, err
		}
		opts = append(opts, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	}
	if o.Token != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(bearer{token: o.Token, secure: !o.Plaintext}))
	}
	opts = append(opts, grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxRecvMessage)))
	return opts, nil
}

// MaxRecvMessage bounds one message the node takes from the hub: a release
// whose metadata (a merge's provenance, a release of many files) is beyond
// gRPC's default 4 MiB arrives whole. The hub pages listings so that a
// page fits the default.
const MaxRecvMessage = 64 << 20

func (o DialOptions) tlsConfig() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: o.ServerName}
	if o.CAFile != "" {
		b, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("node: CA file: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("node: CA file %s: no PEM certificate", o.CAFile)
		}
	}
	if o.CertFile != "" || o.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("node: client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if o.Fingerprint != "" {
		want, err := normalizeFingerprint(o.Fingerprint)
		if err != nil {
			return nil, err
		}
		// The pin replaces chain and name checks only when no CA is given.
		cfg.InsecureSkipVerify = o.CAFile == ""
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("node: the hub presented no certificate")
			}
			sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
			if got := hex.EncodeToString(sum[:]); got != want {
				return fmt.Errorf("node: the hub's certificate has fingerprint %s, pinned %s", got, want)
			}
			return nil
		}
	}
	return cfg, nil
}

func normalizeFingerprint(s string) (string, error) {
	s = strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(strings.TrimSpace(s), "sha256:"), ":", ""))
	if b, err := hex.DecodeString(s); err != nil || len(b) != sha256.Size {
		return "", fmt.Errorf("node: fingerprint %q is not a hex SHA-256", s)
	}
	return s, nil
}

// bearer sends the org's token as "authorization: Bearer …".
type bearer struct {
	token  string
	secure bool
}

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.token}, nil
}

func (b bearer) RequireTransportSecurity() bool { return b.secure }
