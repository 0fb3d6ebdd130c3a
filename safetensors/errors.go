package safetensors

import (
	"errors"
	"fmt"
)

// ErrInvalid is wrapped by every error about a malformed header or data layout, so
// callers can tell a bad file from an I/O failure with errors.Is.
var ErrInvalid = errors.New("safetensors: invalid file")

// ErrNotFound is wrapped when a file or model has no tensor of the requested name.
var ErrNotFound = errors.New("safetensors: tensor not found")

// kindError carries a message written for the user while still matching one
// sentinel with errors.Is; it keeps the sentinel's own text out of the message.
type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

// invalidf returns an error wrapping ErrInvalid. Messages built here carry no
// "safetensors:" prefix; exported entry points add it together with the path.
func invalidf(format string, args ...any) error {
	return &kindError{msg: fmt.Sprintf(format, args...), kind: ErrInvalid}
}

// notFound returns an error wrapping ErrNotFound that names the tensor.
func notFound(name string) error {
	return &kindError{msg: fmt.Sprintf("tensor %q not found", short(name)), kind: ErrNotFound}
}

// maxQuoted bounds how much of an untrusted string goes into an error message, so a
// hostile header cannot make a single error megabytes long.
const maxQuoted = 120

// short truncates an untrusted string for use in an error message.
func short(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	return s[:maxQuoted] + "..."
}
