// Package cloudconfig reads the providers' cloud config files as upstream does (gcfg for the
// AWS and GCE INI files) and refuses what upstream would silently ignore: an unknown section
// or key is an error naming the file, the line and the nearest known name. It also renders the
// effective settings for the start-up log.
package cloudconfig

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"

	gcfg "gopkg.in/gcfg.v1"
	"gopkg.in/gcfg.v1/scanner"
	"gopkg.in/gcfg.v1/token"
)

// UnknownKeyError is a section or key of a cloud config file that the provider does not know.
// gcfg only warns about those (and upstream GCE ignores them), so a typo would silently leave
// a setting at its default; the provider refuses the file instead.
type UnknownKeyError struct {
	// File is the config file's name; "" when it was read from a reader without one.
	File string
	Line int
	// Section is the section as written, with its subsection (`ServiceOverride "1"`); "" in a
	// file without sections.
	Section string
	// Key is the unknown key; "" when the section itself is unknown.
	Key string
	// Nearest is the known name closest to the unknown one; "" when none is close.
	Nearest string
}

func (e *UnknownKeyError) Error() string {
	where := fmt.Sprintf("line %d", e.Line)
	if e.File != "" {
		where = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	what := fmt.Sprintf("unknown key %q in [%s]", e.Key, e.Section)
	switch {
	case e.Key == "":
		what = fmt.Sprintf("unknown section [%s]", e.Section)
	case e.Section == "": // a file without sections (azure.json)
		what = fmt.Sprintf("unknown key %q", e.Key)
	}
	if e.Nearest != "" {
		what += ", did you mean " + e.Nearest + "?"
	}
	return where + ": " + what
}

// utf8BOM is skipped at the start of the file, as gcfg.ReadFileInto does for files saved on
// Windows (gcfg.ReadInto, which takes a reader, does not).
var utf8BOM = []byte("\ufeff")

// ReadINI reads the gcfg file r into cfg, a pointer to a struct of sections, and returns the
// file's name when r has one (cloudprovider.InitCloudProvider passes the *os.File). Every
// unknown section or key is an UnknownKeyError; gcfg's own errors (syntax, values) come next.
func ReadINI(cfg any, r io.Reader) (string, error) {
	var name string
	if n, ok := r.(interface{ Name() string }); ok {
		name = n.Name()
	}
	src, err := io.ReadAll(r)
	if err != nil {
		return name, fmt.Errorf("reading %s: %w", name, err)
	}
	src = bytes.TrimPrefix(src, utf8BOM)
	err = gcfg.ReadInto(cfg, bytes.NewReader(src))
	if err == nil {
		return name, nil
	}
	if fatal := gcfg.FatalOnly(err); fatal != nil {
		if name != "" {
			return name, fmt.Errorf("%s: %w", name, fatal)
		}
		return name, fatal
	}
	// Only gcfg's extra-data warnings are left: data it could not store anywhere.
	if unknown := unknownKeys(reflect.TypeOf(cfg).Elem(), name, src); len(unknown) > 0 {
		return name, errors.Join(unknown...)
	}
	return name, err // a warning our scan cannot place; gcfg's words are better than none
}

// unknownKeys scans src with gcfg's scanner and returns an UnknownKeyError for every section
// and key that gcfg would not store in a value of type t. src has been read by gcfg already,
// so it is well-formed.
func unknownKeys(t reflect.Type, file string, src []byte) []error {
	fset := token.NewFileSet()
	f := fset.AddFile(file, fset.Base(), len(src))
	var s scanner.Scanner
	s.Init(f, src, nil, 0)
	var errs []error
	var sect reflect.Type // the struct of the current section; nil when it is unknown
	var header string
	for {
		pos, tok, lit := s.Scan()
		switch tok {
		case token.EOF:
			return errs
		case token.LBRACK:
			_, _, name := s.Scan()
			header, sect = name, nil
			_, next, subLit := s.Scan() // the subsection, or "]"
			hasSub := next == token.STRING
			if hasSub {
				header += " " + strconv.Quote(unquote(subLit))
			}
			field, ok := gcfgField(t, name)
			switch {
			case !ok:
				errs = append(errs, &UnknownKeyError{File: file, Line: f.Line(pos), Section: header,
					Nearest: Nearest(name, gcfgNames(t))})
			case field.Type.Kind() == reflect.Map:
				sect = field.Type.Elem().Elem()
			case hasSub:
				errs = append(errs, &UnknownKeyError{File: file, Line: f.Line(pos), Section: header,
					Nearest: gcfgName(field)})
			default:
				sect = field.Type
			}
		case token.IDENT:
			if sect == nil {
				continue // the section is reported already
			}
			if _, ok := gcfgField(sect, lit); !ok {
				errs = append(errs, &UnknownKeyError{File: file, Line: f.Line(pos), Section: header, Key: lit,
					Nearest: Nearest(lit, gcfgNames(sect))})
			}
			// The value is scanned as one STRING token after "=", so it is never mistaken
			// for a key.
		}
	}
}

// unquote undoes gcfg's quoting of a subsection name.
func unquote(lit string) string {
	if s, err := strconv.Unquote(lit); err == nil {
		return s
	}
	return strings.Trim(lit, `"`)
}

// gcfgField is the exported field of struct t that gcfg stores name in: the one whose gcfg
// tag is name, else whose Go name is name with "-" read as "_", ignoring case either way.
func gcfgField(t reflect.Type, name string) (reflect.StructField, bool) {
	goName := strings.ReplaceAll(name, "-", "_")
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if tag, _, _ := strings.Cut(f.Tag.Get("gcfg"), ","); tag != "" {
			if strings.EqualFold(tag, name) {
				return f, true
			}
			continue
		}
		if strings.EqualFold(f.Name, goName) {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// gcfgName is the name a file uses for field f: its gcfg tag, else its Go name.
func gcfgName(f reflect.StructField) string {
	if tag, _, _ := strings.Cut(f.Tag.Get("gcfg"), ","); tag != "" {
		return tag
	}
	return f.Name
}

// gcfgNames are the names of the exported fields of struct t, in declaration order.
func gcfgNames(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		if f := t.Field(i); f.IsExported() {
			names = append(names, gcfgName(f))
		}
	}
	return names
}

// Nearest returns the name in names closest to s, ignoring case, when it is within about one
// edit per four characters (at least two, so a swapped pair of letters is found); else "".
func Nearest(s string, names []string) string {
	limit := max(2, len(s)/4)
	best, bestDist := "", limit+1
	for _, n := range names {
		if d := editDistance(strings.ToLower(s), strings.ToLower(n)); d < bestDist {
			best, bestDist = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, by bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// TagIgnored, in a field's `cloudlb` struct tag, marks an upstream key that is accepted so
// upstream files read, but that cloudlb does not act on.
const TagIgnored = "ignored"

// EffectiveSettings returns the fields of section struct v as klog key/value pairs, by their
// names in the file, and the names of the fields tagged `cloudlb:"ignored"` that are set, so
// the log says which settings have no effect. Ignored fields are named, never shown, which
// keeps secrets among them (gce's token-body) out of the log.
func EffectiveSettings(v reflect.Value) (kv []any, ignored []string) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		fv := v.Field(i)
		if slices.Contains(strings.Split(f.Tag.Get("cloudlb"), ","), TagIgnored) {
			if !fv.IsZero() {
				ignored = append(ignored, gcfgName(f))
			}
			continue
		}
		kv = append(kv, gcfgName(f), fv.Interface())
	}
	return kv, ignored
}
