package awscontract_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/cloudlb/cloudlb/integration/contract"
)

// policyFile is the IAM policy deploy/permissions ships for the aws provider.
const policyFile = "../../deploy/permissions/aws-iam-policy.json"

// iamPrefix is the IAM service prefix of each API as fakeaws names it: Classic ELB and ELBv2
// share "elasticloadbalancing" (one action, e.g. CreateLoadBalancer, covers both APIs).
var iamPrefix = map[string]string{
	"ec2":                    "ec2",
	"elasticloadbalancing":   "elasticloadbalancing",
	"elasticloadbalancingv2": "elasticloadbalancing",
	"acm":                    "acm",
	"iam":                    "iam",
}

// impliedIAM are the actions AWS authorizes although the provider never calls them.
var impliedIAM = map[string]string{
	// CreateSecurityGroup carries the ownership tags in TagSpecifications; EC2 authorizes
	// tag-on-create as ec2:CreateTags (the policy scopes it to ec2:CreateAction
	// CreateSecurityGroup, so no other resource can be tagged).
	"ec2:CreateTags": "tags written by CreateSecurityGroup's TagSpecifications",
	// The first load balancer of an account makes ELB create its service-linked role
	// AWSServiceRoleForElasticLoadBalancing with the caller's permissions (scoped to
	// iam:AWSServiceName elasticloadbalancing.amazonaws.com).
	"iam:CreateServiceLinkedRole": "ELB's service-linked role, created by the account's first CreateLoadBalancer",
}

// checkPermissions compares deploy/permissions/aws-iam-policy.json with the operations the
// in-process fake served to the provider. Against an external endpoint the suite cannot tell
// them apart from its own calls, and after -run some calls were never made: both skip.
func (s *suite) checkPermissions(context.Context) error {
	if s.fake == nil {
		fmt.Printf("IAM policy check skipped: the suite ran against %s\n", s.endpoint)
		return nil
	}
	return contract.Permissions{File: policyFile, Permission: iamAction, Implied: impliedIAM}.CheckServed("IAM policy", &s.served, policyActions,
		contract.ProviderCalls("../../providers/aws", apiInterfaces))
}

// apiInterfaces are the provider's narrow SDK interfaces (providers/aws: its only way to
// AWS) and the fakeaws service of each, the prefix of its call keys.
var apiInterfaces = map[string]string{"ec2API": "ec2:", "elbAPI": "elasticloadbalancing:", "elbv2API": "elasticloadbalancingv2:"}

// iamAction is the IAM action of a fakeaws call key ("elasticloadbalancingv2:CreateListener").
func iamAction(op string) ([]string, error) {
	svc, action, ok := strings.Cut(op, ":")
	prefix := iamPrefix[svc]
	if !ok || prefix == "" {
		return nil, fmt.Errorf("no IAM service prefix for %q", svc)
	}
	return []string{prefix + ":" + action}, nil
}

// policyActions reads the actions an IAM policy document allows. Only what the check can
// compare is accepted: Allow statements with Action (no NotAction, no wildcards).
func policyActions(path string) ([]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Version   string
		Statement []struct {
			Sid       string
			Effect    string
			Action    json.RawMessage
			NotAction json.RawMessage
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if doc.Version != "2012-10-17" {
		return nil, fmt.Errorf("%s: Version %q, want 2012-10-17 (the policy language with condition keys)", path, doc.Version)
	}
	var actions []string
	for i, st := range doc.Statement {
		if st.Effect != "Allow" || st.NotAction != nil {
			return nil, fmt.Errorf("%s: statement %d (%s): only Allow statements with Action are expected", path, i, st.Sid)
		}
		var list []string
		if err := json.Unmarshal(st.Action, &list); err != nil {
			var one string
			if err := json.Unmarshal(st.Action, &one); err != nil {
				return nil, fmt.Errorf("%s: statement %d (%s): Action is neither a string nor a list", path, i, st.Sid)
			}
			list = []string{one}
		}
		for _, a := range list {
			if strings.Contains(a, "*") {
				return nil, fmt.Errorf("%s: statement %d (%s): wildcard action %q", path, i, st.Sid, a)
			}
		}
		actions = append(actions, list...)
	}
	return actions, nil
}
