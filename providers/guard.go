package providers

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// The replacement guard. Some changes cannot be made to a load balancer in place (AWS scheme,
// an NLB's subnets and pinned addresses, Azure's internal/external, GCE's scheme): the load
// balancer is deleted and re-created, with a new address. cloudlb does that only when the
// Service's author asked for it after cloudlb applied the Service:
//
//   - every load balancer cloudlb writes carries the replacement key of the Service as applied
//     (a tag or label; ReplaceKey below), the hash of the replacement fields' desired values and
//     of the cloudlb.io/replace-load-balancer annotation;
//   - a load balancer that needs a replacement is replaced only when it carries a key and the
//     Service's key now differs from it (the author changed a replacement field, or the
//     annotation, since cloudlb applied it);
//   - otherwise (a load balancer made by an upstream provider or an older cloudlb: no key; or
//     the key is unchanged) it is kept, everything else is converged, the Service's key is
//     recorded, and the provider returns a *ReplacementRefused naming the fields. The author
//     asks for the replacement by setting cloudlb.io/replace-load-balancer to a new value.

// ReplaceKeyTag is the name of the tag (AWS, Azure) or label (GCE, lower case) that records the
// replacement key on a load balancer.
const ReplaceKeyTag = "cloudlb-replace-key"

// ReplaceField is one field whose change needs a replacement, with its desired value.
type ReplaceField struct {
	Name  string // as the user knows it: an annotation key or a spec field
	Value string
}

// ReplaceKey is the replacement key of a Service: a short hash over the replacement fields'
// desired values and token (the value of cloudlb.io/replace-load-balancer). The order of fields
// does not matter. 16 hex digits fit every cloud's tag and label rules.
func ReplaceKey(token string, fields ...ReplaceField) string {
	fs := append([]ReplaceField(nil), fields...)
	sort.Slice(fs, func(i, j int) bool { return fs[i].Name < fs[j].Name })
	h := sha256.New()
	fmt.Fprintf(h, "token=%q\n", token)
	for _, f := range fs {
		fmt.Fprintf(h, "%q=%q\n", f.Name, f.Value)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// ReplaceAllowed reports whether a load balancer that needs a replacement may be replaced:
// it carries a recorded key and the Service's key differs from it.
func ReplaceAllowed(recorded, key string) bool { return recorded != "" && recorded != key }

// FieldChange is one difference that needs a replacement: the field, the load balancer's value
// and the Service's.
type FieldChange struct {
	Field, Have, Want string
}

func (c FieldChange) String() string {
	return fmt.Sprintf("%s is %q, the Service asks for %q", c.Field, c.Have, c.Want)
}

// ReplacementRefused is what a provider returns when it converged a load balancer except for
// changes that need a replacement the guard refused. The load balancer is kept and serves; Status
// is its status, which the controller writes as on success. The controller reports a Warning
// Event (reason ReplacementRefused) and does not retry until the Service changes.
type ReplacementRefused struct {
	// Service is "namespace/name"; LoadBalancer names the cloud object kept.
	Service, LoadBalancer string
	Changes               []FieldChange
	Status                *v1.LoadBalancerStatus
}

func (e *ReplacementRefused) Error() string {
	parts := make([]string, len(e.Changes))
	for i, c := range e.Changes {
		parts[i] = c.String()
	}
	return fmt.Sprintf("service %s: load balancer %s kept: %s; these need a new load balancer (a new address), which cloudlb does not make for a load balancer it adopted or was not asked to replace; to replace it, set annotation cloudlb.io/replace-load-balancer to a new value",
		e.Service, e.LoadBalancer, strings.Join(parts, "; "))
}

// AsReplacementRefused returns the *ReplacementRefused in err's chain, or nil.
func AsReplacementRefused(err error) *ReplacementRefused {
	var rr *ReplacementRefused
	if errors.As(err, &rr) {
		return rr
	}
	return nil
}
