package main

import (
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
	return node.Dial(h.addr, o)
}
