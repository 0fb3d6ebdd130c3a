package node

import (
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/internal/wire"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
)

// Refusal reports whether err (from an upload: PublishDelta, PublishBase,
// Upload) is the hub's refusal of the release by its admission checks,
// and if so the hub's message and the verdict it sent with it. Any other
// error (the network, a token, a bad file) is not a refusal.
func Refusal(err error) (string, potluck.Verdict, bool) {
	var se interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &se) {
		return "", potluck.Verdict{}, false
	}
	st := se.GRPCStatus() // the hub's own status, not the wrapping error's text
	if st.Code() != codes.InvalidArgument {
		return "", potluck.Verdict{}, false
	}
	for _, d := range st.Details() {
		if v, ok := d.(*hubv1.Verdict); ok {
			return st.Message(), wire.VerdictOf(v), true
		}
	}
	return "", potluck.Verdict{}, false
}
