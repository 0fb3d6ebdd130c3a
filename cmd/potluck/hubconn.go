package main

import (
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/potluck-hub/potluck/node"
)

// hubConn is how every command that talks to a hub reaches it: the address,
// TLS trust (a CA file or the hub's pinned fingerprint), an optional client
// certificate, and the org's token. Environment variables fill what flags
// leave empty, so a token never has to appear on a command line.
type hubConn struct {
	addr      string
	opts      node.DialOptions
	tokenFile string
}

const (
	tokenEnv       = "POTLUCK_TOKEN"
	fingerprintEnv = "POTLUCK_HUB_FINGERPRINT"
)

func (h *hubConn) register(c *cobra.Command, def, usage string) {
	f := c.Flags()
	f.StringVar(&h.addr, "hub", def, usage)
	f.StringVar(&h.opts.Fingerprint, "hub-fingerprint", "", "pin the hub's TLS certificate by its SHA-256 fingerprint, as 'potluck hub serve' prints it (or set $"+fingerprintEnv+")")
	f.StringVar(&h.opts.CAFile, "hub-ca", "", "PEM file of CAs to trust for the hub's certificate (default: the system's)")
	f.StringVar(&h.opts.ServerName, "hub-server-name", "", "name to check the hub's certificate against (default: the host of --hub)")
	f.BoolVar(&h.opts.Plaintext, "plaintext", false, "talk to the hub without TLS (only on loopback or behind a TLS proxy)")
	f.StringVar(&h.opts.CertFile, "client-cert", "", "client certificate (PEM) for a hub that requires mutual TLS")
	f.StringVar(&h.opts.KeyFile, "client-key", "", "key of --client-cert")
	f.StringVar(&h.opts.Token, "token", "", "the org's bearer token (prefer $"+tokenEnv+" or --token-file: flags show in ps)")
	f.StringVar(&h.tokenFile, "token-file", "", "file holding the org's bearer token")
}

// hubFlag registers the hub flags with the usual default address.
func hubFlag(c *cobra.Command, h *hubConn) {
	h.register(c, "127.0.0.1:7420", "hub gRPC address")
}

func (h *hubConn) dial() (*node.Client, error) {
	addr, err := hubAddr(h.addr)
	if err != nil {
		return nil, err
	}
	o := h.opts
	if o.Token == "" && h.tokenFile != "" {
		b, err := os.ReadFile(h.tokenFile)
		if err != nil {
			return nil, err
		}
		o.Token = strings.TrimSpace(string(b))
	}
	if o.Token == "" {
		o.Token = os.Getenv(tokenEnv)
	}
	if o.Fingerprint == "" {
		o.Fingerprint = os.Getenv(fingerprintEnv)
	}
	return node.Dial(addr, o)
}

// hubAddr takes --hub as HOST:PORT or as a URL, https://HOST:PORT (or
// grpcs://), and returns HOST:PORT.
func hubAddr(s string) (string, error) {
	addr := s
	if scheme, rest, ok := strings.Cut(s, "://"); ok {
		switch scheme {
		case "https", "grpcs":
			addr = strings.TrimSuffix(rest, "/")
		case "http", "grpc":
			return "", fmt.Errorf("--hub %s: the hub's gRPC speaks TLS; give HOST:PORT or https://HOST:PORT (--plaintext only for a hub started with --plaintext)", s)
		default:
			return "", fmt.Errorf("--hub %s: want HOST:PORT, the hub's gRPC address (7420 by default)", s)
		}
	}
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" || strings.Contains(port, "/") {
		return "", fmt.Errorf("--hub %s: want HOST:PORT, the hub's gRPC address (7420 by default)", s)
	}
	return addr, nil
}

// explainHubError adds to an error from a hub call what to do about it,
// where the gRPC message alone does not say: an untrusted certificate, or
// an address that is not the hub's gRPC port.
func explainHubError(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "x509: certificate signed by unknown authority"):
		return fmt.Errorf("%w\nthe hub's certificate is not trusted here: pin it with --hub-fingerprint (or $%s), as 'potluck hub serve' prints it, or give --hub-ca", err, fingerprintEnv)
	case strings.Contains(msg, "unexpected HTTP status code received from server"), strings.Contains(msg, "missing selected ALPN property"):
		return fmt.Errorf("%w\nthis address answers HTTP, not the hub's gRPC: give the hub's gRPC port (its --listen, 7420 by default), not its HTTP port (--http, 7421)", err)
	case strings.Contains(msg, "error reading server preface"):
		return fmt.Errorf("%w\nno gRPC without TLS answered here: drop --plaintext unless the hub runs with --plaintext, and give its gRPC port (--listen, 7420 by default)", err)
	}
	return err
}
