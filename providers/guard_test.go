package providers

import (
	"strings"
	"testing"
)

func TestReplaceKey(t *testing.T) {
	a := ReplaceKey("", ReplaceField{"scheme", "internal"}, ReplaceField{"subnets", "a,b"})
	tests := []struct {
		name string
		key  string
		same bool
	}{
		{"field order does not matter", ReplaceKey("", ReplaceField{"subnets", "a,b"}, ReplaceField{"scheme", "internal"}), true},
		{"a value changes it", ReplaceKey("", ReplaceField{"scheme", "internet-facing"}, ReplaceField{"subnets", "a,b"}), false},
		{"the token changes it", ReplaceKey("2026-12-07", ReplaceField{"scheme", "internal"}, ReplaceField{"subnets", "a,b"}), false},
		{"a field moved into another is different", ReplaceKey("", ReplaceField{"scheme", "internal"}, ReplaceField{"subnets", "a"}, ReplaceField{"x", "b"}), false},
	}
	for _, tt := range tests {
		if got := tt.key == a; got != tt.same {
			t.Errorf("%s: same key = %v, want %v", tt.name, got, tt.same)
		}
	}
	if len(a) != 16 {
		t.Errorf("key %q: want 16 hex digits", a)
	}
}

func TestReplaceAllowed(t *testing.T) {
	tests := []struct {
		recorded, key string
		want          bool
	}{
		{"", "k1", false},   // adopted: no key recorded
		{"k1", "k1", false}, // unchanged since cloudlb applied it
		{"k1", "k2", true},  // the author changed a replacement field or the token
	}
	for _, tt := range tests {
		if got := ReplaceAllowed(tt.recorded, tt.key); got != tt.want {
			t.Errorf("ReplaceAllowed(%q, %q) = %v, want %v", tt.recorded, tt.key, got, tt.want)
		}
	}
}

func TestReplacementRefusedMessage(t *testing.T) {
	err := error(&ReplacementRefused{Service: "default/web", LoadBalancer: "a1b2", Changes: []FieldChange{{"service.beta.kubernetes.io/aws-load-balancer-scheme", "internet-facing", "internal"}}})
	msg := err.Error()
	for _, want := range []string{"default/web", "a1b2", "aws-load-balancer-scheme", `"internet-facing"`, `"internal"`, "cloudlb.io/replace-load-balancer"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	if AsReplacementRefused(err) == nil || AsReplacementRefused(nil) != nil {
		t.Error("AsReplacementRefused does not find the error")
	}
}
