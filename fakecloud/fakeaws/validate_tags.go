package fakeaws

import (
	"strings"
	"unicode/utf8"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// Tag rules of the three APIs; VALIDATIONS.md cites their sources.

// maxTags is the tag quota per resource of EC2, Classic ELB and ELBv2.
const maxTags = 50

// checkTagSpecs applies EC2's rules to a create call's TagSpecifications: each names one
// of the resource types the call creates, at most once, and carries at least one valid tag.
func checkTagSpecs(specs []ec2types.TagSpecification, allowed ...string) error {
	seen := map[ec2types.ResourceType]bool{}
	for _, sp := range specs {
		if len(sp.Tags) == 0 {
			return bad("InvalidParameterValue", "Tag specification must have at least one tag")
		}
		if sp.ResourceType == "" {
			return bad("InvalidParameterValue", "Tag specification resource type must have a value")
		}
		if !contains(allowed, string(sp.ResourceType)) {
			return bad("InvalidParameterValue", "'%s' is not a valid taggable resource type for this operation.", sp.ResourceType)
		}
		if seen[sp.ResourceType] {
			return bad("InvalidParameterValue", "The same resource type may not be specified more than once in tag specifications")
		}
		seen[sp.ResourceType] = true
		if len(sp.Tags) > maxTags {
			return bad("TagLimitExceeded", "The maximum number of tags per resource is %d", maxTags)
		}
		if err := checkEC2Tags(sp.Tags); err != nil {
			return err
		}
	}
	return nil
}

// checkEC2Tags checks keys (1-127 characters, not "aws:") and values (0-256 characters).
func checkEC2Tags(tags []ec2types.Tag) error {
	for _, t := range tags {
		k, v := deref(t.Key), deref(t.Value)
		switch {
		case k == "":
			return bad("InvalidParameterValue", "Value ( '' ) for parameter Tag key is invalid. Tag key cannot be null or empty.")
		case utf8.RuneCountInString(k) > 127:
			return bad("InvalidParameterValue", "Tag key exceeds the maximum length of 127 characters")
		case utf8.RuneCountInString(v) > 256:
			return bad("InvalidParameterValue", "Tag value exceeds the maximum length of 256 characters")
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			return bad("InvalidParameterValue", "Tag keys starting with 'aws:' are reserved for internal use")
		}
	}
	return nil
}

// kvTag is a tag of either ELB API, so one function checks both.
type kvTag struct{ key, value *string }

func elbTags(tags []elbtypes.Tag) []kvTag {
	out := make([]kvTag, 0, len(tags))
	for _, t := range tags {
		out = append(out, kvTag{t.Key, t.Value})
	}
	return out
}

func elbv2Tags(tags []elbv2types.Tag) []kvTag {
	out := make([]kvTag, 0, len(tags))
	for _, t := range tags {
		out = append(out, kvTag{t.Key, t.Value})
	}
	return out
}

// checkELBTags applies the ELB APIs' rules to a Tags parameter. A nil list is an absent
// optional parameter (required says whether that is allowed); a present list needs at least
// one tag, keys of 1-128 characters, values of at most 256, and no key twice.
func checkELBTags(tags []kvTag, present, required bool) error {
	if !present {
		if required {
			return errRequired("tags")
		}
		return nil
	}
	if len(tags) == 0 {
		return errTooFew("tags", 1)
	}
	seen := map[string]bool{}
	for _, t := range tags {
		if t.key == nil {
			return errRequired("tags.member.key")
		}
		k, v := *t.key, deref(t.value)
		if n := utf8.RuneCountInString(k); n < 1 || n > 128 {
			return errValidation("1 validation error detected: Value '%s' at 'tags.member.key' failed to satisfy constraint: Member must have length between 1 and 128", k)
		}
		if utf8.RuneCountInString(v) > 256 {
			return errValidation("1 validation error detected: Value at 'tags.member.value' failed to satisfy constraint: Member must have length less than or equal to 256")
		}
		if seen[k] {
			return bad("DuplicateTagKeys", "Tag key '%s' was specified more than once", k)
		}
		seen[k] = true
	}
	if len(tags) > maxTags {
		return bad("TooManyTags", "The quota for the number of tags that can be assigned to a load balancer has been reached")
	}
	return nil
}

// errRequired is the ELB APIs' answer to a missing required parameter: a ValidationError
// naming the member in lowerCamelCase, as their validation layer writes it.
func errRequired(member string) *apiError {
	return errValidation("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", member)
}

// errTooFew is the ELB APIs' answer to a list shorter than its documented minimum.
func errTooFew(member string, min int) *apiError {
	return errValidation("1 validation error detected: Value '[]' at '%s' failed to satisfy constraint: Member must have length greater than or equal to %d", member, min)
}
