package hub

import (
	"google.golang.org/protobuf/proto"

	"github.com/potluck-hub/potluck/internal/wire"
	hubv1 "github.com/potluck-hub/potluck/proto/potluck/hub/v1"
)

// listPageBytes bounds a List page's releases, in bytes: a page fits in
// gRPC's default message limit (4 MiB) with room to spare, whatever the
// releases hold. A release larger than it alone fills a page.
const listPageBytes = 3 << 20

// listResponse converts a page of releases, cutting it short (the next
// page starting after the last release sent) where it would pass
// listPageBytes.
func listResponse(p *ListPage) *hubv1.ListResponse {
	resp := &hubv1.ListResponse{NextPageToken: p.NextPageToken}
	size := 0
	for i, r := range p.Releases {
		m := wire.Release(r)
		n := proto.Size(m)
		if i > 0 && size+n > listPageBytes {
			last := p.Releases[i-1]
			resp.NextPageToken = pageToken(cursor{created: last.Created, cid: last.CID})
			break
		}
		size += n
		resp.Releases = append(resp.Releases, m)
	}
	return resp
}
