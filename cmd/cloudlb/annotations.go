package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/cloudlb/cloudlb/annotations"
)

const annotationsAbout = `Prints the registry of every Service annotation cloudlb reads: key, cloud, type, default,
allowed values and what a change does to an existing load balancer.

-o text is a table (-o table is accepted as its older name); -o markdown is the page
docs/annotations.md, which "make generate" writes from it.`

// runAnnotations prints the registry.
func runAnnotations(args []string, stdout, stderr io.Writer) int {
	v := newVerb("cloudlb annotations", "cloudlb annotations [--cloud aws|azure|gce] [-o text|json|yaml|markdown]", annotationsAbout)
	cloudFlag := v.fs.String("cloud", "", "only this cloud's keys (aws, azure, gce); core keys are always listed")
	output := v.output()
	positional, code, ok := v.parse(args, stdout, stderr)
	if !ok {
		return code
	}
	if len(positional) > 0 {
		return v.usageError(stderr, "unexpected arguments %q", positional)
	}
	cloud, err := annotations.ParseCloud(*cloudFlag)
	if err != nil {
		return v.usageError(stderr, "--cloud: %v", err)
	}
	if code, ok := v.checkOutput(stderr, *output, "markdown", "table"); !ok {
		return code
	}
	var ds []*annotations.Descriptor
	for _, d := range annotations.All() {
		if cloud == annotations.AnyCloud || d.Cloud == cloud || d.Cloud == annotations.Core {
			ds = append(ds, d)
		}
	}
	switch *output {
	case "json", "yaml":
		err = writeData(stdout, *output, ds)
	case "markdown":
		err = annotations.WriteMarkdown(stdout, cloud)
	default: // text, table
		err = writeTable(stdout, ds)
	}
	if err != nil {
		fmt.Fprintf(stderr, "cloudlb annotations: %v\n", err)
		return exitUsage
	}
	return exitOK
}

// writeTable is the text form: one key per line, columns aligned.
func writeTable(w io.Writer, ds []*annotations.Descriptor) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tCLOUD\tTYPE\tDEFAULT\tVALUES\tCHANGE")
	for _, d := range ds {
		def, vals := d.DefaultDoc(), d.AllowedDoc()
		if d.Unsupported != "" {
			vals = "(not supported)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.Key, d.Cloud, d.Type, dash(def), dash(vals), d.Change)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
