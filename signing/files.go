package signing

import (
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/potluck-hub/potluck"
)

// FilesRoot is the root digest of a release's files as a hub lists them:
// the subject digest a model-signing signature over exactly those files
// carries, independent of who signed. Merge provenance and evaluation
// attestations name a release by it.
func FilesRoot(files []potluck.File) ([32]byte, error) {
	res := make([]Resource, len(files))
	for i, f := range files {
		d, err := hex.DecodeString(f.SHA256)
		if err != nil || len(d) != 32 {
			return [32]byte{}, fmt.Errorf("file %q: bad sha256 %q", f.Path, f.SHA256)
		}
		res[i].Name = f.Path
		copy(res[i].Digest[:], d)
	}
	slices.SortFunc(res, func(a, b Resource) int { return ComparePaths(a.Name, b.Name) })
	return RootDigest(res), nil
}
