package annotations

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

// Formats shared by several clouds. Cloud-specific ones live next to their keys.
var (
	// FormatIP is a single IPv4 or IPv6 address.
	FormatIP = &Format{Name: "an IP address", Check: func(s string) error {
		if _, err := netip.ParseAddr(s); err != nil {
			return errReason(fmt.Sprintf("%q is not an IP address", s))
		}
		return nil
	}}
	// FormatIPv4 is a single IPv4 address.
	FormatIPv4 = &Format{Name: "an IPv4 address", Check: func(s string) error {
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is4() {
			return errReason(fmt.Sprintf("%q is not an IPv4 address", s))
		}
		return nil
	}}
	// FormatIPv6 is a single IPv6 address.
	FormatIPv6 = &Format{Name: "an IPv6 address", Check: func(s string) error {
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is6() || a.Is4In6() {
			return errReason(fmt.Sprintf("%q is not an IPv6 address", s))
		}
		return nil
	}}
	// FormatPath is an HTTP request path.
	FormatPath = &Format{Name: "an absolute HTTP path starting with /", Check: func(s string) error {
		if !strings.HasPrefix(s, "/") || strings.ContainsAny(s, " \t\r\n") {
			return errReason("must start with / and contain no whitespace")
		}
		return nil
	}}
	// FormatDNSLabel is an RFC 1123 label.
	FormatDNSLabel = &Format{Name: "a DNS label (a-z, 0-9, '-', at most 63 characters)", Check: dnsLabel}
	// FormatNonEmpty accepts any text without surrounding whitespace problems.
	FormatNonEmpty = &Format{Name: "a non-empty string", Check: func(s string) error {
		if s == "" {
			return errReason("must not be empty")
		}
		return nil
	}}
)

// idFormat builds a Format for cloud IDs such as "subnet-0123abcd": a prefix and hex digits.
func idFormat(prefix string) *Format {
	re := regexp.MustCompile("^" + regexp.QuoteMeta(prefix) + "[0-9a-f]{8}([0-9a-f]{9})?$")
	return &Format{Name: prefix + "<8 or 17 hex digits>", Check: func(s string) error {
		if !re.MatchString(s) {
			return errReason(fmt.Sprintf("%q is not a %s... ID", s, prefix))
		}
		return nil
	}}
}

// regexpFormat builds a Format from a regular expression and its human description.
func regexpFormat(name, pattern string) *Format {
	re := regexp.MustCompile(pattern)
	return &Format{Name: name, Check: func(s string) error {
		if !re.MatchString(s) {
			return errReason(fmt.Sprintf("%q is not %s", s, name))
		}
		return nil
	}}
}
