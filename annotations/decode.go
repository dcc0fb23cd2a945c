package annotations

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// PortSet is the decoded value of a PortList key: all ports, or the listed numbers and names.
type PortSet struct {
	All     bool
	Numbers []int32
	Names   []string
}

// Has reports whether the Service port with this number and name is in the set.
func (s PortSet) Has(port int32, name string) bool {
	return s.All || slices.Contains(s.Numbers, port) || (name != "" && slices.Contains(s.Names, name))
}

// errReason is a decode failure; its text becomes the Problem's Reason.
type errReason string

func (e errReason) Error() string { return string(e) }

// decode validates raw against d and returns the typed value.
func decode(d *Descriptor, raw string) (any, error) {
	v, err := decodeType(d, raw)
	if err != nil {
		return nil, err
	}
	if d.Validate != nil {
		if err := d.Validate(v); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func decodeType(d *Descriptor, raw string) (any, error) {
	s := strings.TrimSpace(raw)
	switch d.Type {
	case Bool:
		return parseBool(s)
	case Int:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, errReason("not an integer")
		}
		if d.Range != nil && (n < d.Range.Min || n > d.Range.Max) {
			return nil, errReason(fmt.Sprintf("must be between %d and %d", d.Range.Min, d.Range.Max))
		}
		if len(d.Allowed) > 0 && !slices.Contains(d.Allowed, strconv.FormatInt(n, 10)) {
			return nil, errReason("must be one of " + strings.Join(d.Allowed, ", "))
		}
		return n, nil
	case Enum:
		for _, a := range d.Allowed {
			if strings.EqualFold(a, s) {
				return a, nil
			}
		}
		return nil, errReason("not an accepted value")
	case String:
		if d.Format != nil {
			if err := d.Format.Check(s); err != nil {
				return nil, err
			}
		}
		return s, nil
	case List:
		items, err := splitList(s)
		if err != nil {
			return nil, err
		}
		if d.Format != nil {
			for _, it := range items {
				if err := d.Format.Check(it); err != nil {
					return nil, errReason(fmt.Sprintf("item %q: %v", it, err))
				}
			}
		}
		return items, nil
	case CIDRList:
		items, err := splitList(s)
		if err != nil {
			return nil, err
		}
		out := make([]netip.Prefix, 0, len(items))
		for _, it := range items {
			p, err := parseCIDR(it)
			if err != nil {
				return nil, err
			}
			out = append(out, p)
		}
		return out, nil
	case Map:
		return parseMap(d, s)
	case PortList:
		return parsePortSet(s)
	}
	return nil, fmt.Errorf("annotations: descriptor %s has unknown type %q", d.Key, d.Type)
}

// parseBool accepts exactly "true" and "false" in any letter case, for every key. Upstream
// providers disagree (strconv.ParseBool, == "true", EqualFold); one rule is easier to teach.
func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, errReason("not a boolean")
}

// splitList splits on commas and trims every item; an empty item is an error because it is
// almost always a typo ("a,,b" or a trailing comma).
func splitList(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			return nil, errReason("empty list item")
		}
		out = append(out, p)
	}
	return out, nil
}

// parseCIDR accepts a prefix in canonical form; a host address with bits set beyond the mask
// (10.0.0.1/8) is rejected because it usually hides a mistake.
func parseCIDR(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, errReason(fmt.Sprintf("%q is not a CIDR", s))
	}
	if p.Masked() != p {
		return netip.Prefix{}, errReason(fmt.Sprintf("%q has host bits set (did you mean %s?)", s, p.Masked()))
	}
	return p, nil
}

func parseMap(d *Descriptor, s string) (map[string]string, error) {
	items, err := splitList(s)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(items))
	for _, it := range items {
		k, v, _ := strings.Cut(it, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if k == "" {
			return nil, errReason(fmt.Sprintf("item %q has an empty key", it))
		}
		if len(d.MapKeys) > 0 && !slices.Contains(d.MapKeys, k) {
			return nil, errReason(fmt.Sprintf("unknown key %q", k))
		}
		if _, dup := out[k]; dup {
			return nil, errReason(fmt.Sprintf("key %q appears twice", k))
		}
		if d.Format != nil {
			if err := d.Format.Check(v); err != nil {
				return nil, errReason(fmt.Sprintf("key %q: %v", k, err))
			}
		}
		out[k] = v
	}
	return out, nil
}

func parsePortSet(s string) (PortSet, error) {
	if s == "*" {
		return PortSet{All: true}, nil
	}
	items, err := splitList(s)
	if err != nil {
		return PortSet{}, err
	}
	if len(items) == 0 {
		return PortSet{All: true}, nil
	}
	var ps PortSet
	for _, it := range items {
		if it == "*" {
			return PortSet{}, errReason(`"*" cannot be combined with other ports`)
		}
		if n, err := strconv.Atoi(it); err == nil {
			if n < 1 || n > 65535 {
				return PortSet{}, errReason(fmt.Sprintf("port %d out of range 1-65535", n))
			}
			ps.Numbers = append(ps.Numbers, int32(n))
			continue
		}
		if err := dnsLabel(it); err != nil {
			return PortSet{}, errReason(fmt.Sprintf("%q is neither a port number nor a port name", it))
		}
		ps.Names = append(ps.Names, it)
	}
	return ps, nil
}

// dnsLabel checks an RFC 1123 label (lower-case alphanumerics and '-', at most 63 characters).
func dnsLabel(s string) error {
	if len(s) == 0 || len(s) > 63 {
		return errReason("must be 1-63 characters")
	}
	for i, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' && i > 0 && i < len(s)-1
		if !ok {
			return errReason("must be lower-case letters, digits and '-', starting and ending with an alphanumeric")
		}
	}
	return nil
}
