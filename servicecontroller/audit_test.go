package servicecontroller

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/go-logr/logr/funcr"
	"k8s.io/klog/v2"

	"github.com/cloudlb/cloudlb/providers"
)

func TestAuditWrites(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		write     providers.Write
		err       error
		wantLog   []string
		wantEvent string
	}{
		{"created", providers.Write{Cloud: "aws", Operation: "elbv2.CreateTargetGroup", Object: "arn:tg/1", Change: providers.ChangeCreated}, nil,
			[]string{`"msg"="Cloud write"`, `"service"="default/web"`, `"reason"="ensure"`, `"operation"="elbv2.CreateTargetGroup"`, `"object"="arn:tg/1"`, `"change"="Created"`},
			"Normal CloudObjectCreated: Created aws arn:tg/1 (elbv2.CreateTargetGroup)"},
		{"deleted", providers.Write{Cloud: "aws", Operation: "elb.DeleteLoadBalancer", Object: "a1", Change: providers.ChangeDeleted}, nil,
			[]string{`"msg"="Cloud write"`, `"object"="a1"`, `"change"="Deleted"`}, "Normal CloudObjectDeleted: Deleted aws a1 (elb.DeleteLoadBalancer)"},
		{"replaced, with the provider's reason", providers.Write{Cloud: "aws", Operation: "elb.DeleteLoadBalancer", Object: "a1", Change: providers.ChangeDeleted, Reason: "replacing: the scheme changed"}, nil,
			[]string{`"why"="replacing: the scheme changed"`}, "Normal CloudObjectDeleted: Deleted aws a1 (elb.DeleteLoadBalancer): replacing: the scheme changed"},
		{"changed in place: logged, no Event", providers.Write{Cloud: "aws", Operation: "elb.ConfigureHealthCheck", Object: "a1"}, nil,
			[]string{`"msg"="Cloud write"`, `"operation"="elb.ConfigureHealthCheck"`}, ""},
		{"failed: logged with the error, no Event", providers.Write{Cloud: "aws", Operation: "elbv2.CreateListener", Object: "arn:lb/1", Change: providers.ChangeCreated}, errors.New("boom"),
			[]string{`"msg"="Cloud write failed"`, `"err"="boom"`}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, Options{})
			var mu sync.Mutex
			var lines []string
			logger := funcr.New(func(prefix, args string) {
				mu.Lock()
				defer mu.Unlock()
				lines = append(lines, args)
			}, funcr.Options{})
			ctx := klog.NewContext(context.Background(), logger.WithValues("service", "default/web"))
			ctx = f.core.withAudit(ctx, lbService("web"), opEnsure)
			providers.AuditWrite(ctx, tt.write, tt.err)
			if len(lines) != 1 {
				t.Fatalf("%d log lines, want 1: %q", len(lines), lines)
			}
			for _, want := range tt.wantLog {
				if !strings.Contains(lines[0], want) {
					t.Errorf("log %s lacks %s", lines[0], want)
				}
			}
			evs := f.events.list()
			switch {
			case tt.wantEvent == "" && len(evs) != 0:
				t.Errorf("events %v, want none", evs)
			case tt.wantEvent != "" && (len(evs) != 1 || evs[0].String() != tt.wantEvent):
				t.Errorf("events %v, want %q", evs, tt.wantEvent)
			}
		})
	}
}
