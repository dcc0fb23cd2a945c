package aws

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestParseNodePortRange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    PortRange
		wantErr bool
	}{
		{"", defaultNodePorts, false},
		{"30000-32767", PortRange{30000, 32767}, false},
		{" 20000 - 22767 ", PortRange{20000, 22767}, false},
		{"30000", PortRange{}, true},
		{"32767-30000", PortRange{}, true},
		{"0-100", PortRange{}, true},
		{"1-65536", PortRange{}, true},
		{"a-b", PortRange{}, true},
	}
	for _, tt := range tests {
		got, err := parseNodePortRange(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseNodePortRange(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	if _, err := ParseCloudConfig(strings.NewReader("[Global]\nNodePortRange = 3-2\n")); err == nil || !strings.Contains(err.Error(), "NodePortRange") {
		t.Errorf("ParseCloudConfig with a bad NodePortRange: %v, want an error naming the key", err)
	}
}

// TestBuildBackendGroup checks the shared rules: the range over TCP, over UDP too with a UDP
// target group, and a rule per health-check port outside the range, whatever the number of
// target groups.
func TestBuildBackendGroup(t *testing.T) {
	t.Parallel()
	tg := func(proto string, port int32, hc string) TargetGroup {
		return TargetGroup{Protocol: proto, Port: port, HealthCheck: NLBHealthCheck{Port: hc}}
	}
	s := Settings{NodePorts: PortRange{20000, 20999}}
	tests := []struct {
		name string
		tgs  []TargetGroup
		want []string
	}{
		{"tcp", []TargetGroup{tg("TCP", 20001, "traffic-port"), tg("TLS", 20002, "traffic-port")}, []string{"tcp 20000-20999"}},
		{"udp", []TargetGroup{tg("UDP", 20001, "20001"), tg("TCP_UDP", 20002, "traffic-port")}, []string{"tcp 20000-20999", "udp 20000-20999"}},
		{"health check outside", []TargetGroup{tg("TCP", 20001, "10256"), tg("TCP", 20002, "10256")}, []string{"tcp 10256-10256", "tcp 20000-20999"}},
	}
	for _, tt := range tests {
		b := buildBackendGroup(&NLBModel{Cluster: "demo", TargetGroups: tt.tgs}, s)
		var got []string
		for _, r := range b.NodeRules {
			if r.Group != backendGroupRef {
				t.Errorf("%s: rule %+v is not from the backend group", tt.name, r)
			}
			got = append(got, fmt.Sprintf("%s %d-%d", r.Protocol, r.FromPort, r.ToPort))
		}
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: rules %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestBackendGroupName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"demo":           "k8s-cloudlb-backend-demo",
		"prod/eu-west_1": "k8s-cloudlb-backend-prod/eu-west_1",
		"ünïcode%x":      "k8s-cloudlb-backend--n-code-x",
	} {
		if got := backendGroupName(in); got != want {
			t.Errorf("backendGroupName(%q) = %q, want %q", in, got, want)
		}
	}
	if got := backendGroupName(strings.Repeat("x", 300)); len(got) != 255 {
		t.Errorf("long cluster ID: %d characters", len(got))
	}
}
