package fakeaws

import (
	"encoding/base64"
	"regexp"
	"strconv"
	"strings"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// ec2State holds the EC2 objects; the SDK's own types are the storage, so Describe
// calls return them as they are.
type ec2State struct {
	vpcs        *table[ec2types.Vpc]
	subnets     *table[ec2types.Subnet]
	routeTables *table[ec2types.RouteTable]
	igws        *table[ec2types.InternetGateway]
	instances   *table[ec2types.Instance]
	// reservation of each instance, for DescribeInstances' grouping.
	reservation map[string]string
	groups      *table[securityGroup]
	// nextIP is the next host number handed out per subnet.
	nextIP map[string]int
}

func newEC2State() *ec2State {
	return &ec2State{
		vpcs:        newTable[ec2types.Vpc](),
		subnets:     newTable[ec2types.Subnet](),
		routeTables: newTable[ec2types.RouteTable](),
		igws:        newTable[ec2types.InternetGateway](),
		instances:   newTable[ec2types.Instance](),
		reservation: map[string]string{},
		groups:      newTable[securityGroup](),
		nextIP:      map[string]int{},
	}
}

// tagsOf returns the tag slice of any taggable EC2 resource by ID.
func (st *ec2State) tagsOf(id string) (*[]ec2types.Tag, bool) {
	switch {
	case strings.HasPrefix(id, "vpc-"):
		if v, ok := st.vpcs.get(id); ok {
			return &v.Tags, true
		}
	case strings.HasPrefix(id, "subnet-"):
		if v, ok := st.subnets.get(id); ok {
			return &v.Tags, true
		}
	case strings.HasPrefix(id, "rtb-"):
		if v, ok := st.routeTables.get(id); ok {
			return &v.Tags, true
		}
	case strings.HasPrefix(id, "igw-"):
		if v, ok := st.igws.get(id); ok {
			return &v.Tags, true
		}
	case strings.HasPrefix(id, "i-"):
		if v, ok := st.instances.get(id); ok {
			return &v.Tags, true
		}
	case strings.HasPrefix(id, "sg-"):
		if v, ok := st.groups.get(id); ok {
			return &v.tags, true
		}
	}
	return nil, false
}

// setTags adds or overwrites tags by key, as CreateTags does.
func setTags(dst *[]ec2types.Tag, tags []ec2types.Tag) {
	for _, t := range tags {
		replaced := false
		for i := range *dst {
			if deref((*dst)[i].Key) == deref(t.Key) {
				(*dst)[i].Value = ptr(deref(t.Value))
				replaced = true
			}
		}
		if !replaced {
			*dst = append(*dst, ec2types.Tag{Key: ptr(deref(t.Key)), Value: ptr(deref(t.Value))})
		}
	}
}

// removeTags deletes tags by key, and by value too when one is given, as DeleteTags does.
func removeTags(dst *[]ec2types.Tag, tags []ec2types.Tag) {
	out := (*dst)[:0]
	for _, have := range *dst {
		drop := false
		for _, t := range tags {
			if deref(t.Key) == deref(have.Key) && (t.Value == nil || deref(t.Value) == deref(have.Value)) {
				drop = true
			}
		}
		if !drop {
			out = append(out, have)
		}
	}
	*dst = out
}

// specTags returns the tags a TagSpecifications list assigns to a resource type.
func specTags(specs []ec2types.TagSpecification, resourceType string) []ec2types.Tag {
	var out []ec2types.Tag
	for _, s := range specs {
		if s.ResourceType == "" || string(s.ResourceType) == resourceType {
			setTags(&out, s.Tags)
		}
	}
	return out
}

// filterValues returns the values an object has for a filter name; ok=false when the
// fake does not know the filter (AWS answers InvalidParameterValue).
type filterValues func(name string) (values []string, ok bool)

// matchFilters applies EC2 filter semantics: every filter must match, a filter matches
// when any of its values matches any of the object's values, with * and ? wildcards.
func matchFilters(filters []ec2types.Filter, tags []ec2types.Tag, fv filterValues) (bool, error) {
	for _, f := range filters {
		name := deref(f.Name)
		if len(f.Values) > 200 {
			return false, bad("FilterLimitExceeded", "The maximum number of filter values specified on a single call is 200")
		}
		var have []string
		switch {
		case strings.HasPrefix(name, "tag:"):
			key := strings.TrimPrefix(name, "tag:")
			for _, t := range tags {
				if deref(t.Key) == key {
					have = append(have, deref(t.Value))
				}
			}
		case name == "tag-key":
			for _, t := range tags {
				have = append(have, deref(t.Key))
			}
		case name == "tag-value":
			for _, t := range tags {
				have = append(have, deref(t.Value))
			}
		default:
			v, ok := fv(name)
			if !ok {
				return false, bad("InvalidParameterValue", "The filter '%s' is invalid", name)
			}
			have = v
		}
		if !anyMatch(f.Values, have) {
			return false, nil
		}
	}
	return true, nil
}

func anyMatch(patterns, have []string) bool {
	for _, p := range patterns {
		re := globRegexp(p)
		for _, h := range have {
			if re.MatchString(h) {
				return true
			}
		}
	}
	return false
}

func globRegexp(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for _, r := range p {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// page cuts n items into a page by EC2's MaxResults/NextToken; the token is opaque.
func page(n int, maxResults *int32, nextToken *string, min, max int32) (start, end int, next *string, err error) {
	if nextToken != nil && *nextToken != "" {
		raw, derr := base64.RawURLEncoding.DecodeString(*nextToken)
		off, aerr := strconv.Atoi(strings.TrimPrefix(string(raw), "off:"))
		if derr != nil || aerr != nil || off < 0 || off > n {
			return 0, 0, nil, bad("InvalidParameterValue", "Invalid value '%s' for nextToken", *nextToken)
		}
		start = off
	}
	end = n
	if maxResults != nil {
		m := *maxResults
		if m < min || m > max {
			return 0, 0, nil, bad("InvalidParameterValue", "Value ( %d ) for parameter maxResults is invalid. Expecting a value between %d and %d.", m, min, max)
		}
		if start+int(m) < n {
			end = start + int(m)
			next = ptr(base64.RawURLEncoding.EncodeToString([]byte("off:" + strconv.Itoa(end))))
		}
	}
	return start, end, next, nil
}

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
