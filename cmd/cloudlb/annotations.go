package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/cloudlb/cloudlb/annotations"
)

// runAnnotations prints the registry.
func runAnnotations(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cloudlb annotations", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cloudFlag := fs.String("cloud", "", "only this cloud's keys (aws, azure, gce); core keys are always listed")
	output := fs.String("o", "table", "output format: table, json or markdown")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	cloud, err := annotations.ParseCloud(*cloudFlag)
	if err != nil {
		fmt.Fprintf(stderr, "cloudlb annotations: --cloud: %v\n", err)
		return exitUsage
	}
	var ds []*annotations.Descriptor
	for _, d := range annotations.All() {
		if cloud == annotations.AnyCloud || d.Cloud == cloud || d.Cloud == annotations.Core {
			ds = append(ds, d)
		}
	}
	switch *output {
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(ds)
	case "markdown":
		err = annotations.WriteMarkdown(stdout, cloud)
	case "table":
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KEY\tCLOUD\tTYPE\tDEFAULT\tVALUES\tCHANGE")
		for _, d := range ds {
			def, vals := d.DefaultDoc(), d.AllowedDoc()
			if d.Unsupported != "" {
				vals = "(not supported)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.Key, d.Cloud, d.Type, dash(def), dash(vals), d.Change)
		}
		err = tw.Flush()
	default:
		fmt.Fprintf(stderr, "cloudlb annotations: -o %q: allowed: table, json, markdown\n", *output)
		return exitUsage
	}
	if err != nil {
		fmt.Fprintf(stderr, "cloudlb annotations: %v\n", err)
		return exitUsage
	}
	return exitOK
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
