package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// yamlDoc is one document of a multi-document stream and where it starts in the file.
type yamlDoc struct {
	index int // 1-based, among the documents that hold more than white space
	line  int // the file's line of the document's first line
	body  []byte
}

// splitDocuments splits a stream at "---" lines as kubectl does (utilyaml.YAMLReader: only
// a comment may follow the separator). It is our own so that each document knows the line
// it starts at: a YAML parser counts lines from the start of the document it is given.
func splitDocuments(file string, data []byte) ([]yamlDoc, error) {
	var docs []yamlDoc
	var body []byte
	start, lineNo := 1, 0
	flush := func() {
		if len(bytes.TrimSpace(body)) > 0 {
			docs = append(docs, yamlDoc{index: len(docs) + 1, line: start, body: body})
		}
	}
	for len(data) > 0 {
		lineNo++
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line = data[:i+1]
		}
		data = data[len(line):]
		if !bytes.HasPrefix(line, []byte("---")) {
			body = append(body, line...)
			continue
		}
		if rest := strings.TrimSpace(string(line[3:])); rest != "" && rest[0] != '#' {
			return nil, &inputError{File: file, Doc: len(docs) + 1, Line: lineNo,
				Msg: fmt.Sprintf("invalid YAML document separator %q: only a comment may follow ---", strings.TrimSpace(string(line)))}
		}
		flush()
		body, start = nil, lineNo+1
	}
	flush()
	return docs, nil
}

// readStream reads a multi-document YAML or JSON stream and sorts its objects into Services
// and others.
func readStream(name string, r io.Reader) (fileContents, error) {
	var c fileContents
	data, err := io.ReadAll(r)
	if err != nil {
		return c, &inputError{File: name, Msg: err.Error()}
	}
	docs, err := splitDocuments(name, data)
	if err != nil {
		return c, err
	}
	for _, d := range docs {
		js, err := utilyaml.ToJSON(d.body)
		if err != nil {
			return c, yamlError(name, d, err)
		}
		if string(js) == "null" {
			continue // a document holding only comments
		}
		if err := c.add(name, d, 0, js); err != nil {
			return c, err
		}
	}
	return c, nil
}

var (
	yamlLine       = regexp.MustCompile(`\bline (\d+)`)
	yamlLeadByLine = regexp.MustCompile(`^line (\d+): `)
)

// yamlError turns the parser's document-relative "line N" into the file's line, and puts the
// line first (FILE:LINE:) when the error names one.
func yamlError(file string, d yamlDoc, err error) error {
	msg := strings.TrimPrefix(err.Error(), "error converting YAML to JSON: ")
	msg = strings.TrimPrefix(msg, "yaml: ")
	msg = yamlLine.ReplaceAllStringFunc(msg, func(m string) string {
		n, _ := strconv.Atoi(strings.TrimPrefix(m, "line "))
		return fmt.Sprintf("line %d", n+d.line-1)
	})
	e := &inputError{File: file, Doc: d.index, Msg: "invalid YAML: " + msg}
	if m := yamlLeadByLine.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Msg = "invalid YAML: " + msg[len(m[0]):]
	} else {
		e.Msg += fmt.Sprintf(" (the document starts at line %d)", d.line)
	}
	return e
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

// add sorts one JSON object of document d (item of a List when item > 0) into c.
func (c *fileContents) add(file string, d yamlDoc, item int, js []byte) error {
	where := ""
	if item > 0 {
		where = fmt.Sprintf("item %d: ", item)
	}
	var tm typeMeta
	if err := json.Unmarshal(js, &tm); err != nil {
		return &inputError{File: file, Doc: d.index, Line: d.line, Msg: where + "not a Kubernetes object: " + typeMetaError(err)}
	}
	if strings.HasSuffix(tm.Kind, "List") && tm.Items != nil {
		for i, it := range tm.Items {
			if err := c.add(file, d, i+1, it); err != nil {
				return err
			}
		}
		if len(tm.Items) == 0 {
			c.others = append(c.others, objectRef{Doc: d.index, Item: item, Kind: tm.Kind, APIVersion: tm.APIVersion, Name: tm.Metadata.Name})
		}
		return nil
	}
	if tm.Kind != "Service" && strings.EqualFold(tm.Kind, "Service") {
		// The API server would reject it; skipping it as "some other kind" would hide the typo.
		return &inputError{File: file, Doc: d.index, Line: kindLine(d, tm.Kind),
			Msg: fmt.Sprintf("%skind %q is not a Service: kinds are case-sensitive (kind: Service)", where, tm.Kind)}
	}
	if tm.Kind != "Service" || tm.APIVersion != "v1" {
		c.others = append(c.others, objectRef{Doc: d.index, Item: item, Kind: tm.Kind, APIVersion: tm.APIVersion, Name: tm.Metadata.Name})
		return nil
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
	} else {
		svc.Namespace = ns
		doc.Service = svc
	}
	c.services = append(c.services, doc)
	return nil
}

// kindLine is the file's line of the first "kind: <kind>" of d, or d's first line.
func kindLine(d yamlDoc, kind string) int {
	re := regexp.MustCompile(`(?m)^[ \t-]*"?kind"?[ \t]*:[ \t]*["']?` + regexp.QuoteMeta(kind) + `["']?[ \t,]*(#.*)?\r?$`)
	loc := re.FindIndex(d.body)
	if loc == nil {
		return d.line
	}
	return d.line + bytes.Count(d.body[:loc[0]], []byte("\n"))
}

// typeMetaError says what is wrong with an object's shape in the manifest's terms, not in
// those of the Go type it was decoded into.
func typeMetaError(err error) string {
	var ute *json.UnmarshalTypeError
	if !errors.As(err, &ute) {
		return err.Error()
	}
	got := map[string]string{"array": "list", "object": "mapping", "bool": "boolean"}[ute.Value]
	if got == "" {
		got = ute.Value
	}
	if ute.Field == "" {
		return fmt.Sprintf("want a mapping with apiVersion and kind, got a %s", got)
	}
	return fmt.Sprintf("%s is a %s, want a %s", ute.Field, got, ute.Type)
}
