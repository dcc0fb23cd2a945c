package awscontract_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
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
	if all, why := contract.EveryTestRan(); !all {
		fmt.Printf("IAM policy check skipped: %s ran part of the suite\n", why)
		return nil
	}
	granted, err := policyActions(policyFile)
	if err != nil {
		return err
	}
	served := s.served.Operations()
	callable, err := providerCalls()
	if err != nil {
		return err
	}
	fmt.Printf("IAM policy check: %d operations served to the provider (of %d it can call), %d actions granted\n", len(served), len(callable), len(granted))
	return errors.Join(contract.Unreached(callable, served),
		contract.Permissions{File: policyFile, Granted: granted, Permission: iamAction, Implied: impliedIAM}.Check(served))
}

// apiInterfaces are the provider's narrow SDK interfaces (providers/aws: its only way to
// AWS) and the fakeaws service of each.
var apiInterfaces = map[string]string{"ec2API": "ec2", "elbAPI": "elasticloadbalancing", "elbv2API": "elasticloadbalancingv2"}

// providerCalls are the fakeaws call keys of every method of the provider's interfaces.
func providerCalls() ([]string, error) {
	methods, err := contract.InterfaceMethods("../../providers/aws", slices.Collect(maps.Keys(apiInterfaces))...)
	if err != nil {
		return nil, err
	}
	var out []string
	for iface, names := range methods {
		for _, m := range names {
			out = append(out, apiInterfaces[iface]+":"+m)
		}
	}
	slices.Sort(out)
	return out, nil
}

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
