package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/node"
)

func releasesCmd() *cobra.Command {
	var hc hubConn
	var o node.ListOptions
	var kind string
	var asJSON bool
	c := &cobra.Command{
		Use:   "releases",
		Short: "List the releases a hub holds, oldest first",
		Long: `List a hub's releases, oldest first, every page of them: CID, kind,
publisher, when the hub accepted it and its base. Filter by base, kind and
publishing org. Yanked releases are left out unless --yanked is given; then a
last column says which were yanked. --json prints the releases as the hub's
HTTP JSON lists them.`,
		Example: `  potluck releases --hub 127.0.0.1:7420
  potluck releases --base bafybei... --kind delta --hub 127.0.0.1:7420
  potluck releases --org lab-a --yanked --json --hub 127.0.0.1:7420`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k, err := kindFlag(kind)
			if err != nil {
				return err
			}
			o.Kind = k
			client, err := hc.dial()
			if err != nil {
				return err
			}
			defer client.Close()
			rs, err := client.ListAll(cmd.Context(), o)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), rs)
			}
			return printReleases(cmd.OutOrStdout(), rs, o.IncludeYanked)
		},
	}
	c.Flags().StringVar(&o.Base, "base", "", "only releases against this base CID")
	c.Flags().StringVar(&kind, "kind", "", "only releases of this kind: base, delta or merge")
	c.Flags().StringVar(&o.Org, "org", "", "only releases this org published (hub for merges)")
	c.Flags().BoolVar(&o.IncludeYanked, "yanked", false, "include yanked releases")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	hubFlag(c, &hc)
	return c
}

// kindFlag checks a --kind value.
func kindFlag(s string) (potluck.Kind, error) {
	switch k := potluck.Kind(s); k {
	case "", potluck.KindBase, potluck.KindDelta, potluck.KindMerge:
		return k, nil
	}
	return "", fmt.Errorf("--kind %q: want base, delta or merge", s)
}

func printReleases(w io.Writer, rs []*potluck.Release, yanked bool) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	head := "CID\tKIND\tPUBLISHER\tCREATED\tBASE"
	if yanked {
		head += "\tYANKED"
	}
	fmt.Fprintln(tw, head)
	for _, r := range rs {
		line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s", r.CID, r.Kind, r.Publisher, r.Created.UTC().Format(time.RFC3339), orDash(r.Base))
		if yanked {
			line += "\t" + yankWord(r.Yank)
		}
		fmt.Fprintln(tw, line)
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yankWord(y *potluck.Yank) string {
	if y == nil {
		return "no"
	}
	return "yanked"
}
