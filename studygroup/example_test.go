package studygroup_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/potluck-hub/potluck/studygroup"
)

// Run the default study group (3 labs, 4 rounds) with TIES, keeping the
// checkpoints, and write the plot.
func ExampleRun() {
	opts := studygroup.DefaultOptions()
	opts.Merge, opts.MergeName = studygroup.TIES(0.2), "ties"
	opts.Dir = "study" // study/base, study/round-1/lab-0, ...
	res, err := studygroup.Run(context.Background(), opts)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(res) // the table
	f, err := os.Create("study/accuracy.svg")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	if err := res.WriteSVG(f); err != nil {
		log.Fatal(err)
	}
}

// A merge that runs somewhere else, a hub for instance: it gets the
// round's base and the labs' checkpoint directories and returns the
// directory of the merged checkpoint.
func ExampleMergeFunc() {
	var hubMerge studygroup.MergeFunc = func(ctx context.Context, req studygroup.MergeRequest) (string, error) {
		// Publish each of req.Labs as a delta against req.Base, merge the
		// releases on the hub, pull the merge into req.Out.
		return studygroup.Mean(ctx, req) // standing in for the hub here
	}
	opts := studygroup.DefaultOptions()
	opts.Merge, opts.MergeName = hubMerge, "hub task arithmetic"
	if _, err := studygroup.Run(context.Background(), opts); err != nil {
		log.Fatal(err)
	}
}
