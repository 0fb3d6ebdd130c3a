package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/potluck-hub/potluck/internal/demo"
	"github.com/potluck-hub/potluck/studygroup"
)

func demoCmd() *cobra.Command {
	var dir, method string
	var study bool
	var labs, rounds int
	c := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole path on this machine: hub, labs, publish, merge, pull, verify; or a study group learning MNIST",
		Long: `Start a hub on loopback with embedded storage, generate a small base model
and two fine-tunes (safetensors, bf16 and f32), register the base, publish
both deltas from two labs with two keys, merge them on the hub (task
arithmetic), pull the merge and verify every signature and digest, then
reproduce the merge locally and compare CIDs. Then a second round built
on the merge: each lab trains from the merge it pulled and publishes a
delta against it, the hub merges those over the merge, an auditor
recomputes that merge, and lab-b rebuilds lab-a's fine-tune byte for byte
(node apply). Everything goes in --dir (default: a temporary folder,
removed afterwards).

--study-group runs a study group on real data through a hub on loopback
(TLS, tokens, each lab's own key): a small classifier (784-64-10 MLP)
trained on 300 public MNIST digits is registered as the base; each of
--labs labs holds a private, label-skewed split (3 labs: digits 0-3, 4-6,
7-9, plus a tenth of the pool dealt to all) and, each of --rounds rounds,
fine-tunes the model it pulled, publishes its signed delta against it
(with its sample count), the hub merges the deltas it admits (--method),
every lab pulls the merge, checks it and attests its accuracy on the
MNIST test subset and on its own held-out split (signed, logged); the
next round starts from the merge. It prints per round each lab's
fine-tune, each lab alone (never merging), the merge and a centralised
reference trained on the union of the labs' data; the lineage of the last
merge; an auditor's recomputation of it; and writes results.csv and
results.svg into --dir. Seeds are fixed: two runs print the same table.

--method all compares the merge methods, with every lab honest and with
one lab poisoned (labels shuffled, or its delta published ×20), the hub's
screens off; then the hub's admission screens (the norm bound, the cosine
screen) with the default method. Each run goes in a folder of --dir; the
tables are printed and written to methods.csv and admission.csv.`,
		Example: `  potluck demo
  potluck demo --dir ./potluck-demo   # keep everything to look at
  potluck demo --study-group --dir ./study
  potluck demo --study-group --labs 5 --rounds 8 --method median
  potluck demo --study-group --method all --dir ./study-all`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !study {
				for _, f := range []string{"labs", "rounds", "method"} {
					if cmd.Flags().Changed(f) {
						return fmt.Errorf("demo: --%s is a study group's: add --study-group", f)
					}
				}
			}
			if study && (labs < 2 || labs > 10) {
				return fmt.Errorf("demo: --labs %d: a study group has 2 to 10 labs", labs)
			}
			if study && rounds < 1 {
				return fmt.Errorf("demo: --rounds %d: a study group runs at least 1 round", rounds)
			}
			if study && method != "all" {
				if _, err := demo.MethodNamed(method); err != nil {
					return fmt.Errorf("demo: %w", err)
				}
			}
			kept := dir != ""
			if !kept {
				tmp, err := os.MkdirTemp("", "potluck-demo-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(tmp)
				dir = tmp
			} else if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			err := runDemo(cmd, dir, study, labs, rounds, method)
			if err != nil {
				return fmt.Errorf("demo: %w", err)
			}
			if study && !kept {
				fmt.Fprintf(cmd.OutOrStdout(), "(%s was a temporary folder, now removed: --dir DIR keeps the files)\n", dir)
			}
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "keep the demo's files in this folder (for --study-group: new or empty)")
	c.Flags().BoolVar(&study, "study-group", false, "run a study group of labs learning MNIST through the hub")
	c.Flags().IntVar(&labs, "labs", 3, "with --study-group: how many labs (2 to 10)")
	c.Flags().IntVar(&rounds, "rounds", 4, "with --study-group: how many rounds of fine-tune and merge")
	c.Flags().StringVar(&method, "method", demo.Methods[0].Name, "with --study-group: how the hub merges (ties, task_arithmetic, dare_ties, fedavg, median, trimmed_mean), or all to compare them")
	return c
}

func runDemo(cmd *cobra.Command, dir string, study bool, labs, rounds int, method string) error {
	out := cmd.OutOrStdout()
	if !study {
		_, err := demo.Run(cmd.Context(), out, dir)
		return err
	}
	o := studygroup.DefaultOptions()
	o.Labs, o.Rounds = labs, rounds
	if method == "all" {
		_, err := demo.Compare(cmd.Context(), out, demo.CompareOptions{Study: o, Dir: dir})
		return err
	}
	m, err := demo.MethodNamed(method)
	if err != nil {
		return err
	}
	_, err = demo.StudyGroup(cmd.Context(), out, demo.StudyOptions{Study: o, Method: m, Dir: dir, Lineage: printLineage})
	return err
}
