package annotations

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Cloud names the owner of an annotation key.
type Cloud string

// The clouds whose keys cloudlb reads. Core keys are honoured by every provider.
const (
	Core  Cloud = "core"
	AWS   Cloud = "aws"
	Azure Cloud = "azure"
	GCE   Cloud = "gce"
	// AnyCloud asks Parse to check every key against its own cloud.
	AnyCloud Cloud = ""
)

// Clouds lists the clouds with their own providers, in documentation order.
var Clouds = []Cloud{AWS, Azure, GCE}

// ParseCloud turns a user-supplied cloud name into a Cloud.
func ParseCloud(s string) (Cloud, error) {
	switch c := Cloud(strings.ToLower(strings.TrimSpace(s))); c {
	case AWS, Azure, GCE, AnyCloud:
		return c, nil
	}
	return "", fmt.Errorf("unknown cloud %q (allowed: aws, azure, gce)", s)
}

// Type is the value type of a key, as documented and as decoded.
type Type string

// Value types. The Go type each one decodes to is given after the dash.
const (
	Bool     Type = "bool"      // - bool
	Int      Type = "int"       // - int64
	String   Type = "string"    // - string
	Enum     Type = "enum"      // - string, canonical spelling from Allowed
	List     Type = "list"      // - []string, comma-separated, items trimmed
	CIDRList Type = "cidr-list" // - []netip.Prefix, comma-separated
	Map      Type = "map"       // - map[string]string from k1=v1,k2=v2
	PortList Type = "port-list" // - PortSet: "*" or port numbers and names
)

// Change says what happens when the value changes after the load balancer exists.
type Change string

// Change behaviours.
const (
	InPlace  Change = "in-place"  // the cloud object is updated in place
	Replace  Change = "replace"   // the affected cloud object is re-created (may change addresses)
	Rejected Change = "rejected"  // a change is refused with an error; the old value stays in force
	NoChange Change = "read-only" // informational only, never applied to the cloud
)

// Cond is a named condition on the Service context that selects a default.
type Cond struct {
	// Name is how the condition appears in the docs, e.g. "NLB, Local".
	Name  string
	match func(Context) bool
}

// Matches reports whether the condition holds for ctx.
func (c Cond) Matches(ctx Context) bool { return c.match == nil || c.match(ctx) }

// Context is what a default may depend on. Variant is cloud-specific: "clb" or "nlb" on AWS,
// "external" or "internal" on Azure and GCE.
type Context struct {
	Local   bool // spec.externalTrafficPolicy is Local
	Variant string
}

// Conditions used by defaults.
var (
	Always     = Cond{}
	WhenLocal  = Cond{"Local", func(c Context) bool { return c.Local }}
	WhenNLB    = Cond{"NLB", func(c Context) bool { return c.Variant == "nlb" }}
	WhenCLB    = Cond{"CLB", func(c Context) bool { return c.Variant == "clb" }}
	WhenNLBLoc = Cond{"NLB, Local", func(c Context) bool { return c.Variant == "nlb" && c.Local }}
	WhenCLBLoc = Cond{"CLB, Local", func(c Context) bool { return c.Variant == "clb" && c.Local }}
)

// Default is one default value and the condition under which it applies.
type Default struct {
	When  Cond
	Value string
}

// Range bounds an Int key (inclusive).
type Range struct{ Min, Max int64 }

// Format validates one string value or list item.
type Format struct {
	// Name is the human description shown as "allowed", e.g. "an ACM or IAM certificate ARN".
	Name  string
	Check func(string) error
}

// Descriptor declares one annotation key.
type Descriptor struct {
	// Key is the full annotation key. Per-port keys contain the placeholder "{port}".
	Key   string
	Cloud Cloud
	Type  Type
	// Defaults are tried in order; the first whose condition matches applies. Empty means unset.
	Defaults []Default
	// Allowed lists the accepted values of an Enum (matched case-insensitively) or an Int.
	Allowed []string
	// Range bounds an Int.
	Range *Range
	// Format validates a String, each List item, or each Map value.
	Format *Format
	// MapKeys, when set, lists the accepted keys of a Map.
	MapKeys []string
	// ValueAliases maps accepted legacy spellings to the canonical value, with a warning.
	ValueAliases map[string]string
	// OtherValues, when set, is what the upstream provider reads every value as that cloudlb's
	// own decoding refuses (cloud-provider-aws: aws-load-balancer-internal is internal for any
	// value but "false"); cloudlb reads them so too, with a warning. See upstreamReading.
	OtherValues string
	// Aliases are deprecated keys read when Key is absent.
	Aliases []string
	// EmptyMeansSomething marks keys where "" is a value of its own rather than "unset".
	EmptyMeansSomething bool
	// Doc is the one-line documentation.
	Doc string
	// AppliesTo says which load balancer kinds read the key, e.g. "CLB, NLB" or "internal".
	AppliesTo string
	// Change says what a change after creation does.
	Change Change
	// Unsupported, when set, says why cloudlb recognises but does not act on the key.
	Unsupported string
	// Validate is an optional extra check on the decoded value; its error text is the reason.
	Validate func(v any) error

	portRE *regexp.Regexp
}

// PerPort reports whether the key is a template with a {port} placeholder.
func (d *Descriptor) PerPort() bool { return strings.Contains(d.Key, "{port}") }

// DefaultFor returns the default raw value for ctx and whether there is one.
func (d *Descriptor) DefaultFor(ctx Context) (string, bool) {
	for _, def := range d.Defaults {
		if def.When.Matches(ctx) {
			return def.Value, true
		}
	}
	return "", false
}

// DefaultDoc renders the defaults for documentation, e.g. "2 (NLB, Local); 3".
func (d *Descriptor) DefaultDoc() string {
	parts := make([]string, 0, len(d.Defaults))
	for _, def := range d.Defaults {
		v := def.Value
		if v == "" {
			v = `""`
		}
		if def.When.Name != "" {
			v += " (" + def.When.Name + ")"
		}
		parts = append(parts, v)
	}
	return strings.Join(parts, "; ")
}

// AllowedDoc renders the accepted values for messages and docs.
func (d *Descriptor) AllowedDoc() string {
	switch {
	case len(d.Allowed) > 0:
		return strings.Join(d.Allowed, ", ")
	case d.Range != nil:
		return fmt.Sprintf("%d-%d", d.Range.Min, d.Range.Max)
	}
	var s string
	switch d.Type {
	case Bool:
		s = "true, false (any case)"
	case Int:
		s = "an integer"
	case CIDRList:
		s = "comma-separated CIDRs"
	case PortList:
		s = `"*" or comma-separated port numbers and names`
	case Map:
		s = "comma-separated key=value pairs"
		if len(d.MapKeys) > 0 {
			s += " with keys " + strings.Join(d.MapKeys, ", ")
		}
	case List:
		s = "a comma-separated list"
	}
	if d.Format != nil {
		switch d.Type {
		case List:
			s = "comma-separated, each " + d.Format.Name
		case Map:
			s += ", values " + d.Format.Name
		default:
			s = d.Format.Name
		}
	}
	return s
}

func (d *Descriptor) matchPort(key string) (string, bool) {
	if d.portRE == nil {
		return "", false
	}
	m := d.portRE.FindStringSubmatch(key)
	if m == nil {
		return "", false
	}
	return m[1], true
}

type registry struct {
	all    []*Descriptor
	byKey  map[string]*Descriptor // keys and aliases
	alias  map[string]bool
	ported []*Descriptor
	// domains maps the part of each key (and alias) before "/" to those keys, for the typo search.
	domains map[string][]string
}

// registryOnce builds the index once; descriptors are immutable afterwards.
var registryOnce = sync.OnceValue(func() *registry {
	r := &registry{byKey: map[string]*Descriptor{}, alias: map[string]bool{}, domains: map[string][]string{}}
	for _, group := range [][]*Descriptor{coreKeys(), awsKeys(), azureKeys(), gceKeys()} {
		for _, d := range group {
			if d.PerPort() {
				pat := "^" + strings.Replace(regexp.QuoteMeta(d.Key), regexp.QuoteMeta("{port}"), `([^_./]*)`, 1) + "$"
				d.portRE = regexp.MustCompile(pat)
				r.ported = append(r.ported, d)
			}
			if _, dup := r.byKey[d.Key]; dup {
				panic("annotations: duplicate key " + d.Key)
			}
			r.byKey[d.Key] = d
			for _, a := range d.Aliases {
				if _, dup := r.byKey[a]; dup {
					panic("annotations: duplicate alias " + a)
				}
				r.byKey[a] = d
				r.alias[a] = true
			}
			r.all = append(r.all, d)
		}
	}
	for k := range r.byKey {
		domain, _, _ := strings.Cut(k, "/")
		r.domains[domain] = append(r.domains[domain], k)
	}
	for _, keys := range r.domains {
		sort.Strings(keys) // deterministic suggestions when two keys are equally near
	}
	sort.SliceStable(r.all, func(i, j int) bool {
		if r.all[i].Cloud != r.all[j].Cloud {
			return cloudOrder(r.all[i].Cloud) < cloudOrder(r.all[j].Cloud)
		}
		return r.all[i].Key < r.all[j].Key
	})
	return r
})

func cloudOrder(c Cloud) int {
	switch c {
	case Core:
		return 0
	case AWS:
		return 1
	case Azure:
		return 2
	}
	return 3
}

// All returns every descriptor, ordered by cloud then key. Callers must not modify them.
func All() []*Descriptor { return registryOnce().all }

// ForCloud returns the descriptors owned by c (all of them for AnyCloud).
func ForCloud(c Cloud) []*Descriptor {
	if c == AnyCloud {
		return All()
	}
	var out []*Descriptor
	for _, d := range All() {
		if d.Cloud == c {
			out = append(out, d)
		}
	}
	return out
}

// Lookup finds the descriptor for a concrete key, an alias, or a per-port key. The second
// result is the {port} text of a per-port key.
func Lookup(key string) (*Descriptor, string, bool) {
	r := registryOnce()
	if d, ok := r.byKey[key]; ok {
		return d, "", true
	}
	for _, d := range r.ported {
		if p, ok := d.matchPort(key); ok {
			return d, p, true
		}
	}
	return nil, "", false
}
