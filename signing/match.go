package signing

import (
	"fmt"
	"slices"
	"strings"
)

// maxProblems bounds the differences Match lists, so that a model with
// thousands of changed files still gives a readable error.
const maxProblems = 10

// VerifyDir verifies a bundle (see VerifyBundle) and then that dir holds
// exactly the signed files with the signed digests. It rehashes dir leaving
// out the bundle's ignore paths and the caller's extra ignorePaths (files the
// caller knows were added after signing, e.g. "ignore-me"). Each changed,
// extra or missing file is named in the error, which wraps ErrDigestMismatch.
func VerifyDir(dir string, bundleJSON []byte, trusted []*PublicKey, ignorePaths []string) (*Verified, error) {
	v, err := VerifyBundle(bundleJSON, trusted)
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", dir, err)
	}
	found, err := DigestDir(dir, append(slices.Clone(v.IgnorePaths), ignorePaths...))
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", dir, err)
	}
	if err := v.Match(found); err != nil {
		return nil, fmt.Errorf("verify %s: %w", dir, err)
	}
	return v, nil
}

// Match checks that files (in any order, e.g. as they arrived over the
// network and were hashed) are exactly the signed resources: each present
// once with its signed digest, none missing, none extra. The error names the
// differences, signed digest against found, and wraps ErrDigestMismatch.
func (v *Verified) Match(files []Resource) error {
	signed := make(map[string][32]byte, len(v.Resources))
	for _, r := range v.Resources {
		signed[r.Name] = r.Digest
	}
	var problems []string
	seen := make(map[string]bool, len(files))
	for _, f := range files {
		if p := matchOne(signed, seen, f); p != "" {
			problems = append(problems, p)
		}
	}
	for _, r := range v.Resources {
		if !seen[r.Name] {
			problems = append(problems, fmt.Sprintf("%s: missing (signed sha256 %x)", r.Name, r.Digest))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrDigestMismatch, summarize(problems))
}

// matchOne compares one file against the signed digests and records it as
// seen; it returns the difference, or "" when the file matches.
func matchOne(signed map[string][32]byte, seen map[string]bool, f Resource) string {
	want, ok := signed[f.Name]
	switch {
	case seen[f.Name]:
		return fmt.Sprintf("%s: listed twice", f.Name)
	case !ok:
		return fmt.Sprintf("%s: not signed (found sha256 %x)", f.Name, f.Digest)
	}
	seen[f.Name] = true
	if want != f.Digest {
		return fmt.Sprintf("%s: signed sha256 %x, found %x", f.Name, want, f.Digest)
	}
	return ""
}

// summarize joins the first maxProblems differences and counts the rest.
func summarize(problems []string) string {
	if len(problems) <= maxProblems {
		return strings.Join(problems, "; ")
	}
	return fmt.Sprintf("%s; and %d more", strings.Join(problems[:maxProblems], "; "), len(problems)-maxProblems)
}
