package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// document is one Service found in the input, or a Service that could not be decoded.
type document struct {
	File    string
	Service *v1.Service
	// DecodeErr is set when the object says kind: Service but does not decode as one.
	DecodeErr error
	Name      string // namespace/name, also set when DecodeErr is
}

// readInputs expands files, directories (*.yaml, *.yml, *.json, recursively) and "-" (stdin)
// into Service documents. An unreadable file or malformed YAML is an error: the input, not a
// Service, is wrong.
func readInputs(paths []string, stdin io.Reader) ([]document, error) {
	var docs []document
	for _, p := range paths {
		if p == "-" {
			ds, err := readStream("<stdin>", stdin)
			if err != nil {
				return nil, err
			}
			docs = append(docs, ds...)
			continue
		}
		files, err := expand(p)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			fh, err := os.Open(f)
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", f, err)
			}
			ds, err := readStream(f, fh)
			fh.Close()
			if err != nil {
				return nil, err
			}
			docs = append(docs, ds...)
		}
	}
	return docs, nil
}

// expand turns a path into the manifest files under it, sorted.
func expand(p string) ([]string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	if !st.IsDir() {
		return []string{p}, nil
	}
	var files []string
	err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
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
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	sort.Strings(files)
	return files, nil
}

// typeMeta is enough of an object to decide what it is.
type typeMeta struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Items      []json.RawMessage `json:"items"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

// readStream splits a multi-document YAML or JSON stream and keeps the Services.
func readStream(name string, r io.Reader) ([]document, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var docs []document
	for i := 1; ; i++ {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, i, err)
		}
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		js, err := utilyaml.ToJSON(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, i, err)
		}
		if string(js) == "null" {
			continue // a document holding only comments
		}
		ds, err := objects(name, js)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, i, err)
		}
		docs = append(docs, ds...)
	}
}

// objects returns the Services in one JSON object, descending into lists.
func objects(file string, js []byte) ([]document, error) {
	var tm typeMeta
	if err := json.Unmarshal(js, &tm); err != nil {
		return nil, fmt.Errorf("not a Kubernetes object: %w", err)
	}
	if strings.HasSuffix(tm.Kind, "List") && tm.Items != nil {
		var out []document
		for _, it := range tm.Items {
			ds, err := objects(file, it)
			if err != nil {
				return nil, err
			}
			out = append(out, ds...)
		}
		return out, nil
	}
	if tm.Kind != "Service" || tm.APIVersion != "v1" {
		return nil, nil
	}
	ns := tm.Metadata.Namespace
	if ns == "" {
		ns = "default"
	}
	doc := document{File: file, Name: ns + "/" + tm.Metadata.Name}
	svc := &v1.Service{}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(svc); err != nil {
		doc.DecodeErr = err
		return []document{doc}, nil
	}
	svc.Namespace = ns
	doc.Service = svc
	return []document{doc}, nil
}
