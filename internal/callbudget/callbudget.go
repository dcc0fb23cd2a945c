// Package callbudget renders the cloud calls a provider made per phase of a benchmark (create,
// no-op sync, node add, delete, ...) as the markdown table docs/benchmarks.md carries.
package callbudget

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Kinds of call, in table order.
const (
	Read  = "read"
	Write = "write"
	Poll  = "poll"
)

// Phase is the calls one phase made, by the fake cloud's "<Client>.<Method>" key.
type Phase struct {
	Name  string
	Calls map[string]int
}

// Total is the number of the phase's calls that kind classifies as k.
func (p Phase) Total(kind func(call string) string, k string) int {
	n := 0
	for c, v := range p.Calls {
		if kind(c) == k {
			n += v
		}
	}
	return n
}

// Table is one row per call key (reads, then writes, then polls, each sorted), one column
// per phase, then the totals by kind and the reads and writes per Service.
func Table(phases []Phase, kind func(call string) string, services int) string {
	keys := map[string]bool{}
	for _, p := range phases {
		for k := range p.Calls {
			keys[k] = true
		}
	}
	order := map[string]int{Read: 0, Write: 1, Poll: 2}
	sorted := slices.SortedFunc(maps.Keys(keys), func(a, b string) int {
		if d := order[kind(a)] - order[kind(b)]; d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	var b strings.Builder
	b.WriteString("| call (kind) |")
	for _, p := range phases {
		fmt.Fprintf(&b, " %s |", p.Name)
	}
	b.WriteString("\n|---|" + strings.Repeat("---:|", len(phases)) + "\n")
	for _, k := range sorted {
		fmt.Fprintf(&b, "| %s (%s) |", k, kind(k))
		for _, p := range phases {
			fmt.Fprintf(&b, " %d |", p.Calls[k])
		}
		b.WriteString("\n")
	}
	for _, k := range []string{Read, Write, Poll} {
		fmt.Fprintf(&b, "| **%ss** |", k)
		for _, p := range phases {
			fmt.Fprintf(&b, " %d |", p.Total(kind, k))
		}
		b.WriteString("\n")
	}
	for _, k := range []string{Read, Write} {
		fmt.Fprintf(&b, "| %ss per Service |", k)
		for _, p := range phases {
			fmt.Fprintf(&b, " %.2f |", float64(p.Total(kind, k))/float64(services))
		}
		b.WriteString("\n")
	}
	return b.String()
}
