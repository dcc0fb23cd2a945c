package controllermanager

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestBuildArgs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		opts      Options
		want, not []string
	}{
		{
			name: "defaults",
			opts: Options{Kubeconfig: "/k"},
			want: []string{"--cloud-provider=fake", "--cloud-config=/cc", "--kubeconfig=/k", "--authentication-kubeconfig=/k",
				"--authorization-kubeconfig=/k", "--bind-address=127.0.0.1", "--secure-port=4242", "--controllers=service", "--leader-elect=false"},
			not: []string{"--cluster-name", "--leader-elect-resource-name", "--leader-elect-lease-duration"},
		},
		{
			name: "leader election",
			opts: Options{Kubeconfig: "/k", LeaderElect: true, LeaseName: "l", LeaseDuration: 4 * time.Second,
				RenewDeadline: 3 * time.Second, RetryPeriod: 500 * time.Millisecond, ClusterName: "c", Controllers: []string{"service", "cloud-node"}},
			want: []string{"--leader-elect=true", "--leader-elect-resource-name=l", "--leader-elect-lease-duration=4s",
				"--leader-elect-renew-deadline=3s", "--leader-elect-retry-period=500ms", "--cluster-name=c", "--controllers=service,cloud-node"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.opts.ExtraArgs = []string{"--v=2"}
			got := buildArgs(tc.opts, "/cc", 4242)
			for _, w := range tc.want {
				if !slices.Contains(got, w) {
					t.Errorf("args %q lack %q", got, w)
				}
			}
			for _, n := range tc.not {
				if slices.ContainsFunc(got, func(a string) bool { return strings.HasPrefix(a, n) }) {
					t.Errorf("args %q contain %s", got, n)
				}
			}
			if got[len(got)-1] != "--v=2" {
				t.Errorf("extra args must come last to override: %q", got)
			}
		})
	}
}

func TestMissingBinary(t *testing.T) {
	t.Parallel()
	_, err := Start(t.Context(), Options{Kubeconfig: "/k", Binary: filepath.Join(t.TempDir(), "nope")})
	if err == nil || !strings.Contains(err.Error(), "make build") {
		t.Fatalf("Start with a missing binary: err = %v, want one saying `make build`", err)
	}
}
