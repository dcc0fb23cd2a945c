package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// document is one Service found in the input, or a Service that could not be decoded.
type document struct {
	File    string
	Service *v1.Service
	// DecodeErr is set when the object says kind: Service but does not decode as one.
	DecodeErr error
	Name      string // namespace/name, also set when DecodeErr is
}

// inputError is input that cannot be read as manifests. It names the file, the document and,
// when known, the line of the whole file (not of the document), so an editor can jump to it.
type inputError struct {
	File string
	Doc  int // 1-based index among the file's documents; 0 for the whole file
	Line int // 0 when unknown
	Msg  string
}

func (e *inputError) Error() string {
	switch {
	case e.Line > 0 && e.Doc > 0:
		return fmt.Sprintf("%s:%d: document %d: %s", e.File, e.Line, e.Doc, e.Msg)
	case e.Doc > 0:
		return fmt.Sprintf("%s: document %d: %s", e.File, e.Doc, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// readInputs expands files, directories (*.yaml, *.yml, *.json, recursively) and "-" (stdin)
// into Service documents. Unreadable or malformed input is an error: the input, not a
// Service, is wrong.
func readInputs(paths []string, stdin io.Reader) ([]document, error) {
	var docs []document
	for _, p := range paths {
		ds, err := readPath(p, stdin)
		if err != nil {
			return nil, err
		}
		docs = append(docs, ds...)
	}
	return docs, nil
}

// readPath reads one input as given on the command line. A file (or stdin) must hold a
// Service: an empty or Deployment-only file is a wrong path or a misspelt kind, and passing
// it as "0 checked" hides that. A directory needs one Service somewhere, since its other
// manifests (Deployments, ConfigMaps) are expected there and skipped.
func readPath(p string, stdin io.Reader) ([]document, error) {
	if p == "-" {
		c, err := readStream("<stdin>", stdin)
		if err != nil {
			return nil, err
		}
		return c.services, c.requireService("<stdin>")
	}
	st, err := os.Stat(p)
	if err != nil {
		return nil, pathError(p, err)
	}
	if !st.IsDir() {
		c, err := readFile(p)
		if err != nil {
			return nil, err
		}
		return c.services, c.requireService(p)
	}
	files, err := expand(p)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, &inputError{File: p, Msg: "no manifest files (*.yaml, *.yml, *.json) in this directory"}
	}
	var docs []document
	for _, f := range files {
		c, err := readFile(f)
		if err != nil {
			return nil, err
		}
		docs = append(docs, c.services...)
	}
	if len(docs) == 0 {
		return nil, &inputError{File: p, Msg: fmt.Sprintf("no Service to check in its %s", plural(len(files), "manifest file"))}
	}
	return docs, nil
}

func readFile(name string) (fileContents, error) {
	fh, err := os.Open(name)
	if err != nil {
		return fileContents{}, pathError(name, err)
	}
	defer fh.Close()
	return readStream(name, fh)
}

// pathError drops the os operation ("stat", "open") that the user did not ask for.
func pathError(name string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return &inputError{File: name, Msg: err.Error()}
}

// expand lists the manifest files under a directory, sorted.
func expand(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".yaml", ".yml", ".json":
			if !d.IsDir() {
				files = append(files, path)
			}
		}
		return nil
	})
	if err != nil {
		return nil, pathError(dir, err)
	}
	sort.Strings(files)
	return files, nil
}

// fileContents is what one file holds: its Services and, to explain a file without one,
// its other objects.
type fileContents struct {
	services []document
	others   []objectRef
}

// objectRef is an object of the input that is not a v1 Service.
type objectRef struct {
	Doc, Item              int // Item is the 1-based index in a List, 0 outside one
	Kind, APIVersion, Name string
}

func (o objectRef) String() string {
	where := fmt.Sprintf("document %d", o.Doc)
	if o.Item > 0 {
		where += fmt.Sprintf(" item %d", o.Item)
	}
	if o.Kind == "" {
		return "an object without kind (" + where + ")"
	}
	s := o.Kind
	if o.Name != "" {
		s += fmt.Sprintf(" %q", o.Name)
	}
	return fmt.Sprintf("%s (%s, %s)", s, o.APIVersion, where)
}

// requireService explains an input without any Service by what it holds instead.
func (c fileContents) requireService(name string) error {
	const shown = 3
	switch {
	case len(c.services) > 0:
		return nil
	case len(c.others) == 0:
		return &inputError{File: name, Msg: "empty: no Kubernetes object in it"}
	}
	var found []string
	for i, o := range c.others {
		if i == shown {
			found = append(found, fmt.Sprintf("and %d more", len(c.others)-shown))
			break
		}
		found = append(found, o.String())
	}
	return &inputError{File: name, Msg: "no Service to check: found " + strings.Join(found, ", ")}
}
