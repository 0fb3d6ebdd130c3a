package merge

import (
	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/store"
)

// describeFiles lists a release directory's files (all but its manifest)
// with their size, SHA-256 and CID.
func describeFiles(dir string) ([]potluck.File, error) {
	entries, err := store.WalkDir(dir, store.HashFileAt)
	if err != nil {
		return nil, err
	}
	return DescribeEntries(entries), nil
}

// DescribeEntries turns walked entries into manifest files, leaving out the
// manifest itself and directories.
func DescribeEntries(entries []store.Entry) []potluck.File {
	var files []potluck.File
	for _, f := range store.Describe(entries) {
		if f.Path != potluck.ManifestFile {
			files = append(files, f)
		}
	}
	return files
}
