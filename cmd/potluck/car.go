package main

import (
	"fmt"
	"io"
	"os"

	cid "github.com/ipfs/go-cid"
	"github.com/spf13/cobra"
)

func carCmd() *cobra.Command {
	c := &cobra.Command{Use: "car", Short: "Move releases in and out of a hub's store as CAR files"}
	c.AddCommand(carExportCmd(), carImportCmd())
	return c
}

func carExportCmd() *cobra.Command {
	var f storeFlags
	var out string
	c := &cobra.Command{
		Use:   "export CID",
		Short: "Write a stored file or release as a CAR (to stdout or --out)",
		Long: `Write the DAG under CID as a CARv1, blocks in depth-first order, each block
checked against its CID as it is read: what 'ipfs dag export' writes, and what
'ipfs dag import' (or any IPFS implementation) verifies and loads.`,
		Example: `  potluck car export bafybei... --data /var/lib/potluck > release.car`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			root, err := cid.Decode(args[0])
			if err != nil {
				return fmt.Errorf("%q is not a CID: %w", args[0], err)
			}
			st, err := f.open(cmd.Context(), "potluck car export")
			if err != nil {
				return err
			}
			defer st.Close()
			if out == "" {
				return st.ExportCAR(cmd.Context(), cmd.OutOrStdout(), root)
			}
			w, err := os.Create(out)
			if err != nil {
				return err
			}
			if err := st.ExportCAR(cmd.Context(), w, root); err != nil {
				w.Close()
				os.Remove(out)
				return err
			}
			return w.Close()
		},
	}
	f.register(c.Flags())
	c.Flags().StringVarP(&out, "out", "o", "", "write to this file instead of stdout")
	return c
}

func carImportCmd() *cobra.Command {
	var f storeFlags
	c := &cobra.Command{
		Use:   "import FILE.car",
		Short: "Import a CAR into a hub's store, checking every block, and print its roots",
		Long: `Import a CAR (v1 or v2; '-' for stdin) into a hub's store: every block is
checked against its CID, and each root (a UnixFS file or directory laid out as
'ipfs add --cid-version=1' lays it out) is stored whole and pinned.`,
		Example: `  potluck car import release.car --data /var/lib/potluck`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var r io.Reader = cmd.InOrStdin()
			if args[0] != "-" {
				fh, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer fh.Close()
				r = fh
			}
			st, err := f.open(cmd.Context(), "potluck car import")
			if err != nil {
				return err
			}
			defer st.Close()
			roots, err := st.ImportCAR(cmd.Context(), r)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			for _, c := range roots {
				fmt.Fprintln(cmd.OutOrStdout(), c)
			}
			return nil
		},
	}
	f.register(c.Flags())
	return c
}
