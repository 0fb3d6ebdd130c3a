package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/potluck-hub/potluck"
)

func lineageCmd() *cobra.Command {
	var hc hubConn
	var asJSON bool
	c := &cobra.Command{
		Use:   "lineage CID",
		Short: "Show the release graph around a release: what it was made from and what was built on it",
		Long: `Print the releases around one as an indented tree: from the root base it
was built on, down through every release built on it, directly or not. Each
line gives a release's CID, kind, publisher, the day the hub accepted it and
its best attested scores; yanked releases are marked. A release with several
parents (a merge) is printed in full under the first of them and referred to
under the others. --json prints the lineage as the hub's HTTP JSON serves it.`,
		Example: `  potluck lineage bafybei... --hub 127.0.0.1:7420
  potluck lineage bafybei... --json --hub 127.0.0.1:7420`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := hc.dial()
			if err != nil {
				return err
			}
			defer client.Close()
			l, err := client.Lineage(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), l)
			}
			printLineage(cmd.OutOrStdout(), l)
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	hubFlag(c, &hc)
	return c
}

// printLineage draws l as a tree from its roots (the nodes none of whose
// parents is in l), children in creation order.
func printLineage(w io.Writer, l *potluck.Lineage) {
	byCID := map[string]*potluck.LineageNode{}
	for i := range l.Nodes {
		byCID[l.Nodes[i].CID] = &l.Nodes[i]
	}
	children := map[string][]*potluck.LineageNode{}
	var roots []*potluck.LineageNode
	for i := range l.Nodes {
		n := &l.Nodes[i]
		root := true
		for _, p := range n.Parents {
			if _, ok := byCID[p]; ok {
				children[p] = append(children[p], n)
				root = false
			}
		}
		if root {
			roots = append(roots, n)
		}
	}
	shown := map[string]bool{}
	var draw func(n *potluck.LineageNode, lead, branch, rest string)
	draw = func(n *potluck.LineageNode, lead, branch, rest string) {
		if shown[n.CID] {
			fmt.Fprintf(w, "%s%s%s  %s (shown above)\n", lead, branch, n.CID, n.Kind)
			return
		}
		shown[n.CID] = true
		fmt.Fprintf(w, "%s%s%s\n", lead, branch, nodeText(n, n.CID == l.Root))
		kids := children[n.CID]
		for i, k := range kids {
			if i == len(kids)-1 {
				draw(k, lead+rest, "└── ", "    ")
			} else {
				draw(k, lead+rest, "├── ", "│   ")
			}
		}
	}
	for _, r := range roots {
		draw(r, "", "", "")
	}
}

// nodeText is one line of the tree: CID, kind, publisher, day, yanked,
// best scores, and a mark on the release asked about.
func nodeText(n *potluck.LineageNode, asked bool) string {
	s := fmt.Sprintf("%s  %s  %s  %s", n.CID, n.Kind, n.Publisher, n.Created.UTC().Format("2006-01-02"))
	if n.Yanked {
		s += "  [yanked]"
	}
	var scores []string
	for _, b := range n.Best {
		scores = append(scores, fmt.Sprintf("%s/%s=%g (%s)", b.Task, b.Metric, b.Value, b.Org))
	}
	if len(scores) > 0 {
		s += "  " + strings.Join(scores, ", ")
	}
	if asked {
		s += "  <- this release"
	}
	return s
}
