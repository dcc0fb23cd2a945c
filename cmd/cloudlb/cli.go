package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"sigs.k8s.io/yaml"
)

// outputUsage is the help of -o, word for word the same in every verb that prints results, so
// that a user who learnt one verb knows them all.
const outputUsage = "output format: text, json or yaml"

// outputFormats are the formats every result-printing verb accepts.
var outputFormats = []string{"text", "json", "yaml"}

// verb is one verb's flags and help. The flag package's own help printing is bypassed: it
// writes to one output, and help asked for belongs on stdout (exit 0) while a usage error
// belongs on stderr (exit 2).
type verb struct {
	name     string // "cloudlb lint"
	synopsis string // the usage line after "Usage: "
	about    string // what the verb does and what its exit codes mean; may be empty
	fs       *flag.FlagSet
}

func newVerb(name, synopsis, about string) *verb {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // parse reports errors itself, prefixed with the verb
	fs.Usage = func() {}
	return &verb{name: name, synopsis: synopsis, about: about, fs: fs}
}

// output registers -o with the shared help text; text is every verb's default.
func (v *verb) output() *string { return v.fs.String("o", "text", outputUsage) }

// help prints the synopsis, the description and the flags.
func (v *verb) help(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s\n", v.synopsis)
	if v.about != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimRight(v.about, "\n"))
	}
	hasFlags := false
	v.fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		fmt.Fprintln(w, "\nFlags:")
		v.fs.SetOutput(w)
		v.fs.PrintDefaults()
		v.fs.SetOutput(io.Discard)
	}
}

// parse parses args, flags and positional arguments in any order (a flag after a file name
// is a flag, as in kubectl; "--" ends the flags). ok is false when the verb must stop and
// return code: after printing help (exit 0) or a usage error.
func (v *verb) parse(args []string, stdout, stderr io.Writer) (positional []string, code int, ok bool) {
	for {
		err := v.fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			v.help(stdout)
			return nil, exitOK, false
		}
		if err != nil {
			return nil, v.usageError(stderr, "%v", err), false
		}
		rest := v.fs.Args()
		if len(rest) == 0 {
			return positional, exitOK, true
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(positional, rest...), exitOK, true
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// usageError prints a usage error and where help is, and returns exitUsage.
func (v *verb) usageError(stderr io.Writer, format string, a ...any) int {
	fmt.Fprintf(stderr, "%s: %s\nRun '%s -h' for help.\n", v.name, fmt.Sprintf(format, a...), v.name)
	return exitUsage
}

// checkOutput rejects an -o value outside outputFormats and extra, naming all of them.
func (v *verb) checkOutput(stderr io.Writer, o string, extra ...string) (int, bool) {
	allowed := append(append([]string{}, outputFormats...), extra...)
	for _, a := range allowed {
		if o == a {
			return exitOK, true
		}
	}
	return v.usageError(stderr, "-o %q: allowed: %s", o, strings.Join(allowed, ", ")), false
}

// writeData prints v as indented JSON or as YAML. HTML escaping is off: placeholders and
// messages hold <...>, which must stay readable.
func writeData(w io.Writer, format string, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	out := b.Bytes()
	if format == "yaml" {
		var err error
		if out, err = yaml.JSONToYAML(out); err != nil {
			return err
		}
	}
	_, err := w.Write(out)
	return err
}

// plural is "1 error", "2 errors", "0 errors": counts in messages read as English.
func plural(n int, singular string) string {
	if n == 1 {
		return "1 " + singular
	}
	return fmt.Sprintf("%d %ss", n, singular)
}
