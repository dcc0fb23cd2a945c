package contract

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// Served collects the operations a fake served to the provider under test, from the fake's
// OnCall hook. A suite gives the provider an endpoint of its own (Provider) so that the suite's
// own calls, which build the network or read the cloud to assert on it, are not counted: a
// permission the provider never needs must not be granted because a test made the call.
// The zero value is ready to use.
type Served struct {
	mu  sync.Mutex
	ops map[string]int
}

type providerKey struct{}

// Provider marks every request that reaches next through it as the provider's.
func (s *Served) Provider(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), providerKey{}, true)))
	})
}

// Record counts op when r came through Provider; it is the fakes' OnCall hook.
func (s *Served) Record(r *http.Request, op string) {
	if r.Context().Value(providerKey{}) == nil {
		return
	}
	s.RecordAny(op)
}

// RecordAny counts op whoever called it.
func (s *Served) RecordAny(op string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ops == nil {
		s.ops = map[string]int{}
	}
	s.ops[op]++
}

// Operations returns the operations counted, sorted.
func (s *Served) Operations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.ops))
}

// Permissions is a cloud permission file checked against the operations a suite's provider
// was served.
type Permissions struct {
	// File names the permission file in messages.
	File string
	// Granted are the permissions the file grants, in its order.
	Granted []string
	// Permission maps one served operation to the permissions it needs; an error for an
	// operation it does not know, so that a new call cannot go unnoticed.
	Permission func(op string) ([]string, error)
	// Implied are permissions no call maps to that the cloud still checks (a join action on a
	// referenced resource, a tag written by a create), each with the reason.
	Implied map[string]string
}

// CheckServed is Check of the operations served, for a suite's TestMain: name says which
// file in the output, read reads what the file grants, and callable (when set) lists every
// operation the provider can make, each of which must have been served. After -run, -skip
// or -list some calls were never made: it reports nothing.
func (p Permissions) CheckServed(name string, served *Served, read func(path string) ([]string, error), callable func() ([]string, error)) error {
	if all, why := EveryTestRan(); !all {
		fmt.Printf("%s check skipped: %s ran part of the suite\n", name, why)
		return nil
	}
	granted, err := read(p.File)
	if err != nil {
		return err
	}
	p.Granted = granted
	ops := served.Operations()
	var can []string
	if callable != nil {
		if can, err = callable(); err != nil {
			return err
		}
	}
	reach := ""
	if callable != nil {
		reach = fmt.Sprintf(" (of %d it can call)", len(can))
	}
	fmt.Printf("%s check: %d operations served to the provider%s, %d granted\n", name, len(ops), reach, len(granted))
	return errors.Join(Unreached(can, ops), p.Check(ops))
}

// ProviderCalls are the operation keys of every method of a provider's narrow interfaces
// in dir: the key prefix of each interface's calls ("ec2:", "ForwardingRules.") and the
// method name.
func ProviderCalls(dir string, prefixes map[string]string) func() ([]string, error) {
	return func() ([]string, error) {
		methods, err := InterfaceMethods(dir, slices.Collect(maps.Keys(prefixes))...)
		if err != nil {
			return nil, err
		}
		var out []string
		for iface, names := range methods {
			for _, m := range names {
				out = append(out, prefixes[iface]+m)
			}
		}
		slices.Sort(out)
		return out, nil
	}
}

// Check reports every permission the served operations need that the file does not grant,
// every granted permission neither needed nor implied, and allow-list entries that a call
// needs anyway (they are not implied, and the reason would mislead).
func (p Permissions) Check(served []string) error {
	needed := map[string][]string{}
	var errs []error
	for _, op := range served {
		perms, err := p.Permission(op)
		if err != nil {
			errs = append(errs, fmt.Errorf("operation %s: %w", op, err))
			continue
		}
		for _, perm := range perms {
			needed[perm] = append(needed[perm], op)
		}
	}
	granted := map[string]bool{}
	for _, g := range p.Granted {
		if granted[g] {
			errs = append(errs, fmt.Errorf("%s grants %s twice", p.File, g))
		}
		granted[g] = true
	}
	for _, perm := range slices.Sorted(maps.Keys(needed)) {
		if _, ok := p.Implied[perm]; ok {
			errs = append(errs, fmt.Errorf("%s is on the allow-list of implied permissions, but %s calls need it: drop it from the allow-list", perm, strings.Join(needed[perm], ", ")))
		}
		if !granted[perm] {
			errs = append(errs, fmt.Errorf("%s does not grant %s, which the provider needed for %s", p.File, perm, strings.Join(needed[perm], ", ")))
		}
	}
	for _, perm := range slices.Sorted(maps.Keys(p.Implied)) {
		if strings.TrimSpace(p.Implied[perm]) == "" {
			errs = append(errs, fmt.Errorf("the allow-list entry %s gives no reason", perm))
		}
		if !granted[perm] {
			errs = append(errs, fmt.Errorf("%s does not grant %s (%s)", p.File, perm, p.Implied[perm]))
		}
	}
	for _, g := range p.Granted {
		if _, ok := needed[g]; !ok && !hasKey(p.Implied, g) {
			errs = append(errs, fmt.Errorf("%s grants %s, which no call of the suite needed and the allow-list of implied permissions does not explain", p.File, g))
		}
	}
	return errors.Join(errs...)
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}

// EveryTestRan reports whether m.Run ran the whole package: with -run or -skip some calls
// were never made, and -list runs none, so a check that every granted permission was needed
// cannot hold. The reason says which flag.
func EveryTestRan() (bool, string) {
	for _, name := range []string{"test.run", "test.skip", "test.list"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return false, fmt.Sprintf("-%s=%s", strings.TrimPrefix(name, "test."), f.Value)
		}
	}
	return true, ""
}

// InterfaceMethods returns the methods of the named interface types declared in the Go
// files of dir (tests excluded), by interface. A provider reaches its cloud only through
// such narrow interfaces, so their methods are every call it can make.
func InterfaceMethods(dir string, names ...string) (map[string][]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	out := map[string][]string{}
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok || !slices.Contains(names, ts.Name.Name) {
				return true
			}
			if it, ok := ts.Type.(*ast.InterfaceType); ok {
				for _, m := range it.Methods.List {
					for _, id := range m.Names {
						out[ts.Name.Name] = append(out[ts.Name.Name], id.Name)
					}
				}
			}
			return false
		})
	}
	for _, name := range names {
		if len(out[name]) == 0 {
			return nil, fmt.Errorf("%s: no interface %s with methods", dir, name)
		}
	}
	return out, nil
}

// Unreached reports every operation in callable that was not served: a call the provider
// can make that no test of the suite made, whose permission nothing proves.
func Unreached(callable, served []string) error {
	var errs []error
	for _, op := range callable {
		if !slices.Contains(served, op) {
			errs = append(errs, fmt.Errorf("the provider can call %s, but no test of the suite made it: add a case that does", op))
		}
	}
	return errors.Join(errs...)
}
