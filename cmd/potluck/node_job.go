package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/potluck-hub/potluck"
)

func nodeJobCmd() *cobra.Command {
	var hc hubConn
	var cancel, wait, asJSON bool
	c := &cobra.Command{
		Use:   "job ID",
		Short: "Show (or cancel) a merge job on the hub",
		Long: `Print a merge job's state (queued, running, done, failed, cancelled), its
progress in output tensors, and its release's CID once done or its error
once failed. With --cancel, stop the job first; nothing is published. With
--wait, follow the job to its end (progress on stderr) and print it then; the
command fails if the job failed or was cancelled.`,
		Example: `  potluck node merge recipe.yaml --hub 127.0.0.1:7420 --wait=false
  potluck node job job-0123abcd... --hub 127.0.0.1:7420
  potluck node job job-0123abcd... --hub 127.0.0.1:7420 --wait
  potluck node job job-0123abcd... --hub 127.0.0.1:7420 --cancel
  potluck node job job-0123abcd... --hub 127.0.0.1:7420 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := hc.dial()
			if err != nil {
				return err
			}
			defer client.Close()
			job, err := client.MergeJob(cmd.Context(), args[0])
			if cancel && err == nil {
				job, err = client.CancelMergeJob(cmd.Context(), args[0])
			}
			if wait && err == nil {
				job, err = client.WaitMergeJob(cmd.Context(), args[0], time.Second/2, jobProgress(cmd.ErrOrStderr()))
			}
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return printJSON(out, newJobJSON(job))
			}
			fmt.Fprintf(out, "job %s\nstate %s\ntensors %d/%d\n", job.ID, job.State, job.Done, job.Total)
			if job.Release != nil {
				fmt.Fprintf(out, "cid %s\n", job.Release.CID)
			}
			if job.Err != nil {
				fmt.Fprintf(out, "error %s\n", job.Err)
			}
			if wait && job.State != potluck.JobDone {
				return fmt.Errorf("merge job %s %s", job.ID, job.State)
			}
			return nil
		},
	}
	c.Flags().BoolVar(&wait, "wait", false, "follow the job until it is done, failed or cancelled")
	c.Flags().BoolVar(&cancel, "cancel", false, "cancel the job (it stops at the next tensor)")
	jsonFlag(c, &asJSON)
	hubFlag(c, &hc)
	return c
}

// jobProgress prints a line to w each time a job's state or progress
// changes.
func jobProgress(w io.Writer) func(*potluck.MergeJob) {
	var last string
	return func(j *potluck.MergeJob) {
		line := fmt.Sprintf("job %s: %s, %d/%d tensors", j.ID, j.State, j.Done, j.Total)
		if line != last {
			fmt.Fprintln(w, line)
			last = line
		}
	}
}
