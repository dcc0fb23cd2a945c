package aws

import (
	"slices"
	"testing"
)

func TestNodeRulePlan(t *testing.T) {
	t.Parallel()
	client := func(name, cidr string, port int32) Rule {
		return Rule{Protocol: "tcp", FromPort: port, ToPort: port, CIDR: cidr, Description: ruleClient + name}
	}
	mtu := func(cidr string) Rule {
		return Rule{Protocol: "icmp", FromPort: 3, ToPort: 4, CIDR: cidr, Description: ruleMTU}
	}
	keys := func(rs []Rule) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Description+" "+r.CIDR)
		}
		slices.Sort(out)
		return out
	}
	tests := []struct {
		name               string
		existing, want     []Rule
		wantAdd, wantRemov []string
	}{
		{"create", nil, []Rule{client("a", "10.0.0.0/8", 30000), mtu("10.0.0.0/8")},
			[]string{ruleClient + "a 10.0.0.0/8", ruleMTU + " 10.0.0.0/8"}, nil},
		{"unchanged", []Rule{client("a", "10.0.0.0/8", 30000), mtu("10.0.0.0/8")}, []Rule{client("a", "10.0.0.0/8", 30000), mtu("10.0.0.0/8")}, nil, nil},
		{"mtu kept for another NLB", []Rule{client("a", "10.0.0.0/8", 30000), client("b", "10.0.0.0/8", 30001), mtu("10.0.0.0/8")}, nil,
			nil, []string{ruleClient + "a 10.0.0.0/8"}},
		{"last NLB gone removes mtu", []Rule{client("a", "10.0.0.0/8", 30000), mtu("10.0.0.0/8")}, nil,
			nil, []string{ruleClient + "a 10.0.0.0/8", ruleMTU + " 10.0.0.0/8"}},
		{"other rules untouched", []Rule{{Protocol: "tcp", FromPort: 22, ToPort: 22, CIDR: "0.0.0.0/0", Description: "ssh"}}, nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			add, remove := nodeRulePlan(tt.existing, tt.want, "a")
			if !slices.Equal(keys(add), tt.wantAdd) || !slices.Equal(keys(remove), tt.wantRemov) {
				t.Errorf("add %v remove %v, want %v %v", keys(add), keys(remove), tt.wantAdd, tt.wantRemov)
			}
		})
	}
}
