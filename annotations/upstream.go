package annotations

import (
	"strconv"
	"strings"
)

// upstreamReading returns what the upstream provider of d's cloud makes of raw, a value
// cloudlb's own decoding refused, so that a Service written for the upstream provider keeps its
// meaning when cloudlb takes its load balancers over; the caller warns and proposes the
// canonical spelling (cloudlb lint shows it). ok is false when upstream refused raw too, or
// read it in a way cloudlb does not follow.
//
// Facts (../shared/reference): cloud-provider-aws reads booleans with strconv.ParseBool and
// fails on anything else; cloud-provider-azure compares with strings.EqualFold(v, "true") and
// cloud-provider-gcp with v == "true", so any other value is false there.
func upstreamReading(d *Descriptor, raw string) (string, bool) {
	if d.OtherValues != "" {
		return d.OtherValues, true
	}
	if d.Type != Bool {
		return "", false
	}
	switch d.Cloud {
	case AWS:
		b, err := strconv.ParseBool(strings.TrimSpace(raw))
		if err != nil {
			return "", false
		}
		return strconv.FormatBool(b), true
	case Azure, GCE:
		return "false", true
	}
	return "", false
}
